"""The lawyers' questions benchmark: its files, and `eval-questions` end to end on the slice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.cli import main
from indexing.eval.metrics import TrecFormatError, read_qrels, read_queries
from indexing.eval.questions import PINPOINTS, QRELS, QUESTIONS, case_name_queries, read_pinpoints
from tests.support.index_slice import index_slice  # noqa: F401  (session fixture)

pytestmark = pytest.mark.unit

# questions whose governing documents the index slice holds
IN_SLICE = ("LQ02", "LQ07", "LQ11", "LQ26", "LQ29", "LQ42", "LQ67", "LQ68", "LQ74")


def test_bundled_questions_and_judgments_agree():
    queries = read_queries(QUESTIONS)
    qrels = read_qrels(QRELS)
    assert len(queries) == 88 and set(qrels) == set(queries)
    for qid, judged in qrels.items():
        assert set(judged.values()) <= {1, 2}, qid
        assert 2 in judged.values(), f"{qid} names no governing document"
        assert all(":" in doc for doc in judged), qid  # ids as the index writes them


def test_bundled_pinpoints_judge_each_governing_document_once():
    qrels = read_qrels(QRELS)
    pinpoints = read_pinpoints(PINPOINTS)
    governing = {(q, d) for q, judged in qrels.items() for d, g in judged.items() if g == 2}
    assert {(q, d) for q, docs in pinpoints.items() for d in docs} == governing
    lines = [ln for ln in PINPOINTS.read_text().splitlines() if ln.split("#")[0].strip()]
    assert len(lines) == len(governing)  # once each
    assert pinpoints["LQ62"]["frap:4"] == ("(a)(1)",)  # the 30-day rule, not 4(c)
    assert all(p.startswith("(") for docs in pinpoints.values() for ps in docs.values() for p in ps)


def test_pinpoint_files_name_a_bad_line(tmp_path):
    bad = tmp_path / "bad.pinpoints"
    bad.write_text("# header\nLQ01 usc:17/507 (b)\nLQ02 usc:17/107\n")
    with pytest.raises(TrecFormatError, match=r"bad\.pinpoints:3"):
        read_pinpoints(bad)
    bad.write_text("LQ01 usc:17/507 -\nLQ62 frap:4 (a)(1) (a)(2)  # two siblings\n")
    assert read_pinpoints(bad) == {"LQ01": {"usc:17/507": ()},
                                   "LQ62": {"frap:4": ("(a)(1)", "(a)(2)")}}  # fmt: skip


def test_eval_questions_cli_on_the_slice(index_slice, monkeypatch, capsys, tmp_path):  # noqa: F811
    queries = read_queries(QUESTIONS)
    qfile, rfile = tmp_path / "q.txt", tmp_path / "qrels.txt"
    pfile = tmp_path / "pinpoints.txt"
    qfile.write_text("".join(f"{q}||{queries[q]}\n" for q in IN_SLICE))
    for src, dst in ((QRELS, rfile), (PINPOINTS, pfile)):
        dst.write_text(
            "".join(ln for ln in src.read_text().splitlines(True) if ln.split()[0] in IN_SLICE)
        )
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(index_slice.qdrant_path))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(index_slice.embed_cache))
    runs, per_question = tmp_path / "runs", tmp_path / "out" / "per-question.jsonl"
    rc = main(["eval-questions", "--queries", str(qfile), "--qrels", str(rfile),
               "--pinpoints", str(pfile), "--run-out", str(runs), "--json",
               "--per-question", str(per_question)])  # fmt: skip
    assert rc == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) == {"bm25s", "bm25", "dense", "hybrid"}
    for mode, m in results.items():
        assert m["queries"] == len(IN_SLICE), mode
        rows = (runs / f"questions-{mode}.run").read_text().splitlines()
        assert {r.split()[0] for r in rows} == set(IN_SLICE)
    # the slice mixes these provisions with long judgments: the product ranks the governing
    # provision first for most questions, as the bm25s baseline does
    assert results["hybrid"]["recip_rank"] >= 0.6
    assert results["hybrid"]["context@6"] >= 0.6 and "context@6" not in results["bm25s"]
    # the first passage: in the governing provision, and at its governing subdivision
    hybrid = results["hybrid"]
    assert hybrid["context@6"] >= hybrid["doc@1"] >= hybrid["pinpoint@1"] > 0
    assert hybrid["context@6"] >= hybrid["pinpoint@6"] >= hybrid["pinpoint@1"]
    assert results["hybrid"]["map_vs_bm25s"] == pytest.approx(
        results["hybrid"]["map"] / results["bm25s"]["map"]
    )
    # one line per question and product mode, adding up to the figures above
    lines = [json.loads(ln) for ln in per_question.read_text().splitlines()]
    assert sorted((r["id"], r["mode"]) for r in lines) == sorted(
        (q, mode) for q in IN_SLICE for mode in ("bm25", "dense", "hybrid")
    )
    for mode in ("bm25", "dense", "hybrid"):
        mine = [r for r in lines if r["mode"] == mode]
        named = {
            "context": "context@6",
            "doc1": "doc@1",
            "pinpoint1": "pinpoint@1",
            "pinpoint_context": "pinpoint@6",
        }
        for key, measure in named.items():
            assert sum(r[key] for r in mine) / len(mine) == pytest.approx(results[mode][measure])
        for r in mine:
            assert 1 <= len(r["passages"]) <= 6
            assert r["context"] >= r["doc1"] >= r["pinpoint1"]
            assert r["pinpoint_context"] >= r["pinpoint1"]


def test_eval_questions_reports_bad_files(tmp_path, capsys):
    bad = tmp_path / "bad.qrels"
    bad.write_text("LQ01 0 usc:17/507\n")
    rc = main(["eval-questions", "--qrels", str(bad)])
    assert rc == 2
    assert str(bad) in capsys.readouterr().err


def test_missing_question_file_is_an_error(tmp_path, capsys):
    rc = main(["eval-questions", "--queries", str(tmp_path / "none.txt")])
    assert rc == 2 and "none.txt" in capsys.readouterr().err


def test_bundled_files_live_in_the_package():
    assert (
        QUESTIONS.parent == Path(__file__).resolve().parents[2] / "indexing" / "eval" / "benchmarks"
    )


def test_case_names_are_known_item_searches_of_the_build(index_slice, monkeypatch, capsys):  # noqa: F811
    from indexing.retrieve import open_retriever

    retriever = open_retriever(index_slice)
    try:
        queries, qrels = case_name_queries(retriever, 3)
        again, _ = case_name_queries(retriever, 3)
    finally:
        retriever.close()
    assert len(queries) == 3 and again == queries  # a fixed sample
    for qid, title in queries.items():
        (doc,) = qrels[qid]
        assert qrels[qid][doc] == 2 and doc.split(":")[0] in {"aila", "cap"}, title
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(index_slice.qdrant_path))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(index_slice.embed_cache))
    assert main(["eval-questions", "--case-names", "3", "--mode", "hybrid", "--json"]) == 0
    hybrid = json.loads(capsys.readouterr().out)["hybrid"]
    # each case named is among an answer's passages, and among the first two documents (the
    # slice's two "… v State of Uttar Pradesh" judgments compete for one of the names)
    assert hybrid["queries"] == 3 and hybrid["context@6"] == 1.0
    assert hybrid["recip_rank"] >= 0.5 and hybrid["recall@100"] == 1.0
    assert main(["eval-questions", "--case-names", "0"]) == 2
    assert "--case-names" in capsys.readouterr().err
