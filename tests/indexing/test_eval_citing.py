"""The citing-judgments benchmark: citation resolution, fact queries, and eval on it."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from indexing.cli import main
from indexing.eval.citing import build, fact_query, query_doc, repeats, resolve_citations
from indexing.eval.rankers import SourceDocs, load_source

pytestmark = pytest.mark.unit


def _judgment(title: str, day: str, body: str) -> str:
    return f"{title}\nSupreme Court of India\n\n{day}\nCivil Appeal No. 1 of 1990\nBench\n{body}"


def test_citations_resolve_by_year_and_title_words():
    docs = SourceDocs(
        "aila/casedocs",
        ("C1", "C2", "C3", "C4"),
        (
            _judgment("Ram Prasad v State of Bihar", "3 May 1990", "1. Facts."),
            _judgment("Ram Prasad v State of Bihar", "9 June 1995", "1. Other facts."),
            _judgment(
                "Kesavan v Union of India",
                "1 January 2001",
                "1. As held in Ram Prasad v. State of Bihar 1990 Indlaw SC 12, the rule applies. "
                "In Unknown Party v. Somebody 1990 Indlaw SC 99 it was not. "
                "See also Ram Prasad v. State of Bihar 1988 Indlaw SC 5.",
            ),
            _judgment("Kesavan v Union of India", "1 January 2001", "Kesavan 2001 Indlaw SC 1"),
        ),
    )
    links = resolve_citations(docs)
    # the year picks C1 over C2 (same title); an unknown party and a year with no
    # judgment resolve to nothing; a judgment never cites itself
    assert links == {"C3": {"C1"}, "C4": {"C3"}}


def test_fact_query_drops_citing_sentences_masks_provisions_and_keeps_the_budget():
    body = (
        "1. The appellant was convicted under Sections 302 and 34 of the Code. "
        "This Court in Ram v. State 1990 Indlaw SC 12 held otherwise. "
        "The High Court relied on AIR 1958 SC 61 for that. "
        "Article 21(1) was invoked before the Tribunal. " + "word " * 600
    )
    query = fact_query(_judgment("A v B", "1 May 2000", body), words=40)
    assert query.startswith("1. The appellant was convicted under Sections S of the Code.")
    assert "Indlaw" not in query and "AIR" not in query and "Ram" not in query
    assert "Article S was invoked" in query
    assert 30 < len(query.split()) <= 40  # 40 words of the judgment, then masked
    assert query.endswith("word")
    assert "Supreme Court of India" not in query  # the header is not part of the facts


def test_query_doc_names_the_citing_judgment():
    assert query_doc("CITING_C123") == "C123"
    assert query_doc("AILA_Q1") == "AILA_Q1"  # other queries name no document


def test_benchmark_from_the_corpus_and_eval_leaves_the_query_judgment_out(
    tmp_path: Path, corpus_dir: Path, capsys
):
    out = tmp_path / "citing"
    n_queries, n_rels = build(corpus_dir, out, queries=6, seed=3)
    assert n_queries == 6 and n_rels >= 6
    queries = dict(line.split("||", 1) for line in (out / "queries.txt").read_text().splitlines())
    rels: dict[str, set[str]] = defaultdict(set)
    for line in (out / "qrels.txt").read_text().splitlines():
        qid, _, doc, rel = line.split()
        rels[qid].add(doc)
        assert rel == "1"
    assert set(rels) == set(queries)
    casedocs = corpus_dir / "aila" / "casedocs"
    for qid, text in queries.items():
        assert qid.startswith("CITING_") and query_doc(qid) not in rels[qid]
        assert (casedocs / f"{query_doc(qid)}.txt").exists()
        assert all((casedocs / f"{d}.txt").exists() for d in rels[qid])
        assert "Indlaw" not in text and len(text.split()) > 50
    # the same seed gives the same benchmark
    again = tmp_path / "again"
    build(corpus_dir, again, queries=6, seed=3)
    assert (again / "queries.txt").read_text() == (out / "queries.txt").read_text()

    slice_docs = sorted({query_doc(q) for q in queries} | set().union(*rels.values()))
    common = [
        "eval", "--queries", str(out / "queries.txt"), "--qrels", str(out / "qrels.txt"),
        "--source", "aila/casedocs", "--mode", "bm25", "--only-docs", ",".join(slice_docs),
        "--cache", str(tmp_path / "cache"), "--json",
    ]  # fmt: skip
    runs = {}
    for flag in ([], ["--exclude-query-doc"]):
        run_file = tmp_path / f"run{len(flag)}.txt"
        capsys.readouterr()
        assert main([*common, *flag, "--run-out", str(run_file)]) == 0
        metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert metrics["queries"] == 6
        ranked: dict[str, list[str]] = defaultdict(list)
        for line in run_file.read_text().splitlines():
            qid, _, doc, *_ = line.split()
            ranked[qid].append(doc)
        runs[bool(flag)] = (ranked, metrics)
    with_self, _ = runs[False]
    without_self, metrics = runs[True]
    # on its own words a judgment ranks first, or right behind the precedents it cites (the
    # expansion lifts them by its own score): which is why the flag exists
    for q, r in with_self.items():
        assert set(r[: r.index(query_doc(q))]) <= rels[q], q
    for qid, ranked_docs in without_self.items():
        assert query_doc(qid) not in ranked_docs
        assert len(ranked_docs) == len(slice_docs) - 1
    # without the flag the judgment also ranks first among the judgments whose citations
    # feed the citation-aware scores, and its own citations are the answers: a leak
    assert runs[False][1]["map"] > metrics["map"]


def test_repeats_are_the_same_judgment_twice_not_shared_paragraphs(corpus_dir: Path):
    # C1149 and C1512 hold the same Bangalore Water Supply judgment; C2732 and C2802 are two
    # criminal appeals that share about 60 % of their paragraphs (one judge's wording)
    docs = load_source(corpus_dir, "aila/casedocs", ["C1149", "C1512", "C2732", "C2802"])
    assert repeats(docs) == {"C1149": {"C1512"}, "C1512": {"C1149"}}
