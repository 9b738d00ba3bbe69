"""One served model at a time: answers of another model wait, in arrival order, with a
deadline (vLLM's CPU build mixes adapters into base-model requests batched with them)."""

from __future__ import annotations

import asyncio

import pytest

from serving.errors import GeneratorError
from serving.generators.vllm import ModelGate

pytestmark = pytest.mark.unit


async def _run(gate: ModelGate, model: str, log: list[str], hold_s: float, timeout_s=5.0):
    async with gate.hold(model, timeout_s):
        log.append(f"+{model}")
        await asyncio.sleep(hold_s)
        log.append(f"-{model}")


def test_one_model_runs_at_a_time_and_a_waiter_is_not_starved() -> None:
    async def main() -> list[str]:
        gate, log = ModelGate(), []
        first = [asyncio.create_task(_run(gate, "base", log, 0.05)) for _ in range(2)]
        await asyncio.sleep(0.01)
        legal = asyncio.create_task(_run(gate, "legal", log, 0.05))
        await asyncio.sleep(0.01)
        late = asyncio.create_task(_run(gate, "base", log, 0.01))  # queues behind `legal`
        await asyncio.gather(*first, legal, late)
        return log

    log = asyncio.run(main())
    assert log[:2] == ["+base", "+base"]
    assert log.index("+legal") > max(i for i, e in enumerate(log[:5]) if e == "-base")
    assert log.index("+base", 2) > log.index("-legal")  # the late base waited its turn


def test_a_wait_past_the_deadline_is_a_timeout_and_the_queue_goes_on() -> None:
    async def main() -> list[str]:
        gate, log = ModelGate(), []
        long = asyncio.create_task(_run(gate, "base", log, 0.2))
        await asyncio.sleep(0.01)
        with pytest.raises(GeneratorError) as err:
            await _run(gate, "legal", log, 0.0, timeout_s=0.05)
        assert err.value.reason == "timeout"
        await long
        await _run(gate, "legal", log, 0.0)  # the gate is free again
        return log

    assert asyncio.run(main()) == ["+base", "-base", "+legal", "-legal"]
