"""`python -m indexing eval` end to end on a small slice of the real AILA data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.eval.evaluate import main

KEYS = ["map", "p@10", "ndcg@10", "bpref", "recip_rank", "recall@100", "queries"]
# 30 statutes and the judgments of the index slice: the in-memory path chunks both sources
SLICE = [f"S{n}" for n in range(1, 31)] + ["C1", "C79", "C2364"]


@pytest.fixture
def two_queries(corpus_dir: Path, tmp_path: Path) -> Path:
    lines = (corpus_dir / "aila" / "queries_dev.txt").read_text().splitlines()[:2]
    path = tmp_path / "queries.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _statutes_argv(queries: Path, corpus_dir: Path, tmp_path: Path, *options: str) -> list[str]:
    """`eval` on the AILA statute task with the given queries, then `options`."""
    qrels = corpus_dir / "aila" / "qrels_statutes_dev.txt"
    argv = ["--queries", str(queries), "--qrels", str(qrels), "--source", "aila/statutes"]
    argv += ["--corpus", str(corpus_dir), "--cache", str(tmp_path / "cache"), "--json"]
    return [*argv, *options]


def _check(out: str, queries: int) -> dict[str, float]:
    metrics = json.loads(out.strip().splitlines()[-1])
    assert list(metrics) == KEYS
    assert metrics["queries"] == queries
    for key in KEYS[:-1]:
        assert 0.0 <= metrics[key] <= 1.0
    return metrics


@pytest.mark.unit
@pytest.mark.parametrize("mode", ["bm25", "bm25s"])
def test_statutes_sparse_modes(
    mode: str,
    corpus_dir: Path,
    two_queries: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = tmp_path / "statutes.run"
    argv = _statutes_argv(two_queries, corpus_dir, tmp_path, "--mode", mode, "--run-out", str(run))
    argv += ["--only-docs", ",".join(SLICE)]
    assert main(argv) == 0
    metrics = _check(capsys.readouterr().out, 2)
    assert metrics["recall@100"] > 0  # the slice holds relevant statutes of both queries
    lines = [ln.split() for ln in run.read_text().splitlines()]
    assert all(len(f) == 6 and f[1] == "Q0" and f[5] == f"juris-{mode}" for f in lines)
    for qid in ("AILA_Q1", "AILA_Q2"):
        rows = [f for f in lines if f[0] == qid]
        assert len(rows) == 30  # fewer statutes than the depth: every one, once
        assert [int(f[3]) for f in rows] == list(range(1, 31))
        scores = [float(f[4]) for f in rows]
        assert scores == sorted(scores, reverse=True)
        assert all(f[2].startswith("S") for f in rows)


@pytest.mark.slow
def test_hybrid_on_a_slice_embeds_and_fuses(
    corpus_dir: Path, two_queries: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qrels = corpus_dir / "aila" / "qrels_statutes_dev.txt"
    relevant = sorted(
        {ln.split()[2] for ln in qrels.read_text().splitlines() if ln.split()[3] != "0"}
    )[:4]
    only = sorted({*relevant, "S1", "S2", "S3", "S4", "C1", "C79"})
    run = tmp_path / "hybrid.run"
    argv = _statutes_argv(two_queries, corpus_dir, tmp_path, "--mode", "hybrid")
    argv += ["--only-docs", ",".join(only), "--run-out", str(run)]
    assert main(argv) == 0
    _check(capsys.readouterr().out, 2)
    ranked = {ln.split()[2] for ln in run.read_text().splitlines()}
    assert ranked == {d for d in only if d.startswith("S")}  # every statute, once
    assert any((tmp_path / "cache" / "memory").glob("points-*.pkl"))  # chunked once, kept


@pytest.mark.unit
def test_bad_queries_file_exits_2(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("no separator here\n")
    qrels = corpus_dir / "aila" / "qrels_statutes_dev.txt"
    assert main(["--queries", str(bad), "--qrels", str(qrels), "--json"]) == 2
    assert "bad.txt:1" in capsys.readouterr().err


@pytest.mark.slow
def test_index_mode_ranks_through_the_built_index(
    index_slice,
    corpus_dir: Path,
    two_queries: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(index_slice.qdrant_path))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(index_slice.embed_cache))
    only = ",".join(f"S{n}" for n in range(1, 13))  # the statutes the slice index holds
    run = tmp_path / "index.run"
    argv = _statutes_argv(two_queries, corpus_dir, tmp_path, "--mode", "hybrid", "--index")
    argv += ["--only-docs", only, "--run-out", str(run)]
    assert main(argv) == 0
    _check(capsys.readouterr().out, 2)
    rows = [ln.split() for ln in run.read_text().splitlines()]
    assert {f[2] for f in rows} == set(only.split(","))  # qrels ids, not `aila:S1`
    assert all(f[5] == "juris-hybrid" for f in rows)
    assert not (tmp_path / "cache" / "memory").exists()  # nothing chunked in memory


@pytest.mark.unit
def test_index_mode_without_a_build_exits_2(
    corpus_dir: Path,
    two_queries: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(tmp_path / "no-index"))
    argv = _statutes_argv(two_queries, corpus_dir, tmp_path, "--mode", "dense", "--index")
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err
