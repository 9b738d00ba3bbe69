"""Long-query windows, passage splitting and document aggregation of the evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from indexing.eval_dense import split_passages
from indexing.eval_rankers import aggregate, fuse_rrf, split_query

pytestmark = pytest.mark.unit


def test_long_query_is_windowed_not_truncated() -> None:
    words = [f"w{i}" for i in range(400)]
    windows = split_query(" ".join(words), window=170)
    assert all(len(w.split()) <= 170 for w in windows)
    covered = {t for w in windows for t in w.split()}
    assert covered == set(words)
    assert len(windows) >= 3  # overlapping: stride is half a window
    assert split_query("short query") == ["short query"]


def test_passages_keep_every_word_and_respect_the_budget() -> None:
    text = "Title\n\n1. " + "The appellant was dismissed. " * 80 + "\n2. Short paragraph."
    passages = split_passages(text, max_words=50)
    assert all(len(p.split()) <= 50 for p in passages)
    assert " ".join(passages).split() == text.split()


def test_document_aggregations() -> None:
    scores = np.array([3.0, 1.0, 2.5, 0.0, 2.0])
    owner = np.array([0, 0, 1, 1, 2])
    ids = ["A", "B", "C"]
    assert aggregate(scores, owner, ids, "max") == {"A": 3.0, "B": 2.5, "C": 2.0}
    assert aggregate(scores, owner, ids, "top3") == {"A": 4.0, "B": 2.5, "C": 2.0}
    rrf = aggregate(scores, owner, ids, "rrf")
    assert rrf["A"] == pytest.approx(1 / 61 + 1 / 64)


def test_weighted_rrf() -> None:
    fused = fuse_rrf([{"A": 2.0, "B": 1.0}, {"B": 0.9, "A": 0.1}], [1.0, 2.0])
    assert fused["B"] == pytest.approx(1 / 62 + 2 / 61)
    assert fused["B"] > fused["A"]
