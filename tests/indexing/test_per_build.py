"""Per-build background values: computed once per build, stale ones recomputed behind the
previous value, failures retried."""

from __future__ import annotations

import threading
import time

import pytest

from indexing.per_build import PerBuild

pytestmark = pytest.mark.unit


class _Build:
    def __init__(self, name: str) -> None:
        self.name = name


def _wait_for(predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_once_per_build_and_the_previous_value_serves_during_a_swap() -> None:
    calls: list[str] = []
    release = threading.Event()

    def compute(store) -> str:
        calls.append(store.name)
        if store.name == "b2":
            release.wait(10)
        return f"value of {store.name}"

    values = PerBuild("test values", compute)
    b1 = _Build("b1")
    assert values.get(b1) == "value of b1"  # the first value is waited for
    assert values.get(b1) == "value of b1" and calls == ["b1"]
    b2 = _Build("b2")
    assert values.get(b2) == "value of b1"  # b2's is computing: b1's serves meanwhile
    release.set()
    _wait_for(lambda: values.get(b2) == "value of b2")
    assert calls == ["b1", "b2"]


def test_a_stale_value_is_recomputed_in_the_background() -> None:
    n = iter(range(100))
    values = PerBuild("test values", lambda store: next(n), max_age_s=0.05)
    build = _Build("b1")
    assert values.get(build) == 0
    time.sleep(0.1)
    assert values.get(build) == 0  # stale: still served while the new count runs
    _wait_for(lambda: values.get(build) >= 1)  # a sync that kept the build's name is seen


def test_a_failure_is_logged_and_retried(caplog) -> None:
    attempts: list[int] = []

    def compute(store) -> int:
        attempts.append(1)
        if len(attempts) == 2:
            raise OSError("store closed")
        return len(attempts)

    values = PerBuild("test values", compute)
    assert values.get(_Build("b1")) == 1
    assert values.get(_Build("b2")) == 1  # b2's count fails in the background
    _wait_for(lambda: values.get(_Build("b2")) == 3)  # the next get starts another
    assert "computing the test values of build b2 failed" in caplog.text


def test_has_value_says_whether_a_query_would_wait() -> None:
    """What `/readyz` reports as `tables`: only the process's very first value is waited for;
    after a swap the previous build's value serves, so nothing waits."""
    release = threading.Event()

    def compute(store) -> str:
        release.wait(10)
        return store.name

    values = PerBuild("test values", compute)
    assert not values.first_pending  # nothing asked for yet: nothing to wait for
    values.start(_Build("b1"))
    assert not values.has_value  # the first question would wait for it
    assert values.first_pending  # the gateway calls a timeout now "warming up"
    release.set()
    _wait_for(lambda: values.has_value)
    assert not values.first_pending
    release.clear()
    values.start(_Build("b2"))
    assert values.has_value and values.get(_Build("b2")) == "b1"  # b1's serves, no wait
    assert not values.first_pending  # a swap is not a warm-up
    release.set()


def test_a_first_value_that_failed_is_not_pending() -> None:
    """A table whose computation failed is not "warming up" (a question would compute it in
    place and see the error): the gateway reports the timeout as the index's, not a warm-up."""
    started = threading.Event()
    release = threading.Event()

    def compute(store) -> str:
        started.set()
        release.wait(10)
        raise OSError("store closed")

    values = PerBuild("test values", compute)
    values.start(_Build("b1"))
    started.wait(10)
    assert values.first_pending
    release.set()
    _wait_for(lambda: not values.first_pending)
    assert not values.has_value


def test_a_computation_the_closing_index_breaks_is_one_line_not_a_traceback(caplog) -> None:
    """Closing a retriever while its tables compute (an evaluation command that failed early)
    makes the computation fail in the closed store: that is the closing, said once at INFO."""
    started = threading.Event()
    release = threading.Event()
    calls: list[str] = []

    def compute(store) -> str:
        calls.append(store.name)
        started.set()
        release.wait(10)
        raise RuntimeError("Shard is not initialized")

    values = PerBuild("test values", compute)
    caplog.set_level("INFO", logger="indexing.per_build")
    done = values.start(_Build("b1"))
    started.wait(10)
    values.close()
    release.set()
    assert done.wait(10)
    assert "computing the test values of build b1 stopped: the index was closed" in caplog.text
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "WARNING") or r.exc_info]
    assert values.start(_Build("b2")).is_set() and calls == ["b1"]  # nothing starts again
