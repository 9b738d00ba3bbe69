"""Retrieval end to end over the real index slice: as_of, exact citations, documents, CLI."""

from __future__ import annotations

import json
from datetime import date

import pytest
from pydantic import ValidationError

from indexing.cli import main
from indexing.doc_ranking import OPINION_CHUNKS, place_opinions, rank_documents
from indexing.exact_citations import cited_provisions
from indexing.fusion import DENSE_SHARE, normalised_sum
from indexing.model import Chunk, Passage, SearchFilters
from indexing.retrieve import QUESTION_CANDIDATES, Retriever, open_retriever
from indexing.settings import IndexSettings
from indexing.sparse import Bm25Encoder, SparseVec
from indexing.store import Match, Where

pytestmark = pytest.mark.unit


EXPERT = "when may an expert witness testify in the form of an opinion"


def test_fre_702_as_of_old_and_amended_text(retriever):
    before = retriever.search(EXPERT, top_k=3, filters=SearchFilters(as_of=date(2023, 6, 1)))
    after = retriever.search(EXPERT, top_k=3, filters=SearchFilters(as_of=date(2024, 1, 1)))
    top_before = next(p for p in before if p.chunk.doc_id == "fre:702")
    top_after = next(p for p in after if p.chunk.doc_id == "fre:702")
    assert top_before.chunk.version == "2012"
    assert "more likely than not" not in top_before.chunk.text
    assert top_after.chunk.version == "2024"
    assert "more likely than not" in top_after.chunk.text


def test_section_of_2013_edition_only_found_as_of_2014_not_2023(retriever):
    q = "critical minerals and materials supply"
    in_2014 = retriever.search(q, top_k=5, filters=SearchFilters(as_of=date(2014, 1, 1)))
    in_2023 = retriever.search(q, top_k=20, filters=SearchFilters(as_of=date(2023, 1, 1)))
    assert "usc:30/1811" in [p.chunk.doc_id for p in in_2014]
    assert "usc:30/1811" not in [p.chunk.doc_id for p in in_2023]
    assert retriever.document("usc:30/1811", as_of=date(2023, 1, 1)) == []
    assert retriever.document("usc:30/1811", as_of=date(2014, 1, 1))


@pytest.mark.parametrize(
    ("query", "doc_id", "pinpoint"),
    [
        ("Is parody a use allowed by 17 U.S.C. § 107?", "usc:17/107", ""),
        ("motion to dismiss under Rule 12(b)(6)", "frcp:12", "(b)(6)"),
        ("erasure under GDPR Art. 17(1)", "gdpr:art17", "(1)"),
    ],
)
def test_exact_citation_comes_first(retriever, query, doc_id, pinpoint):
    (top, *_) = retriever.search(query, top_k=5)
    assert top.chunk.doc_id == doc_id
    if pinpoint:
        assert (
            top.chunk.pinpoint == pinpoint
            or pinpoint in top.chunk.pinpoints
            or any(pinpoint.startswith(p) for p in (top.chunk.pinpoint, *top.chunk.pinpoints) if p)
        )


def test_cited_provisions_parses_common_forms():
    got = {(c.doc_id, c.pinpoint) for c in cited_provisions("17 USC 107 and Fed. R. Evid. 702(b)")}
    assert ("usc:17/107", "") in got and ("fre:702", "(b)") in got


def test_filters_and_modes(retriever):
    q = "punishment for murder"
    for mode in ("hybrid", "dense", "sparse"):
        res = retriever.search(q, top_k=5, mode=mode, filters=SearchFilters(jurisdiction="in"))
        assert res and all(p.chunk.jurisdiction == "in" for p in res)
    only_rules = retriever.search(EXPERT, top_k=5, filters=SearchFilters(kind="rule"))
    assert only_rules and all(p.chunk.kind == "rule" for p in only_rules)
    grouped = retriever.search("copyright", top_k=5, group_by_doc=True)
    assert len({p.chunk.doc_id for p in grouped}) == len(grouped)
    with pytest.raises(ValueError):
        retriever.search(q, mode="fuzzy")


def test_long_query_is_windowed_not_truncated(retriever):
    long_query = " ".join(["The accused was charged with murder of his neighbour."] * 60)
    windows = retriever.query_windows(long_query)
    assert len(windows) > 1
    assert " ".join(windows) == long_query
    docs = retriever.search_documents(
        long_query, top_k=5, filters=SearchFilters(sources=("aila/statutes",))
    )
    assert docs and len({d for d, _, _ in docs}) == len(docs)


def test_long_dense_query_keeps_each_chunks_best_window(retriever, monkeypatch):
    # two topics, each several windows long: rank fusion would mix them; max keeps cosines
    monkeypatch.setattr(retriever, "lead_second_rank", None)  # each window's own best 8
    long_query = " ".join(
        ["An expert witness may testify in the form of an opinion if the testimony helps."] * 25
        + ["The data subject may obtain erasure of personal data without undue delay."] * 25
    )
    windows = retriever.query_windows(long_query)
    assert len(windows) >= 2
    fused = retriever.search(long_query, top_k=8, mode="dense", exact_citations=False)
    best: dict[str, float] = {}
    for window in windows:
        for p in retriever.search(window, top_k=8, mode="dense", exact_citations=False):
            best[p.chunk.chunk_id] = max(p.score, best.get(p.chunk.chunk_id, -1.0))
    expected = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    assert [p.chunk.chunk_id for p in fused] == [c for c, _ in expected]
    assert [p.score for p in fused] == pytest.approx([s for _, s in expected])
    assert {"fre:702", "gdpr:art17"} <= {p.chunk.doc_id for p in fused}


def test_a_question_fuses_its_two_rankings_by_score(retriever, monkeypatch):
    # one window: the dense and sparse rankings (each QUESTION_CANDIDATES deep) are rescaled
    # and summed
    monkeypatch.setattr(retriever, "order", None)  # the fused order alone
    monkeypatch.setattr(retriever, "passages_per_document", None)  # every passage as it comes
    question = "how long does a copyright owner have to sue for infringement"
    assert retriever.query_windows(question) == [question]

    def ranking(mode: str) -> dict[str, float]:
        found = retriever.search(
            question, top_k=QUESTION_CANDIDATES, mode=mode, exact_citations=False
        )
        return {p.chunk.chunk_id: p.score for p in found}

    fused = normalised_sum([ranking("dense"), ranking("sparse")], (DENSE_SHARE, 1 - DENSE_SHARE))
    expected = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    hybrid = retriever.search(question, top_k=10, exact_citations=False)
    assert [p.chunk.chunk_id for p in hybrid] == [c for c, _ in expected]
    assert [p.score for p in hybrid] == pytest.approx([s for _, s in expected])
    assert all(0.0 <= p.score <= 1.0 for p in hybrid)


def test_the_learned_order_rescores_a_questions_fused_passages(retriever, monkeypatch):
    # the bundled model's packaged order is on by default; it re-scores the fused passages
    assert retriever.order is not None
    monkeypatch.setattr(retriever, "passages_per_document", None)  # every passage as it comes
    question = "Can a company ignore my request to delete my data?"
    candidates, terms = retriever.question_candidates(question, QUESTION_CANDIDATES)
    scores = retriever.order.scores(question, candidates, terms)
    expected = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    hybrid = retriever.search(question, top_k=10, exact_citations=False)
    assert [p.chunk.chunk_id for p in hybrid] == [c for c, _ in expected]
    assert [p.score for p in hybrid] == pytest.approx([s for _, s in expected])
    assert hybrid[0].score == 1.0 and all(0.0 <= p.score <= 1.0 for p in hybrid)
    # the relevance features are the rankings' own, whatever the order
    fused = {c.id: c.fused for c in candidates}
    assert set(fused) == set(scores) and fused != scores


def test_the_learned_order_puts_an_article_before_the_recital_explaining_it(retriever, monkeypatch):
    # Art. 17 (right to erasure) governs; recitals 39 and 65 explain it in the same words
    question = "Can I ask a company to delete the personal data it holds about me?"

    def first_docs(order) -> list[str]:
        monkeypatch.setattr(retriever, "order", order)
        found = retriever.search(question, top_k=10, exact_citations=False)
        return [p.chunk.doc_id for p in found]

    learned = first_docs(retriever.order)
    fused = first_docs(None)
    assert fused[0].startswith("gdpr:recital") and fused.index("gdpr:art17") > 0
    assert learned[0] == "gdpr:art17"  # the recitals come after it, if at all


def test_the_lead_chooses_among_the_first_documents_passages_only(retriever, monkeypatch):
    from dataclasses import replace

    question = "Can a defendant move to dismiss for failure to state a claim?"
    candidates, _ = retriever.question_candidates(question, QUESTION_CANDIDATES)
    # each candidate knows its place: the subdivisions it holds, and whether it opens a
    # statute, rule or article (a court opinion's first passage is its caption: never)
    for c in candidates:
        chunk = next((x for x in retriever.lookup(c.doc_id) if x.chunk_id == c.id), None)
        if chunk is not None:
            assert c.first == (chunk.order == 0 and chunk.kind != "opinion")
            held = chunk.pinpoints or (chunk.pinpoint,)
            assert c.pinpoints == tuple(p for p in held if p)  # an unlabelled opening: none
            # and its own heading and text, whose words the lead compares
            heading = chunk.heading_path[-1] if chunk.heading_path else chunk.title
            assert (c.heading, c.text) == (heading, chunk.text)
    assert any(c.first for c in candidates) and not all(c.first for c in candidates)
    monkeypatch.setattr(retriever, "passages_per_document", None)
    unled = replace(retriever.order, lead=None)
    monkeypatch.setattr(retriever, "order", unled)
    plain = retriever.search(question, top_k=10, exact_citations=False)
    # a lead that always prefers the opening passage: the same documents in the same order,
    # the first one's opening passage first
    monkeypatch.setattr(retriever, "order", replace(unled, lead=(0.0, 1.0, 0.0)))
    led = retriever.search(question, top_k=10, exact_citations=False)
    first_doc = plain[0].chunk.doc_id
    assert plain[0].chunk.order != 0  # as scored, a later subdivision of Rule 12 leads
    assert led[0].chunk.doc_id == first_doc and led[0].chunk.order == 0
    assert led[0].score == plain[0].score
    others = [(p.chunk.chunk_id, p.score) for p in plain if p.chunk.doc_id != first_doc]
    assert [(p.chunk.chunk_id, p.score) for p in led if p.chunk.doc_id != first_doc] == others


def test_passages_per_document_puts_other_documents_before_a_crowded_one(retriever, monkeypatch):
    question = "What must a plaintiff plead to survive a motion to dismiss?"
    monkeypatch.setattr(retriever, "passages_per_document", None)
    free = retriever.search(question, top_k=8, exact_citations=False)
    docs = [p.chunk.doc_id for p in free]
    assert len(set(docs[:4])) < 4  # Rule 12 holds several of the first passages
    monkeypatch.setattr(retriever, "passages_per_document", 1)
    monkeypatch.setattr(retriever, "lead_second_rank", None)
    capped = retriever.search(question, top_k=8, exact_citations=False)
    docs = [p.chunk.doc_id for p in capped]
    distinct = len(set(docs))
    assert len(capped) == 8  # crowded passages fill what is left
    assert len(set(docs[:distinct])) == distinct  # each document once before any repeats
    assert docs[0] == free[0].chunk.doc_id and capped[0].chunk == free[0].chunk
    scores = [p.score for p in capped]
    assert scores == sorted(scores, reverse=True)


ANSWER_TIME = "How long does a defendant have to answer a complaint after being served?"


def test_first_document_gets_a_second_subdivision_after_five_documents(retriever, monkeypatch):
    # the time to answer is in Fed. R. Civ. P. 12(a): its first passage holds (a)(1)-(a)(2),
    # its second the United States' 60 days, (a)(3); an answer's six passages hold both
    monkeypatch.setattr(retriever, "passages_per_document", 1)
    monkeypatch.setattr(retriever, "lead_second_rank", None)
    before = retriever.search(ANSWER_TIME, top_k=6, exact_citations=False)
    monkeypatch.setattr(retriever, "lead_second_rank", 6)
    after = retriever.search(ANSWER_TIME, top_k=6, exact_citations=False)
    assert after[0].chunk.doc_id == "frcp:12"
    assert [p.chunk for p in after[:5]] == [p.chunk for p in before[:5]]
    assert len({p.chunk.doc_id for p in before}) == 6
    assert after[5].chunk.doc_id == "frcp:12" and after[5].chunk != after[0].chunk
    assert after[5].chunk.pinpoint.startswith("(a)(3)")
    assert [p.chunk.doc_id for p in after].count("frcp:12") == 2
    scores = [p.score for p in after]
    assert scores == sorted(scores, reverse=True)
    # fewer than six places: nothing moves
    short = retriever.search(ANSWER_TIME, top_k=5, exact_citations=False)
    assert [p.chunk for p in short] == [p.chunk for p in before[:5]]


def test_the_first_documents_second_place_is_configured_and_checked(index_slice):
    off = open_retriever(index_slice.model_copy(update={"lead_second_rank": 0}))
    try:
        assert off.lead_second_rank is None
    finally:
        off.close()
    with pytest.raises(ValidationError, match="JURIS_LEAD_SECOND_RANK"):
        IndexSettings(lead_second_rank=1)


def test_long_query_keeps_its_most_specific_terms(retriever, corpus_dir):
    fact_pattern = (corpus_dir / "aila" / "queries_dev.txt").read_text().splitlines()[0]
    fact_pattern = fact_pattern.split("||", 1)[1]
    store = retriever._current()
    df = store.term_counts()
    every = Bm25Encoder().query(fact_pattern)
    held = [t for t in every.indices if df.get(t, 0) > 0]
    assert len(held) > retriever.query_terms  # a real fact pattern: many indexed terms
    kept = retriever.sparse_query(fact_pattern, store)
    assert len(kept.indices) == retriever.query_terms
    assert set(kept.indices) <= set(held) and list(kept.indices) == sorted(kept.indices)
    rarest = sorted(df[t] for t in held)[: retriever.query_terms]
    assert sorted(df[t] for t in kept.indices) == rarest
    short = "fair use of a copyrighted work"
    assert retriever.sparse_query(short, store) == Bm25Encoder().query(short)


def test_long_query_meets_opinions_with_more_terms_than_provisions(retriever, corpus_dir):
    fact_pattern = (corpus_dir / "aila" / "queries_dev.txt").read_text().splitlines()[0]
    fact_pattern = fact_pattern.split("||", 1)[1]
    store = retriever._current()
    parts = retriever.sparse_parts(fact_pattern, store)
    assert isinstance(parts, tuple) and len(parts) == 2
    narrow, broad = parts
    opinion = (Match("kind", "opinion"),)
    assert narrow.where == Where(must_not=opinion) and broad.where == Where(opinion)
    assert narrow.vector == retriever.sparse_query(fact_pattern, store)
    assert len(narrow.vector.indices) == retriever.query_terms
    assert retriever.opinion_query_terms is not None
    assert len(broad.vector.indices) > len(narrow.vector.indices)
    assert set(narrow.vector.indices) < set(broad.vector.indices)  # the rarest come first
    hits = store.query([], parts, limit=20)
    assert "opinion" in {h.payload["kind"] for h in hits}
    assert {h.payload["kind"] for h in hits} - {"opinion"}
    short = "fair use of a copyrighted work"
    assert retriever.sparse_parts(short, store) == Bm25Encoder().query(short)
    same = Retriever(retriever.catalog, retriever.embedder, query_terms=30, opinion_query_terms=30)
    try:
        assert isinstance(same.sparse_parts(fact_pattern, same._current()), SparseVec)
    finally:
        same.close()


def _passage(doc: str, kind: str, score: float, n: int) -> Passage:
    chunk = Chunk(
        chunk_id=f"{doc}-{n}", doc_id=doc, version="v", citation=doc, doc_citation=doc,
        pinpoint="", anchor="", heading_path=(), text="t", order=n, source="s", kind=kind,
        jurisdiction="in", title="T", valid_from=None, valid_to=None, content_hash="h",
    )  # fmt: skip
    return Passage(chunk, score)


def test_rank_documents_sums_an_opinions_best_chunks_and_keeps_a_provisions_best():
    ranked = [
        _passage("S1", "statute", 0.9, 0),
        _passage("C1", "opinion", 0.5, 0),
        _passage("S1", "statute", 0.45, 1),
        _passage("C1", "opinion", 0.3, 1),
        _passage("C2", "opinion", 0.3, 0),
        _passage("C1", "opinion", 0.2, 2),
        _passage("C1", "opinion", 0.15, 3),  # beyond OPINION_CHUNKS: not counted
        _passage("S2", "statute", 0.3, 0),
    ]
    assert OPINION_CHUNKS == 3
    docs = rank_documents(ranked, top_k=10)
    assert [(p.chunk.doc_id, round(p.score, 6)) for p in docs] == [
        ("C1", 1.0), ("S1", 0.9), ("C2", 0.3), ("S2", 0.3),
    ]  # fmt: skip
    assert docs[0].chunk.chunk_id == "C1-0"  # the best chunk stands for its document
    assert [p.chunk.doc_id for p in rank_documents(ranked, top_k=2)] == ["C1", "S1"]


def test_search_by_document_ranks_as_search_documents(retriever, corpus_dir):
    facts = (corpus_dir / "aila" / "queries_dev.txt").read_text().splitlines()[0].split("||")[1]
    only = SearchFilters(sources=("aila/casedocs", "opinions/cap"))
    grouped = retriever.search(facts, top_k=4, filters=only, group_by_doc=True)
    ranked = retriever.search_documents(facts, top_k=4, filters=only)
    assert [p.chunk.doc_id for p in grouped] == [doc for doc, _, _ in ranked]
    assert [p.score for p in grouped] == pytest.approx([score for _, score, _ in ranked])
    assert len(grouped) == 4  # the slice's three judgments and its CAP opinion


def test_documents_versions_lookup_exists(retriever):
    versions = retriever.versions("fre:702")
    assert [v[0] for v in versions] == ["2005", "2012", "2024"]
    assert versions[-1][2] is None and versions[1][2] == date(2023, 12, 1)
    latest = retriever.document("fre:702")
    assert latest and {c.version for c in latest} == {"2024"}
    assert [c.order for c in latest] == sorted(c.order for c in latest)
    b6 = retriever.lookup("frcp:12", "(b)(6)")
    assert b6 and all("(b)(6)" in c.pinpoints or c.pinpoint == "(b)(6)" for c in b6)
    assert retriever.exists("gdpr:art17") and not retriever.exists("gdpr:art999")
    assert retriever.document("gdpr:art999") == [] and retriever.lookup("gdpr:art999") == []
    retriever.check()
    assert retriever.index_version.startswith("juris_")


def test_search_cli_json_shape(index_slice, monkeypatch, capsys):
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(index_slice.qdrant_path))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(index_slice.embed_cache))
    rc = main(["search", "fair use", "--top-k", "3", "--as-of", "2024-01-01", "--kind",
               "statute", "--jurisdiction", "us", "--json", "-q"])  # fmt: skip
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["results"]) == 3
    for r in out["results"]:
        assert {"doc_id", "chunk_id", "score", "citation", "pinpoint", "text"} <= set(r)
        assert r["kind"] == "statute"
    assert out["results"][0]["doc_id"].startswith("usc:17/")
    assert out["index_note"] is None  # a complete build: nothing is missing


def test_search_cli_says_when_the_build_it_searches_is_incomplete(index_slice, monkeypatch, capsys):
    """After a demo stopped while its build filled, that build serves until one completes: the
    command still answers, and says which sources it may be missing."""
    from indexing.retrieve import Retriever

    def stopped(self) -> dict:
        build = self.index_version
        sources = {"uscode": {"state": "failed"}, "gdpr": {"state": "done"}}
        return {"build": build, "current": build, "state": "failed", "serving": True,
                "passages": 18381, "sources": sources}  # fmt: skip

    monkeypatch.setattr(Retriever, "index_status", stopped)
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(index_slice.qdrant_path))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(index_slice.embed_cache))
    assert main(["search", "fair use", "--top-k", "2", "-q"]) == 0
    said = capsys.readouterr()
    assert said.out.startswith(" 1. ")
    assert said.err.startswith("note: not fully indexed: uscode — the build this index serves")
    assert main(["search", "fair use", "--jurisdiction", "eu", "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["index_note"] is None  # GDPR is in whole


def test_place_opinions_keeps_their_order_on_the_provisions_scale():
    passages = [
        _passage("S1", "statute", 0.9, 0),
        _passage("C1", "opinion", 0.5, 0),
        _passage("C1", "opinion", 0.45, 1),
        _passage("C1", "opinion", 0.4, 2),
        _passage("C2", "opinion", 0.6, 0),
        _passage("S2", "statute", 0.55, 0),
    ]
    ranked = rank_documents(passages, top_k=10)  # C1 sums 1.35: above S1's 0.9
    assert [p.chunk.doc_id for p in ranked][:2] == ["C1", "S1"]
    placed = place_opinions(ranked, passages)
    # C1 still ranks above C2, but on the scale of best chunks (0.6, then 0.5)
    assert [(p.chunk.doc_id, p.score) for p in placed] == [
        ("S1", 0.9), ("C1", 0.6), ("S2", 0.55), ("C2", 0.5),
    ]  # fmt: skip
    opinions_only = [p for p in ranked if p.chunk.kind == "opinion"]
    assert place_opinions(opinions_only, passages) == opinions_only
    reached = [*ranked, _passage("C9", "opinion", 0.2, 0)]  # cited, never retrieved
    assert place_opinions(reached, passages)[-1].chunk.doc_id == "C9"
    assert place_opinions(reached, passages)[-1].score == 0.0


def test_the_same_search_gives_the_same_passages(retriever):
    # fused scores tie at the cut here (a rank in one ranking only equals the same rank in
    # the other only); the engine's choice among them varied from call to call
    query = "when may an expert witness testify in the form of an opinion"
    orders = {
        tuple(p.chunk.chunk_id for p in retriever.search(query, top_k=12, exact_citations=False))
        for _ in range(8)
    }
    assert len(orders) == 1
