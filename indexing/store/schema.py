"""The index schema and the store interfaces both engines implement.

Schema (both implementations):

- named dense vector `dense` (cosine, the embedder's dimension) and sparse vector `bm25`
  (IDF modifier: the engine supplies BM25's IDF, `indexing.sparse` the TF part);
- payload = the `Chunk` fields, with `valid_from` / `valid_to` stored as integers `YYYYMMDD`
  (0 = open start, 99991231 = still in force) so an as-of filter is two integer ranges that
  need no null handling; plus `version_key`, `n_chunks` (points of the version, for the
  completeness check of `sync`) and `retired`;
- payload indexes on doc_id, version_key, source, kind, jurisdiction, court, citation
  (keyword) and valid_from, valid_to (integer).

Here: the payload codec (`chunk_payload` / `payload_chunk`), the neutral filter language
(`Where` of `Match` / `MatchAny` / `Range`) and its one translation (`FilterDialect`), the
`VectorStore` and `Catalog` protocols, build names and pruning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
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
        "captions": list(chunk.captions),
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
        captions=tuple(p.get("captions") or ()),
    )


# -- a neutral filter language, translated once for both engines (`FilterDialect`) ----------


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
class FilterDialect:
    """How one engine's client library spells a filter: the translation, written once.

    Each field is that library's constructor (`qdrant_edge` or `qdrant_client.models`):

    Args:
        field: `FieldCondition(key=…, match=…)` or `FieldCondition(key=…, range=…)`.
        match: `key == value` from the value.
        match_any: `key in values` from a list of values.
        range: an integer range from `gte`, `gt`, `lte`, `lt` (keywords).
        filter: `Filter(must=…, must_not=…)`.
    """

    field: Callable[..., Any]
    match: Callable[[Any], Any]
    match_any: Callable[[list[str]], Any]
    range: Callable[..., Any]
    filter: Callable[..., Any]

    def condition(self, c: Condition) -> Any:
        """One neutral condition in the engine's terms."""
        if isinstance(c, Match):
            return self.field(key=c.key, match=self.match(c.value))
        if isinstance(c, MatchAny):
            return self.field(key=c.key, match=self.match_any(list(c.values)))
        return self.field(key=c.key, range=self.range(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt))

    def translate(self, where: Where | None) -> Any:
        """The engine's filter for `where` (None when it selects every point)."""
        if not where:
            return None
        return self.filter(
            must=[self.condition(c) for c in where.must] or None,
            must_not=[self.condition(c) for c in where.must_not] or None,
        )


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
    """A chunk with its vectors, ready to upsert (`dense` None: sparse vector only, for the
    passages of a long opinion beyond its dense budget; the dense ranking skips the point);
    `extra`: payload fields stored beside the chunk's (the embedding model that made `dense`,
    `indexing.model_record`)."""

    chunk: Chunk
    dense: Sequence[float] | None
    sparse: SparseVec
    n_chunks: int
    extra: dict[str, Any] = field(default_factory=dict)


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


def pages(fetch: Callable[[Any], tuple[Sequence[Any], Any]]) -> Iterator[Sequence[Any]]:
    """The pages of a scroll, fetched as they are consumed.

    Args:
        fetch: given the offset (None first), one page of records and the next offset (None
            after the last page).

    Returns:
        The pages in order, up to the last one or the first empty one.
    """
    offset = None
    while True:
        records, offset = fetch(offset)
        yield records
        if offset is None or not records:
            return


def new_build_name(alias: str) -> str:
    """`juris_20261124T031500_123456`: sortable, unique per microsecond."""
    t = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(t))
    return f"{alias}_{stamp}_{int(t * 1e6) % 1_000_000:06d}"


def prune(catalog: Catalog, keep: int, spare: Collection[str] = ()) -> list[str]:
    """Drop the oldest builds beyond `keep` (the current one always stays, and so do the
    builds in `spare`, which are not counted: builds another job may still resume).

    Returns:
        The names dropped.
    """
    current = catalog.current()
    old = [b for b in catalog.builds() if b != current and b not in spare]
    excess = max(0, len(old) - (keep - 1 if current else keep))
    dropped = old[:excess]
    for name in dropped:
        catalog.drop(name)
    return dropped
