"""Back up every Qdrant collection: one snapshot per collection and peer, copied to /backups.

Run by the `qdrant-snapshot` CronJob in the indexer image (standard library only). In
distributed mode a collection snapshot holds only the shards stored on the peer that made it, so
this asks every peer in turn. For each peer and collection it creates a snapshot, downloads it
to `BACKUP_DIR/<UTC stamp>/<peer>/<collection>/`, checks its SHA-256 when Qdrant reports one,
and deletes it from the peer; it saves the aliases (which build serves) beside them, prunes
backups older than `KEEP_DAYS`, and exits non-zero with a summary if anything failed.

Environment: QDRANT_PEERS (comma-separated HTTP URLs of every peer), QDRANT_API_KEY_FILE (the
file holding Qdrant's full API key, a mounted Secret; or QDRANT_API_KEY, the key itself),
BACKUP_DIR (default /backups), KEEP_DAYS (default 14).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any


def call(url: str, key: str, method: str = "GET") -> Any:
    """One Qdrant REST call; returns the `result` field of its JSON answer."""
    req = urllib.request.Request(url, method=method, headers={"api-key": key})
    with urllib.request.urlopen(req, timeout=3600) as resp:
        return json.load(resp)["result"]


def download(url: str, key: str, dest: Path) -> str:
    """Stream `url` to `dest`; returns the SHA-256 of what was written."""
    digest = hashlib.sha256()
    req = urllib.request.Request(url, headers={"api-key": key})
    with urllib.request.urlopen(req, timeout=3600) as resp, dest.open("wb") as out:
        while block := resp.read(1 << 20):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def backup_peer(peer: str, key: str, root: Path) -> list[str]:
    """Snapshot and copy every collection of one peer; returns the failures."""
    failures: list[str] = []
    host = urllib.parse.urlparse(peer).hostname or peer
    for coll in call(f"{peer}/collections", key)["collections"]:
        name = coll["name"]
        try:
            snap = call(f"{peer}/collections/{name}/snapshots?wait=true", key, "POST")
            dest = root / host / name / snap["name"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            url = f"{peer}/collections/{name}/snapshots/{urllib.parse.quote(snap['name'])}"
            sha = download(url, key, dest)
            if snap.get("checksum") and snap["checksum"] != sha:
                raise ValueError(f"checksum mismatch: {sha} != {snap['checksum']}")
            call(url, key, "DELETE")
            print(f"ok {host} {name} {dest.stat().st_size} bytes sha256={sha}", flush=True)
        except Exception as exc:  # one failed collection must not stop the others
            failures.append(f"{host}/{name}: {exc}")
            print(f"FAILED {host} {name}: {exc}", file=sys.stderr, flush=True)
    return failures


def prune(base: Path, keep_days: int, now: dt.datetime) -> None:
    """Remove backup folders (named by UTC stamp) older than `keep_days`."""
    for child in base.iterdir():
        try:
            stamp = dt.datetime.strptime(child.name, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        if now - stamp > dt.timedelta(days=keep_days):
            shutil.rmtree(child)
            print(f"pruned {child}", flush=True)


def api_key() -> str:
    """Qdrant's API key: the content of QDRANT_API_KEY_FILE when set, else QDRANT_API_KEY."""
    path = os.environ.get("QDRANT_API_KEY_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get("QDRANT_API_KEY", "")


def main() -> int:
    """Back up every peer; 0 when every collection of every peer was saved."""
    peers = [p.strip().rstrip("/") for p in os.environ["QDRANT_PEERS"].split(",") if p.strip()]
    key = api_key()
    base = Path(os.environ.get("BACKUP_DIR", "/backups"))
    now = dt.datetime.now(dt.UTC)
    root = base / now.strftime("%Y%m%dT%H%M%SZ")
    root.mkdir(parents=True)
    failures: list[str] = []
    for peer in peers:
        try:
            failures.extend(backup_peer(peer, key, root))
        except Exception as exc:
            failures.append(f"{peer}: {exc}")
            print(f"FAILED {peer}: {exc}", file=sys.stderr, flush=True)
    try:
        aliases = call(f"{peers[0]}/aliases", key)
        (root / "aliases.json").write_text(json.dumps(aliases, indent=2), encoding="utf-8")
    except Exception as exc:
        failures.append(f"aliases: {exc}")
    prune(base, int(os.environ.get("KEEP_DAYS", "14")), now)
    if failures:
        print(f"{len(failures)} failure(s): " + "; ".join(failures), file=sys.stderr)
        return 1
    print(f"backup complete in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
