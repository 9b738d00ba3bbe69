"""`make bench` times search latency in the state a running gateway serves from: once the
build's per-build tables (citation graph, statute usage, case names, bodies of law, cross-
references) are computed, not while they compete with the timed searches for the cores."""

from __future__ import annotations

import inspect

import pytest

from indexing.embeddings import load_embedder
from indexing.eval.bench import _markdown, bench_latency
from indexing.retrieve import Retriever
from indexing.settings import IndexSettings

pytestmark = pytest.mark.unit


def test_settle_waits_until_every_per_build_table_is_in(retriever: Retriever) -> None:
    assert retriever.settle(timeout_s=300) is True
    # nothing left to compute: a second wait of no time at all finds every table in
    assert retriever.settle(timeout_s=0) is True
    assert retriever.check() == {"tables": "ready"}  # what `/readyz` tells the demo
    assert retriever.warming() is False  # a slow question now is not a warm-up


def test_latency_is_timed_after_the_builds_tables_are_in(index_slice: IndexSettings) -> None:
    embedder = load_embedder(index_slice.model_dir(), "torch", index_slice.embed_batch)
    result = bench_latency(index_slice, index_slice.qdrant_path, 4, embedder)
    assert result["settled"] is True and result["settle_s"] >= 0
    assert result["queries"] == 4 and result["index_points"] > 0
    assert 0 < result["engine_p50_ms"] < result["search_p50_ms"]
    run = {"machine": "test", "started": "now"}
    report = _markdown({**run, "latency": result})
    assert "timed once the build's per-build tables were in" in report
    older = {k: v for k, v in result.items() if k not in ("settled", "settle_s")}
    assert "timed from the first search" in _markdown({**run, "latency": older})


def test_hnsw_recall_is_measured_as_deep_as_the_order_reads(
    index_slice: IndexSettings, tmp_path
) -> None:
    """The ef choice rests on recall 100 deep (the learned order's candidates for a question),
    not only on the ten a plain search shows."""
    from indexing.eval.bench import bench_hnsw_recall
    from indexing.retrieve import QUESTION_CANDIDATES

    embedder = load_embedder(index_slice.model_dir(), "torch", index_slice.embed_batch)
    result = bench_hnsw_recall(index_slice.qdrant_path, index_slice.collection, tmp_path, embedder)
    assert QUESTION_CANDIDATES == 100
    for depth in (10, 100):
        recalls = [result[f"recall@{depth}_ef{ef}"] for ef in (16, 64, 128, 256, 512, 1024)]
        assert all(0.0 < r <= 1.0 for r in recalls)
        assert recalls[-1] >= 0.99  # wide enough a beam finds what exact search finds
    report = _markdown({"machine": "test", "started": "now", "hnsw": result})
    # the served beam is several times the depth the order reads (README, "HNSW vs exact"),
    # as the search path and the settings both default to
    assert IndexSettings().hnsw_ef >= 4 * QUESTION_CANDIDATES
    assert inspect.signature(Retriever).parameters["hnsw_ef"].default == IndexSettings().hnsw_ef
    assert "- 10 deep: ef16:" in report and "- 100 deep: ef16:" in report
    assert report.count("ef1024:") == 2
