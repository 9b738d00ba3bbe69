"""The two ways the lab ranks a fact pattern: in memory and through the built index.

Both run the product's own fact-pattern ranking (`indexing.fact_patterns.FactPatterns`) with
the same filters; they differ only in who answers its queries:

- `memory_path`: a `MemoryStore` of the chunks a build of the AILA sources holds, scored
  exactly in numpy (`indexing.eval.memory`);
- `index_path`: the build `JURIS_QDRANT_PATH` (or `JURIS_QDRANT_URL`) points at, through
  `Retriever.fact_patterns` — Qdrant, HNSW and all.

The evidence of a query does not depend on the weights, so it is computed once per query and
term budget (`FactPatternPath.evidence`, cached) and the weights are swept over it
(`FactPatternPath.scores`), which is what makes cross-validation over hundreds of settings
affordable on both paths (`indexing.eval.crossval`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from indexing.fact_patterns import Evidence, FactPatterns, FactPatternSettings, rank
from indexing.model import SearchFilters
from indexing.status import pending_note
from indexing.statute_usage import StatuteUsage
from indexing.store import Where
from legal_corpus.citation_graph import CitationGraph

log = logging.getLogger(__name__)

AILA_SOURCES = ("aila/statutes", "aila/casedocs")


@dataclass
class FactPatternPath:
    """One way of answering a fact pattern's queries, with the build's graph and usage.

    Args:
        name: `in memory` or `index`.
        patterns: the ranking over the store.
        graph: the citations between the opinions of the store.
        usage: which opinions apply which statutes.
        close: releases what the path holds (an open index).
    """

    name: str
    patterns: FactPatterns
    graph: CitationGraph
    usage: StatuteUsage
    close: Any = None
    _dense: dict[tuple[str, str], Evidence] = field(default_factory=dict)
    _sparse: dict[tuple[str, str, int | None, int | None], Evidence] = field(default_factory=dict)
    _merged: dict[tuple[Any, ...], Evidence] = field(default_factory=dict)
    _memo: dict[tuple[Any, ...], dict[Any, Any]] = field(default_factory=dict)

    @staticmethod
    def filters(source: str) -> tuple[Where, Where]:
        """The filter of a source's documents and that of the opinions that vote (today)."""
        from indexing.retrieve import filter_conditions, neighbours_filter

        return filter_conditions(SearchFilters(sources=(source,))), neighbours_filter(None)

    def evidence(
        self, query: str, source: str, settings: FactPatternSettings, mode: str = "hybrid"
    ) -> Evidence:
        """The evidence for `query` under `settings`' term budgets (cached): both rankings in
        `hybrid` mode, whatever the dense share, so any share can be swept over it."""
        where, near = self.filters(source)
        key = (query, source)
        budgets = (*key, settings.opinion_terms, settings.statute_terms)
        if mode != "dense" and budgets not in self._sparse:
            self._sparse[budgets] = self.patterns.evidence(
                query, where, near, settings, "sparse", dense=False
            )
        if mode != "sparse" and key not in self._dense:
            self._dense[key] = self.patterns.evidence(query, where, near, settings, "dense")
        if mode == "sparse":
            return self._sparse[budgets]
        if mode == "dense":
            return self._dense[key]
        merged = (*budgets, "hybrid")
        if merged not in self._merged:
            s, d = self._sparse[budgets], self._dense[key]
            self._merged[merged] = replace(
                s,
                opinions_dense=d.opinions_dense,
                others_dense=d.others_dense,
                neighbours_dense=d.neighbours_dense,
            )
        return self._merged[merged]

    def scores(
        self,
        query: str,
        source: str,
        settings: FactPatternSettings,
        mode: str = "hybrid",
        uncounted: Collection[str] = (),
    ) -> dict[str, float]:
        """The ranking of `source`'s documents for `query`, with the qrels' ids (`C12`)."""
        return {d: s for d, s, _ in self.ranked(query, source, settings, mode, uncounted)}

    def ranked(
        self,
        query: str,
        source: str,
        settings: FactPatternSettings,
        mode: str = "hybrid",
        uncounted: Collection[str] = (),
    ) -> list[tuple[str, float, str]]:
        """`(qrels id, score, text of its best chunk)` of `source`'s documents, best first,
        as the retriever's `search_documents` ranks them.

        `uncounted` (qrels ids): judgments whose citations and statutes count for nothing.
        """
        prefix = source.partition("/")[0]
        evidence = self.evidence(query, source, settings, mode)
        where, _ = self.filters(source)
        found = self.patterns.documents(
            evidence,
            settings.for_mode(mode),
            self.graph,
            self.usage,
            where,
            {f"{prefix}:{d}" for d in uncounted},
        )
        return [
            (doc.partition(":")[2] or doc, score, h.payload.get("text") or "")
            for doc, score, h in found
        ]

    def sweep_scores(
        self,
        query: str,
        source: str,
        settings: FactPatternSettings,
        ids: Collection[str],
        uncounted: Collection[str] = (),
    ) -> dict[str, float]:
        """As `scores` in hybrid mode, for the source's documents `ids` (qrels ids), without
        fetching a chunk for each document reached only through citations: a sweep scores
        hundreds of settings, and every document of a source passes its filter.
        """
        prefix = source.partition("/")[0]
        evidence = self.evidence(query, source, settings)
        budgets = (query, source, settings.opinion_terms, settings.statute_terms)
        memo = self._memo.setdefault(budgets, {})
        scores, _ = rank(
            evidence,
            settings,
            self.graph,
            self.usage,
            {f"{prefix}:{d}" for d in uncounted},
            memo if not uncounted else None,
        )
        out = {d.partition(":")[2]: s for d, s in scores.items()}
        return {d: s for d, s in out.items() if d in ids}


def memory_path(
    corpus_dir: Path,
    settings: Any,
    cache_dir: Path | None,
    embed_budget: int | None = None,
    only_docs: list[str] | None = None,
) -> FactPatternPath:
    """The in-memory path over the chunks of both AILA sources."""
    from indexing.authority import citation_graph
    from indexing.build import make_embedder
    from indexing.chunking import model_token_counter
    from indexing.eval.memory import memory_store
    from indexing.retrieve import query_windows
    from indexing.sparse import Bm25Encoder
    from indexing.statute_usage import statute_usage

    store = memory_store(corpus_dir, AILA_SOURCES, settings, cache_dir, only_docs, embed_budget)
    embedder = make_embedder(settings, cached=False)
    count = model_token_counter(settings.model_dir())
    window = min(200, embedder.max_tokens - 16)
    patterns = FactPatterns(
        store,  # type: ignore[arg-type]
        lambda texts: embedder.encode(texts),
        Bm25Encoder(),
        lambda q: query_windows(q, count, window),
        store.term_counts,
    )
    return FactPatternPath(
        "in memory",
        patterns,
        citation_graph(store),  # type: ignore[arg-type]
        statute_usage(store),  # type: ignore[arg-type]
    )


def index_path(settings: Any = None, retriever: Any = None) -> FactPatternPath:
    """The path through the build the settings point at (or through an open retriever,
    which the caller then closes).

    Raises:
        IndexUnavailable: when there is no usable build.
    """
    from indexing.retrieve import open_retriever

    close = None
    if retriever is None:
        retriever = open_retriever(settings)
        close = retriever.close
    checked_index(retriever, AILA_SOURCES)
    patterns, graph, usage = retriever.fact_patterns()
    return FactPatternPath("index", patterns, graph, usage, close=close)


AILA_SOURCES = ("aila/casedocs", "aila/statutes")
US_AND_EU_SOURCES = ("uscode", "federal_rules", "gdpr")


def checked_index(retriever: Any, sources: Collection[str] | None = None) -> str | None:
    """Check that `retriever` answers (`IndexUnavailable` if not) and warn when the build it
    searches lacks some of `sources` (None: any): still filling, or incomplete (a demo
    stopped part-way). Figures measured through it count what is missing as misses.

    Returns:
        The warning, or None when the build holds every source asked about.
    """
    retriever.check()
    note = pending_note(retriever.index_status(), sources=sources)
    if note is None:
        return None
    log.warning("figures through this index count what it lacks as misses: %s", note[1])
    return note[1]


def index_available(settings: Any) -> bool:
    """Whether the settings name a server or an embedded index root holding builds."""
    return bool(settings.qdrant_url) or (Path(settings.qdrant_path) / "builds").is_dir()
