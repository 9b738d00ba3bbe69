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

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from serving.errors import RateLimited, Unauthorized

log = logging.getLogger(__name__)

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
    """Replace `path` atomically (mode 0600): a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class KeyStore:
    """The keys file, re-read when it changes; authenticates presented keys.

    Reading the file again never loses the keys: while it cannot be read (being rewritten in
    place, half written, briefly missing) the last good set stays in force and the problem is
    logged once; the next check after `min_check_interval_s` tries again. Memory does not grow
    with what clients send: only successful checks are cached (for slow `pbkdf2_sha256`
    hashes), in a bounded LRU, and failed checks are rate-limited by `FailureLimiter`.

    Args:
        path: the keys file.
        min_check_interval_s: how often the file's mtime is looked at (at most).
        failures: the limiter of failed attempts (None: none).
        cache_size: successful checks remembered.

    Raises:
        ValueError: the file cannot be read when the store is created (nothing to fall back on).
    """

    def __init__(
        self,
        path: Path,
        min_check_interval_s: float = 0.5,
        failures: FailureLimiter | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.path = path
        self.failures = failures
        self._interval = min_check_interval_s
        self._lock = threading.Lock()
        self._mtime: int | None = None
        self._checked = 0.0
        self._by_id: dict[str, ApiKey] = {}
        self._verified: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._cache_size = cache_size
        self._bad_read: int | None = None  # the mtime whose read failed (logged once)
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
        try:
            if mtime is None:
                if not force:
                    raise ValueError(f"{self.path}: missing")
                keys: list[ApiKey] = []
            else:
                keys = read_keys_file(self.path)
        except (OSError, ValueError) as err:  # UnicodeDecodeError is a ValueError
            if force:
                raise ValueError(str(err)) from err
            if self._bad_read != mtime:
                self._bad_read = mtime
                log.error("keys file unreadable, keeping the last good keys: %s", err)
            return  # _mtime unchanged: the next check reads it again
        if self._bad_read is not None:
            log.info("keys file readable again: %d keys", len(keys))
            self._bad_read = None
        self._by_id = {k.key_id: k for k in keys}
        self._verified.clear()
        self._mtime = mtime

    def keys(self) -> list[ApiKey]:
        """Every key record (after re-reading the file if it changed)."""
        with self._lock:
            self._reload()
            return list(self._by_id.values())

    def authenticate(self, presented: str | None, client: str = "") -> ApiKey:
        """The key record for `presented`, sent from address `client`.

        Raises:
            Unauthorized: missing, malformed, unknown, wrong or revoked key.
            RateLimited: too many failed attempts from `client` or on this key id lately.
        """
        if not presented:
            raise Unauthorized(
                "API key required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            )
        key_id = key_id_of(presented) or ""
        digest = hashlib.sha256(presented.encode()).hexdigest()
        with self._lock:
            self._reload()
            record = self._by_id.get(key_id)
            cache_key = (record.hash, digest) if record is not None else None
            ok = cache_key is not None and cache_key in self._verified
            if ok:
                self._verified.move_to_end(cache_key)  # type: ignore[arg-type]
        if not ok:
            subjects = [f"addr:{client}", *([f"id:{key_id}"] if record is not None else [])]
            slow = record is not None and not record.hash.startswith("sha256$")
            if slow and self.failures is not None:
                self.failures.check(subjects)  # before the slow hash, not after
            if record is None:
                # same work as a real check, so timing says nothing about which ids exist
                check_hash(presented, "sha256$" + "0" * 64)
            else:
                ok = check_hash(presented, record.hash)
            if not ok:
                if self.failures is not None:
                    self.failures.check(subjects)
                    self.failures.fail(subjects)
                raise Unauthorized("invalid API key")
            assert record is not None and cache_key is not None
            with self._lock:
                self._verified[cache_key] = None
                while len(self._verified) > self._cache_size:
                    self._verified.popitem(last=False)
        assert record is not None
        if record.revoked:
            raise Unauthorized("API key revoked")
        return record


class FailureLimiter:
    """Failed key checks per subject (a client address, a key id): a token bucket each.

    When a subject's bucket is empty, its next failed attempt is refused with 429 and
    `Retry-After` instead of 401. A correct key is checked first and never refused for its
    address's or its id's failures — except a `pbkdf2_sha256` key not yet cached, whose slow
    hash is only computed while the budget lasts (an attacker must not buy CPU). At most
    `max_subjects` buckets are kept (least recently used dropped), so memory is bounded
    whatever clients send.

    Args:
        per_minute: failures allowed per subject per minute (refill rate).
        burst: failures allowed at once.
        max_subjects: buckets kept.
    """

    def __init__(self, per_minute: float, burst: int, max_subjects: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self.max_subjects = max_subjects
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _tokens(self, subject: str, now: float) -> float:
        tokens, last = self._buckets.get(subject, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def check(self, subjects: list[str]) -> None:
        """Raise `RateLimited` when a subject has no failure left."""
        now = time.monotonic()
        with self._lock:
            empty = [s for s in subjects if self._tokens(s, now) < 1.0]
            if not empty:
                return
            wait = max((1.0 - self._tokens(s, now)) / self.rate for s in empty)
        raise RateLimited(
            f"too many failed API key attempts; retry in {wait:.0f} s",
            headers={"Retry-After": str(max(1, round(wait + 0.5)))},
        )

    def fail(self, subjects: list[str]) -> None:
        """Spend one failure of each subject."""
        now = time.monotonic()
        with self._lock:
            for s in subjects:
                self._buckets[s] = (max(0.0, self._tokens(s, now) - 1.0), now)
                self._buckets.move_to_end(s)
            while len(self._buckets) > self.max_subjects:
                self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


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
