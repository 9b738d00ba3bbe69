"""What a build records about itself, and the check a build passes before it is served.

At the end of `build` and `sync` the indexer records, beside the manifests
(`<qdrant_path>/integrity/<build>.json`, written atomically), how many points the build holds
and a checksum of them: an order-independent digest of every point's id with the payload
fields that say which text it is and when it is in force (`version_key`, `content_hash`,
`valid_from`, `valid_to`, `retired`). Before a retriever serves a build, `verify_build`
compares both with the build as the engine loaded it (one scroll of those small fields), and
runs one dense and one sparse search that must find a point of the build. A build that
disagrees is not served: a build whose segments were deleted loads with the few points its
write-ahead log still holds, a build whose dense vectors are gone loads and answers every
dense search with nothing, and neither must look ready.

Vector bytes are not in the checksum (reading every vector back would cost as much as a
rebuild's upsert); the engine refuses to load segment files it cannot parse, and the search
probe catches a vector index that answers nothing.

    >>> record_build(settings.qdrant_path, store)      # indexer, before the pointer swap
    >>> verify_build(settings.qdrant_path, store, dim=384, sparse=Bm25Encoder())  # reader
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexing.opener import IndexUnavailable
from indexing.sparse import Bm25Encoder
from indexing.store import VectorStore

log = logging.getLogger(__name__)

FORMAT = 1
DIGEST_FIELDS = ("version_key", "content_hash", "valid_from", "valid_to", "retired")
_MODULUS = 1 << 128


class IntegrityError(IndexUnavailable):
    """A build disagrees with what its build recorded; the message names no server path."""


@dataclass(frozen=True, slots=True)
class BuildRecord:
    """What a build held when the indexer finished it.

    Args:
        build: the build name.
        points: how many points it held.
        digest: `digest_points` of them (hex).
    """

    build: str
    points: int
    digest: str


def record_path(root: Path, build: str) -> Path:
    """Where the record of `build` lives under the index root."""
    return Path(root) / "integrity" / f"{build}.json"


def digest_points(store: VectorStore) -> tuple[int, str]:
    """The number of points of `store` and their order-independent digest.

    Each point contributes a 128-bit BLAKE2b hash of its id and `DIGEST_FIELDS`; the digest is
    their sum modulo 2**128, so the scroll order does not matter and any point added, lost or
    changed changes it.

    Returns:
        (points, digest as 32 hex digits).
    """
    total = 0
    count = 0
    for hit in store.scroll(fields=DIGEST_FIELDS):
        p = hit.payload
        parts = [hit.id, *(str(p.get(f, "")) for f in DIGEST_FIELDS)]
        h = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()
        total = (total + int.from_bytes(h, "big")) % _MODULUS
        count += 1
    return count, f"{total:032x}"


def record_build(root: Path, store: VectorStore) -> BuildRecord:
    """Record `store`'s point count and digest (after its points are durable).

    Args:
        root: the index root (`JURIS_QDRANT_PATH`).
        store: the finished build.

    Returns:
        The record written.
    """
    points, digest = digest_points(store)
    record = BuildRecord(store.name, points, digest)
    path = record_path(root, store.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w") as fh:
        json.dump({"format": FORMAT, "build": store.name, "points": points, "digest": digest}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return record


def load_record(root: Path, build: str) -> BuildRecord | None:
    """The record of `build`, or None when it has none (a build made before records existed).

    Raises:
        IntegrityError: the record exists but cannot be read.
    """
    path = record_path(root, build)
    try:
        data: Any = json.loads(path.read_text())
        return BuildRecord(str(data["build"]), int(data["points"]), str(data["digest"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.error("integrity record %s cannot be read: %s", path, err)
        raise IntegrityError(f"the integrity record of build {build} cannot be read") from err


def remove_record(root: Path, build: str) -> None:
    """Delete the record of a dropped build."""
    record_path(root, build).unlink(missing_ok=True)


def probe_searches(store: VectorStore, dim: int, sparse: Bm25Encoder) -> None:
    """One dense and one sparse search over `store` must find a point.

    Raises:
        IntegrityError: a search found nothing although the build holds points.
    """
    first = next(iter(store.scroll(fields=("text",))), None)
    if first is None:
        return
    unit = [1.0 / dim**0.5] * dim
    if not store.query([unit], None, limit=1, exact=True):
        raise IntegrityError(f"index build {store.name} answers dense searches with nothing")
    vec = sparse.query(str(first.payload.get("text", "")))
    if vec.indices and not store.query([], vec, limit=1):
        raise IntegrityError(f"index build {store.name} answers sparse searches with nothing")


def verify_build(
    root: Path | None, store: VectorStore, dim: int, sparse: Bm25Encoder | None = None
) -> BuildRecord | None:
    """Check `store` against its record and probe its searches.

    Args:
        root: the index root holding the records (None: no records reachable, probe only).
        store: the build as loaded.
        dim: the dense vectors' dimension.
        sparse: the BM25 encoder of the queries.

    Returns:
        The record it matched, or None when the build has none (it is served unverified).

    Raises:
        IntegrityError: the count, the digest or a probe search disagrees.
    """
    record = load_record(root, store.name) if root is not None else None
    if record is not None:
        points, digest = digest_points(store)
        if points != record.points:
            raise IntegrityError(
                f"index build {store.name} holds {points} points where its build recorded "
                f"{record.points}"
            )
        if digest != record.digest:
            raise IntegrityError(
                f"index build {store.name} does not match the checksum its build recorded"
            )
    probe_searches(store, dim, sparse or Bm25Encoder())
    return record
