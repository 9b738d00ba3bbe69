"""API keys: a JSON keys file with hashed keys, constant-time checks, scopes, rate limits.

Keys file (`JURIS_API_KEYS_FILE`)::

    {"keys": [{"name": "alice", "id": "3f9a0c1d", "hash": "sha256$<hex>",
               "scopes": ["user"], "revoked": false, "rate_per_minute": 120}]}

A key reads `jk_<id>_<secret>`; only its hash is stored (`sha256$<hex>` or
`pbkdf2_sha256$<iterations>$<salt hex>$<hex>`). The id selects the record, the hash is
compared with `hmac.compare_digest`. Editing the file (revoking, removing, adding) takes effect on
the next request: the file is re-read when its modification time changes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from serving.errors import RateLimited, Unauthorized

SCOPE_USER = "user"
SCOPE_ADMIN = "admin"
PBKDF2_ITERATIONS = 200_000


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key's record from the keys file (its hash, never the key)."""

    name: str
    key_id: str
    hash: str
    scopes: tuple[str, ...]
    revoked: bool = False
    rate_per_minute: float | None = None

    def has(self, scope: str) -> bool:
        """True when the key carries `scope` (admin implies every scope)."""
        return scope in self.scopes or SCOPE_ADMIN in self.scopes


def new_key() -> tuple[str, str]:
    """A fresh key and its id: (`jk_<id>_<secret>`, `<id>`)."""
    key_id = secrets.token_hex(4)
    return f"jk_{key_id}_{secrets.token_urlsafe(32)}", key_id


def hash_key(key: str, scheme: str = "sha256", iterations: int = PBKDF2_ITERATIONS) -> str:
    """The stored form of `key`.

    Args:
        key: the key as given to its holder.
        scheme: `sha256` (keys are 256-bit random, so a fast hash is enough) or `pbkdf2_sha256`.
        iterations: PBKDF2 iterations.

    Returns:
        `sha256$<hex>` or `pbkdf2_sha256$<iterations>$<salt hex>$<hex>`.
    """
    if scheme == "sha256":
        return "sha256$" + hashlib.sha256(key.encode()).hexdigest()
    if scheme == "pbkdf2_sha256":
        salt = secrets.token_bytes(16)
        digest = hashlib.pbkdf2_hmac("sha256", key.encode(), salt, iterations)
        return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"
    raise ValueError(f"unknown key hash scheme {scheme!r} (use sha256 or pbkdf2_sha256)")


def check_hash(key: str, stored: str) -> bool:
    """True when `key` matches the stored hash (constant-time comparison)."""
    scheme, _, rest = stored.partition("$")
    if scheme == "sha256":
        given = hashlib.sha256(key.encode()).hexdigest()
        return hmac.compare_digest(given, rest)
    if scheme == "pbkdf2_sha256":
        try:
            iterations_s, salt_hex, digest_hex = rest.split("$")
            digest = hashlib.pbkdf2_hmac(
                "sha256", key.encode(), bytes.fromhex(salt_hex), int(iterations_s)
            )
        except ValueError:
            return False
        return hmac.compare_digest(digest.hex(), digest_hex)
    return False


def key_id_of(key: str) -> str | None:
    """The id part of a `jk_<id>_<secret>` key, or None for anything else."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "jk" or not parts[1] or not parts[2]:
        return None
    return parts[1]


def read_keys_file(path: Path) -> list[ApiKey]:
    """The keys in `path`.

    Raises:
        ValueError: naming the file and the entry when it is malformed.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: line {err.lineno}: not valid JSON: {err.msg}") from err
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected an object with a 'keys' list")
    keys = []
    for i, entry in enumerate(entries):
        try:
            rate = entry.get("rate_per_minute")
            keys.append(
                ApiKey(
                    name=str(entry["name"]),
                    key_id=str(entry["id"]),
                    hash=str(entry["hash"]),
                    scopes=tuple(entry.get("scopes") or [SCOPE_USER]),
                    revoked=bool(entry.get("revoked", False)),
                    rate_per_minute=float(rate) if rate is not None else None,
                )
            )
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise ValueError(f"{path}: keys[{i}]: missing or bad field ({err})") from err
    return keys


def add_key(
    path: Path,
    name: str,
    *,
    admin: bool = False,
    rate_per_minute: float | None = None,
    scheme: str = "sha256",
) -> str:
    """Create a key, store its hash in `path` (created if missing) and return the key.

    Args:
        path: the keys file.
        name: who or what the key is for (unique in the file).
        admin: add the admin scope.
        rate_per_minute: this key's rate limit (default: the gateway's).
        scheme: hash scheme, see `hash_key`.

    Returns:
        The new key: shown once, never stored.
    """
    data: dict[str, list[dict[str, object]]] = {"keys": []}
    if path.exists():
        read_keys_file(path)  # validate first
        data = json.loads(path.read_text(encoding="utf-8"))
    if any(e.get("name") == name and not e.get("revoked") for e in data["keys"]):
        raise ValueError(f"{path}: an active key named {name!r} exists; revoke it first")
    key, key_id = new_key()
    entry: dict[str, object] = {
        "name": name,
        "id": key_id,
        "hash": hash_key(key, scheme),
        "scopes": [SCOPE_USER, SCOPE_ADMIN] if admin else [SCOPE_USER],
        "revoked": False,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if rate_per_minute is not None:
        entry["rate_per_minute"] = rate_per_minute
    data["keys"].append(entry)
    _write_private(path, json.dumps(data, indent=2) + "\n")
    return key


def revoke_key(path: Path, name: str) -> int:
    """Mark every key named `name` revoked; returns how many were."""
    read_keys_file(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    count = 0
    for entry in data["keys"]:
        if entry.get("name") == name and not entry.get("revoked"):
            entry["revoked"] = True
            count += 1
    _write_private(path, json.dumps(data, indent=2) + "\n")
    return count


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


class KeyStore:
    """The keys file, re-read when it changes; authenticates presented keys.

    Args:
        path: the keys file.
        min_check_interval_s: how often the file's mtime is looked at (at most).
    """

    def __init__(self, path: Path, min_check_interval_s: float = 0.5) -> None:
        self.path = path
        self._interval = min_check_interval_s
        self._lock = threading.Lock()
        self._mtime: int | None = None
        self._checked = 0.0
        self._by_id: dict[str, ApiKey] = {}
        self._verified: dict[tuple[str, str], bool] = {}
        self._reload(force=True)

    def _reload(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self._interval:
            return
        self._checked = now
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if not force and mtime == self._mtime:
            return
        keys = read_keys_file(self.path) if mtime is not None else []
        self._by_id = {k.key_id: k for k in keys}
        self._verified = {}
        self._mtime = mtime

    def keys(self) -> list[ApiKey]:
        """Every key record (after re-reading the file if it changed)."""
        with self._lock:
            self._reload()
            return list(self._by_id.values())

    def authenticate(self, presented: str | None) -> ApiKey:
        """The key record for `presented`.

        Raises:
            Unauthorized: missing, malformed, unknown, wrong or revoked key.
        """
        if not presented:
            raise Unauthorized(
                "API key required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            )
        key_id = key_id_of(presented)
        with self._lock:
            self._reload()
            record = self._by_id.get(key_id or "")
            cache_key = None
            if record is not None:
                cache_key = (record.hash, hashlib.sha256(presented.encode()).hexdigest())
            ok = self._verified.get(cache_key) if cache_key else None
        if record is None:
            # same work as a real check, so timing says nothing about which ids exist
            check_hash(presented, "sha256$" + "0" * 64)
            raise Unauthorized("invalid API key")
        if ok is None:
            ok = check_hash(presented, record.hash)
            with self._lock:
                if cache_key is not None:
                    self._verified[cache_key] = ok
        if not ok:
            raise Unauthorized("invalid API key")
        if record.revoked:
            raise Unauthorized("API key revoked")
        return record


class RateLimiter:
    """Per-key token buckets: `rate_per_minute` refill, `burst` capacity."""

    def __init__(self, rate_per_minute: float, burst: int) -> None:
        self.rate_per_minute = rate_per_minute
        self.burst = burst
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: ApiKey) -> None:
        """Spend one request of `key`'s budget.

        Raises:
            RateLimited: with a `Retry-After` header when the bucket is empty.
        """
        rate = (key.rate_per_minute or self.rate_per_minute) / 60.0
        capacity = float(max(self.burst, 1))
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key.key_id, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key.key_id] = (tokens, now)
                wait = (1.0 - tokens) / rate
                raise RateLimited(
                    f"rate limit exceeded for key {key.name!r}; retry in {wait:.1f} s",
                    headers={"Retry-After": str(max(1, round(wait + 0.5)))},
                )
            self._buckets[key.key_id] = (tokens - 1.0, now)
