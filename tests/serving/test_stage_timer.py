"""Stage timing that cannot deadlock the gateway when a streamed answer is abandoned.

A client that aborts a streamed answer leaves its timed block suspended. Whatever closes that
block when the garbage collector finds it runs inline, wherever the collection happens, which
can be inside `prometheus_client`'s non-reentrant lock: a timer that observed there hung the
event loop (seen as a stream that never answered after a burst of aborted ones).
"""

from __future__ import annotations

import asyncio
import gc

import pytest

from serving.metrics import Metrics

pytestmark = pytest.mark.unit


def _count(metrics: Metrics, stage: str, backend: str) -> float:
    for family in metrics.stages.collect():
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_count")
                and labels.get("stage") == stage
                and labels.get("backend") == backend
            ):
                return sample.value
    return 0.0


def test_a_completed_block_is_observed_once() -> None:
    metrics = Metrics()
    with metrics.stage("retrieval", "hybrid"):
        pass
    assert _count(metrics, "retrieval", "hybrid") == 1.0


def test_a_block_left_by_an_exception_is_still_observed() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError), metrics.stage("verification"):
        raise ValueError("boom")
    assert _count(metrics, "verification", "") == 1.0


def test_an_abandoned_stream_observes_nothing_inside_the_collector(monkeypatch) -> None:
    metrics = Metrics()

    async def streamed_answer():  # as `Pipeline.run` times its generation
        with metrics.stage("generation", "vllm"):
            yield "token"

    async def client_leaves() -> tuple[list[str], list[str]]:
        stream = streamed_answer()
        assert await anext(stream) == "token"  # suspended inside the timed block
        calls: list[str] = []
        monkeypatch.setattr(metrics.stages, "labels", lambda **k: calls.append(k["stage"]))
        cycle: list[object] = [stream]
        cycle.append(cycle)  # reached only by the cyclic collector, as the gateway's frames are
        del stream, cycle
        gc.collect()
        during = list(calls)
        for _ in range(3):
            await asyncio.sleep(0)  # the loop closes the abandoned stream itself, later
        return during, calls

    during, after = asyncio.run(client_leaves())
    assert during == [], "the collector ran the timer's exit inline (it may hold a metric's lock)"
    assert after == ["generation"], "the event loop closes the stream and times it"
