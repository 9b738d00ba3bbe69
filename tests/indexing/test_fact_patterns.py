"""Fact patterns: statute votes, opinion evidence and settings, and the in-memory store
ranking exactly as the built index does (on the real index slice)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from indexing.fact_patterns import (
    Evidence,
    FactPatternSettings,
    document_scores,
    rank,
    statute_votes,
)
from indexing.statute_usage import StatuteUsage
from indexing.store import Hit

pytestmark = pytest.mark.unit


def _hit(doc: str, score: float, kind: str = "opinion", n: int = 0) -> Hit:
    return Hit(f"{doc}#{n}", score, {"doc_id": doc, "kind": kind, "order": n})


def test_statutes_gain_the_scores_of_the_judgments_applying_them() -> None:
    usage = StatuteUsage({"C1": {"S1", "S2"}, "C2": {"S2"}, "C3": {"S3"}})
    neighbours = {"C1": 2.0, "C2": 1.0, "C3": 0.5}
    assert statute_votes(neighbours, usage, k=2) == {"S1": 1.0, "S2": 1.5}
    assert statute_votes(neighbours, usage, k=3)["S3"] == pytest.approx(0.25)
    # the judgment a benchmark query was made from does not vote
    assert statute_votes(neighbours, usage, k=2, uncounted={"C1"}) == {"S2": 1.0, "S3": 0.5}
    assert statute_votes(neighbours, usage, k=0) == {}


def test_document_scores_sum_a_documents_best_chunks() -> None:
    hits = [_hit("C1", 0.9, n=0), _hit("C1", 0.5, n=1), _hit("C1", 0.4, n=2), _hit("C2", 1.0)]
    scores, best = document_scores(hits, chunks=2)
    assert scores == pytest.approx({"C1": 1.4, "C2": 1.0})
    assert best["C1"].id == "C1#0"
    assert document_scores(hits, chunks=1)[0] == pytest.approx({"C1": 0.9, "C2": 1.0})


def test_rank_votes_lift_a_statute_its_words_miss() -> None:
    evidence = Evidence(
        others_sparse=(_hit("S1", 3.0, "statute"), _hit("S2", 1.0, "statute")),
        neighbours_sparse=(_hit("C1", 5.0), _hit("C2", 4.0), _hit("C9", 1.0)),
    )
    usage = StatuteUsage({"C1": {"S2", "S3"}, "C2": {"S2"}})
    settings = FactPatternSettings(
        neighbours=10, statute_text_weight=0.0, precedent_weight=0.0, dense_share=0.0
    )
    scores, best = rank(evidence, settings, None, usage)
    assert scores["S2"] > scores["S3"] > scores["S1"]
    assert "S3" not in best  # reached by votes only: the caller fetches a chunk
    with_text = rank(evidence, replace(settings, statute_text_weight=1.0), None, usage)[0]
    assert with_text["S1"] == pytest.approx(1.0) and with_text["S2"] == pytest.approx(1.0)


def test_settings_refuse_impossible_values() -> None:
    with pytest.raises(ValueError, match="dense_share"):
        FactPatternSettings(dense_share=1.5)
    with pytest.raises(ValueError, match="mode"):
        FactPatternSettings().for_mode("fuzzy")
    assert FactPatternSettings(dense_share=0.3).for_mode("sparse").dense_share == 0.0


@pytest.mark.slow
def test_in_memory_store_ranks_as_the_built_index(index_slice, corpus_dir: Path) -> None:
    """The lab's in-memory path and the index path, over the same points, give the same
    ranking for the same settings (a figure measured one way holds the other way)."""
    from indexing.authority import citation_graph
    from indexing.eval.memory import memory_store
    from indexing.eval.paths import FactPatternPath
    from indexing.fact_patterns import FactPatterns
    from indexing.retrieve import open_retriever
    from indexing.sparse import Bm25Encoder
    from indexing.statute_usage import statute_usage
    from tests.support.index_slice import slice_units

    retriever = open_retriever(index_slice)
    try:
        retriever.check()
        indexed, graph, usage = retriever.fact_patterns()
        units, doc_filter = slice_units(corpus_dir)
        store = memory_store(corpus_dir, (), index_slice, units=units, doc_filter=doc_filter)
        assert store.count() == indexed.store.count()
        assert store.term_counts() == indexed.store.term_counts()
        assert citation_graph(store).links == graph.links  # type: ignore[arg-type]
        assert statute_usage(store).links == usage.links  # type: ignore[arg-type]
        memory = FactPatterns(
            store,  # type: ignore[arg-type]
            indexed.embed,
            Bm25Encoder(),
            indexed.windows,
            store.term_counts,
        )
        paths = [
            FactPatternPath("index", indexed, graph, usage),
            FactPatternPath("in memory", memory, graph, usage),
        ]
        # three judgments apply few statutes: votes from links given to both paths as well
        given = StatuteUsage({"aila:C1": {"aila:S2", "aila:S6"}, "aila:C79": {"aila:S1"}})
        voting = [FactPatternPath(p.name, p.patterns, graph, given) for p in paths]
        query = (corpus_dir / "aila" / "queries_dev.txt").read_text().split("||")[1][:3000]
        for source, pair in (
            ("aila/statutes", paths),
            ("aila/casedocs", paths),
            ("aila/statutes", voting),
        ):
            for settings in (
                FactPatternSettings(),
                FactPatternSettings(dense_share=0.5, authority_weight=0.5, opinion_terms=20),
                FactPatternSettings(statute_terms=None, statute_text_weight=0.5, neighbours=2),
            ):
                for mode in ("hybrid", "sparse", "dense"):
                    index_rank, memory_rank = (
                        p.scores(query, source, settings, mode) for p in pair
                    )
                    assert list(index_rank) == list(memory_rank), (source, settings, mode)
                    assert list(index_rank.values()) == pytest.approx(
                        list(memory_rank.values()), rel=1e-4, abs=1e-5
                    )
                    assert index_rank, (source, mode)
        # the retriever's own document ranking of a fact pattern is that ranking
        from indexing.model import SearchFilters

        found = retriever.search_documents(
            query, top_k=5, filters=SearchFilters(sources=("aila/statutes",))
        )
        expected = paths[0].scores(query, "aila/statutes", retriever.fact_settings)
        assert [d.partition(":")[2] for d, _, _ in found] == list(expected)[:5]
        # an answer's retrieval (group_by_doc left to the retriever) gives a statement of
        # facts one passage per document from that ranking; a question keeps its passages
        statutes = SearchFilters(sources=("aila/statutes",))
        passages, _ = retriever.search_assessed(query, top_k=5, filters=statutes)
        assert [p.chunk.doc_id for p in passages] == [d for d, _, _ in found]
        question = "dowry death and cruelty by the husband's relatives"
        plain = retriever.search(question, top_k=5, filters=statutes)
        assert retriever.search_assessed(question, top_k=5, filters=statutes)[0] == plain
    finally:
        retriever.close()
