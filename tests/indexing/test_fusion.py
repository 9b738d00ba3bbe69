"""How a question's two rankings are fused: normalised scores, not ranks."""

from __future__ import annotations

import pytest

from indexing.fusion import normalised_sum

pytestmark = pytest.mark.unit


def _rrf(rankings: list[dict[str, float]], k: int = 60) -> dict[str, float]:
    fused: dict[str, float] = {}
    for scores in rankings:
        for rank, doc in enumerate(sorted(scores, key=lambda d: -scores[d]), start=1):
            fused[doc] = fused.get(doc, 0.0) + 1 / (k + rank)
    return fused


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
    tied = _rrf([dense, sparse])
    assert tied["A"] == pytest.approx(tied["B"])


def test_normalised_sum_counts_a_sole_match_fully_and_skips_an_empty_ranking() -> None:
    assert normalised_sum([{"A": 3.0}, {}], [0.5, 0.5]) == {"A": 0.5}
    assert normalised_sum([{"A": 1.0, "B": 1.0}], [0.7]) == pytest.approx({"A": 0.7, "B": 0.7})
    with pytest.raises(ValueError):
        normalised_sum([{"A": 1.0}], [0.5, 0.5])
