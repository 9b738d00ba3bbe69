"""Long-query windows, passage splitting and document aggregation of the evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from indexing.eval.dense import split_passages
from indexing.eval.rankers import aggregate, fuse_rrf, split_query
from indexing.fusion import normalised_sum

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


def test_normalised_sum_rescales_each_ranking_over_its_own_candidates() -> None:
    dense = {"A": 0.9, "B": 0.5, "C": 0.1}
    sparse = {"C": 30.0, "D": 10.0}
    fused = normalised_sum([dense, sparse], [0.5, 0.5])
    # A: 0.5 × 1 | B: 0.5 × 0.5 | C: 0.5 × 0 + 0.5 × 1 | D: 0.5 × 0
    assert fused == pytest.approx({"A": 0.5, "B": 0.25, "C": 0.5, "D": 0.0})
    # a clear sparse first place outweighs a near-tie dense one; rank fusion ties them
    dense = {"A": 0.62, "B": 0.60, "C": 0.30}
    sparse = {"B": 41.0, "A": 2.0, "C": 1.0}
    fused = normalised_sum([dense, sparse], [0.5, 0.5])
    assert fused["B"] == pytest.approx(0.5 * 0.30 / 0.32 + 0.5)
    assert fused["B"] > fused["A"] > fused["C"]
    tied = fuse_rrf([dense, sparse], [1.0, 1.0])
    assert tied["A"] == pytest.approx(tied["B"])


def test_normalised_sum_counts_a_sole_match_fully_and_skips_an_empty_ranking() -> None:
    assert normalised_sum([{"A": 3.0}, {}], [0.5, 0.5]) == {"A": 0.5}
    assert normalised_sum([{"A": 1.0, "B": 1.0}], [0.7]) == pytest.approx({"A": 0.7, "B": 0.7})
    with pytest.raises(ValueError):
        normalised_sum([{"A": 1.0}], [0.5, 0.5])
