"""Citation-aware document ranking: the authority prior and the precedent expansion.

Precedents are cited for what they decided, and the judgments a court reaches for are the
ones courts reached for before. Two uses of the corpus's own citation graph
(`legal_corpus.citation_graph`) follow, both on court opinions only (statutes, rules and
regulations keep their scores):

- **authority**: an opinion's score is multiplied by `1 + w_a × ln(1 + n)`, n being the
  judgments of the corpus that cite it;
- **precedent expansion**: the precedents cited by the `PRECEDENT_SOURCES` best-ranked
  judgments gain `w_p ×` the citing judgment's score, for each one citing them — a judgment
  that shares the facts tends to share the law, so what it cites is likely to govern too,
  even when its text shares few words with the facts.

Measured on 300 citing judgments of the AILA corpus, each judgment's own citations (and
those of the judgments repeating it) left out (eval/README.md, "Authority and cited
precedents"): see `AUTHORITY_WEIGHT` and `PRECEDENT_WEIGHT`.

The graph is rebuilt from the build itself (`citation_graph`), once per build by the
retriever (`indexing.per_build`), so a nightly sync that adds a ruling citing older ones
raises their authority with no rewrite of their points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from datetime import date

from indexing.store import Match, VectorStore, Where
from legal_corpus.citation_graph import CitationGraph, Judgment

AUTHORITY_WEIGHT = 0.5
PRECEDENT_WEIGHT = 0.5
PRECEDENT_SOURCES = 10
_FIELDS = ("doc_id", "version", "order", "title", "decision_date", "text", "jurisdiction")


def authority_factor(cited_by: int, weight: float = AUTHORITY_WEIGHT) -> float:
    """The multiplier of a document score for an opinion `cited_by` judgments cite."""
    return 1.0 + weight * math.log1p(max(cited_by, 0))


def citation_graph(store: VectorStore) -> CitationGraph:
    """The citations between the court opinions of a build, read from their chunks.

    Each opinion's chunks are put back together in document order (per version) before its
    references are read, so a case name at the end of one chunk still names the reference
    at the start of the next.
    """
    judgments, texts = documents_of(store, "opinion")
    return CitationGraph(
        (Judgment(d, str(p.get("title") or ""), _year(p)) for d, p in judgments.items()), texts
    )


def _year(payload: Mapping[str, object]) -> int | None:
    decided = payload.get("decision_date")
    return date.fromisoformat(str(decided)).year if decided else None


def documents_of(
    store: VectorStore, kind: str
) -> tuple[dict[str, dict[str, object]], list[tuple[str, str]]]:
    """The documents of one kind in a build, put back together from their chunks.

    Returns:
        doc_id -> the payload of one of its chunks (title, dates, jurisdiction), and
        `(doc_id, text)` per document version, the chunks joined in document order.
    """
    first: dict[str, dict[str, object]] = {}
    parts: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for hit in store.scroll(Where((Match("kind", kind),)), fields=_FIELDS):
        p = hit.payload
        doc = p["doc_id"]
        first.setdefault(doc, p)
        parts.setdefault((doc, p.get("version") or ""), []).append(
            (int(p.get("order") or 0), p.get("text") or "")
        )
    texts = [
        (doc, "\n".join(text for _, text in sorted(pieces, key=lambda piece: piece[0])))
        for (doc, _), pieces in sorted(parts.items())
    ]
    return first, texts


def with_citations(
    scores: Mapping[str, float],
    graph: CitationGraph,
    is_opinion: Callable[[str], bool],
    authority_weight: float = AUTHORITY_WEIGHT,
    precedent_weight: float = PRECEDENT_WEIGHT,
    uncounted: Collection[str] = (),
    sources: int = PRECEDENT_SOURCES,
) -> dict[str, float]:
    """Document scores after the authority prior and the precedent expansion.

    Args:
        scores: doc_id -> score (higher is better), any scale.
        graph: the citations between the opinions.
        is_opinion: whether a scored document is a court opinion.
        authority_weight: `w_a` (0: no authority prior).
        precedent_weight: `w_p` (0: no expansion).
        uncounted: judgments whose citations count for nothing (an evaluation query's own
            judgment); they are not expanded from and gain nothing.
        sources: the best-ranked opinions whose precedents are expanded.

    Returns:
        doc_id -> score; precedents the expansion reached that `scores` did not hold are
        added (the caller decides whether they may be returned).
    """
    out = {
        d: s * authority_factor(graph.cited_by(d, uncounted), authority_weight)
        if authority_weight and is_opinion(d)
        else s
        for d, s in scores.items()
    }
    if not precedent_weight:
        return out
    expanded = sorted(
        (d for d in out if d not in uncounted and is_opinion(d)),
        key=lambda d: (-out[d], d),
    )[:sources]
    gained: dict[str, float] = {}
    for source in expanded:
        for cited in graph.links.get(source, ()):
            if cited not in uncounted:
                gained[cited] = gained.get(cited, 0.0) + precedent_weight * out[source]
    for cited, gain in gained.items():
        out[cited] = out.get(cited, 0.0) + gain
    return out
