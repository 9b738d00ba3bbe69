"""Citation-aware document ranking: the authority prior and the precedent expansion, alone
and through a real index whose citations a sync changes."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from indexing.authority import PRECEDENT_SOURCES, with_citations
from indexing.build import run_build
from indexing.model import SearchFilters
from indexing.retrieve import open_retriever
from indexing.settings import IndexSettings
from indexing.sync import run_sync
from legal_corpus.citation_graph import CitationGraph, Judgment

pytestmark = pytest.mark.unit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
QUERY = "termination of a workman of the electricity board and reinstatement with back wages"


def _graph(links: dict[str, set[str]]) -> CitationGraph:
    """Judgments `P Party v Other P` (1990) cited by judgments of 2000, one citation a piece."""
    years = {d: 1990 for ds in links.values() for d in ds} | {d: 2000 for d in links}
    judgments = [Judgment(d, f"{d.upper()} Party v Other {d.upper()}", y) for d, y in years.items()]
    pieces = [
        (citing, f"As held in {c.upper()} Party v. Other {c.upper()} 1990 Indlaw SC 1.")
        for citing, cited in links.items()
        for c in cited
    ]
    return CitationGraph(judgments, pieces)


def test_authority_lifts_opinions_cited_more_and_leaves_the_rest():
    graph = _graph({"a": {"p"}, "b": {"p"}, "c": {"p", "q"}})
    assert graph.cited_by("p") == 3 and graph.cited_by("q") == 1
    scores = {"s": 0.5, "p": 0.3, "q": 0.3, "x": 0.4}
    out = with_citations(scores, graph, lambda d: d != "s", 0.5, 0.0)
    assert out == pytest.approx(
        {"s": 0.5, "p": 0.3 * (1 + 0.5 * math.log(4)), "q": 0.3 * (1 + 0.5 * math.log(2)), "x": 0.4}
    )
    # a judgment whose citations are uncounted (the query's own) lifts nothing
    out = with_citations(scores, graph, lambda d: d != "s", 0.5, 0.0, uncounted={"c"})
    assert out["q"] == pytest.approx(0.3) and out["p"] == pytest.approx(
        0.3 * (1 + 0.5 * math.log(3))
    )


def test_precedents_of_the_best_judgments_gain_their_scores():
    graph = _graph({"a": {"p", "q"}, "b": {"p"}, "z": {"r"}})
    scores = {"a": 1.0, "b": 0.5, "q": 0.1, "z": 0.01}
    scores |= {f"filler{i}": 0.2 for i in range(PRECEDENT_SOURCES)}  # z falls out of the top
    out = with_citations(scores, graph, lambda d: True, 0.0, 0.5)
    # p was not retrieved: it gains 0.5 × (1.0 + 0.5); q gains 0.5 × 1.0; r nothing
    assert out["p"] == pytest.approx(0.75) and out["q"] == pytest.approx(0.6)
    assert "r" not in out and out["a"] == 1.0
    # an uncounted judgment is no source of precedents
    assert with_citations(scores, graph, lambda d: True, 0.0, 0.5, uncounted={"a"})["p"] == 0.25


def _copy(corpus_dir: Path, root: Path, *ids: str) -> None:
    folder = root / "aila" / "casedocs"
    folder.mkdir(parents=True, exist_ok=True)
    for doc in ids:
        shutil.copy(corpus_dir / "aila" / "casedocs" / f"{doc}.txt", folder / f"{doc}.txt")


def _scores(settings: IndexSettings, query: str = QUERY, **kw) -> dict[str, float]:
    weights = {"authority_weight": 0.0, "precedent_weight": 0.0}
    retriever = open_retriever(settings.model_copy(update=weights | kw.pop("weights", {})))
    try:
        filters = kw.pop("filters", SearchFilters(kind="opinion"))
        found = retriever.search_documents(query, 10, filters, mode="sparse", **kw)
        return {doc: score for doc, score, _ in found}
    finally:
        retriever.close()


def test_a_synced_ruling_that_cites_an_opinion_lifts_it(tmp_path, corpus_dir):
    # C76 (2003) cites C92 (1996) by name and `1996 Indlaw SC 1409`; C2108 and C1516 cite
    # neither. The sync that adds C76 must lift C92 with no rewrite of C92's points.
    corpus = tmp_path / "corpus"
    _copy(corpus_dir, corpus, "C92", "C2108", "C1516")
    settings = IndexSettings(
        qdrant_path=tmp_path / "q", corpus_dir=corpus, embed_cache=PROJECT_ROOT / "var/embed_cache"
    )
    run_build(settings, progress=False)
    authority = {"authority_weight": 0.5}
    plain = _scores(settings)
    assert "aila:C92" in plain and _scores(settings, weights=authority) == plain

    _copy(corpus_dir, corpus, "C76")
    run_sync(settings, progress=False)
    plain, lifted = _scores(settings), _scores(settings, weights=authority)
    assert lifted["aila:C92"] == pytest.approx(plain["aila:C92"] * (1 + 0.5 * math.log(2)))
    others = set(plain) - {"aila:C92"}
    assert others and {d: lifted[d] for d in others} == pytest.approx({d: plain[d] for d in others})
    # leaving C76's citations out (a benchmark query made from it) undoes the lift
    assert _scores(settings, weights=authority, uncounted={"aila:C76"}) == pytest.approx(plain)

    # the precedent expansion: C92 gains half of C76's score, and reaches C92 even when
    # the query's words are C76's alone, unless the filters exclude it
    expand = {"precedent_weight": 0.5}
    gained = _scores(settings, weights=expand)
    assert gained["aila:C92"] == pytest.approx(plain["aila:C92"] + 0.5 * plain["aila:C76"])
    only_c76 = "Jaipal Singh"
    assert "aila:C92" not in _scores(settings, only_c76)
    reached = _scores(settings, only_c76, weights=expand)
    assert reached["aila:C92"] == pytest.approx(0.5 * reached["aila:C76"])
    narrowed = SearchFilters(doc_ids=("aila:C76", "aila:C2108"))
    assert "aila:C92" not in _scores(settings, only_c76, weights=expand, filters=narrowed)
