"""Fact patterns: the statutes and precedents for a long statement of facts.

A lawyer often starts from facts, not from a doctrine: a client's story, a page of a
judgment. Such a text runs to several embedding windows and hundreds of terms, almost all of
them narrative. A document ranking for it (`Retriever.search_documents`, and
`search(group_by_doc=True)`) is made here, from evidence the index gives once per query:

- **opinions**: the query's most specific `opinion_terms` terms against the chunks of court
  opinions (sparse), and its windows against them (dense, a chunk keeping its best cosine
  over the windows); an opinion scores the sum of its best `opinion_chunks` chunks in each
  ranking; the two rankings, each rescaled to [0, 1], are summed with `dense_share` for
  the dense one (`indexing.fusion.normalised_sum`); then the citation graph: the authority
  prior and the precedent expansion (`indexing.authority`);
- **statutes** (and every other document that is not an opinion): the statutes applied by
  the `neighbours` opinions that best match the facts, each voting with its rescaled score
  (`indexing.statute_usage`: learned from how the courts of the corpus use each statute),
  plus `statute_text_weight` × the statute's own text ranking (best chunk, its
  `statute_terms` most specific terms, dense the same way as for opinions).

Every weight is a `FactPatternSettings` field, and the defaults are the settings that
cross-validation over the 30 AILA dev queries chose (eval/README.md, "Fact patterns";
`python -m indexing crossval`). The evidence does not depend on the weights, so the
evaluation lab computes it once per query (`FactPatterns.evidence`) and sweeps the weights
over it (`rank`), through the built index or through the in-memory store of the same chunks
(`indexing.eval.memory`): both run this module.

    >>> patterns = FactPatterns(store, embed, Bm25Encoder(), windows, term_df, graph, usage)
    >>> ev = patterns.evidence(facts, results_where, neighbours_where, FactPatternSettings())
    >>> patterns.rank(ev, FactPatternSettings())     # [(doc_id, score, Hit of its chunk)]
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from indexing.authority import with_citations
from indexing.fusion import normalised_sum
from indexing.sparse import Bm25Encoder, SparseVec
from indexing.statute_usage import StatuteUsage
from indexing.store import Hit, Match, MatchAny, VectorStore, Where
from legal_corpus.citation_graph import CitationGraph

MODES = ("hybrid", "dense", "sparse")
OPINION = (Match("kind", "opinion"),)


@dataclass(frozen=True, slots=True)
class FactPatternSettings:
    """The choices of a fact-pattern ranking (defaults: chosen by cross-validation).

    Args:
        opinion_terms: sparse terms kept against opinions, most specific first (None: all).
        statute_terms: the same against statutes and every other non-opinion document.
        dense_share: the dense ranking's share of each text ranking (0: sparse only).
        opinion_chunks: an opinion's text score sums its best this many chunks.
        authority_weight: `w_a` of the authority prior (`indexing.authority`).
        precedent_weight: `w_p` of the precedent expansion.
        precedent_sources: the best-ranked opinions whose precedents are expanded.
        neighbours: the best-matching opinions whose statutes vote (0: no votes).
        statute_text_weight: the statute's own text ranking against the votes (1 each).
        candidates: chunks each ranking retrieves.
    """

    opinion_terms: int | None = 100
    statute_terms: int | None = 50
    dense_share: float = 0.0
    opinion_chunks: int = 1
    authority_weight: float = 0.0
    precedent_weight: float = 1.0
    precedent_sources: int = 30
    neighbours: int = 100
    statute_text_weight: float = 0.3
    candidates: int = 1000

    def __post_init__(self) -> None:
        if not 0.0 <= self.dense_share <= 1.0:
            raise ValueError("dense_share must be between 0 and 1")
        if self.opinion_chunks < 1 or self.candidates < 1:
            raise ValueError("opinion_chunks and candidates must be at least 1")
        if self.neighbours < 0:
            raise ValueError("neighbours must not be negative")
        if min(self.authority_weight, self.precedent_weight, self.statute_text_weight) < 0:
            raise ValueError("weights must not be negative")

    def for_mode(self, mode: str) -> FactPatternSettings:
        """The settings a query mode implies: `sparse` and `dense` use one vector alone."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "sparse":
            return replace(self, dense_share=0.0)
        if mode == "dense":
            return replace(self, dense_share=1.0)
        return self


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the index says about one fact pattern, before any weight is applied.

    Each ranking is chunks best first. `neighbours_*` rank the opinions whose statutes vote
    (under the query's date and jurisdiction only, whatever sources it asks for); None when
    they are the `opinions_*` rankings themselves.
    """

    opinions_sparse: tuple[Hit, ...] = ()
    opinions_dense: tuple[Hit, ...] = ()
    others_sparse: tuple[Hit, ...] = ()
    others_dense: tuple[Hit, ...] = ()
    neighbours_sparse: tuple[Hit, ...] | None = None
    neighbours_dense: tuple[Hit, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def document_scores(hits: Sequence[Hit], chunks: int) -> tuple[dict[str, float], dict[str, Hit]]:
    """Documents from ranked chunks: the sum of each document's best `chunks` scores.

    Returns:
        doc_id -> score, and doc_id -> its best chunk.
    """
    score: dict[str, float] = {}
    best: dict[str, Hit] = {}
    taken: dict[str, int] = {}
    for h in sorted(hits, key=lambda h: (-h.score, h.id)):
        doc = h.payload["doc_id"]
        if taken.get(doc, 0) >= chunks:
            continue
        taken[doc] = taken.get(doc, 0) + 1
        score[doc] = score.get(doc, 0.0) + h.score
        best.setdefault(doc, h)
    return score, best


def text_scores(
    sparse: Sequence[Hit], dense: Sequence[Hit], dense_share: float, chunks: int
) -> tuple[dict[str, float], dict[str, Hit]]:
    """The two text rankings of some documents, rescaled and summed (`dense_share` dense)."""
    s_scores, s_best = document_scores(sparse, chunks) if dense_share < 1 else ({}, {})
    d_scores, d_best = document_scores(dense, chunks) if dense_share > 0 else ({}, {})
    fused = normalised_sum([s_scores, d_scores], (1.0 - dense_share, dense_share))
    return fused, {**d_best, **s_best}


def statute_votes(
    neighbours: Mapping[str, float], usage: StatuteUsage, k: int, uncounted: Collection[str] = ()
) -> dict[str, float]:
    """Each statute applied by one of the `k` best neighbours gains that neighbour's score
    relative to the best one's (1 for the best neighbour)."""
    ranked = sorted(
        ((d, s) for d, s in neighbours.items() if d not in uncounted),
        key=lambda ds: (-ds[1], ds[0]),
    )[:k]
    if not ranked or ranked[0][1] <= 0:
        return {}
    top = ranked[0][1]
    votes: dict[str, float] = {}
    for judgment, score in ranked:
        for statute in sorted(usage.statutes_of(judgment)):
            votes[statute] = votes.get(statute, 0.0) + max(score, 0.0) / top
    return votes


def rank(
    evidence: Evidence,
    settings: FactPatternSettings,
    graph: CitationGraph | None,
    usage: StatuteUsage | None,
    uncounted: Collection[str] = (),
    memo: dict[Any, Any] | None = None,
) -> tuple[dict[str, float], dict[str, Hit]]:
    """Document scores from the evidence (see the module docstring).

    Args:
        evidence: the query's rankings.
        settings: the weights.
        graph: citations between opinions (None: no authority, no expansion).
        usage: which opinions apply which statutes (None: no votes).
        uncounted: judgments whose citations and statutes count for nothing (the judgment a
            benchmark query was made from).
        memo: a dict kept for one evidence across calls: the text rankings, which depend on
            a few settings only, are computed once (the lab's sweeps).

    Returns:
        doc_id -> score for every document the evidence holds (precedents the expansion
        reaches included), and doc_id -> its best chunk (absent for those reached only).
    """
    c = settings
    memo = {} if memo is None else memo

    def texts(sparse: Sequence[Hit], dense: Sequence[Hit], chunks: int, what: str) -> Any:
        key = (what, c.dense_share, chunks)
        if key not in memo:
            memo[key] = text_scores(sparse, dense, c.dense_share, chunks)
        return memo[key]

    opinions_text = texts(
        evidence.opinions_sparse, evidence.opinions_dense, c.opinion_chunks, "opinions"
    )
    opinions, best = opinions_text[0], dict(opinions_text[1])
    if graph is not None and (c.authority_weight or c.precedent_weight):
        opinions = with_citations(
            opinions,
            graph,
            lambda d: True,
            c.authority_weight,
            c.precedent_weight,
            uncounted,
            sources=c.precedent_sources,
        )
    others, others_best = texts(evidence.others_sparse, evidence.others_dense, 1, "others")
    best.update(others_best)
    if usage is not None and usage.links:
        if evidence.neighbours_sparse is None and evidence.neighbours_dense is None:
            neighbours, _ = opinions_text
        else:
            neighbours, _ = texts(
                evidence.neighbours_sparse or (),
                evidence.neighbours_dense or (),
                c.opinion_chunks,
                "neighbours",
            )
        votes = statute_votes(neighbours, usage, c.neighbours, uncounted)
        # votes are rescaled by the most voted statute only: a statute with few votes still
        # ranks above one with none (even one its own words missed: it is ranked too)
        top = max(votes.values(), default=0.0)
        text = {d: c.statute_text_weight * s for d, s in others.items()}
        others = {
            d: text.get(d, 0.0) + (votes.get(d, 0.0) / top if top > 0 else 0.0)
            for d in others.keys() | votes.keys()
        }
    return {**opinions, **others}, best


class FactPatterns:
    """Fact-pattern evidence from one build (or any store answering the same queries).

    Args:
        store: the build (`VectorStore`; the lab's in-memory store answers the same calls).
        embed: texts -> L2-normalised vectors (the index's embedder).
        sparse: the sparse encoder (query side).
        windows: a long query's embedding windows (`Retriever.query_windows`).
        term_df: the build's document frequency per sparse term.
        hnsw_ef: HNSW beam width.
    """

    def __init__(
        self,
        store: VectorStore,
        embed: Callable[[list[str]], Any],
        sparse: Bm25Encoder,
        windows: Callable[[str], list[str]],
        term_df: Callable[[], Mapping[int, int]],
        hnsw_ef: int | None = None,
    ) -> None:
        self.store = store
        self.embed = embed
        self.sparse = sparse
        self.windows = windows
        self.term_df = term_df
        self.hnsw_ef = hnsw_ef

    def most_specific(self, vec: SparseVec, budget: int | None) -> SparseVec:
        """`vec` within `budget` terms, else its `budget` terms held by the fewest points."""
        if budget is None or len(vec.indices) <= budget:
            return vec
        df = self.term_df()
        held = [t for t in vec.indices if df.get(t, 0) > 0]
        kept = sorted(sorted(held, key=lambda t: (df[t], t))[:budget])
        return SparseVec(tuple(kept), tuple(1.0 for _ in kept))

    def _sparse(self, vec: SparseVec, where: Where, limit: int) -> tuple[Hit, ...]:
        if not vec.indices:
            return ()
        return tuple(self.store.query([], vec, where, limit=limit, hnsw_ef=self.hnsw_ef))

    def _dense(
        self, vectors: Sequence[Sequence[float]], where: Where, limit: int
    ) -> tuple[Hit, ...]:
        """Each window alone; a chunk keeps its best cosine (exact for the top `limit`)."""
        best: dict[str, Hit] = {}
        for vec in vectors:
            for h in self.store.query([vec], None, where, limit=limit, hnsw_ef=self.hnsw_ef):
                if h.id not in best or h.score > best[h.id].score:
                    best[h.id] = h
        return tuple(sorted(best.values(), key=lambda h: (-h.score, h.id))[:limit])

    def evidence(
        self,
        query: str,
        where: Where,
        neighbours_where: Where | None,
        settings: FactPatternSettings,
        mode: str = "hybrid",
        dense: bool | None = None,
    ) -> Evidence:
        """The rankings a fact pattern needs.

        Args:
            query: the facts.
            where: the query's filter (the documents it may return).
            neighbours_where: the filter of the opinions whose statutes vote (the query's
                date and jurisdiction); None: the same as `where`.
            settings: the term budgets and the number of candidates.
            mode: `hybrid`, `dense` or `sparse`.
            dense: compute the dense rankings (default: when the mode and settings use them).
        """
        c = settings.for_mode(mode)
        n = c.candidates
        use_sparse = c.dense_share < 1.0
        use_dense = c.dense_share > 0.0 if dense is None else dense and mode != "sparse"
        every = self.sparse.query(query) if use_sparse else SparseVec((), ())
        narrow = self.most_specific(every, c.statute_terms)
        broad = self.most_specific(every, c.opinion_terms)
        vectors = list(self.embed(self.windows(query))) if use_dense else []
        opinions = where.also(Where(OPINION))
        others = where.also(Where(must_not=OPINION))
        out: dict[str, tuple[Hit, ...] | None] = {
            "opinions_sparse": self._sparse(broad, opinions, n) if use_sparse else (),
            "opinions_dense": self._dense(vectors, opinions, n) if use_dense else (),
            "others_sparse": self._sparse(narrow, others, n) if use_sparse else (),
            "others_dense": self._dense(vectors, others, n) if use_dense else (),
        }
        if neighbours_where is not None and neighbours_where != where:
            near = neighbours_where.also(Where(OPINION))
            out["neighbours_sparse"] = self._sparse(broad, near, n) if use_sparse else ()
            out["neighbours_dense"] = self._dense(vectors, near, n) if use_dense else ()
        return Evidence(**out)  # type: ignore[arg-type]

    def first_chunks(self, doc_ids: Collection[str], where: Where) -> dict[str, Hit]:
        """The first chunk of each document that passes `where` (for precedents the
        expansion reached without a retrieved chunk)."""
        if not doc_ids:
            return {}
        must = (*where.must, MatchAny("doc_id", tuple(sorted(doc_ids))), Match("order", 0))
        found: dict[str, Hit] = {}
        for h in self.store.scroll(Where(must, where.must_not)):
            found.setdefault(h.payload["doc_id"], h)
        return found

    def documents(
        self,
        evidence: Evidence,
        settings: FactPatternSettings,
        graph: CitationGraph | None,
        usage: StatuteUsage | None,
        where: Where,
        uncounted: Collection[str] = (),
    ) -> list[tuple[str, float, Hit]]:
        """The ranked documents `where` admits: `(doc_id, score, a chunk of it)`, best first
        (ties by id); precedents reached only through citations come with their first chunk."""
        scores, best = rank(evidence, settings, graph, usage, uncounted)
        best = {**self.first_chunks(scores.keys() - best.keys(), where), **best}
        ranked = sorted((d for d in scores if d in best), key=lambda d: (-scores[d], d))
        return [(d, scores[d], best[d]) for d in ranked]
