"""The benchmark's statistics and report (the measurements themselves run in `make bench`)."""

from __future__ import annotations

import math

import pytest

from serving.lab.bench import markdown, percentile, summary_ms

pytestmark = pytest.mark.unit


def test_percentile_interpolates_like_numpy():
    values = [0.004, 0.001, 0.003, 0.002]
    assert percentile(values, 50) == pytest.approx(0.0025)
    assert percentile(values, 99) == pytest.approx(0.00397)
    assert math.isnan(percentile([], 50))
    assert summary_ms(values) == {"n": 4, "p50_ms": 2.5, "p99_ms": 3.97, "mean_ms": 2.5}


def test_markdown_report_lists_every_phase():
    s = summary_ms([0.01, 0.02])
    overhead = {
        name: s
        for name in (
            "direct_ttft", "gateway_ttft", "direct_total", "gateway_total", "paired_added_ttft",
            "paired_added_total", "verification", "paired_added_total_excluding_verification",
            "retrieval_excluded",
        )
    }  # fmt: skip
    overhead.update(model="base", vllm_url="http://x", max_tokens=32, samples=2,
                    added_ttft_p50_ms=1.0, added_total_p50_ms=2.0)  # fmt: skip
    load = {"path": "/v1/search", "clients": 16, "duration_s": 1.0, "requests": 2,
            "throughput_rps": 2.0, **s, "errors": {}}  # fmt: skip
    text = markdown({"when": "now", "machine": "m", "overhead": overhead, "load": [load]})
    assert "| paired added total excluding verification | 15.0 |" in text
    assert "| /v1/search | 16 | 1.0 | 2 | 2.0 | 15.0 |" in text
    assert "**1.0 ms** to the first token" in text
