"""Readiness that answers in bounded time, whatever the index or the generator do.

`/readyz` is what a Kubernetes readiness probe asks every few seconds; it must answer within
the probe's timeout even when vLLM accepts connections and never answers, or when the index
cannot be read. Each check therefore has a timeout (`JURIS_READY_CHECK_TIMEOUT_S`), and only
one of each kind runs at a time: a probe that arrives while a check is still running waits
for that one (never more than the timeout) instead of starting another, so a hung dependency
costs one stuck check, not one per probe.

- **index** — `retriever.check()` in a worker thread, on every call: it is cheap (a `stat` and
  a count), and a broken index must show at once;
- **generator** — vLLM's `GET /v1/models`, cached for `JURIS_READY_CACHE_S` seconds (it is
  a network round trip to another Deployment); a generation that failed or succeeded since the
  last check makes the next call ask again, so the status follows what answers see.

The index decides readiness (`unavailable`, 503, when it cannot answer); a generator that is
down only makes the gateway `degraded` (200): answers still come, extractively.

    >>> readiness = Readiness(pipeline, check_timeout_s=0.8, cache_s=5)
    >>> state = await readiness.state()   # within ~0.8 s
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread

from serving.answering import Pipeline
from serving.errors import GeneratorError, scrub_paths
from serving.index_status import index_status, readiness_fields

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadyState:
    """One readiness answer."""

    status: str  # ready | degraded | unavailable
    index: dict[str, object]
    generator: dict[str, object]
    checked_at: float = field(default_factory=time.monotonic)

    @property
    def http_status(self) -> int:
        """503 when the index cannot answer, else 200."""
        return 503 if self.status == "unavailable" else 200


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class _SingleFlight:
    """At most one run of a check at a time; callers share it and wait at most `timeout_s`."""

    def __init__(self, check: Callable[[], Awaitable[Any]], timeout_s: float) -> None:
        self.check = check
        self.timeout_s = timeout_s
        self._task: asyncio.Task[Any] | None = None
        self._started = 0.0

    async def run(self) -> Any:
        """The check's result.

        Raises:
            TimeoutError: the running check did not finish within the timeout (counted from
                when it started).
            Exception: whatever the check raised.
        """
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self.check())
            # a check that fails after its callers stopped waiting (an index still opening)
            # is answered by the next check: its exception is not left "never retrieved"
            self._task.add_done_callback(_retrieve)
            self._started = time.monotonic()
        left = max(0.0, self._started + self.timeout_s - time.monotonic())
        return await asyncio.wait_for(asyncio.shield(self._task), left)

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


class Readiness:
    """Bounded, single-flight readiness checks of the index and the generator.

    Args:
        pipeline: the gateway's pipeline (its retriever and vLLM generator).
        check_timeout_s: each check answers within this.
        cache_s: the generator's status is reused for this long.
    """

    def __init__(self, pipeline: Pipeline, check_timeout_s: float = 0.8, cache_s: float = 5.0):
        self.pipeline = pipeline
        self.check_timeout_s = check_timeout_s
        self.cache_s = cache_s
        self._index = _SingleFlight(self._index_check, check_timeout_s)
        self._generator = _SingleFlight(self._generator_check, check_timeout_s)
        self._generator_cached: tuple[float, dict[str, object]] | None = None

    async def state(self) -> ReadyState:
        """The current readiness, within about `check_timeout_s`."""
        index, generator = await asyncio.gather(self._index_state(), self._generator_state())
        if not index["ok"]:
            status = "unavailable"
        elif not generator["ok"]:
            status = "degraded"
        else:
            status = "ready"
        return ReadyState(status, index, generator)

    def close(self) -> None:
        """Cancel checks still running (shutdown)."""
        self._index.cancel()
        self._generator.cancel()

    # -- index ----------------------------------------------------------------------------

    async def _index_check(self) -> Any:
        retriever = self.pipeline.retriever

        def check() -> tuple[Any, dict[str, object]]:
            detail = retriever.check()
            # while a build fills: which sources are not searchable yet (GET /v1/index/status)
            return detail, readiness_fields(index_status(retriever))

        # abandoned when it overruns: a hung index costs this one thread (single flight)
        return await to_thread.run_sync(check, abandon_on_cancel=True)

    async def _index_state(self) -> dict[str, object]:
        index: dict[str, object] = {"index_version": self.pipeline.index_version()}
        try:
            detail = await self._index.run()
        except TimeoutError:
            index.update(ok=False, error=f"the index did not answer in {self.check_timeout_s} s")
            return index
        except Exception as err:
            index.update(ok=False, error=scrub_paths(str(err))[:300])
            return index
        detail, filling = detail
        index["ok"] = True
        if isinstance(detail, dict):
            index.update({k: v for k, v in detail.items() if isinstance(v, str | int | float)})
        index.update(filling)
        return index

    # -- generator ------------------------------------------------------------------------

    async def _generator_check(self) -> dict[str, object]:
        vllm = self.pipeline.vllm
        assert vllm is not None
        generator: dict[str, object] = {"backend": "vllm", "url": vllm.config.base_url}
        try:
            generator["models"] = await vllm.models(timeout_s=self.check_timeout_s)
            generator["ok"] = True
        except GeneratorError as err:
            generator.update(ok=False, error=err.reason, fallback="extractive")
        self._generator_cached = (time.monotonic(), generator)
        return generator

    async def _generator_state(self) -> dict[str, object]:
        vllm = self.pipeline.vllm
        if vllm is None:
            return {"backend": "extractive", "ok": True}
        cached = self._generator_cached
        if cached is not None:
            at, value = cached
            fresh = time.monotonic() - at < self.cache_s
            seen_since = max(vllm.last_failure, vllm.last_success) > at
            if fresh and not seen_since:
                return value
        try:
            generator: dict[str, object] = await self._generator.run()
            return generator
        except TimeoutError:
            return {
                "backend": "vllm",
                "url": vllm.config.base_url,
                "ok": False,
                "error": "timeout",
                "fallback": "extractive",
            }
