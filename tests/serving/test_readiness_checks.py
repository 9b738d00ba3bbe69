"""Readiness checks that outlive their callers leave nothing in the log.

While a large build opens, a readiness check can fail ("still opening") after the probe that
started it stopped waiting; asyncio then logged "Task exception was never retrieved" as an
ERROR on every start of the gateway.
"""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from serving.readiness import _SingleFlight

pytestmark = pytest.mark.unit


def test_a_check_failing_after_its_timeout_logs_no_asyncio_error(caplog) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    calls = 0

    async def check() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.1)
            raise RuntimeError("index build b1 is still opening")
        return "open"

    async def probes() -> str:
        flight = _SingleFlight(check, timeout_s=0.02)
        with pytest.raises(TimeoutError):
            await flight.run()  # the probe gives up; the check goes on and fails
        await asyncio.sleep(0.2)
        return await flight.run()  # the next probe starts a new check

    assert asyncio.run(probes()) == "open"
    gc.collect()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def test_a_caller_still_waiting_gets_the_checks_error() -> None:
    async def check() -> str:
        raise RuntimeError("index build b1 cannot be opened")

    async def probe() -> None:
        await _SingleFlight(check, timeout_s=1.0).run()

    with pytest.raises(RuntimeError, match="cannot be opened"):
        asyncio.run(probe())
