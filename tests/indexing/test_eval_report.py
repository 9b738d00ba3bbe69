"""`python -m indexing report` (`make eval`) end to end on a small real corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.cli import main
from tests.support.small_aila import JUDGMENTS
from tests.support.stops import AfterFirstBatch

pytestmark = pytest.mark.unit

CACHE = Path(__file__).resolve().parents[2] / "var" / "embed_cache"


def test_report_runs_every_mode_on_three_tasks(small_aila: Path, tmp_path: Path, capsys):
    out = tmp_path / "eval"
    argv = ["report", "--out", str(out), "--corpus", str(small_aila), "--no-index"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics) == ["prior cases", "statutes", "cited precedents"]
    for task, rows in metrics.items():
        assert list(rows) == ["bm25s", "bm25", "dense", "hybrid"]
        for m in rows.values():
            assert m["queries"] == (1 if task == "cited precedents" else 10)
            assert all(0.0 <= m[k] <= 1.0 for k in m if k != "queries")
    report = (out / "report.md").read_text()
    for task in metrics:
        assert f"## {task}" in report
    assert report.count("FIRE 2019 best published run") == 2  # no published run for citing
    assert "MAP ≥ 0.204" in report and "MAP ≥ 0.194" in report
    # the settings cross-validated over the dev queries, fold by fold, bm25s beside them
    assert "5-fold cross-validation over the 10 AILA dev queries" in report
    cv = json.loads((out / "crossval" / "crossval.json").read_text())
    assert list(cv["paths"]) == ["in memory"]
    assert sorted(q for fold in cv["folds"] for q in fold) == sorted(
        f"AILA_Q{n}" for n in range(1, 11)
    )
    for task in ("prior cases", "statutes"):
        assert len(cv["paths"]["in memory"]["fold_map"][task]) == len(cv["bm25s"][task]) == 5
    # the figures by dev file: here the track's ten training queries alone, so the same
    training = "Q1–Q10: the track's training queries"
    assert cv["sets"] == {training: [f"AILA_Q{n}" for n in range(1, 11)]}
    for task in ("prior cases", "statutes"):
        figures = cv["paths"]["in memory"]
        assert figures["set_map"][task] == {training: pytest.approx(figures["oof_map"][task])}
    assert f"| out-of-fold MAP, {training} | 10 |" in report
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the citing judgment is the benchmark's query, absent from its own ranking
    queries = (out / "citing" / "queries.txt").read_text().splitlines()
    assert [q.split("||")[0] for q in queries] == ["CITING_C76"]
    assert (out / "citing" / "qrels.txt").read_text() == "CITING_C76 0 C92 1\n"
    ranked = [
        line.split()[2] for line in (out / "runs" / "citing-bm25.run").read_text().splitlines()
    ]
    assert sorted(ranked) == sorted(set(JUDGMENTS) - {"C76"})


def test_an_incomplete_build_is_not_measured_as_if_it_held_the_corpus(
    small_aila: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a demo stopped part-way, the build it was filling is the one searches use; its
    figures would count every judgment not yet indexed as a miss (prior cases 0.0009 on a
    fresh clone). `make eval` says so and leaves the index path out."""
    from indexing.build import BuildStopped, run_build
    from indexing.settings import IndexSettings

    root = tmp_path / "qdrant"
    settings = IndexSettings(qdrant_path=root, corpus_dir=small_aila, embed_cache=CACHE)
    with pytest.raises(BuildStopped):
        run_build(settings, progress=False, serve_early=True, stop=AfterFirstBatch())
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(root))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(CACHE))
    out = tmp_path / "eval"
    assert main(["report", "--out", str(out), "--corpus", str(small_aila), "--modes", "bm25"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(not run.startswith("index") for rows in metrics.values() for run in rows)
    report = (out / "report.md").read_text()
    assert "> not measured through the index: not fully indexed: aila/" in report
    assert "the build this index serves stopped before it was complete" in report
    # the other evaluations through the index (`eval-questions`, `eval-doctrine`,
    # `answer-context`, `eval --index`) measure it all the same, with a warning first
    from indexing.eval.paths import AILA_SOURCES, US_AND_EU_SOURCES, checked_index
    from indexing.retrieve import open_retriever

    retriever = open_retriever(settings)
    try:
        warned = checked_index(retriever, AILA_SOURCES) or ""
        assert "the build this index serves stopped before it was complete" in warned
        assert checked_index(retriever, US_AND_EU_SOURCES) is None  # none of them built here
    finally:
        retriever.close()
