"""`/metrics` reports the index build the gateway serves, as the alert rules expect."""

from __future__ import annotations

import calendar
import re
import time

import pytest
import yaml
from fastapi.testclient import TestClient

from indexing.build import run_build
from indexing.retrieve import open_retriever
from indexing.settings import IndexSettings
from legal_corpus.adapters import discover_units
from serving.app import create_app
from serving.metrics import build_timestamp
from serving.settings import GatewaySettings
from tests.serving.conftest import make_client
from tests.support.index_slice import PROJECT_ROOT

ALERTS = PROJECT_ROOT / "deploy" / "monitoring" / "juris-alerts.yaml"


def _value(text: str, name: str) -> float:
    m = re.search(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.M)
    assert m, f"{name} not in /metrics:\n{text}"
    return float(m.group(1))


@pytest.mark.unit
def test_build_timestamp_reads_the_build_name() -> None:
    assert build_timestamp("juris_20261124T031500_250000") == (
        calendar.timegm((2026, 11, 24, 3, 15, 0, 0, 0, 0)) + 0.25
    )
    assert build_timestamp("juris_20261124T031500") == calendar.timegm(
        (2026, 11, 24, 3, 15, 0, 0, 0, 0)
    )
    assert build_timestamp("memory_slice_1") is None
    assert build_timestamp("juris_20261399T999999_000000") is None  # not a date


@pytest.mark.unit
def test_unstamped_index_exports_info_only(retriever) -> None:
    with make_client(retriever) as c:
        text = c.get("/metrics").text
    assert 'juris_index_info{index_version="memory_slice_1"} 1.0' in text
    assert "juris_index_build_timestamp_seconds" not in text


@pytest.mark.unit
def test_metrics_follow_the_serving_build_and_match_the_alert_rules(corpus_dir, tmp_path) -> None:
    settings = IndexSettings(
        qdrant_path=tmp_path / "qdrant",
        qdrant_url=None,
        corpus_dir=corpus_dir,
        embed_cache=PROJECT_ROOT / "var" / "embed_cache",
    )
    units = discover_units(corpus_dir, ["aila/statutes"])[:3]  # three real statutes
    first = run_build(settings, units=units, progress=False)
    retriever = open_retriever(settings)
    try:
        app = create_app(GatewaySettings(_env_file=None), retriever=retriever)  # type: ignore[call-arg]
        with TestClient(app) as c:
            # the gateway opens and verifies the build in the background: wait for the report
            deadline = time.monotonic() + 10
            while first.build not in (text := c.get("/metrics").text):
                assert time.monotonic() < deadline, "the first build was never reported"
                time.sleep(0.05)
            assert f'juris_index_info{{index_version="{first.build}"}} 1.0' in text
            stamp = _value(text, "juris_index_build_timestamp_seconds")
            assert abs(stamp - time.time()) < 600  # built moments ago
            assert c.get("/readyz").json()["index"]["index_version"] == first.build
            # a new build: the alias moves; the gateway opens and verifies it in the background
            # (queries keep the old one meanwhile), and the scrapes report it a moment later
            second = run_build(settings, units=units, progress=False)
            deadline = time.monotonic() + 10
            while second.build not in (text := c.get("/metrics").text):
                assert time.monotonic() < deadline, "the new build was never reported"
                time.sleep(0.05)
            assert f'juris_index_info{{index_version="{second.build}"}} 1.0' in text
            assert first.build not in text
            assert _value(text, "juris_index_build_timestamp_seconds") >= stamp
    finally:
        retriever.close()
    # the names the alert rules query
    rules = yaml.safe_load(ALERTS.read_text())
    exprs = " ".join(r.get("expr", "") for g in rules["groups"] for r in g["rules"])
    assert "juris_index_build_timestamp_seconds" in exprs and "juris_index_info" in exprs
