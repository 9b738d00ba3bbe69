"""The authority prior: a court opinion that more judgments of the corpus cite ranks higher.

Precedents are cited for what they decided, and the judgments a court reaches for are the
ones other courts reached for before: how often the corpus cites an opinion predicts that a
new matter's judgment will cite it too. A document ranking multiplies an opinion's score by
`1 + weight × ln(1 + n)`, n being the judgments of the corpus that cite it
(`legal_corpus.citation_graph`); statutes, rules and regulations are left as they are.

Measured on 300 citing judgments of the AILA corpus, each judgment's own citations left
out of the counts (README, Evaluation, "Authority"): see `AUTHORITY_WEIGHT`.

The graph is rebuilt from the build itself (`citation_graph`), once per build by the
retriever (`indexing.per_build`), so a nightly sync that adds a ruling citing older ones
raises their authority with no rewrite of their points.
"""

from __future__ import annotations

import math
from datetime import date

from indexing.store import Match, VectorStore, Where
from legal_corpus.citation_graph import CitationGraph, Judgment

AUTHORITY_WEIGHT = 0.5
_FIELDS = ("doc_id", "title", "decision_date", "text")


def authority_factor(cited_by: int, weight: float = AUTHORITY_WEIGHT) -> float:
    """The multiplier of a document score for an opinion `cited_by` judgments cite."""
    return 1.0 + weight * math.log1p(max(cited_by, 0))


def citation_graph(store: VectorStore) -> CitationGraph:
    """The citations between the court opinions of a build, read from their chunks."""
    judgments: dict[str, Judgment] = {}
    pieces: list[tuple[str, str]] = []
    for hit in store.scroll(Where((Match("kind", "opinion"),)), fields=_FIELDS):
        p = hit.payload
        doc = p["doc_id"]
        if doc not in judgments:
            decided = p.get("decision_date")
            year = date.fromisoformat(decided).year if decided else None
            judgments[doc] = Judgment(doc, p.get("title") or "", year)
        pieces.append((doc, p.get("text") or ""))
    return CitationGraph(judgments.values(), pieces)
