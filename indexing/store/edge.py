"""The embedded engine: Qdrant's own Rust storage and search in process (`qdrant-edge-py`).

`EdgeStore` is one build (one shard directory); `EdgeCatalog` keeps the builds under a root
and a pointer file `<alias>.current` replaced atomically (`os.replace`). The schema and the
interfaces are `indexing.store.schema`'s.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from indexing.store.schema import (
    DENSE,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    RRF_K,
    SPARSE,
    FilterDialect,
    Hit,
    IndexPoint,
    SparseQuery,
    Where,
    chunk_payload,
    pages,
    sparse_parts,
)


@functools.cache
def _dialect() -> FilterDialect:
    import qdrant_edge as qe

    return FilterDialect(qe.FieldCondition, qe.MatchValue, qe.MatchAny, qe.RangeFloat, qe.Filter)


def _edge_filter(where: Where | None) -> Any:
    return _dialect().translate(where)


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
                    SPARSE: qe.SparseVector(list(p.sparse.indices), list(p.sparse.values)),
                    **({} if p.dense is None else {DENSE: [float(x) for x in p.dense]}),
                },
                {**chunk_payload(p.chunk, p.n_chunks), **p.extra},
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

        with_payload: Any = list(fields) if fields is not None else True

        def fetch(offset: Any) -> Any:
            req = qe.ScrollRequest(
                offset=offset, limit=1000, filter=_edge_filter(where), with_payload=with_payload
            )
            with self._lock:
                return self._shard.scroll(req)

        for records in pages(fetch):
            for r in records:
                yield Hit(str(r.id), 0.0, dict(r.payload or {}))

    def term_counts(self) -> dict[int, int]:
        import qdrant_edge as qe

        def fetch(offset: Any) -> Any:
            req = qe.ScrollRequest(
                offset=offset, limit=2000, with_payload=False, with_vector=[SPARSE]
            )
            with self._lock:
                return self._shard.scroll(req)

        counts: Counter[int] = Counter()
        for records in pages(fetch):
            for r in records:
                vec = (r.vector or {}).get(SPARSE)
                if vec is not None:
                    counts.update(vec.indices)
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
        # m=16 / ef_construct=128: see README, Benchmarks, "HNSW" for the measurement behind it.
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
