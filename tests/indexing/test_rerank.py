"""The optional cross-encoder reranker: what it reorders, how it fails, how it is configured.

A tiny BERT cross-encoder is built on the spot (no weights ship offline); its scores are
arbitrary but deterministic, so each test computes the order it must produce with the same
model, independently of the retriever, and checks the retriever returns exactly that.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from indexing.chunking import embed_text
from indexing.eval.evaluate import main as eval_main
from indexing.rerank import CrossEncoderReranker, RerankerUnavailable, load_reranker
from indexing.retrieve import Retriever, open_retriever
from tests.support.tiny_cross_encoder import build_tiny_cross_encoder

pytestmark = pytest.mark.unit

QUERY = "when may an expert witness testify in the form of an opinion"
DEPTH = 12


# the reranker's own order, every passage as it comes (no per-document limit)
UNLIMITED = {"passages_per_document": 0}


@pytest.fixture(scope="module")
def plain(index_slice) -> Retriever:
    r = open_retriever(index_slice.model_copy(update=UNLIMITED))
    yield r
    r.close()


@pytest.fixture(scope="module")
def model_dir(plain: Retriever, tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = [embed_text(p.chunk) for p in plain.search(QUERY, top_k=50, exact_citations=False)]
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("cross-encoder"), [QUERY, *texts])


@pytest.fixture(scope="module")
def reranking(index_slice, model_dir: Path) -> Retriever:
    r = open_retriever(
        index_slice.model_copy(
            update={"reranker_dir": model_dir, "rerank_depth": DEPTH, **UNLIMITED}
        )
    )
    assert r.reranker is not None and r.reranker.depth == DEPTH
    yield r
    r.close()


def _expected(model_dir: Path, texts: list[str], keys: list[str]) -> list[str]:
    """`keys` in the order the cross-encoder gives their texts (first `DEPTH` only)."""
    scores = load_reranker(model_dir).scores([QUERY], texts[:DEPTH])
    head = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [keys[i] for i in head] + keys[DEPTH:]


def test_search_reorders_the_first_stage_top_by_the_cross_encoder(
    plain: Retriever, reranking: Retriever, model_dir: Path
) -> None:
    first = plain.search(QUERY, top_k=DEPTH, exact_citations=False)
    ids = [p.chunk.chunk_id for p in first]
    expected = _expected(model_dir, [embed_text(p.chunk) for p in first], ids)
    assert expected != ids  # the model does reorder them
    got = reranking.search(QUERY, top_k=8, exact_citations=False)
    assert [p.chunk.chunk_id for p in got] == expected[:8]
    scores = [p.score for p in got]
    assert scores == sorted(scores, reverse=True)


def test_search_documents_reranks_documents_by_their_best_passage(
    plain: Retriever, reranking: Retriever, model_dir: Path
) -> None:
    first = plain.search_documents(QUERY, top_k=20)
    expected = _expected(model_dir, [embed_text(c) for _, _, c in first], [d for d, _, _ in first])
    got = reranking.search_documents(QUERY, top_k=20)
    assert [d for d, _, _ in got] == expected
    assert [s for _, s, _ in got] == sorted((s for _, s, _ in got), reverse=True)


def test_exact_citation_stays_above_reranked_passages(reranking: Retriever) -> None:
    got = reranking.search("Is parody a use allowed by 17 U.S.C. § 107?", top_k=3)
    assert got[0].chunk.doc_id == "usc:17/107"


class _Broken:
    def predict(self, *args: object, **kwargs: object) -> list[float]:
        raise RuntimeError("out of memory")


def test_a_failing_reranker_keeps_the_first_stage_order(
    index_slice, plain: Retriever, caplog: pytest.LogCaptureFixture
) -> None:
    broken = open_retriever(index_slice.model_copy(update=UNLIMITED))
    broken.reranker = CrossEncoderReranker(_Broken(), depth=DEPTH)
    try:
        with caplog.at_level(logging.ERROR, logger="indexing.retrieve"):
            got = broken.search(QUERY, top_k=DEPTH, exact_citations=False)
    finally:
        broken.close()
    want = plain.search(QUERY, top_k=DEPTH, exact_citations=False)
    assert [p.chunk.chunk_id for p in got] == [p.chunk.chunk_id for p in want]
    assert "reranker failed" in caplog.text


def test_a_bad_reranker_directory_is_reported_at_open(index_slice, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(RerankerUnavailable, match="no-such-model"):
        open_retriever(index_slice.model_copy(update={"reranker_dir": missing}))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RerankerUnavailable, match="does not hold a cross-encoder"):
        load_reranker(empty)


class _ByLength:
    """Scores a pair by the passage's length: a hand-checkable cross-encoder."""

    def predict(self, pairs: list[tuple[str, str]], **kwargs: object) -> list[float]:
        return [float(len(text)) for _, text in pairs]


def test_rerank_scores_puts_the_reranked_documents_first() -> None:
    reranker = CrossEncoderReranker(_ByLength(), depth=2)
    scores = {"A": 3.0, "B": 2.0, "C": 1.0}
    text = {"A": "aa", "B": "bbbb", "C": "cccccc"}
    out = reranker.rerank_scores(["q"], scores, text.__getitem__)
    # A and B (the top two) are reranked by length: B above A; C stays below both.
    assert sorted(out, key=out.__getitem__, reverse=True) == ["B", "A", "C"]
    assert out["C"] == 1.0


def test_a_weight_below_one_blends_the_cross_encoder_with_the_first_stage() -> None:
    texts = ["aaaaaa", "bbbb", "cc"]  # the cross-encoder prefers them in reverse order
    first = [10.0, 9.0, 0.0]  # the first stage: A barely above B, both far above C
    alone = CrossEncoderReranker(_ByLength(), depth=3).rerank(["q"], texts, first)
    assert [i for i, _ in alone] == [0, 1, 2]  # length alone: A (6) > B (4) > C (2)
    reverse = ["cc", "bbbb", "aaaaaa"]
    # C is the cross-encoder's first and the first stage's last; B is second in both
    half = CrossEncoderReranker(_ByLength(), depth=3, weight=0.5).rerank(["q"], reverse, first)
    # blend: A 0.5*0 + 0.5*1 = 0.5; B 0.5*0.5 + 0.5*0.9 = 0.7; C 0.5*1 + 0 = 0.5 (tie: input order)
    assert [i for i, _ in half] == [1, 0, 2]
    scores = [s for _, s in half]
    assert scores == sorted(scores, reverse=True) and min(scores) > max(first)
    with pytest.raises(ValueError, match="weight"):
        CrossEncoderReranker(_ByLength(), weight=0.0)


@pytest.mark.parametrize("configured", ["model", "missing"])
def test_eval_index_mode_uses_the_configured_reranker(
    configured: str,
    index_slice,
    model_dir: Path,
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queries = tmp_path / "q.txt"
    queries.write_text("AILA_Q1||" + QUERY + "\n")
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(index_slice.qdrant_path))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(index_slice.embed_cache))
    reranker = model_dir if configured == "model" else tmp_path / "missing"
    monkeypatch.setenv("JURIS_RERANKER_DIR", str(reranker))
    argv = ["--queries", str(queries), "--qrels", str(corpus_dir / "aila/qrels_statutes_dev.txt")]
    argv += ["--source", "aila/statutes", "--mode", "hybrid", "--index", "--json"]
    argv += ["--corpus", str(corpus_dir), "--cache", str(tmp_path / "cache")]
    if configured == "missing":
        assert eval_main(argv) == 2
        assert "reranker directory" in capsys.readouterr().err
        return
    assert eval_main(argv) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["queries"] == 1
