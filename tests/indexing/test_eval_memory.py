"""The lab's in-memory store: Qdrant's sparse (IDF modifier) and cosine scores, filters, ties,
and the embedding budget."""

from __future__ import annotations

import math

import numpy as np
import pytest

from indexing.eval.memory import MemoryStore, _dense_vectors
from indexing.sparse import SparseVec
from indexing.store import Match, MatchAny, Range, Where

pytestmark = pytest.mark.unit


def _store() -> MemoryStore:
    payloads = [
        {"doc_id": "a", "kind": "opinion", "valid_from": 0, "valid_to": 99991231, "order": 0},
        {"doc_id": "a", "kind": "opinion", "valid_from": 0, "valid_to": 99991231, "order": 1},
        {"doc_id": "b", "kind": "statute", "valid_from": 20200101, "valid_to": 99991231},
        {"doc_id": "c", "kind": "statute", "valid_from": 0, "valid_to": 20100101},
    ]
    sparse = [((1, 2), (1.0, 0.5)), ((2,), (2.0,)), ((1,), (0.5,)), ((3,), (1.0,))]
    dense = [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], None]
    return MemoryStore("m", ["p0", "p1", "p2", "p3"], payloads, sparse, dense)


def test_sparse_scores_are_qdrants_idf_dot_product() -> None:
    store = _store()
    idf = lambda df: math.log((4 - df + 0.5) / (df + 0.5) + 1)  # noqa: E731
    hits = store.query([], SparseVec((1, 2), (1.0, 1.0)), limit=10)
    expected = {"p0": idf(2) * 1.0 + idf(2) * 0.5, "p1": idf(2) * 2.0, "p2": idf(2) * 0.5}
    assert {h.id: h.score for h in hits} == pytest.approx(expected)
    assert [h.id for h in hits] == ["p1", "p0", "p2"]  # p3 shares no term: not found
    assert store.term_counts() == {1: 2, 2: 2, 3: 1}


def test_dense_scores_are_cosines_and_points_without_a_vector_are_left_out() -> None:
    hits = _store().query([[3.0, 0.0]], None, limit=10)
    assert [h.id for h in hits] == ["p0", "p2", "p1"]
    assert [h.score for h in hits] == pytest.approx([1.0, 1 / math.sqrt(2), 0.0])


def test_filters_and_ties() -> None:
    store = _store()
    statutes = Where((Match("kind", "statute"),))
    assert [h.id for h in store.query([[1.0, 1.0]], None, statutes)] == ["p2"]
    in_force = Where((Range("valid_from", lte=20150101), Range("valid_to", gt=20150101)))
    assert store.count(in_force) == 2
    assert store.count(Where(must_not=(MatchAny("doc_id", ("a", "b")),))) == 1
    # equal cosines: ties go by point id
    tied = MemoryStore("t", ["z", "y"], [{}, {}], [((), ()), ((), ())], [[1.0, 0.0]] * 2)
    assert [h.id for h in tied.query([[1.0, 0.0]], None)] == ["y", "z"]
    with pytest.raises(ValueError, match="one dense or one sparse"):
        store.query([[1.0, 0.0]], SparseVec((1,), (1.0,)))


def test_embedding_budget_embeds_first_chunks_first() -> None:
    class Counting:
        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def encode(self, texts: list[str]) -> np.ndarray:
            self.calls.append(list(texts))
            return np.ones((len(texts), 2), dtype=np.float32)

    texts = ["a0", "a1", "b0", "b1"]
    counting = Counting()
    found = _dense_vectors(counting, texts, budget=2, orders=[0, 1, 0, 1], wants=[True] * 4)
    assert counting.calls == [["a0", "b0"]]
    assert [v is not None for v in found] == [True, False, True, False]
    # a passage the build keeps sparse only (beyond a long opinion's dense budget) gets none
    counting = Counting()
    wants = [True, False, True, True]
    found = _dense_vectors(counting, texts, budget=None, orders=[0, 1, 0, 1], wants=wants)
    assert counting.calls == [["a0", "b0", "b1"]]
    assert [v is not None for v in found] == wants
