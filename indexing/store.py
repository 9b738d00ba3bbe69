"""The vector store: one interface owning the collection schema, two implementations.

Schema (both implementations):

- named dense vector `dense` (cosine, the embedder's dimension) and sparse vector `bm25`
  (IDF modifier: the engine supplies BM25's IDF, `indexing.sparse` the TF part);
- payload = the `Chunk` fields, with `valid_from` / `valid_to` stored as integers `YYYYMMDD`
  (0 = open start, 99991231 = still in force) so an as-of filter is two integer ranges that
  need no null handling; plus `version_key`, `n_chunks` (points of the version, for the
  completeness check of `sync`) and `retired`;
- payload indexes on doc_id, version_key, source, kind, jurisdiction, court, citation
  (keyword) and valid_from, valid_to (integer).

Implementations:

- `EdgeStore` — Qdrant's embedded engine (`qdrant-edge-py`): one shard directory per build;
  `EdgeCatalog` keeps builds under a root and a pointer file `<alias>.current` replaced
  atomically (`os.replace`).
- `ServerStore` — `qdrant-client` against a Qdrant server (or its local mode in tests): one
  collection per build; `ServerCatalog` moves the real collection alias in one request.

The contract suite `tests/indexing/test_store_contract.py` runs against both.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from indexing.model import Chunk
from indexing.sparse import SparseVec

DENSE = "dense"
SPARSE = "bm25"
RRF_K = 60  # reciprocal rank fusion constant (Qdrant's default)
OPEN_FROM = 0
OPEN_TO = 99991231
KEYWORD_FIELDS = ("doc_id", "version_key", "source", "kind", "jurisdiction", "court", "citation")
INTEGER_FIELDS = ("valid_from", "valid_to")


def day_int(day: date | None, default: int) -> int:
    """`date(2023, 12, 1)` -> 20231201; None -> `default`."""
    return default if day is None else day.year * 10000 + day.month * 100 + day.day


def int_day(value: int | None) -> date | None:
    """Inverse of `day_int` (the open sentinels give None)."""
    if value is None or value in (OPEN_FROM, OPEN_TO):
        return None
    return date(value // 10000, value // 100 % 100, value % 100)


def chunk_payload(chunk: Chunk, n_chunks: int) -> dict[str, Any]:
    """The stored payload of a chunk."""
    return {
        "doc_id": chunk.doc_id,
        "version": chunk.version,
        "version_key": f"{chunk.doc_id}@{chunk.version}",
        "citation": chunk.citation,
        "doc_citation": chunk.doc_citation,
        "pinpoint": chunk.pinpoint,
        "anchor": chunk.anchor,
        "heading_path": list(chunk.heading_path),
        "text": chunk.text,
        "order": chunk.order,
        "source": chunk.source,
        "kind": chunk.kind,
        "jurisdiction": chunk.jurisdiction,
        "title": chunk.title,
        "court": chunk.court,
        "valid_from": day_int(chunk.valid_from, OPEN_FROM),
        "valid_to": day_int(chunk.valid_to, OPEN_TO),
        "content_hash": chunk.content_hash,
        "decision_date": chunk.decision_date.isoformat() if chunk.decision_date else None,
        "pinpoints": list(chunk.pinpoints),
        "n_chunks": n_chunks,
        "retired": False,
    }


def payload_chunk(point_id: str, p: dict[str, Any]) -> Chunk:
    """A `Chunk` back from a stored payload."""
    dd = p.get("decision_date")
    return Chunk(
        chunk_id=str(point_id),
        doc_id=p["doc_id"],
        version=p["version"],
        citation=p["citation"],
        doc_citation=p["doc_citation"],
        pinpoint=p["pinpoint"],
        anchor=p["anchor"],
        heading_path=tuple(p.get("heading_path") or ()),
        text=p["text"],
        order=int(p["order"]),
        source=p["source"],
        kind=p["kind"],
        jurisdiction=p["jurisdiction"],
        title=p.get("title", ""),
        court=p.get("court"),
        valid_from=int_day(p.get("valid_from")),
        valid_to=int_day(p.get("valid_to")),
        content_hash=p.get("content_hash", ""),
        decision_date=date.fromisoformat(dd) if dd else None,
        pinpoints=tuple(p.get("pinpoints") or ()),
    )


# -- a neutral filter language, translated by each implementation --------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """`key == value`."""

    key: str
    value: str | int | bool


@dataclass(frozen=True, slots=True)
class MatchAny:
    """`key in values`."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Range:
    """Integer range on `key` (bounds optional)."""

    key: str
    gte: int | None = None
    gt: int | None = None
    lte: int | None = None
    lt: int | None = None


Condition = Match | MatchAny | Range


@dataclass(frozen=True, slots=True)
class Where:
    """All of `must` hold and none of `must_not`."""

    must: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.must or self.must_not)

    def also(self, other: Where) -> Where:
        """Both filters: the conditions of `self` and of `other`."""
        return Where(self.must + other.must, self.must_not + other.must_not)


@dataclass(frozen=True, slots=True)
class SparsePart:
    """One sparse query vector over some of the points (e.g. one kind of document).

    A query may carry several parts instead of one sparse vector: each part is ranked over
    the points its `where` selects (on top of the query's own filter) and the part rankings
    take the sparse ranking's place in the fusion. See `Retriever.sparse_parts`.
    """

    vector: SparseVec
    where: Where


SparseQuery = SparseVec | tuple[SparsePart, ...]


def sparse_parts(sparse: SparseQuery | None) -> tuple[SparsePart, ...]:
    """The non-empty sparse parts of a query (one part over every point for a plain vector)."""
    if sparse is None:
        return ()
    parts = (SparsePart(sparse, Where()),) if isinstance(sparse, SparseVec) else sparse
    return tuple(p for p in parts if p.vector.indices)


def as_of_conditions(day: date) -> tuple[Condition, ...]:
    """Versions in force on `day`: valid_from <= day < valid_to."""
    d = day_int(day, OPEN_FROM)
    return (Range("valid_from", lte=d), Range("valid_to", gt=d))


@dataclass(frozen=True, slots=True)
class IndexPoint:
    """A chunk with its vectors, ready to upsert."""

    chunk: Chunk
    dense: Sequence[float]
    sparse: SparseVec
    n_chunks: int


@dataclass(frozen=True, slots=True)
class Hit:
    """A scored point."""

    id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


class VectorStore(Protocol):
    """One build (embedded shard / server collection) of the index."""

    name: str

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or overwrite points (ids are chunk ids)."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Delete points by id (unknown ids are ignored)."""
        ...

    def set_payload(self, ids: Sequence[str], values: dict[str, Any]) -> None:
        """Merge `values` into the payload of the points `ids`."""
        ...

    def query(
        self,
        dense: Sequence[Sequence[float]],
        sparse: SparseQuery | None,
        where: Where | None = None,
        limit: int = 10,
        prefetch: int = 50,
        exact: bool = False,
        hnsw_ef: int | None = None,
    ) -> list[Hit]:
        """Nearest points to the query vectors.

        Args:
            dense: zero or more dense query vectors (a long query split into passages gives
                several).
            sparse: the sparse query vector, or `SparsePart`s (each ranked over its own
                points; together they count as the sparse ranking), or None.
            where: payload filter.
            limit: results wanted.
            prefetch: candidates per vector when several are fused.
            exact: exact (brute force) dense search.
            hnsw_ef: HNSW beam width.

        Returns:
            Hits, best first: one vector's own scores, or reciprocal rank fusion (k=60) of
            the rankings. Several dense vectors with a sparse one: the dense windows are fused
            first into one ranking, which then counts as much as the sparse ranking (a long
            query's windows must not outvote its terms).
        """
        ...

    def scroll(
        self, where: Where | None = None, fields: Sequence[str] | None = None
    ) -> Iterator[Hit]:
        """Every point matching `where` (score 0), with the payload `fields` (None: all)."""
        ...

    def term_counts(self) -> dict[int, int]:
        """Document frequency of every sparse term: how many points hold it."""
        ...

    def retrieve(self, ids: Sequence[str]) -> list[Hit]:
        """Points by id, with payload, in no particular order."""
        ...

    def count(self, where: Where | None = None) -> int:
        """Number of points matching `where`."""
        ...

    def flush(self) -> None:
        """Make everything written so far durable."""
        ...

    def optimize(self) -> None:
        """Build indexes (HNSW, payload) after a bulk load."""
        ...

    def close(self) -> None:
        """Release the build."""
        ...


class Catalog(Protocol):
    """The builds of one index and the alias / pointer naming the serving one."""

    alias: str

    def create(self, name: str, dim: int, exact_below: int = 20_000) -> VectorStore:
        """A new empty build with the schema (payload indexes included)."""
        ...

    def ensure(self, name: str, dim: int) -> VectorStore:
        """Open build `name`, creating it first if it does not exist (sharded bulk builds)."""
        ...

    def open(self, name: str) -> VectorStore:
        """An existing build."""
        ...

    def copy(self, source: str, target: str) -> VectorStore:
        """A new build holding the points of `source` (for a sync off to the side)."""
        ...

    def current(self) -> str | None:
        """The build the alias points at (None: no build yet)."""
        ...

    def swap(self, name: str) -> None:
        """Point the alias at `name`, atomically."""
        ...

    def builds(self) -> list[str]:
        """Existing builds, oldest first."""
        ...

    def drop(self, name: str) -> None:
        """Delete a build (never the current one)."""
        ...

    def changed_token(self) -> object:
        """A cheap value that changes whenever the alias moves."""
        ...


def new_build_name(alias: str) -> str:
    """`juris_20261124T031500_123456`: sortable, unique per microsecond."""
    t = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(t))
    return f"{alias}_{stamp}_{int(t * 1e6) % 1_000_000:06d}"


def prune(catalog: Catalog, keep: int) -> list[str]:
    """Drop the oldest builds beyond `keep` (the current one always stays).

    Returns:
        The names dropped.
    """
    current = catalog.current()
    old = [b for b in catalog.builds() if b != current]
    excess = max(0, len(old) - (keep - 1 if current else keep))
    dropped = old[:excess]
    for name in dropped:
        catalog.drop(name)
    return dropped


# -- embedded: qdrant-edge-py ----------------------------------------------------------------


def _edge_condition(c: Condition) -> Any:
    import qdrant_edge as qe

    if isinstance(c, Match):
        return qe.FieldCondition(key=c.key, match=qe.MatchValue(c.value))
    if isinstance(c, MatchAny):
        return qe.FieldCondition(key=c.key, match=qe.MatchAny(list(c.values)))
    return qe.FieldCondition(key=c.key, range=qe.RangeFloat(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt))


def _edge_filter(where: Where | None) -> Any:
    import qdrant_edge as qe

    if not where:
        return None
    return qe.Filter(
        must=[_edge_condition(c) for c in where.must] or None,
        must_not=[_edge_condition(c) for c in where.must_not] or None,
    )


class _ShardHandles:
    """Open `EdgeShard`s of this process, shared and reference-counted by path.

    The engine locks a shard's write-ahead log exclusively: a second `EdgeShard.load` of the
    same directory fails, even in the same process. Every `EdgeStore` of one build in a
    process therefore shares one handle (the gateway and a test both opening the current
    build, a retriever reopening after a swap); the last `close()` closes the shard. This is
    the one piece of process-wide state in the package, forced by the engine.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[Any, threading.RLock, int]] = {}

    def acquire(self, path: Path, opener: Any) -> tuple[Any, threading.RLock]:
        key = str(Path(path).resolve())
        with self._lock:
            if key in self._open:
                shard, lock, refs = self._open[key]
                self._open[key] = (shard, lock, refs + 1)
                return shard, lock
            shard = opener()
            lock = threading.RLock()
            self._open[key] = (shard, lock, 1)
            return shard, lock

    def release(self, path: Path) -> None:
        key = str(Path(path).resolve())
        with self._lock:
            shard, lock, refs = self._open[key]
            if refs > 1:
                self._open[key] = (shard, lock, refs - 1)
                return
            del self._open[key]
        with lock:
            shard.close()


_HANDLES = _ShardHandles()


class EdgeStore:
    """One build in Qdrant's embedded engine.

    Args:
        path: the shard directory.
        shard: the open `EdgeShard`.
        exact_below: use exact dense search while the build has fewer points than this.
    """

    def __init__(self, path: Path, opener: Any, exact_below: int = 20_000) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self._shard, self._lock = _HANDLES.acquire(self.path, opener)
        self._closed = False
        self.exact_below = exact_below
        self._size = self.count()

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        import qdrant_edge as qe

        if not points:
            return
        pts = [
            qe.Point(
                p.chunk.chunk_id,
                {
                    DENSE: [float(x) for x in p.dense],
                    SPARSE: qe.SparseVector(list(p.sparse.indices), list(p.sparse.values)),
                },
                chunk_payload(p.chunk, p.n_chunks),
            )
            for p in points
        ]
        with self._lock:
            self._shard.update(qe.UpdateOperation.upsert_points(pts))
            self._size += len(pts)

    def delete(self, ids: Sequence[str]) -> None:
        import qdrant_edge as qe

        if ids:
            with self._lock:
                self._shard.update(qe.UpdateOperation.delete_points(list(ids)))

    def set_payload(self, ids: Sequence[str], values: dict[str, Any]) -> None:
        import qdrant_edge as qe

        if ids:
            with self._lock:
                self._shard.update(qe.UpdateOperation.set_payload(list(ids), values))

    def query(
        self,
        dense: Sequence[Sequence[float]],
        sparse: SparseQuery | None,
        where: Where | None = None,
        limit: int = 10,
        prefetch: int = 50,
        exact: bool = False,
        hnsw_ef: int | None = None,
    ) -> list[Hit]:
        import qdrant_edge as qe

        flt = _edge_filter(where)
        params = qe.SearchParams(hnsw_ef=hnsw_ef, exact=exact or self._size < self.exact_below)
        windows = [qe.Query.Nearest([float(x) for x in v], using=DENSE) for v in dense]
        parts = [
            (
                qe.Query.Nearest(
                    qe.SparseVector(list(p.vector.indices), list(p.vector.values)), using=SPARSE
                ),
                _edge_filter((where or Where()).also(p.where)),
            )
            for p in sparse_parts(sparse)
        ]
        if not windows and not parts:
            if sparse is not None:
                return []  # a query with no indexable term matches nothing
            raise ValueError("query needs a dense or a sparse vector")
        rrf: Any = qe.Fusion.Rrf(k=RRF_K)
        prefetches = [
            qe.Prefetch(limit=prefetch, query=q, filter=flt, params=params) for q in windows
        ]
        if len(prefetches) > 1 and parts:
            # the windows of a long query vote as one dense ranking, equal to the sparse one
            prefetches = [qe.Prefetch(limit=prefetch, prefetches=prefetches, query=rrf)]
        prefetches += [
            qe.Prefetch(limit=prefetch, query=q, filter=f, params=params) for q, f in parts
        ]
        if len(prefetches) == 1:
            query, only = (windows[0], flt) if windows else parts[0]
            req = qe.QueryRequest(
                limit=limit, query=query, filter=only, params=params, with_payload=True
            )
        else:
            req = qe.QueryRequest(
                limit=limit, prefetches=prefetches, query=rrf, filter=flt, with_payload=True
            )
        with self._lock:
            res = self._shard.query(req)
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in res]

    def scroll(
        self, where: Where | None = None, fields: Sequence[str] | None = None
    ) -> Iterator[Hit]:
        import qdrant_edge as qe

        offset = None
        with_payload: Any = list(fields) if fields is not None else True
        while True:
            req = qe.ScrollRequest(
                offset=offset, limit=1000, filter=_edge_filter(where), with_payload=with_payload
            )
            with self._lock:
                records, offset = self._shard.scroll(req)
            for r in records:
                yield Hit(str(r.id), 0.0, dict(r.payload or {}))
            if offset is None or not records:
                return

    def term_counts(self) -> dict[int, int]:
        import qdrant_edge as qe

        counts: Counter[int] = Counter()
        offset = None
        while True:
            req = qe.ScrollRequest(
                offset=offset, limit=2000, with_payload=False, with_vector=[SPARSE]
            )
            with self._lock:
                records, offset = self._shard.scroll(req)
            for r in records:
                vec = (r.vector or {}).get(SPARSE)
                if vec is not None:
                    counts.update(vec.indices)
            if offset is None or not records:
                return dict(counts)

    def retrieve(self, ids: Sequence[str]) -> list[Hit]:
        if not ids:
            return []
        with self._lock:
            recs = self._shard.retrieve(list(ids), with_payload=True, with_vector=False)
        return [Hit(str(r.id), 0.0, dict(r.payload or {})) for r in recs]

    def count(self, where: Where | None = None) -> int:
        import qdrant_edge as qe

        with self._lock:
            return int(self._shard.count(qe.CountRequest(exact=True, filter=_edge_filter(where))))

    def flush(self) -> None:
        with self._lock:
            self._shard.flush()

    def optimize(self) -> None:
        with self._lock:
            self._shard.optimize()
            self._size = self.count()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _HANDLES.release(self.path)


def _edge_config(dim: int) -> Any:
    import qdrant_edge as qe

    return qe.EdgeConfig(
        vectors={DENSE: qe.EdgeVectorParams(dim, qe.Distance.Cosine)},
        sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        # m=16 / ef_construct=128: see README "HNSW recall" for the measurement behind it.
        hnsw_config=qe.HnswIndexConfig(m=16, ef_construct=128, full_scan_threshold=10_000),
    )


class EdgeCatalog:
    """Builds of the embedded index under `root`, and the pointer naming the current one.

    Layout: `root/builds/<name>/` (one shard each), `root/<alias>.current` (JSON
    `{"build": name}`), replaced with `os.replace` so a reader sees the old or the new build,
    never a half-written pointer.
    """

    def __init__(self, root: Path, alias: str = "juris", exact_below: int = 20_000) -> None:
        self.root = Path(root)
        self.alias = alias
        self.exact_below = exact_below
        self.builds_dir = self.root / "builds"
        self.pointer = self.root / f"{alias}.current"

    def create(self, name: str, dim: int, exact_below: int | None = None) -> EdgeStore:
        import qdrant_edge as qe

        path = self.builds_dir / name
        if path.exists():
            raise ValueError(f"build {name} already exists at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)

        def opener() -> Any:
            shard = qe.EdgeShard.create(str(path), _edge_config(dim))
            for f in KEYWORD_FIELDS:
                shard.update(qe.UpdateOperation.create_field_index(f, qe.PayloadSchemaType.Keyword))
            for f in INTEGER_FIELDS:
                shard.update(
                    qe.UpdateOperation.create_field_index(
                        f, qe.IntegerIndexParams(lookup=False, range=True)
                    )
                )
            return shard

        return EdgeStore(path, opener, self.exact_below if exact_below is None else exact_below)

    def ensure(self, name: str, dim: int) -> EdgeStore:
        path = self.builds_dir / name
        if path.is_dir() and any(path.iterdir()):
            return self.open(name)
        shutil.rmtree(path, ignore_errors=True)  # an empty directory left by a crash
        return self.create(name, dim)

    def open(self, name: str) -> EdgeStore:
        import qdrant_edge as qe

        path = self.builds_dir / name
        if not (path.is_dir() and any(path.iterdir())):
            raise ValueError(f"build {name} not found at {path}")
        return EdgeStore(path, lambda: qe.EdgeShard.load(str(path)), self.exact_below)

    def copy(self, source: str, target: str) -> EdgeStore:
        src = self.builds_dir / source
        dst = self.builds_dir / target
        if dst.exists():
            raise ValueError(f"build {target} already exists at {dst}")
        tmp = self.builds_dir / f".{target}.copying"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp)
        os.replace(tmp, dst)
        return self.open(target)

    def current(self) -> str | None:
        try:
            data = json.loads(self.pointer.read_text())
        except FileNotFoundError:
            return None
        name = data.get("build")
        return str(name) if name else None

    def swap(self, name: str) -> None:
        if not (self.builds_dir / name).is_dir():
            raise ValueError(f"build {name} not found under {self.builds_dir}")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.pointer.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "w") as fh:
            json.dump({"build": name, "swapped_at": time.time()}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)

    def builds(self) -> list[str]:
        if not self.builds_dir.is_dir():
            return []
        prefix = f"{self.alias}_"
        return sorted(
            p.name for p in self.builds_dir.iterdir() if p.is_dir() and p.name.startswith(prefix)
        )

    def drop(self, name: str) -> None:
        if name == self.current():
            raise ValueError(f"refusing to drop the current build {name}")
        shutil.rmtree(self.builds_dir / name, ignore_errors=True)

    def changed_token(self) -> object:
        try:
            st = self.pointer.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino, st.st_size)


# -- server: qdrant-client -------------------------------------------------------------------


def _client_condition(c: Condition) -> Any:
    from qdrant_client import models as m

    if isinstance(c, Match):
        return m.FieldCondition(key=c.key, match=m.MatchValue(value=c.value))
    if isinstance(c, MatchAny):
        return m.FieldCondition(key=c.key, match=m.MatchAny(any=list(c.values)))
    return m.FieldCondition(key=c.key, range=m.Range(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt))


def _client_filter(where: Where | None) -> Any:
    from qdrant_client import models as m

    if not where:
        return None
    return m.Filter(
        must=[_client_condition(c) for c in where.must] or None,
        must_not=[_client_condition(c) for c in where.must_not] or None,
    )


class ServerStore:
    """One build (collection) on a Qdrant server through `qdrant-client`.

    Args:
        client: a `QdrantClient` (a server URL, or local mode in tests).
        name: the collection.
        exact_below: exact dense search below this many points.
    """

    def __init__(self, client: Any, name: str, exact_below: int = 20_000) -> None:
        self.client = client
        self.name = name
        self.exact_below = exact_below
        self._lock = threading.RLock()  # local mode is not thread-safe; a server is

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        from qdrant_client import models as m

        if not points:
            return
        pts = [
            m.PointStruct(
                id=p.chunk.chunk_id,
                vector={
                    DENSE: [float(x) for x in p.dense],
                    SPARSE: m.SparseVector(
                        indices=list(p.sparse.indices), values=list(p.sparse.values)
                    ),
                },
                payload=chunk_payload(p.chunk, p.n_chunks),
            )
            for p in points
        ]
        with self._lock:
            self.client.upsert(self.name, points=pts, wait=True)

    def delete(self, ids: Sequence[str]) -> None:
        from qdrant_client import models as m

        if ids:
            with self._lock:
                self.client.delete(
                    self.name, points_selector=m.PointIdsList(points=list(ids)), wait=True
                )

    def set_payload(self, ids: Sequence[str], values: dict[str, Any]) -> None:
        if ids:
            with self._lock:
                self.client.set_payload(self.name, payload=values, points=list(ids), wait=True)

    def query(
        self,
        dense: Sequence[Sequence[float]],
        sparse: SparseQuery | None,
        where: Where | None = None,
        limit: int = 10,
        prefetch: int = 50,
        exact: bool = False,
        hnsw_ef: int | None = None,
    ) -> list[Hit]:
        from qdrant_client import models as m

        flt = _client_filter(where)
        params = m.SearchParams(hnsw_ef=hnsw_ef, exact=exact)
        # (query vector, vector name, filter) per ranking: dense windows, then sparse parts
        queries: list[tuple[Any, str, Any]] = [([float(x) for x in v], DENSE, flt) for v in dense]
        for part in sparse_parts(sparse):
            sv = m.SparseVector(indices=list(part.vector.indices), values=list(part.vector.values))
            queries.append((sv, SPARSE, _client_filter((where or Where()).also(part.where))))
        if not queries:
            if sparse is not None:
                return []
            raise ValueError("query needs a dense or a sparse vector")
        rrf = m.RrfQuery(rrf=m.Rrf(k=RRF_K))
        prefetches = [
            m.Prefetch(query=q, using=u, filter=f, limit=prefetch, params=params)
            for q, u, f in queries
        ]
        if len(dense) > 1 and len(queries) > len(dense):
            # the windows of a long query vote as one dense ranking, equal to the sparse one
            windows, sparse_prefetches = prefetches[: len(dense)], prefetches[len(dense) :]
            prefetches = [
                m.Prefetch(prefetch=windows, query=rrf, limit=prefetch),
                *sparse_prefetches,
            ]
        with self._lock:
            if len(queries) == 1:
                q, using, only = queries[0]
                res = self.client.query_points(
                    self.name,
                    query=q,
                    using=using,
                    query_filter=only,
                    limit=limit,
                    search_params=params,
                    with_payload=True,
                )
            else:
                res = self.client.query_points(
                    self.name,
                    prefetch=prefetches,
                    query=rrf,
                    query_filter=flt,
                    limit=limit,
                    with_payload=True,
                )
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in res.points]

    def scroll(
        self, where: Where | None = None, fields: Sequence[str] | None = None
    ) -> Iterator[Hit]:
        offset = None
        with_payload: Any = list(fields) if fields is not None else True
        while True:
            with self._lock:
                records, offset = self.client.scroll(
                    self.name,
                    scroll_filter=_client_filter(where),
                    limit=1000,
                    offset=offset,
                    with_payload=with_payload,
                    with_vectors=False,
                )
            for r in records:
                yield Hit(str(r.id), 0.0, dict(r.payload or {}))
            if offset is None or not records:
                return

    def term_counts(self) -> dict[int, int]:
        counts: Counter[int] = Counter()
        offset = None
        while True:
            with self._lock:
                records, offset = self.client.scroll(
                    self.name,
                    limit=2000,
                    offset=offset,
                    with_payload=False,
                    with_vectors=[SPARSE],
                )
            for r in records:
                vec = (r.vector or {}).get(SPARSE) if isinstance(r.vector, dict) else None
                if vec is not None:
                    counts.update(vec.indices)
            if offset is None or not records:
                return dict(counts)

    def retrieve(self, ids: Sequence[str]) -> list[Hit]:
        if not ids:
            return []
        with self._lock:
            recs = self.client.retrieve(self.name, ids=list(ids), with_payload=True)
        return [Hit(str(r.id), 0.0, dict(r.payload or {})) for r in recs]

    def count(self, where: Where | None = None) -> int:
        with self._lock:
            return int(
                self.client.count(self.name, count_filter=_client_filter(where), exact=True).count
            )

    def flush(self) -> None:
        """Writes are acknowledged with `wait=True`; nothing to flush client-side."""

    def optimize(self) -> None:
        """The server builds HNSW in the background; nothing to trigger."""

    def close(self) -> None:
        """The client is owned by the catalog."""


class ServerCatalog:
    """Collections of one index on a Qdrant server, and the real alias naming the current one.

    Args:
        client: a `QdrantClient`.
        alias: the serving alias (`juris`).
    """

    def __init__(
        self,
        client: Any,
        alias: str = "juris",
        exact_below: int = 20_000,
        replication: Replication | None = None,
    ) -> None:
        self.client = client
        self.alias = alias
        self.exact_below = exact_below
        self.replication = replication or Replication()

    def collection_request(self, name: str, dim: int) -> dict[str, Any]:
        """The keyword arguments of `create_collection` for a new build.

        Args:
            name: the collection name.
            dim: the dense vector dimension.

        Returns:
            Schema, HNSW parameters and the replication settings (`Replication`).
        """
        from qdrant_client import models as m

        return {
            "collection_name": name,
            "vectors_config": {DENSE: m.VectorParams(size=dim, distance=m.Distance.COSINE)},
            "sparse_vectors_config": {SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
            "hnsw_config": m.HnswConfigDiff(m=16, ef_construct=128, full_scan_threshold=10_000),
            "shard_number": self.replication.shard_number,
            "replication_factor": self.replication.replication_factor,
            "write_consistency_factor": self.replication.write_consistency_factor,
        }

    def create(self, name: str, dim: int, exact_below: int | None = None) -> ServerStore:
        if self.client.collection_exists(name):
            raise ValueError(f"collection {name} already exists")
        self.client.create_collection(**self.collection_request(name, dim))
        with warnings.catch_warnings():
            # local mode (tests) warns that it ignores payload indexes; a server uses them
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            self._indexes(name)
        return ServerStore(
            self.client, name, self.exact_below if exact_below is None else exact_below
        )

    def _indexes(self, name: str) -> None:
        from qdrant_client import models as m

        for f in KEYWORD_FIELDS:
            self.client.create_payload_index(name, f, m.PayloadSchemaType.KEYWORD)
        for f in INTEGER_FIELDS:
            self.client.create_payload_index(
                name,
                f,
                m.IntegerIndexParams(type=m.IntegerIndexType.INTEGER, lookup=False, range=True),
            )

    def ensure(self, name: str, dim: int) -> ServerStore:
        if self.client.collection_exists(name):
            self._indexes_quietly(name)  # a worker that lost the creation race may be first here
            return self.open(name)
        try:
            return self.create(name, dim)
        except Exception:
            # another worker created it between the check and the request
            if not self.client.collection_exists(name):
                raise
            self._indexes_quietly(name)
            return self.open(name)

    def _indexes_quietly(self, name: str) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            self._indexes(name)

    def open(self, name: str) -> ServerStore:
        if not self.client.collection_exists(name):
            raise ValueError(f"collection {name} not found")
        return ServerStore(self.client, name, self.exact_below)

    def copy(self, source: str, target: str) -> ServerStore:
        src = self.open(source)
        dim = self.client.get_collection(source).config.params.vectors[DENSE].size
        dst = self.create(target, dim)
        offset = None
        while True:
            records, offset = self.client.scroll(
                source, limit=500, offset=offset, with_payload=True, with_vectors=True
            )
            if records:
                from qdrant_client import models as m

                self.client.upsert(
                    target,
                    points=[
                        m.PointStruct(id=r.id, vector=r.vector, payload=r.payload) for r in records
                    ],
                    wait=True,
                )
            if offset is None or not records:
                break
        del src
        return dst

    def current(self) -> str | None:
        for a in self.client.get_aliases().aliases:
            if a.alias_name == self.alias:
                return str(a.collection_name)
        return None

    def swap(self, name: str) -> None:
        from qdrant_client import models as m

        if not self.client.collection_exists(name):
            raise ValueError(f"collection {name} not found")
        ops: list[Any] = []
        if self.current() is not None:
            ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.alias)))
        ops.append(
            m.CreateAliasOperation(
                create_alias=m.CreateAlias(collection_name=name, alias_name=self.alias)
            )
        )
        self.client.update_collection_aliases(change_aliases_operations=ops)

    def builds(self) -> list[str]:
        prefix = f"{self.alias}_"
        names = [c.name for c in self.client.get_collections().collections]
        return sorted(n for n in names if n.startswith(prefix))

    def drop(self, name: str) -> None:
        if name == self.current():
            raise ValueError(f"refusing to drop the current collection {name}")
        self.client.delete_collection(name)

    def changed_token(self) -> object:
        return self.current()


@dataclass(frozen=True)
class Replication:
    """How a server collection is spread over a Qdrant cluster (ignored by the embedded engine).

    Args:
        shard_number: shards per collection (spread over the peers).
        replication_factor: copies of each shard (>= 2: one peer down loses nothing).
        write_consistency_factor: replicas that must acknowledge a write.
    """

    shard_number: int = 1
    replication_factor: int = 1
    write_consistency_factor: int = 1


def open_catalog(
    qdrant_path: Path,
    qdrant_url: str | None,
    api_key: str | None,
    alias: str,
    exact_below: int = 20_000,
    replication: Replication | None = None,
) -> Catalog:
    """The catalog for the configured engine: server when a URL is set, else embedded.

    Args:
        qdrant_path: embedded index root.
        qdrant_url: Qdrant server URL (`http://qdrant:6333`), or None.
        api_key: server API key.
        alias: the alias / pointer name.
        exact_below: exact dense search below this many points.
        replication: shard number, replication and write consistency of new server collections.

    Returns:
        A `Catalog`.
    """
    if qdrant_url:
        from qdrant_client import QdrantClient

        client = QdrantClient(url=qdrant_url, api_key=api_key)
        return ServerCatalog(client, alias, exact_below, replication)
    return EdgeCatalog(qdrant_path, alias, exact_below)
