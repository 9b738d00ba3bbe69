"""The alert rules parse and name objects and metrics that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from deploy.manifests import Manifest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "monitoring" / "juris-alerts.yaml"
# Requested from the gateway (see deploy/README.md "Monitoring"); not asserted until it has them.
PENDING_GATEWAY_METRICS = {"juris_index_info", "juris_index_build_timestamp_seconds"}


def _rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_rules_are_complete() -> None:
    rules = _rules()
    assert len({r["alert"] for r in rules}) == len(rules)
    for rule in rules:
        assert rule["expr"].strip() and rule["for"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


def test_rules_name_objects_of_the_overlay(rendered: dict[str, list[Manifest]]) -> None:
    names = {(d["kind"], d["metadata"]["name"]) for d in rendered["gpu"]}
    text = RULES.read_text(encoding="utf-8")
    for kind, label in (
        ("CronJob", "cronjob"),
        ("Deployment", "deployment"),
        ("StatefulSet", "statefulset"),
    ):
        for name in re.findall(rf'{label}="([\w-]+)"', text):
            assert (kind, name) in names, f"{kind}/{name} in the alert rules is not deployed"
    for prefix in re.findall(r'job_name=~"([\w-]+)-\.\*"', text):
        assert ("CronJob", prefix) in names


def test_gateway_metrics_exist() -> None:
    source = ROOT / "serving" / "metrics.py"
    if not source.is_file():
        pytest.skip("serving/metrics.py not present")
    defined = set(re.findall(r'"(juris_\w+)"', source.read_text(encoding="utf-8")))
    used = set(re.findall(r"\b(juris_\w+?)(?:_count|_sum|_bucket)?\b", RULES.read_text("utf-8")))
    missing = used - defined - PENDING_GATEWAY_METRICS
    assert not missing, f"alert rules use metrics the gateway does not define: {missing}"


def test_the_generator_alert_counts_failures_only() -> None:
    """Answers quoted because the model looped, cited no source, or declined passages retrieval
    matched closely are counted under their own reasons; the alert that vLLM is failing leaves
    them out."""
    from serving.answering import MODEL_DECLINED, MODEL_UNCITED

    (rule,) = [r for r in _rules() if r["alert"] == "JurisGeneratorDegraded"]
    left_out = re.search(r'reason!~"([\w|]+)"', rule["expr"])
    assert left_out is not None, rule["expr"]
    assert set(left_out.group(1).split("|")) == {"repetition", MODEL_DECLINED, MODEL_UNCITED}
