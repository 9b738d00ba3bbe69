"""Measured evaluation choices: BM25 average length, dense query windows, embedding budget."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from indexing.eval.dense import DenseCache, split_passages
from indexing.eval.rankers import QUERY_WINDOW, DenseRanker, SparseRanker, load_source
from indexing.sparse import tokenize

pytestmark = pytest.mark.unit

SLICE = ["S1", "S2", "S3", "S4", "S5", "S6"]


def _bag_of_letters(texts: Sequence[str]) -> np.ndarray:
    """A deterministic stand-in embedding (letter counts, L2-normalised) for plumbing tests."""
    rows = np.zeros((len(texts), 26), dtype=np.float32)
    for i, text in enumerate(texts):
        for ch in text.lower():
            if "a" <= ch <= "z":
                rows[i, ord(ch) - 97] += 1
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


def test_sparse_average_length_is_the_source_mean(corpus_dir: Path, tmp_path: Path) -> None:
    docs = load_source(corpus_dir, "aila/statutes", SLICE)
    lengths = [len(tokenize(p)) for t in docs.texts for p in split_passages(t)]
    built = SparseRanker(docs, tmp_path)
    assert built.encoder.avg_len == pytest.approx(np.mean(lengths), abs=0.01)
    assert built.encoder.avg_len != 120.0  # not the product's chunk constant
    cached = SparseRanker(docs, tmp_path)  # read back from the cache file
    assert cached.encoder.avg_len == built.encoder.avg_len
    query = docs.texts[2][:400]
    assert cached.rank(query) == built.rank(query)
    assert max(built.rank(query).items(), key=lambda kv: kv[1])[0] == "S3"


def test_dense_query_windows_are_short_and_cover_the_query() -> None:
    seen: list[list[str]] = []

    def encode(texts: Sequence[str]) -> np.ndarray:
        seen.append(list(texts))
        return _bag_of_letters(texts)

    vectors = _bag_of_letters(["alpha beta", "gamma delta"])
    ranker = DenseRanker(["A", "B"], ["A", "B"], vectors, encode)
    query = " ".join(f"word{i}" for i in range(350))
    scores = ranker.rank(query)
    assert set(scores) == {"A", "B"}
    windows = seen[-1]
    assert all(len(w.split()) <= QUERY_WINDOW for w in windows)
    assert {t for w in windows for t in w.split()} == set(query.split())
    ranker.rank(query, window=170)
    assert len(seen[-1]) < len(windows)


def test_embedding_budget_bounds_the_rounds(corpus_dir: Path, tmp_path: Path) -> None:
    cache = DenseCache(tmp_path, "aila/statutes", corpus_dir, only=SLICE)
    per_round = [sum(1 for _, p in cache.passages() if len(p) > r) for r in range(3)]
    budget = per_round[0] + per_round[1]  # room for two rounds, not three
    assert cache.build(_bag_of_letters, max_passages=budget) == 2
    ids, vectors = cache.load()
    assert len(ids) == budget == len(vectors)
    # a budget below round 0 still builds round 0, so every document has a vector
    small = DenseCache(tmp_path / "small", "aila/statutes", corpus_dir, only=SLICE)
    assert small.build(_bag_of_letters, max_passages=1) == 1
    assert set(small.load()[0]) == set(SLICE)
