"""The index's own chunks scored in memory: the lab's fast path, ranking as the index ranks.

`MemoryStore` holds the points a build of some documents would hold — the product's chunks
(`indexing.build.make_indexer`: the same chunker, sparse encoder and embedded text), their
sparse vectors and their dense vectors (read from the embedding cache the build fills) —
and answers the calls a fact-pattern ranking makes (`indexing.fact_patterns`: one dense or
one sparse vector under a filter, scrolls, term counts) the way Qdrant scores them, exactly:
cosine for the dense vector, `Σ q_t · idf_t · d_t` with Qdrant's IDF modifier
(`ln((N − n_t + 0.5) / (n_t + 0.5) + 1)`, N points, n_t points holding t) for the sparse
one. So a setting swept here ranks as the built index ranks it
(`tests/indexing/test_fact_patterns.py` compares the two on a slice), without an index build
per try, and with no HNSW in the comparison.

    >>> store = memory_store(corpus_dir, ["aila/statutes", "aila/casedocs"], settings)
    >>> patterns = FactPatterns(store, embed, Bm25Encoder(), windows, store.term_counts)

Chunking the 2,914 AILA judgments takes minutes; the points (payloads and sparse vectors)
are cached under `<cache>/memory`, keyed by the source files' sizes and times and the
chunk format. Dense vectors come from `JURIS_EMBED_CACHE` (what `build` wrote); missing
ones are embedded up to `embed_budget` and the rest are left out of dense searches (said
in the log).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from indexing.store import Hit, Match, MatchAny, Range, SparseQuery, Where, sparse_parts

log = logging.getLogger(__name__)


class MemoryStore:
    """Points in numpy, answering single-vector queries as Qdrant does (see module docstring).

    Args:
        name: a label (the `VectorStore.name` of a build).
        ids: point ids (chunk ids).
        payloads: the stored payload of each point (`indexing.store.chunk_payload`).
        sparse: `(term ids, weights)` of each point's sparse vector.
        dense: each point's dense vector (rows; L2-normalised here), None where missing.
    """

    def __init__(
        self,
        name: str,
        ids: Sequence[str],
        payloads: Sequence[dict[str, Any]],
        sparse: Sequence[tuple[Sequence[int], Sequence[float]]],
        dense: Sequence[Sequence[float] | np.ndarray | None],
    ) -> None:
        self.name = name
        self.ids = list(ids)
        self.payloads = list(payloads)
        self._order = np.argsort(np.array(self.ids, dtype=object)).astype(np.int64)
        self._rank_of_id = np.empty(len(self.ids), dtype=np.int64)
        self._rank_of_id[self._order] = np.arange(len(self.ids))
        columns: dict[int, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for row, (indices, values) in enumerate(sparse):
            for t, w in zip(indices, values, strict=True):
                rows.append(row)
                cols.append(columns.setdefault(int(t), len(columns)))
                vals.append(float(w))
        self.columns = columns
        self.matrix = sp.csr_matrix(
            (np.array(vals, dtype=np.float32), (rows, cols)), shape=(len(self.ids), len(columns))
        )
        df = np.bincount(self.matrix.indices, minlength=len(columns))
        n = len(self.ids)
        self._df = df
        self.idf = np.log((n - df + 0.5) / (df + 0.5) + 1.0).astype(np.float32)
        dim = next((len(v) for v in dense if v is not None), 0)
        self.has_dense = np.array([v is not None for v in dense], dtype=bool)
        mat = np.zeros((n, dim), dtype=np.float32)
        for i, v in enumerate(dense):
            if v is not None:
                mat[i] = v
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        self.dense = mat / np.where(norms > 0, norms, 1.0)
        self._masks: dict[Where, np.ndarray] = {}

    # -- filters -------------------------------------------------------------------------------

    def _field(self, key: str) -> np.ndarray:
        return np.array([p.get(key) for p in self.payloads], dtype=object)

    def _condition(self, c: Match | MatchAny | Range) -> np.ndarray:
        values = self._field(c.key)
        if isinstance(c, Match):
            return np.array([v == c.value for v in values], dtype=bool)
        if isinstance(c, MatchAny):
            wanted = set(c.values)
            return np.array([v in wanted for v in values], dtype=bool)
        nums = np.array([v if isinstance(v, int) else np.nan for v in values], dtype=float)
        ok = ~np.isnan(nums)
        if c.gte is not None:
            ok &= nums >= c.gte
        if c.gt is not None:
            ok &= nums > c.gt
        if c.lte is not None:
            ok &= nums <= c.lte
        if c.lt is not None:
            ok &= nums < c.lt
        return ok

    def mask(self, where: Where | None) -> np.ndarray:
        """The points `where` selects (every one for None)."""
        where = where or Where()
        if where not in self._masks:
            ok = np.ones(len(self.ids), dtype=bool)
            for c in where.must:
                ok &= self._condition(c)
            for c in where.must_not:
                ok &= ~self._condition(c)
            self._masks[where] = ok
        return self._masks[where]

    # -- the calls a fact-pattern ranking makes -----------------------------------------------

    def _top(self, scores: np.ndarray, ok: np.ndarray, limit: int) -> list[Hit]:
        idx = np.flatnonzero(ok)
        if not len(idx) or limit < 1:
            return []
        # best score first, ties by point id
        order = np.lexsort((self._rank_of_id[idx], -scores[idx]))[:limit]
        return [Hit(self.ids[i], float(scores[i]), self.payloads[i]) for i in idx[order]]

    def sparse_scores(self, indices: Sequence[int], values: Sequence[float]) -> np.ndarray:
        """Qdrant's IDF-modified sparse score of every point (0 where no term is shared)."""
        q = np.zeros(len(self.columns), dtype=np.float32)
        for t, w in zip(indices, values, strict=True):
            col = self.columns.get(int(t))
            if col is not None:
                q[col] += float(w) * self.idf[col]
        result: np.ndarray = np.asarray(self.matrix @ q, dtype=np.float32)
        return result

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
        """The best points for one dense vector or one sparse query, under `where`.

        Raises:
            ValueError: for a fused query (several vectors): fact patterns make none.
        """
        parts = sparse_parts(sparse)
        if len(dense) + len(parts) != 1:
            if not dense and sparse is not None and not parts:
                return []  # a query with no indexable term matches nothing
            raise ValueError("the in-memory store answers one dense or one sparse vector")
        ok = self.mask(where)
        if dense:
            q = np.asarray(dense[0], dtype=np.float32)
            q = q / (np.linalg.norm(q) or 1.0)
            return self._top(self.dense @ q, ok & self.has_dense, limit)
        part = parts[0]
        scores = self.sparse_scores(part.vector.indices, part.vector.values)
        # weights and IDF are positive: a point scores above 0 exactly when it shares a term,
        # and only such points are found by a sparse search
        return self._top(scores, ok & self.mask(part.where) & (scores > 0), limit)

    def scroll(
        self, where: Where | None = None, fields: Sequence[str] | None = None
    ) -> Iterator[Hit]:
        """Every point `where` selects, in id order, with its payload (`fields` only)."""
        ok = self.mask(where)
        for i in self._order:
            if ok[i]:
                p = self.payloads[i]
                yield Hit(self.ids[i], 0.0, p if fields is None else {k: p.get(k) for k in fields})

    def term_counts(self) -> dict[int, int]:
        """How many points hold each sparse term."""
        return {t: int(self._df[c]) for t, c in self.columns.items()}

    def count(self, where: Where | None = None) -> int:
        """Points `where` selects."""
        return int(self.mask(where).sum())

    def retrieve(self, ids: Sequence[str]) -> list[Hit]:
        """Points by id."""
        at = {p: i for i, p in enumerate(self.ids)}
        return [Hit(p, 0.0, self.payloads[at[p]]) for p in ids if p in at]


def _fingerprint(units: Sequence[Any], extra: str) -> str:
    h = hashlib.sha1(extra.encode())
    for u in units:
        for path in u.paths:
            st = Path(path).stat()
            h.update(f"{u.source}|{u.key}|{path}|{st.st_size}|{int(st.st_mtime)};".encode())
    return h.hexdigest()[:16]


def memory_store(
    corpus_dir: Path,
    sources: Sequence[str],
    settings: Any,
    cache_dir: Path | None = None,
    only_docs: Sequence[str] | None = None,
    embed_budget: int | None = None,
    units: Sequence[Any] | None = None,
    doc_filter: Any = None,
) -> MemoryStore:
    """The points a build of `sources` (or of `units`) would hold, in memory.

    Args:
        corpus_dir: the corpus root.
        sources: adapter sources (`aila/statutes`, `aila/casedocs`).
        settings: `IndexSettings` (model, embedding cache).
        cache_dir: where the chunked points are cached (None: not cached).
        only_docs: keep only these document ids (`aila:C1`, or the qrels' `C1`).
        embed_budget: embed at most this many chunks missing from the embedding cache
            (None: all); the others have no dense vector.
        units: exactly these source units (instead of discovering `sources`).
        doc_filter: keep only the documents it accepts (as `run_build`'s).

    Returns:
        The store.
    """
    from indexing.build import make_embedder, make_indexer
    from indexing.chunking import CHUNK_FORMAT, embed_text
    from indexing.store import chunk_payload, payload_chunk
    from legal_corpus.adapters import discover_units, parse_units

    todo = list(units) if units is not None else discover_units(corpus_dir, sources)
    wanted = None
    if only_docs is not None:
        wanted = {d if ":" in d else f"aila:{d}" for d in only_docs}
        todo = [u for u in todo if any(f"aila:{u.key}" == d or u.key == d for d in wanted)]
    embedder = make_embedder(settings)
    indexer = make_indexer(settings, embedder)
    key = _fingerprint(
        todo,
        f"{CHUNK_FORMAT}|{indexer.chunker.max_tokens}|{indexer.sparse.k1}|{indexer.sparse.b}"
        f"|{indexer.sparse.avg_len}|{sorted(wanted) if wanted else ''}|{doc_filter is None}"
        f"|{indexer.sparse.sparse_format}",
    )
    cached = cache_dir / "memory" / f"points-{key}.pkl" if cache_dir is not None else None
    if cached is not None and cached.exists() and doc_filter is None:
        with cached.open("rb") as fh:
            ids, payloads, texts, sparse = pickle.load(fh)
    else:
        ids, payloads, texts, sparse = [], [], [], []
        for doc in parse_units(todo, doc_filter=doc_filter):
            if wanted is not None and doc.doc_id not in wanted:
                continue
            chunks = indexer.chunker.chunk(doc)
            for c in chunks:
                text = embed_text(c)
                vec = indexer.sparse.document(text)
                ids.append(c.chunk_id)
                payloads.append(chunk_payload(c, len(chunks)))
                texts.append(text)
                sparse.append((vec.indices, vec.values))
        if cached is not None and doc_filter is None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                pickle.dump((ids, payloads, texts, sparse), fh)
            tmp.replace(cached)
    # as the build: passages of a long opinion beyond its dense budget are sparse only
    wants = [indexer.wants_dense(payload_chunk(i, p)) for i, p in zip(ids, payloads, strict=True)]
    orders = [int(p["order"]) for p in payloads]
    dense = _dense_vectors(embedder, texts, embed_budget, orders, wants)
    missing = sum(v is None for v, w in zip(dense, wants, strict=True) if w)
    if missing:
        log.warning("%d of %d chunks have no dense vector (embedding budget)", missing, len(ids))
    return MemoryStore(f"memory-{key}", ids, payloads, sparse, dense)


def _dense_vectors(
    embedder: Any,
    texts: Sequence[str],
    budget: int | None,
    orders: Sequence[int],
    wants: Sequence[bool],
) -> list[np.ndarray | None]:
    """Vectors of the `texts` that `wants` says get one, from the embedding cache; missing ones
    embedded up to `budget`, breadth first (every document's first chunk, then every second
    one, ...)."""
    cache = getattr(embedder, "cache", None)
    found: list[np.ndarray | None] = (
        list(cache.get_many(list(texts))) if cache is not None else [None] * len(texts)
    )
    found = [v if w else None for v, w in zip(found, wants, strict=True)]
    missing = sorted(
        (i for i, v in enumerate(found) if v is None and wants[i]), key=lambda i: (orders[i], i)
    )
    if budget is not None:
        missing = missing[:budget]
    for start in range(0, len(missing), 256):
        part = missing[start : start + 256]
        vecs = embedder.encode([texts[i] for i in part])
        for i, v in zip(part, vecs, strict=True):
            found[i] = np.asarray(v, dtype=np.float32)
    return found
