"""A real vLLM server on CPU for the integration tests (one per test session).

The tiny locally built model (`training.tiny_model`) is served as `base`, and a LoRA adapter
with random, non-zero weights as `legal` (so `legal` really answers differently from `base`).
The server runs from vLLM's own environment (`.venv-vllm`), exactly as in production, and is
killed at the end of the session. Start-up takes ~35 s on an idle 2-core machine.

    def test_x(vllm_server):
        httpx.get(f"{vllm_server.url}/v1/models")
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.lab.vllm_process import VLLM_PYTHON, VllmProcess, start_vllm
from tests.support.tiny_vllm_model import tiny_model_and_adapter

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "test-cache"
START_TIMEOUT_S = float(os.environ.get("JURIS_TEST_VLLM_START_TIMEOUT", "400"))


@pytest.fixture(scope="session")
def vllm_server() -> Iterator[VllmProcess]:
    """One real vLLM server (base + `legal` adapter) for the whole test session."""
    if not VLLM_PYTHON.is_file():
        pytest.skip(f"vLLM environment missing at {VLLM_PYTHON} (run `make setup-vllm`)")
    model_dir, adapter_dir = tiny_model_and_adapter(CACHE)
    server = start_vllm(
        model_dir, adapter_dir, CACHE / "vllm-server.log", dtype="float32",
        timeout_s=START_TIMEOUT_S,
    )  # fmt: skip
    try:
        yield server
    finally:
        server.kill()
