"""Degraded mode: vLLM killed mid-stream, then gone — answers stay 200, extractive, bounded.

The server killed is the real model's (SmolLM2-135M-Instruct on vLLM's CPU build). Runs last
among the integration tests (file name), because it kills the session's real vLLM server.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from serving.app import create_app
from tests.integration.conftest import running_gateway
from tests.integration.test_gateway_vllm import QUESTION
from tests.integration.test_real_model import real_settings

pytestmark = pytest.mark.integration


def test_vllm_killed_mid_stream_then_gone(real_vllm, slice_retriever, gateway_keys):
    keys_file, user, _ = gateway_keys
    headers = {"Authorization": f"Bearer {user}"}
    # a long generation, so the kill lands while tokens are still coming
    settings = real_settings(
        real_vllm.url, keys_file, vllm_max_tokens=600, top_k=1, prompt_max_chars=400,
        vllm_connect_timeout_s=1.0, vllm_read_timeout_s=5.0, vllm_retries=1,
    )  # fmt: skip
    app = create_app(settings, retriever=slice_retriever)
    with running_gateway(app) as url:
        events: list[tuple[str, dict]] = []
        start = time.monotonic()
        body = {"question": QUESTION, "stream": True}
        with httpx.stream("POST", f"{url}/v1/ask", json=body, headers=headers, timeout=60) as r:
            event = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    events.append((event, json.loads(line[6:])))
                    if event == "token" and real_vllm.alive():
                        real_vllm.kill()
        assert time.monotonic() - start < 45
        kinds = [k for k, _ in events]
        assert "degraded" in kinds, kinds
        assert kinds[-2:] == ["citations", "done"]
        reason = events[kinds.index("degraded")][1]["reason"]
        assert reason in {"stream_broken", "unreachable", "timeout"}
        final = events[-2][1]
        assert final["degraded"] is True and final["mode"] == "extractive"
        assert final["degraded_reason"] == reason
        after = "".join(d["text"] for k, d in events[kinds.index("degraded") :] if k == "token")
        assert after == final["answer_raw"]
        assert final["verification"]["all_verified"]

        # vLLM is gone: JSON answers are extractive, degraded, quick — never a 500 or a hang
        start = time.monotonic()
        r = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, headers=headers, timeout=60)
        assert r.status_code == 200
        assert time.monotonic() - start < 15
        answer = r.json()
        assert answer["degraded"] is True and answer["degraded_reason"] == "unreachable"
        assert answer["mode"] == "extractive" and answer["citations"]
        ready = httpx.get(f"{url}/readyz", timeout=30).json()
        assert ready["status"] == "degraded" and ready["generator"]["ok"] is False
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
        assert 'juris_degraded_answers_total{reason="unreachable"}' in metrics
