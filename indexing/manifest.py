"""The manifest of a build: which source units and document versions it holds, by hash.

Written next to the builds (`<qdrant_path>/manifests/<build>.json`, atomically) *after* the
points it describes are durable; `sync` trusts it only to decide what might have changed and
re-checks the points themselves before writing (see `indexing.sync`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexing.chunking import CHUNK_FORMAT
from legal_corpus.adapters import SourceUnit, reading_revision


def unit_id(unit: SourceUnit) -> str:
    """`source/key` of a unit."""
    return f"{unit.source}/{unit.key}"


def unit_signature(unit: SourceUnit) -> str:
    """Cheap change detector of a unit: path, size and mtime of each of its files, and the
    revision of how its source is read (`legal_corpus.adapters.READING_REVISIONS`, written
    from revision 2 on, so that the signatures of sources read as before stay the same)."""
    parts = []
    for p in unit.paths:
        try:
            st = Path(p).stat()
            parts.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{p}:missing")
    revision = reading_revision(unit.source)
    if revision > 1:
        parts.append(f"reading:{revision}")
    return "|".join(parts)


@dataclass
class Manifest:
    """Units and document versions of one build.

    Args:
        build: the build name.
        units: unit id -> {"sig": signature, "versions": [version keys]}.
        versions: version key -> {"hash", "n" (chunks), "unit", "source", "retired"}.
        chunk_format: `indexing.chunking.CHUNK_FORMAT` of the release that embedded the
            build's chunks (a manifest without one predates it: format 1).
    """

    build: str
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    chunk_format: int = CHUNK_FORMAT

    def record(
        self, unit: str, sig: str, version_key: str, content_hash: str, n: int, source: str
    ) -> None:
        """Note that `version_key` (from `unit`) is in the build with `n` chunks."""
        entry = self.units.setdefault(unit, {"sig": sig, "versions": []})
        entry["sig"] = sig
        if version_key not in entry["versions"]:
            entry["versions"].append(version_key)
        self.versions[version_key] = {
            "hash": content_hash,
            "n": n,
            "unit": unit,
            "source": source,
            "retired": False,
        }

    def save(self, path: Path) -> None:
        """Write atomically (temp file, fsync, `os.replace`)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "w") as fh:
            json.dump(
                {
                    "build": self.build,
                    "units": self.units,
                    "versions": self.versions,
                    "chunk_format": self.chunk_format,
                },
                fh,
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read a manifest written by `save`."""
        data = json.loads(Path(path).read_text())
        return cls(
            data["build"],
            data.get("units", {}),
            data.get("versions", {}),
            int(data.get("chunk_format", 1)),
        )


def manifest_path(root: Path, build: str) -> Path:
    """Where the manifest of `build` lives."""
    return Path(root) / "manifests" / f"{build}.json"


def shards_dir(root: Path, build: str) -> Path:
    """Where the shard manifests (done markers) of a sharded `build` live (`indexing.shards`)."""
    return Path(root) / "manifests" / f"{build}.shards"


def pending_path(root: Path, alias: str) -> Path:
    """The file naming the bulk build the workers of a Job without `--build-name` share."""
    return Path(root) / "bulk" / f"{alias}.pending"


def sync_work_path(root: Path) -> Path:
    """The file naming the build an embedded sync is writing (`work`), so that an interrupted
    sync resumes it (`indexing.sync`)."""
    return Path(root) / "sync.work.json"
