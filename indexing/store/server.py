"""The server engine: a Qdrant server (or cluster) through `qdrant-client`.

`ServerStore` is one build (one collection); `ServerCatalog` moves the real collection alias
in one request; `Replication` spreads new collections over a cluster. Tests point the client
at its local mode, which speaks the server's API. The schema and the interfaces are
`indexing.store.schema`'s.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
    from qdrant_client import models as m

    return FilterDialect(
        field=m.FieldCondition,
        match=lambda value: m.MatchValue(value=value),
        match_any=lambda values: m.MatchAny(any=values),
        range=m.Range,
        filter=m.Filter,
    )


def _client_filter(where: Where | None) -> Any:
    return _dialect().translate(where)


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
                    SPARSE: m.SparseVector(
                        indices=list(p.sparse.indices), values=list(p.sparse.values)
                    ),
                    **({} if p.dense is None else {DENSE: [float(x) for x in p.dense]}),
                },
                payload={**chunk_payload(p.chunk, p.n_chunks), **p.extra},
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
        with_payload: Any = list(fields) if fields is not None else True

        def fetch(offset: Any) -> Any:
            with self._lock:
                return self.client.scroll(
                    self.name,
                    scroll_filter=_client_filter(where),
                    limit=1000,
                    offset=offset,
                    with_payload=with_payload,
                    with_vectors=False,
                )

        for records in pages(fetch):
            for r in records:
                yield Hit(str(r.id), 0.0, dict(r.payload or {}))

    def term_counts(self) -> dict[int, int]:
        def fetch(offset: Any) -> Any:
            with self._lock:
                return self.client.scroll(
                    self.name, limit=2000, offset=offset, with_payload=False, with_vectors=[SPARSE]
                )

        counts: Counter[int] = Counter()
        for records in pages(fetch):
            for r in records:
                vec = (r.vector or {}).get(SPARSE) if isinstance(r.vector, dict) else None
                if vec is not None:
                    counts.update(vec.indices)
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
        from qdrant_client import models as m

        def fetch(offset: Any) -> Any:
            return self.client.scroll(
                source, limit=500, offset=offset, with_payload=True, with_vectors=True
            )

        for records in pages(fetch):
            if records:
                self.client.upsert(
                    target,
                    points=[
                        m.PointStruct(id=r.id, vector=r.vector, payload=r.payload) for r in records
                    ],
                    wait=True,
                )
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
