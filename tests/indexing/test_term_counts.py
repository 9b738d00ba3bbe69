"""Document frequencies for long queries: counted in the background, never stalling a swap."""

from __future__ import annotations

import threading
import time

import pytest

from indexing.retrieve import Retriever, open_retriever

pytestmark = pytest.mark.unit

LONG = (
    "The appellant was convicted of cheating and criminal breach of trust by the trial court "
    "and the High Court confirmed the sentence of rigorous imprisonment imposed on him."
)


class _Build:
    """A stand-in build: a name and document frequencies released on demand."""

    def __init__(self, name: str, counts: dict[int, int]) -> None:
        self.name, self.counts = name, counts
        self.release = threading.Event()
        self.calls = 0

    def scroll(self, *args: object, **kwargs: object) -> list[object]:
        return []  # no points to read a sparse format from: this release's

    def term_counts(self) -> dict[int, int]:
        self.calls += 1
        if not self.release.wait(10):
            raise TimeoutError("never released")
        return self.counts


def _counts(terms: list[int], rare: list[int]) -> dict[int, int]:
    """Every term common (df 100) except `rare` (df 1)."""
    return {t: (1 if t in rare else 100) for t in terms}


def test_a_swap_keeps_the_previous_counts_until_the_new_ones_are_in() -> None:
    r = Retriever(catalog=None, embedder=None, query_terms=2)  # type: ignore[arg-type]
    terms = list(r.sparse.query(LONG).indices)
    assert len(terms) > 4
    first = _Build("b1", _counts(terms, terms[:2]))
    first.release.set()
    assert r.sparse_query(LONG, first).indices == tuple(sorted(terms[:2]))  # waited: no counts yet

    second = _Build("b2", _counts(terms, terms[-2:]))
    started = time.perf_counter()
    assert r.sparse_query(LONG, second).indices == tuple(sorted(terms[:2]))  # b1's, at once
    assert time.perf_counter() - started < 5  # did not wait for b2's count (10 s)
    second.release.set()
    deadline = time.monotonic() + 10
    while r.sparse_query(LONG, second).indices != tuple(sorted(terms[-2:])):
        assert time.monotonic() < deadline, "b2's counts never replaced b1's"
        time.sleep(0.01)
    assert (first.calls, second.calls) == (1, 1)  # each build counted once


def test_a_failed_count_is_retried_by_a_later_query() -> None:
    r = Retriever(catalog=None, embedder=None, query_terms=2)  # type: ignore[arg-type]
    terms = list(r.sparse.query(LONG).indices)
    r.sparse_query(LONG, _released(_Build("b1", _counts(terms, terms[:2]))))
    r.sparse_query(LONG, _Closed("b2"))  # its count fails in the background
    healed = _released(_Build("b2", _counts(terms, terms[-2:])))
    deadline = time.monotonic() + 10
    while r.sparse_query(LONG, healed).indices != tuple(sorted(terms[-2:])):
        assert time.monotonic() < deadline
        time.sleep(0.01)


class _Closed:
    def __init__(self, name: str) -> None:
        self.name = name

    def scroll(self, *args: object, **kwargs: object) -> list[object]:
        raise OSError("store closed")

    def term_counts(self) -> dict[int, int]:
        raise OSError("store closed")


def _released(build: _Build) -> _Build:
    build.release.set()
    return build


def test_check_starts_counting_before_the_first_long_question(index_slice) -> None:
    r = open_retriever(index_slice)
    try:
        r.check()
        assert r._term_df._job is not None
        assert r._term_df._job[1].wait(30)
        assert r._term_df._value is not None and r._term_df._value[1]
    finally:
        r.close()
