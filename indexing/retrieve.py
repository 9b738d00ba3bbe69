"""Retrieval: hybrid dense + sparse search, filters, exact-citation lookup, document views.

    >>> retriever = open_retriever(IndexSettings())
    >>> for p in retriever.search("fair use of a copyrighted work", top_k=5):
    ...     print(p.chunk.citation, p.score)

`search` ranks by a dense and a BM25 sparse vector. A question of one embedding window gets
both rankings and sums their normalised scores (`indexing.fusion`); a longer text is fused by
reciprocal rank inside Qdrant's query API. A query that names a provision (`17 U.S.C. § 107`,
`Fed. R. Civ. P. 12(b)(6)`, `GDPR Art. 17`) returns that provision first, and one that is a
case name (`Kartar Singh v. State of Punjab`) that opinion (`indexing.case_names`). A query
longer than the embedding window is split into windows at sentence boundaries, each embedded
and fused (not truncated). Without `as_of`, retrieval returns the law in force today.

The retriever follows the alias: each call checks (a `stat`, or the alias on a server) whether
the current build changed and, if so, moves to the new one once it is open and has passed its
integrity check (`indexing.opener`, `indexing.integrity`): queries keep the previous build
meanwhile, and a build that cannot be served fails every call at once with
`IndexUnavailable`. It is safe to share between threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from indexing.authority import (
    AUTHORITY_WEIGHT,
    PRECEDENT_WEIGHT,
    citation_graph,
    with_citations,
)
from indexing.bodies_of_law import BodiesOfLaw, cached_bodies
from indexing.case_names import CaseNames, looks_like_case_name
from indexing.chunking import embed_text
from indexing.cross_references import CrossReferences, cached_cross_references
from indexing.definitions import defined_terms
from indexing.doc_ranking import place_opinions, rank_documents
from indexing.embeddings import Embedder
from indexing.exact_citations import CitedProvision, best_pinpoint, cited_provisions
from indexing.fact_patterns import FactPatterns, FactPatternSettings
from indexing.fusion import DENSE_SHARE, normalised_sum
from indexing.integrity import verify_build
from indexing.learned_order import Candidate, OrderModel, load_order
from indexing.lexicon import Lexicon
from indexing.model import Chunk, Passage, Relevance, SearchFilters
from indexing.model_record import build_sparse_format, check_build_model
from indexing.opener import BuildOpener, IndexUnavailable
from indexing.per_build import PerBuild
from indexing.places import PlaceFinder, abroad, not_held
from indexing.relevance import RelevanceModel, load_relevance
from indexing.rerank import CrossEncoderReranker, configured_reranker
from indexing.settings import IndexSettings
from indexing.sparse import Bm25Encoder, SparseVec
from indexing.status import read_status
from indexing.statute_usage import StatuteUsage, statute_usage
from indexing.store import (
    Catalog,
    Condition,
    EdgeCatalog,
    Hit,
    Match,
    MatchAny,
    SparsePart,
    SparseQuery,
    VectorStore,
    Where,
    as_of_conditions,
    payload_chunk,
)
from indexing.text import pack, split_sentences
from legal_corpus.citation_graph import CitationGraph
from legal_corpus.jurisdictions import laws_named

log = logging.getLogger(__name__)

__all__ = ["IndexUnavailable", "Retriever", "configured_order", "open_retriever"]

MODES = ("hybrid", "dense", "sparse")
# Chunks a document ranking is made from (`search_documents`, `search(group_by_doc=True)`).
DOCUMENT_CANDIDATES = 1000
# Each ranking's depth for a text's passages (`search`; more when more are wanted).
PASSAGE_CANDIDATES = 50
# ... for a question of one window, whose fused passages the learned order re-scores: deeper,
# so that more of the provisions the order would put first are among its candidates
# (eval/README.md, "How deep a question's rankings go").
QUESTION_CANDIDATES = 100
# The best passages among which a document's second passage comes after every other
# document's first (`passages_per_document`).
CROWDING_WINDOW = 25
# Where the first document's second passage goes among a question's passages (1-based) when
# a document has one passage before others': after the first five documents, so that an
# answer's six passages hold two subdivisions of the provision ranked first (its best match
# is often a sibling of the operative subdivision: Fed. R. Civ. P. 51(b) before 51(c) for how
# to object to jury instructions) and the five documents of the first five places do not
# move (eval/README.md, "The first provision's second subdivision").
LEAD_SECOND_RANK = 6
# Results fetched past the ones wanted, so that a tie at the cut is broken by id, not by the
# engine's internal order (repeated searches ended on different passages otherwise).
TIE_MARGIN = 16


def ahead(chunks: Sequence[Chunk], top: float) -> list[Passage]:
    """`chunks` as passages scored above `top`, in their order (strictly decreasing scores,
    so that a ranking sorted by score, as trec_eval sorts a run, keeps that order)."""
    n = len(chunks)
    return [Passage(c, top + 1.0 + (n - i) * 1e-3) for i, c in enumerate(chunks)]


def filter_conditions(filters: SearchFilters | None, today: date | None = None) -> Where:
    """Store conditions for `filters`; no `as_of` means in force today."""
    f = filters or SearchFilters()
    must: list[Condition] = list(as_of_conditions(f.as_of or today or date.today()))
    if f.jurisdiction:
        must.append(Match("jurisdiction", f.jurisdiction))
    if f.kind:
        must.append(Match("kind", f.kind))
    if f.sources:
        must.append(MatchAny("source", tuple(f.sources)))
    if f.doc_ids:
        must.append(MatchAny("doc_id", tuple(f.doc_ids)))
    return Where(tuple(must))


def neighbours_filter(filters: SearchFilters | None, today: date | None = None) -> Where:
    """The opinions whose statutes a fact pattern's votes come from: those in force on the
    query's date and of its jurisdiction, whatever sources, kinds or documents it asks for
    (`indexing.fact_patterns`)."""
    f = filters or SearchFilters()
    return filter_conditions(SearchFilters(as_of=f.as_of, jurisdiction=f.jurisdiction), today)


def query_windows(query: str, count_tokens: Any, window_tokens: int) -> list[str]:
    """The query as embedding windows: itself, or sentence-packed windows if too long."""
    if count_tokens(query) <= window_tokens:
        return [query]
    groups = pack(
        split_sentences(query),
        lambda group, s: count_tokens(" ".join([*group, s])) <= window_tokens,
    )
    return [" ".join(group) for group in groups]


def _place(payload: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    """A passage's place in its document, as `Candidate` reads it: the subdivisions it holds,
    and whether it opens a statute, rule or article (a court opinion's first passage is its
    caption, not its rule)."""
    held = payload.get("pinpoints") or [payload.get("pinpoint") or ""]
    first = payload.get("order") == 0 and payload.get("kind") != "opinion"
    return tuple(str(p) for p in held if p), first


def _heading(payload: dict[str, Any]) -> str:
    """A passage's own heading (`Candidate.heading`): the last of its heading path, else its
    document's title."""
    path = payload.get("heading_path") or [payload.get("title") or ""]
    return str(path[-1] or "")


class Retriever:
    """Queries the current build of the index.

    Args:
        catalog: the builds and the alias.
        embedder: the query embedder (the same model as the index).
        sparse: the BM25 encoder (query side).
        hnsw_ef: HNSW beam width at query time (wide enough for the 100-deep candidates
            of `QUESTION_CANDIDATES` to be nearly exact search's; `IndexSettings.hnsw_ef`).
        window_tokens: a query longer than this is split into windows.
        count_tokens: token counter for the window split (default: words × 1.3).
        query_terms: a query with more distinct indexed terms than this (a pasted fact
            pattern) keeps only its this many most specific ones (fewest points holding
            them) on the sparse side; None keeps all. See README, Design, "Retrieval".
        opinion_query_terms: the same budget for court opinions: such a query is matched
            against opinions with its this many most specific terms (None: all) and
            against everything else with `query_terms`.
        reranker: an optional cross-encoder that reorders the first-stage top results
            (`JURIS_RERANKER_DIR`; None, the default, keeps the first-stage order).
        authority_weight: how much the number of judgments citing a court opinion lifts it
            in a document ranking (`indexing.authority`; 0: not at all).
        precedent_weight: how much the precedents cited by the best-ranked judgments gain
            in a document ranking (`indexing.authority`; 0: nothing). Both apply to
            questions of one window; a longer text is a fact pattern, ranked by
            `fact_patterns`.
        fact_patterns: how a document ranking is made for a text longer than one window
            (`indexing.fact_patterns`; default: the cross-validated settings).
        status_root: where builds write their status file (`JURIS_QDRANT_PATH`; None: no
            status).
        dense_share: the dense ranking's share of a one-window question's fused score
            (`indexing.fusion`; `JURIS_DENSE_SHARE`).
        embed_model: the identity of the query embedder (`indexing.model_record`): a build
            whose points record another model is not served. None: not checked.
        relevance: the calibrated signal saying whether the index addresses a question
            (`indexing.relevance`); None: every question counts as addressed.
        lexicon: names of provisions mined from the corpus (`indexing.lexicon`): a question
            naming one gets the named provision's heading words on its sparse side; None:
            no expansion.
        order: the learned order of a question's fused passages (`indexing.learned_order`);
            None: the fused order.
        passages_per_document: passages of one document among a question's passages
            before those of other documents (`search`; the rest follow if there is room);
            None: no limit.
        lead_second_rank: with one passage per document, the place (1-based) of the first
            document's second passage among a question's passages (`LEAD_SECOND_RANK`; a
            question, not a text longer than one window); None: it waits with the other
            documents' second passages.
        places: reads the places a question names (`indexing.places`): one the relevance
            signal doubts that names a place whose law the build holds none of is not
            answered. None: places are not read.
    """

    def __init__(
        self,
        catalog: Catalog,
        embedder: Embedder,
        sparse: Bm25Encoder | None = None,
        hnsw_ef: int = 512,
        window_tokens: int = 200,
        count_tokens: Any = None,
        query_terms: int | None = 30,
        reranker: CrossEncoderReranker | None = None,
        opinion_query_terms: int | None = 100,
        authority_weight: float = AUTHORITY_WEIGHT,
        precedent_weight: float = PRECEDENT_WEIGHT,
        fact_patterns: FactPatternSettings | None = None,
        status_root: Path | None = None,
        dense_share: float = DENSE_SHARE,
        embed_model: str | None = None,
        relevance: RelevanceModel | None = None,
        lexicon: Lexicon | None = None,
        order: OrderModel | None = None,
        passages_per_document: int | None = None,
        lead_second_rank: int | None = LEAD_SECOND_RANK,
        places: PlaceFinder | None = None,
    ) -> None:
        self.status_root = status_root
        self.places = places
        self._held: dict[tuple[str, str], bool] = {}  # (build, jurisdiction) -> has passages
        self.dense_share = dense_share
        self.catalog = catalog
        self.embed_model = embed_model
        self.relevance = relevance
        self.lexicon = lexicon
        self.order = order
        self.passages_per_document = passages_per_document or None
        self.lead_second_rank = lead_second_rank or None
        self.reranker = reranker
        self.embedder = embedder
        self.sparse = sparse or Bm25Encoder()
        self._sparse_formats: dict[str, int] = {}  # build -> the format its points are in
        self.hnsw_ef = hnsw_ef
        self.window_tokens = window_tokens
        self.count_tokens = count_tokens or (lambda s: int(len(s.split()) * 1.3) + 1)
        # Builds are opened and verified off the query path (`indexing.opener`); an embedded
        # build is checked against the integrity record its build wrote.
        root = catalog.root if isinstance(catalog, EdgeCatalog) else None
        self._opener = BuildOpener(catalog, verify=lambda store: self._verify(root, store))
        self.query_terms = query_terms
        self.opinion_query_terms = opinion_query_terms
        self.authority_weight = authority_weight
        self.precedent_weight = precedent_weight
        # document frequency per sparse term: picks a long query's most specific terms
        self._term_df: PerBuild[dict[int, int]] = PerBuild(
            "term frequencies", lambda store: store.term_counts()
        )
        self._citations: PerBuild[CitationGraph] = PerBuild("citation graph", citation_graph)
        self.fact_settings = fact_patterns or FactPatternSettings()
        self._usage: PerBuild[StatuteUsage] = PerBuild("statute usage", statute_usage)
        self._case_names: PerBuild[CaseNames] = PerBuild("case names", CaseNames.from_store)
        # what the learned order reads of a passage's body of law
        self._bodies: PerBuild[BodiesOfLaw] = PerBuild(
            "bodies of law", lambda store: cached_bodies(store, filter_conditions(None), root)
        )
        # ... and of the provisions the enacted law's passages cite
        self._cross_refs: PerBuild[CrossReferences] = PerBuild(
            "cross-references", lambda store: cached_cross_references(store, root)
        )
        # all of them, for `close` (which ones a build computes: `_per_build_tables`)
        self._tables: tuple[PerBuild[Any], ...] = (
            self._term_df,
            self._citations,
            self._usage,
            self._case_names,
            self._bodies,
            self._cross_refs,
        )

    def _verify(self, root: Any, store: VectorStore) -> None:
        """What a build must pass before it is served: its integrity record and probes, and
        the embedding model its points record (and which sparse format they are in)."""
        verify_build(root, store, self.embedder.dim, self.sparse)
        if self.embed_model is not None:
            check_build_model(store, self.embed_model)
        self.sparse_encoder(store)

    def sparse_encoder(self, store: VectorStore) -> Bm25Encoder:
        """The sparse encoder of `store`'s own format (`indexing.sparse`): a build made by an
        earlier release is queried in its terms until it is rebuilt."""
        found = self._sparse_formats.get(store.name)
        if found is None:
            try:
                found = build_sparse_format(store)
            except Exception as exc:  # a store failing now fails the query itself; read again
                log.warning("index build %s: its sparse format unread (%s)", store.name, exc)
                return self.sparse
            if found != self.sparse.sparse_format:
                log.warning(
                    "index build %s holds sparse terms of format %d (this release builds "
                    "format %d, stemmed): queries are encoded in the build's format; "
                    "`python -m indexing build` moves it to the new one",
                    store.name,
                    found,
                    self.sparse.sparse_format,
                )
            self._sparse_formats[store.name] = found
        return self.sparse.with_format(found)

    # -- the build behind the alias -------------------------------------------------------

    @property
    def index_version(self) -> str:
        """The build / collection answering queries (after a swap, the previous one until the
        new one is open: reading it never waits on an open, except for the very first)."""
        return self._opener.store(wait_for_new=False).name

    @property
    def serving_version(self) -> str:
        """The build answering queries now, without ever waiting (for an event loop): raises
        `IndexUnavailable` while none is open yet, and starts opening a new one after a swap."""
        return self._opener.store(wait_s=0.0, wait_for_new=False).name

    def current_store(self) -> VectorStore:
        """The build the alias points at now (reopened after a swap); raises
        `IndexUnavailable` when there is none."""
        return self._current()

    def _current(self, wait_s: float | None = -1.0) -> VectorStore:
        return self._opener.store(wait_s)

    def fail_fast(self, wait_s: float | None, retry_s: float = 10.0) -> None:
        """Wait at most `wait_s` for a build being opened when none is open yet, and retry a
        build that failed at most every `retry_s` (the gateway's setting; default: wait)."""
        self._opener.wait_s = wait_s
        self._opener.retry_s = retry_s

    def check(self) -> dict[str, str]:
        """Raise `IndexUnavailable` when the index cannot answer queries; else say whether
        the per-build tables a question reads are in (`tables`: `ready`) or the process's
        first question would wait for them (`computing`; seconds, longer while a build
        fills). A fact pattern also reads term frequencies, the citation graph and statute
        usage, which take longer (tens of seconds on the whole corpus)."""
        store = self._current()
        if store.count() == 0:
            raise IndexUnavailable(f"index build {store.name} is empty")
        self._start_per_build(store)
        ready = all(table.has_value for table in self._question_tables())
        return {"tables": "ready" if ready else "computing"}

    def warming(self) -> bool:
        """Whether a per-build table the process has never had is being computed now: a
        question now may wait for it (seconds for a plain question, tens of seconds for a fact
        pattern over the whole corpus). Reads no store, so it answers at once even when the
        store is slow — the gateway asks it after a search ran past its timeout."""
        return any(table.first_pending for table in self._per_build_tables())

    def _question_tables(self) -> list[PerBuild[Any]]:
        tables: list[PerBuild[Any]] = [self._case_names]
        if self.order is not None:
            tables += [self._bodies, self._cross_refs]
        return tables

    def settle(self, timeout_s: float = 600.0) -> bool:
        """Wait until the current build's per-build values are computed (or have failed, which
        is logged) — the state a running gateway reaches within a minute of starting or
        swapping builds, and the one its latency is measured in. False when `timeout_s`
        passes first (they go on in the background)."""
        deadline = time.monotonic() + timeout_s
        events = self._start_per_build(self._current())
        return all(done.wait(max(0.0, deadline - time.monotonic())) for done in events)

    def _per_build_tables(self) -> list[PerBuild[Any]]:
        tables: list[PerBuild[Any]] = []
        if self.query_terms is not None:
            tables.append(self._term_df)  # ready before the first long question
        tables += [self._citations, self._usage]  # fact patterns' rankings use both
        tables.append(self._case_names)
        if self.order is not None:
            tables += [self._bodies, self._cross_refs]  # ready before the first question
        return tables

    def _start_per_build(self, store: VectorStore) -> list[threading.Event]:
        if self.places is not None:
            self.places.warm()
        return [table.start(store) for table in self._per_build_tables()]

    def index_status(self) -> dict[str, Any] | None:
        """The last build's progress (`indexing.status`), with `current` = the build searches
        use now; None when no build has written a status file."""
        if self.status_root is None:
            return None
        status = read_status(self.status_root, self.catalog.alias)
        if status is not None:
            try:
                status["current"] = self.catalog.current()
            except Exception:  # a server that does not answer: the probe says so elsewhere
                status["current"] = None
        return status

    def close(self) -> None:
        """Release the builds this retriever opened (a per-build table still computing then
        stops with one line in the log, not a traceback)."""
        for table in self._tables:
            table.close()
        self._opener.close()

    # -- queries ----------------------------------------------------------------------------

    def query_windows(self, query: str) -> list[str]:
        """The query as embedding windows: itself, or sentence-packed windows if too long."""
        return query_windows(query, self.count_tokens, self.window_tokens)

    def is_fact_pattern(self, query: str) -> bool:
        """Whether `query` is longer than one embedding window: a statement of facts, ranked
        by `indexing.fact_patterns` (one token count; no windows are made)."""
        return bool(self.count_tokens(query) > self.window_tokens)

    def fact_patterns(self) -> tuple[FactPatterns, CitationGraph, StatuteUsage]:
        """The fact-pattern ranking over the current build, with the build's citation graph
        and statute usage (for the evaluation lab, which sweeps settings over its evidence)."""
        store = self._current()
        patterns = FactPatterns(
            store,
            lambda texts: self.embedder.encode(texts),
            self.sparse_encoder(store),
            self.query_windows,
            lambda: self._term_df.get(store),
            self.hnsw_ef,
        )
        return patterns, self._citations.get(store), self._usage.get(store)

    def sparse_query(self, query: str, store: VectorStore) -> SparseVec:
        """The sparse query vector: every term, or a long query's most specific ones.

        A pasted fact pattern has hundreds of terms, most of them narrative (dates, parties,
        "appellant") that match thousands of passages and drown the few that name the
        legal issue. Above `query_terms` distinct terms, only the terms held by the fewest
        points of the build are kept (terms the build does not hold match nothing and are
        dropped first). Document frequencies come from the build itself, counted once per
        build and process, in the background after a swap (`indexing.per_build`; about 3 s
        for the whole bundled corpus, embedded).
        """
        return self._most_specific(self.sparse_encoder(store).query(query), store, self.query_terms)

    def sparse_parts(self, query: str, store: VectorStore) -> SparseQuery:
        """The sparse side of a query: one vector, or one per kind of document.

        A long fact pattern is matched against statutes, rules and regulations with its
        `query_terms` most specific terms, and against court opinions with its
        `opinion_query_terms`: a provision is found by the few terms of art it shares with
        the facts, a precedent by the story it shares with them (measured on 300 citing
        judgments of the AILA corpus: MAP 0.038 with 20 terms, 0.095 with 100, 0.087 with
        all; README, Design, "Retrieval"). A query within both budgets is one vector.
        """
        every = self.sparse_encoder(store).query(query)
        narrow = self._most_specific(every, store, self.query_terms)
        broad = self._most_specific(every, store, self.opinion_query_terms)
        if broad == narrow:
            return narrow
        opinion = (Match("kind", "opinion"),)
        return (SparsePart(narrow, Where(must_not=opinion)), SparsePart(broad, Where(opinion)))

    def _most_specific(self, vec: SparseVec, store: VectorStore, budget: int | None) -> SparseVec:
        """`vec` itself within `budget` terms, else its `budget` rarest terms in the build."""
        if budget is None or len(vec.indices) <= budget:
            return vec
        df = self._term_df.get(store)
        held = [t for t in vec.indices if df.get(t, 0) > 0]
        kept = sorted(sorted(held, key=lambda t: (df[t], t))[:budget])
        return SparseVec(tuple(kept), tuple(1.0 for _ in kept))

    def _raw(
        self, query: str, limit: int, where: Where, mode: str, prefetch: int | None = None
    ) -> list[Passage]:
        return self._raw_matched(query, limit, where, mode, prefetch)[0]

    def _raw_matched(
        self, query: str, limit: int, where: Where, mode: str, prefetch: int | None = None
    ) -> tuple[list[Passage], tuple[float, float] | None]:
        """The first-stage passages, and for a question of one window the absolute match
        features the relevance signal reads: the best dense cosine and the best sparse score
        per query term (None for a longer text)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        store = self._current()
        dense, sparse = self._query_vectors(query, store, mode)
        depth = prefetch or max(PASSAGE_CANDIDATES, limit * 2)
        matched: tuple[float, float] | None = None
        if mode == "dense" and len(dense) > 1:
            hits = self._dense_windows(store, dense, where, limit)
        elif mode == "hybrid" and len(dense) == 1:
            depth = prefetch or max(QUESTION_CANDIDATES, limit * 2)
            hits, matched = self._question_hits(
                query, store, dense, sparse, where, max(depth, limit + TIE_MARGIN)
            )
        else:
            # fused scores tie often (rank 3 in one ranking only = rank 3 in the other only),
            # and the engine cuts a tie at `limit` arbitrarily: fetch past it, cut below
            hits = store.query(
                dense,
                sparse,
                where,
                limit=limit + TIE_MARGIN,
                prefetch=depth,
                hnsw_ef=self.hnsw_ef,
            )
        # ties break by id: the same question, the same order
        hits = sorted(hits, key=lambda h: (-h.score, h.id))[:limit]
        return [Passage(payload_chunk(h.id, h.payload), h.score) for h in hits], matched

    def _query_vectors(
        self, query: str, store: VectorStore, mode: str
    ) -> tuple[list[Sequence[float]], SparseQuery | None]:
        """A query's dense vectors (one per window) and its sparse side, as `mode` uses them;
        a question of one window gets the lexicon's expansion when there is one."""
        dense: list[Sequence[float]] = []
        if mode in ("hybrid", "dense"):
            dense = list(self.embedder.encode(self.query_windows(query)))
        sparse = self.sparse_parts(query, store) if mode in ("hybrid", "sparse") else None
        if self.lexicon is not None and isinstance(sparse, SparseVec) and len(dense) <= 1:
            sparse = self.lexicon.expand_vector(query, sparse, self.sparse_encoder(store))
        return dense, sparse

    def _question_hits(
        self,
        query: str,
        store: VectorStore,
        dense: Sequence[Sequence[float]],
        sparse: SparseQuery | None,
        where: Where,
        depth: int,
    ) -> tuple[list[Hit], tuple[float, float]]:
        """A question of one window: its dense and sparse rankings, each `depth` deep, fused
        by their normalised scores (`indexing.fusion`), not by rank, then re-scored by the
        learned order when there is one (`indexing.learned_order`); and the match features
        of `indexing.relevance` (best cosine, best sparse score per query term)."""
        candidates, found, terms, matched = self._question_candidates(
            query, store, dense, sparse, where, depth, bodies=self.order is not None
        )
        if self.order is not None:
            scores = self.order.scores(query, candidates, terms)
        else:
            scores = {c.id: c.fused for c in candidates}
        return [Hit(id_, score, found[id_].payload) for id_, score in scores.items()], matched

    def _question_candidates(
        self,
        query: str,
        store: VectorStore,
        dense: Sequence[Sequence[float]],
        sparse: SparseQuery | None,
        where: Where,
        depth: int,
        bodies: bool,
    ) -> tuple[list[Candidate], dict[str, Hit], int, tuple[float, float]]:
        """The fused passages of a one-window question with what the learned order reads of
        them (their bodies of law's typicality, the terms they define and the documents they
        cite only when `bodies`, i.e. when an order will read them: the build's tables are
        counted once, in the background), the hits by id, the question's own sparse terms,
        and its match features."""
        rankings = [
            store.query(dense, None, where, limit=depth, hnsw_ef=self.hnsw_ef),
            store.query([], sparse, where, limit=depth, hnsw_ef=self.hnsw_ef),
        ]
        found = {h.id: h for ranking in rankings for h in ranking}
        cosines, sparses = ({h.id: h.score for h in ranking} for ranking in rankings)
        fused = normalised_sum([cosines, sparses], (self.dense_share, 1.0 - self.dense_share))
        if isinstance(sparse, SparseVec):
            terms = sum(1 for w in sparse.values if w >= 1.0)  # the question's own terms
        else:
            terms = max((len(part.vector.indices) for part in sparse or ()), default=0)
        matched = (
            max(cosines.values(), default=0.0),
            max(sparses.values(), default=0.0) / max(1, terms),
        )
        docs = {id_: str(found[id_].payload.get("doc_id") or "") for id_ in fused}
        texts = {id_: str(found[id_].payload.get("text") or "") for id_ in fused}
        typical = self._bodies.get(store).typicality(query, docs.values()) if bodies else {}
        refs = self._cross_refs.get(store) if bodies else None
        candidates = [
            Candidate(
                id_,
                score,
                cosines.get(id_),
                sparses.get(id_),
                str(found[id_].payload.get("title") or ""),
                docs[id_],
                typical.get(docs[id_], 0.0),
                defined_terms(texts[id_]) if bodies else (),
                refs.of(id_) if refs is not None else (),
                *_place(found[id_].payload),
                _heading(found[id_].payload),
                texts[id_],
            )
            for id_, score in fused.items()
        ]
        return candidates, found, terms, matched

    def question_candidates(self, query: str, depth: int = 100) -> tuple[list[Candidate], int]:
        """A one-window question's fused passages over every source in force today, before
        any learned order, and its own sparse terms (what `calibrate-order` fits on)."""
        store = self._current()
        dense, sparse = self._query_vectors(query, store, "hybrid")
        if len(dense) != 1:
            raise ValueError("not a one-window question")
        candidates, _, terms, _ = self._question_candidates(
            query, store, dense, sparse, filter_conditions(None), depth, bodies=True
        )
        return candidates, terms

    def _dense_windows(
        self, store: VectorStore, windows: Sequence[Sequence[float]], where: Where, limit: int
    ) -> list[Hit]:
        """Dense search for a long query: each window alone, a chunk keeps its best cosine.

        Exact for the top `limit` (a chunk outside its best window's top `limit` has at least
        `limit` chunks above it). Measured through the whole-corpus index on the AILA statute
        queries: MAP 0.158 against 0.089 for rank fusion of the windows (README, Design,
        "Retrieval").
        The hybrid keeps the engine's nested rank fusion, which measured better there.
        """
        best: dict[str, Hit] = {}
        for vec in windows:
            for h in store.query([vec], None, where, limit=limit, hnsw_ef=self.hnsw_ef):
                if h.id not in best or h.score > best[h.id].score:
                    best[h.id] = h
        return sorted(best.values(), key=lambda h: (-h.score, h.id))[:limit]

    def search(
        self,
        query: str,
        top_k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        group_by_doc: bool = False,
        exact_citations: bool = True,
    ) -> list[Passage]:
        """Passages for a question, best first (`search_assessed` without its assessment)."""
        return self.search_assessed(query, top_k, filters, mode, group_by_doc, exact_citations)[0]

    def search_assessed(
        self,
        query: str,
        top_k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        group_by_doc: bool | None = None,
        exact_citations: bool = True,
    ) -> tuple[list[Passage], Relevance | None]:
        """Passages for a question, best first, and whether they appear to address it.

        Args:
            query: the question (any length).
            top_k: passages wanted.
            filters: as_of (default today), jurisdiction, kind, sources, doc_ids.
            mode: `hybrid` (dense + sparse: a question's normalised scores summed, a longer
                text's rankings fused by rank), `dense` or `sparse`.
            group_by_doc: one passage per document, documents ranked as `search_documents`
                ranks them (an opinion by its best three passages and its citations). None
                (what answers use): for a text longer than one window — a statement of
                facts — so that the statutes the courts applied to such facts
                (`indexing.fact_patterns`) are among the passages; passages otherwise.
            exact_citations: put the provisions the query cites, and the opinion it names by
                its case name, first.

        Returns:
            Up to `top_k` passages, and the question's `Relevance` (`indexing.relevance`):
            None for a text longer than one embedding window (a pasted fact pattern is not
            assessed), certain when the query names a provision the index holds.
        """
        if not query.strip():
            raise ValueError("query is empty")
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        where = filter_conditions(filters)
        want = max(top_k, self.reranker.depth) if self.reranker is not None else top_k
        long_text = self.is_fact_pattern(query)
        if group_by_doc is None:
            group_by_doc = long_text
        cap = 1 if group_by_doc else self.passages_per_document
        if cap and not group_by_doc:  # candidates past crowded documents, same rankings
            want = max(want, CROWDING_WINDOW)
        if group_by_doc:
            documents, matched = self._documents_matched(
                query, where, mode, DOCUMENT_CANDIDATES, (), filters
            )
            found = self._reranked(query, documents[:want])
        else:
            first, matched = self._raw_matched(query, want, where, mode)
            found = self._reranked(query, first)
        exact: list[Passage] = []
        if exact_citations:
            top = found[0].score if found else 1.0
            as_of = filters.as_of if filters else None
            for cited in cited_provisions(query):
                if filters and filters.doc_ids and cited.doc_id not in filters.doc_ids:
                    continue
                for c in self._cited_chunks(cited, as_of, where)[:2]:
                    exact.append(Passage(c, top + 1.0))
            exact.extend(ahead(self._named_cases(query, where), top))
        out: list[Passage] = []
        seen: set[str] = set()
        per_doc: dict[str, int] = {}
        crowded: list[Passage] = []  # over a document's share: after the others, if room
        for n, p in enumerate([*exact, *found]):
            if p.chunk.chunk_id in seen:
                continue
            seen.add(p.chunk.chunk_id)
            held = per_doc.get(p.chunk.doc_id, 0)
            if cap and held >= cap and (group_by_doc or n >= len(exact)):
                crowded.append(p)
                continue
            per_doc[p.chunk.doc_id] = held + 1
            out.append(p)
            if len(out) == top_k:
                break
        if not group_by_doc:
            if cap == 1 and out and not long_text:
                out = self._lead_second(out, found, top_k)
            taken = {p.chunk.chunk_id for p in out}
            for p in [p for p in crowded if p.chunk.chunk_id not in taken][: top_k - len(out)]:
                out.append(Passage(p.chunk, min(p.score, out[-1].score)))  # rank order kept
        return out, self._placed(query, out, self._assess(matched, bool(exact)))

    def _placed(
        self, query: str, passages: Sequence[Passage], relevance: Relevance | None
    ) -> Relevance | None:
        """`relevance` with the places the question names whose law the build holds none of
        and no passage names (`indexing.places`).

        When the signal trusts the question: places that are all another country's
        (`abroad`), and the question stays answered, marked a weak match — unless it also
        names law the build holds by its courts or instruments (`laws_named`: "a federal
        court", "the GDPR"), when it asks how that law reaches abroad and nothing is marked.
        When the signal doubts it (its caution band): any place not held, and the question is
        declined — unless it names a held place or held law beside them, when it stays
        answered, a weak match naming them. A question below the threshold stays declined,
        naming them."""
        if relevance is None or self.places is None:
            return relevance
        trusted = relevance.answered and not relevance.weak
        places = self.places.places(query)
        if not places:
            return relevance
        store = self._current()

        def holds(jurisdiction: str) -> bool:
            key = (store.name, jurisdiction)
            if key not in self._held:
                self._held[key] = store.count(Where((Match("jurisdiction", jurisdiction),))) > 0
            return self._held[key]

        law_named = any(holds(code) for code in laws_named(query))
        if trusted:
            foreign = () if law_named else abroad(places, passages, holds)
            return replace(relevance, weak=True, not_held=foreign) if foreign else relevance
        missing = not_held(places, passages, holds)
        if not missing:
            return relevance
        if relevance.answered and (law_named or len(missing) < len(places)):
            return replace(relevance, not_held=missing)
        return replace(relevance, answered=False, weak=False, not_held=missing)

    def _lead_second(
        self, out: list[Passage], rest: Sequence[Passage], top_k: int
    ) -> list[Passage]:
        """`out` (one passage per document) with the first document's next best passage of
        `rest` at `lead_second_rank`, when there are that many places; its score between its
        neighbours', so the list stays in rank order."""
        rank = self.lead_second_rank
        if rank is None or rank < 2 or top_k < rank or len(out) < rank - 1:
            return out
        lead = out[0].chunk.doc_id
        if sum(p.chunk.doc_id == lead for p in out) > 1:
            return out
        taken = {p.chunk.chunk_id for p in out}
        second = next(
            (p for p in rest if p.chunk.doc_id == lead and p.chunk.chunk_id not in taken), None
        )
        if second is None:
            return out
        above, below = out[rank - 2].score, out[rank - 1].score if len(out) >= rank else None
        score = min(second.score, above)
        if below is not None:
            score = max(score, below)
        return [*out[: rank - 1], Passage(second.chunk, score), *out[rank - 1 :]][:top_k]

    def _assess(self, matched: tuple[float, float] | None, named: bool) -> Relevance | None:
        """The question's `Relevance` from its match features (see `search_assessed`)."""
        cosine, bm25 = matched if matched is not None else (0.0, 0.0)
        if named:
            return Relevance(1.0, True, cosine, bm25)
        if matched is None:
            return None
        if self.relevance is None:
            return Relevance(None, True, cosine, bm25)
        return self.relevance.assess(cosine, bm25)

    def _named_cases(self, query: str, where: Where) -> list[Chunk]:
        """The first chunk of each court opinion the query names (`indexing.case_names`)
        that passes `where`."""
        if not looks_like_case_name(query):
            return []
        store = self._current()
        docs = self._case_names.get(store).named(query)
        if not docs:
            return []
        must = (*where.must, MatchAny("doc_id", tuple(docs)), Match("order", 0))
        hits = store.scroll(Where(must, where.must_not))
        return sorted(
            (payload_chunk(h.id, h.payload) for h in hits), key=lambda c: docs.index(c.doc_id)
        )

    def _cited_chunks(self, cited: CitedProvision, as_of: date | None, where: Where) -> list[Chunk]:
        store = self._current()
        hits = store.scroll(Where((*where.must, Match("doc_id", cited.doc_id)), where.must_not))
        chunks = sorted((payload_chunk(h.id, h.payload) for h in hits), key=lambda c: c.order)
        return best_pinpoint(chunks, cited.pinpoint)

    def search_documents(
        self,
        query: str,
        top_k: int = 100,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        candidates: int = DOCUMENT_CANDIDATES,
        uncounted: Collection[str] = (),
    ) -> list[tuple[str, float, Chunk]]:
        """Documents ranked by their chunks (for document-level evaluation).

        A court opinion scores the sum of its best `OPINION_CHUNKS` chunk scores among the
        candidates (a precedent shares its story with the facts over several passages), any
        other document its best chunk's (a provision governs through its one passage); see
        `rank_documents`. Opinions are then re-scored by the citation graph: lifted by the
        judgments citing them, and the precedents the best-ranked judgments cite gain from
        them (`indexing.authority`).

        Args:
            query: the query (long fact patterns are windowed, not truncated).
            top_k: documents wanted.
            filters: as in `search`.
            mode: `hybrid`, `dense` or `sparse`.
            candidates: chunks retrieved before grouping.
            uncounted: judgments whose citations count for nothing (the judgment a
                benchmark query was made from, and any repeating it).

        Returns:
            `(doc_id, score, best chunk)` best first.
        """
        where = filter_conditions(filters)
        ranked = self._documents_matched(query, where, mode, candidates, uncounted, filters)[0]
        ranked = self._reranked(query, ranked[:top_k])
        return [(p.chunk.doc_id, p.score, p.chunk) for p in ranked]

    def _documents_matched(
        self,
        query: str,
        where: Where,
        mode: str,
        candidates: int,
        uncounted: Collection[str] = (),
        filters: SearchFilters | None = None,
    ) -> tuple[list[Passage], tuple[float, float] | None]:
        """Every document among the best `candidates` chunks, best first, each as its best
        chunk with the document's score (`rank_documents`, then `_with_citations`), and the
        question's match features (`search_assessed`); a text longer than one window is a
        fact pattern (`_fact_pattern_documents`, no match features)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if self.is_fact_pattern(query):
            found = self._fact_pattern_documents(query, where, mode, candidates, uncounted, filters)
            return found, None
        passages, matched = self._raw_matched(query, candidates, where, mode, prefetch=candidates)
        ranked = self._with_citations(rank_documents(passages, len(passages)), where, uncounted)
        ranked = place_opinions(ranked, passages)
        named = self._named_cases(query, where)
        if not named:
            return ranked, matched
        top = ranked[0].score if ranked else 1.0
        first = {c.doc_id for c in named}
        return ahead(named, top) + [p for p in ranked if p.chunk.doc_id not in first], matched

    def _fact_pattern_documents(
        self,
        query: str,
        where: Where,
        mode: str,
        candidates: int,
        uncounted: Collection[str],
        filters: SearchFilters | None,
    ) -> list[Passage]:
        """A fact pattern's documents (`indexing.fact_patterns`): opinions by the facts they
        share and their citations, statutes by the opinions that applied them."""
        patterns, graph, usage = self.fact_patterns()
        settings = replace(self.fact_settings, candidates=candidates)
        evidence = patterns.evidence(query, where, neighbours_filter(filters), settings, mode)
        found = patterns.documents(
            evidence, settings.for_mode(mode), graph, usage, where, uncounted
        )
        return [Passage(payload_chunk(h.id, h.payload), score) for _, score, h in found]

    def _with_citations(
        self, docs: list[Passage], where: Where, uncounted: Collection[str]
    ) -> list[Passage]:
        """Documents re-scored by the citation graph (`indexing.authority.with_citations`).

        A precedent the expansion reaches that the first stage did not retrieve is returned
        with its first chunk, if it passes the query's filters.
        """
        if not (self.authority_weight or self.precedent_weight) or not docs:
            return docs
        store = self._current()
        graph = self._citations.get(store)
        chunks = {p.chunk.doc_id: p.chunk for p in docs}
        scores = with_citations(
            {p.chunk.doc_id: p.score for p in docs},
            graph,
            lambda d: chunks[d].kind == "opinion",
            self.authority_weight,
            self.precedent_weight,
            uncounted,
        )
        reached = sorted(scores.keys() - chunks.keys())
        if reached:  # one request for all of them, their first chunks only
            must = (*where.must, MatchAny("doc_id", tuple(reached)), Match("order", 0))
            for h in store.scroll(Where(must, where.must_not)):
                chunk = payload_chunk(h.id, h.payload)
                chunks.setdefault(chunk.doc_id, chunk)
        ranked = sorted(chunks, key=lambda d: (-scores[d], d))
        return [Passage(chunks[d], scores[d]) for d in ranked]

    def _reranked(self, query: str, passages: list[Passage]) -> list[Passage]:
        """The passages with the reranker's order over its depth (unchanged without one).

        Reranked passages score above the rest, so scores stay in rank order. A reranker
        that fails at query time is logged and the first-stage order returned: the question
        is still answered.
        """
        if self.reranker is None or len(passages) < 2:
            return passages
        try:
            texts = [embed_text(p.chunk) for p in passages]
            order = self.reranker.rerank(
                self.query_windows(query), texts, [p.score for p in passages]
            )
        except Exception:
            log.exception("reranker failed; first-stage order kept")
            return passages
        return [Passage(passages[i].chunk, score) for i, score in order]

    # -- documents ----------------------------------------------------------------------------

    def _versions_chunks(self, doc_id: str) -> list[Chunk]:
        hits = self._current().scroll(Where((Match("doc_id", doc_id),)))
        return [payload_chunk(h.id, h.payload) for h in hits]

    def versions(self, doc_id: str) -> list[tuple[str, date | None, date | None]]:
        """`(version label, valid_from, valid_to)` of every indexed version, oldest first."""
        seen = {(c.version, c.valid_from, c.valid_to) for c in self._versions_chunks(doc_id)}
        return sorted(seen, key=lambda v: (v[1] or date.min, v[0]))

    def document(self, doc_id: str, as_of: date | None = None) -> list[Chunk]:
        """Chunks of the version in force on `as_of` (the latest if None), in order; [] if none."""
        chunks = self._versions_chunks(doc_id)
        if not chunks:
            return []
        if as_of is not None:
            chosen = [
                c
                for c in chunks
                if (c.valid_from is None or c.valid_from <= as_of)
                and (c.valid_to is None or as_of < c.valid_to)
            ]
        else:
            latest = max(chunks, key=lambda c: (c.valid_to is None, c.valid_from or date.min))
            chosen = [c for c in chunks if c.version == latest.version]
        return sorted(chosen, key=lambda c: c.order)

    def lookup(self, doc_id: str, pinpoint: str = "", as_of: date | None = None) -> list[Chunk]:
        """The chunks citing `doc_id` at `pinpoint` (the whole document when no pinpoint).

        Args:
            doc_id: the document.
            pinpoint: `(b)(6)`, `¶ 14`, or empty.
            as_of: the version in force that day (None: the latest).

        Returns:
            The best-matching chunks in document order: the exact pinpoint, else its parent or
            children, else the whole document; [] for an unknown document.
        """
        return best_pinpoint(self.document(doc_id, as_of), pinpoint)

    def exists(self, doc_id: str) -> bool:
        """Whether any version of `doc_id` is indexed."""
        return self._current().count(Where((Match("doc_id", doc_id),))) > 0


def open_retriever(settings: IndexSettings, embedder: Embedder | None = None) -> Retriever:
    """A retriever over the configured index.

    Args:
        settings: index location and model.
        embedder: a shared embedder (default: the configured one, loaded once per process).

    Returns:
        A `Retriever`; it opens the current build on first use.

    Raises:
        RerankerUnavailable: `JURIS_RERANKER_DIR` is set but does not hold a cross-encoder
            (a misconfiguration is reported at start, not discovered in answers).
    """
    from indexing.build import make_catalog, make_embedder
    from indexing.chunking import model_token_counter
    from indexing.model_record import model_identity

    emb = embedder or make_embedder(settings, cached=False)
    identity = model_identity(settings.model_dir(), settings.embed_backend)
    return Retriever(
        make_catalog(settings),
        emb,
        hnsw_ef=settings.hnsw_ef,
        window_tokens=min(200, emb.max_tokens - 16),
        count_tokens=model_token_counter(settings.model_dir()),
        query_terms=settings.query_terms or None,
        reranker=configured_reranker(settings),
        opinion_query_terms=settings.opinion_query_terms or None,
        authority_weight=settings.authority_weight,
        precedent_weight=settings.precedent_weight,
        status_root=settings.qdrant_path,
        dense_share=settings.dense_share,
        embed_model=identity,
        relevance=load_relevance(settings.model_dir(), identity, settings.relevance_file),
        lexicon=Lexicon.load(settings.lexicon_file) if settings.lexicon_file else None,
        order=configured_order(settings, identity),
        passages_per_document=settings.passages_per_document,
        lead_second_rank=settings.lead_second_rank,
        places=PlaceFinder() if settings.read_places else None,
    )


def configured_order(settings: IndexSettings, embed_model: str) -> OrderModel | None:
    """The learned order `JURIS_LEARNED_ORDER` and `JURIS_ORDER_FILE` configure for the
    embedding model `embed_model` (`indexing.learned_order.load_order`); None when off or
    when there is none."""
    if not settings.learned_order:
        return None
    return load_order(settings.model_dir(), embed_model, settings.order_file)
