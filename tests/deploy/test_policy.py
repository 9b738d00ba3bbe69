"""The policy check bites: each way of breaking a rule in the production overlay is reported."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deploy.manifests import Manifest, containers_of, pod_spec
from deploy.policy import check, selects

from .conftest import find

pytestmark = pytest.mark.unit

Breaker = Callable[[list[Manifest]], None]


def _gateway(docs: list[Manifest]) -> dict:
    return containers_of(find(docs, "Deployment", "gateway"))[0]


def _vllm(docs: list[Manifest]) -> dict:
    return containers_of(find(docs, "Deployment", "vllm"))[0]


def _set(path_obj: dict, key: str, value: object) -> None:
    path_obj[key] = value


def _drop_policy(name: str) -> Breaker:
    return lambda docs: docs.remove(find(docs, "NetworkPolicy", name))


def _open_vllm_to_namespace(docs: list[Manifest]) -> None:
    rule = find(docs, "NetworkPolicy", "vllm")["spec"]["ingress"][0]
    rule["from"].append({"podSelector": {}})


def _open_p2p_to_gateway(docs: list[Manifest]) -> None:
    rules = find(docs, "NetworkPolicy", "qdrant")["spec"]["ingress"]
    rules[0]["ports"].append({"protocol": "TCP", "port": 6335})


def _qdrant_from_anywhere(docs: list[Manifest]) -> None:
    find(docs, "NetworkPolicy", "qdrant")["spec"]["ingress"].append({"ports": [{"port": 6333}]})


def _expose_p2p(docs: list[Manifest]) -> None:
    find(docs, "Service", "qdrant")["spec"]["ports"].append({"name": "p2p", "port": 6335})


def _secret_volume(docs: list[Manifest], kind: str, name: str, volume: str) -> dict:
    pod = pod_spec(find(docs, kind, name)) or {}
    return next(v for v in pod["volumes"] if v["name"] == volume)["secret"]


def _gateway_full_key(docs: list[Manifest]) -> None:
    _secret_volume(docs, "Deployment", "gateway", "qdrant-key")["items"][0]["key"] = "api-key"


def _gateway_key_from_env(docs: list[Manifest]) -> None:
    env = _gateway(docs)["env"]
    env[:] = [e for e in env if e["name"] != "JURIS_QDRANT_API_KEY_FILE"]
    env.append(
        {
            "name": "JURIS_QDRANT_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": "qdrant-api-keys", "key": "api-key"}},
        }
    )


def _qdrant_without_read_only_key(docs: list[Manifest]) -> None:
    items = _secret_volume(docs, "StatefulSet", "qdrant", "keys")["items"]
    items[:] = [i for i in items if i["key"] != "read-only-api-key"]


def _drop_anti_affinity(docs: list[Manifest]) -> None:
    del pod_spec(find(docs, "StatefulSet", "qdrant"))["affinity"]  # type: ignore[arg-type]


def _keys_from_configmap(docs: list[Manifest]) -> None:
    find(docs, "ConfigMap", "juris-config")["data"]["JURIS_API_KEYS_FILE"] = "/tmp/keys.json"


BREAKERS: list[tuple[str, Breaker]] = [
    (
        "cronjob-concurrency",
        lambda d: find(d, "CronJob", "juris-reindex")["spec"].update(concurrencyPolicy="Allow"),
    ),
    (
        "job-retries",
        lambda d: find(d, "CronJob", "juris-reindex")["spec"]["jobTemplate"]["spec"].update(
            backoffLimit=50
        ),
    ),
    (
        "job-deadline",
        lambda d: find(d, "CronJob", "qdrant-snapshot")["spec"]["jobTemplate"]["spec"].pop(
            "activeDeadlineSeconds"
        ),
    ),
    ("netpol-default-deny", _drop_policy("default-deny")),
    ("netpol-dns", _drop_policy("allow-dns-egress")),
    ("netpol-vllm", _drop_policy("vllm")),
    ("netpol-vllm", _open_vllm_to_namespace),
    ("netpol-qdrant-p2p", _open_p2p_to_gateway),
    ("netpol-qdrant", _qdrant_from_anywhere),
    ("qdrant-p2p", _expose_p2p),
    ("qdrant-writers", _gateway_full_key),
    ("qdrant-writers", _gateway_key_from_env),
    ("qdrant-keys", _qdrant_without_read_only_key),
    ("gateway-replicas", lambda d: find(d, "Deployment", "gateway")["spec"].update(replicas=1)),
    ("gateway-probes", lambda d: _gateway(d)["readinessProbe"]["httpGet"].update(path="/")),
    ("gateway-hpa", lambda d: d.remove(find(d, "HorizontalPodAutoscaler", "gateway"))),
    ("gateway-pdb", lambda d: d.remove(find(d, "PodDisruptionBudget", "gateway"))),
    ("gateway-keys", _keys_from_configmap),
    ("vllm-gpu", lambda d: _vllm(d)["resources"]["limits"].pop("nvidia.com/gpu")),
    ("vllm-gpu", lambda d: _vllm(d)["resources"]["requests"].update({"nvidia.com/gpu": 2})),
    ("vllm-lora", lambda d: _vllm(d)["args"].remove("--max-loras=4")),
    ("vllm-probes", lambda d: _vllm(d)["readinessProbe"]["httpGet"].update(path="/v1/models")),
    ("qdrant-cluster", lambda d: find(d, "StatefulSet", "qdrant")["spec"].update(replicas=1)),
    ("qdrant-anti-affinity", _drop_anti_affinity),
    (
        "qdrant-cluster",
        lambda d: find(d, "ConfigMap", "juris-config")["data"].update(
            JURIS_QDRANT_REPLICATION_FACTOR="1"
        ),
    ),
    ("reindex", lambda d: d.remove(find(d, "CronJob", "juris-reindex"))),
]


@pytest.mark.parametrize(
    ("rule", "breaker"), BREAKERS, ids=[f"{i}-{r}" for i, (r, _) in enumerate(BREAKERS)]
)
def test_breaking_a_rule_is_reported(gpu_docs: list[Manifest], rule: str, breaker: Breaker) -> None:
    assert check(gpu_docs, "gpu") == []
    breaker(gpu_docs)
    rules = {v.rule for v in check(gpu_docs, "gpu")}
    assert rule in rules, f"expected {rule!r}, got {sorted(rules)}"


def test_cpu_profile_rejects_a_gpu(rendered: dict[str, list[Manifest]]) -> None:
    import copy

    docs = copy.deepcopy(rendered["cpu"])
    containers_of(find(docs, "Deployment", "gateway"))[0]["resources"]["limits"][
        "nvidia.com/gpu"
    ] = 1
    find(docs, "ConfigMap", "juris-config")["data"]["JURIS_VLLM_URL"] = "http://vllm:8000"
    rules = {v.rule for v in check(docs, "cpu")}
    assert {"cpu-no-gpu", "cpu-generator"} <= rules


def test_bulk_build_profile(rendered: dict[str, list[Manifest]]) -> None:
    import copy

    docs = copy.deepcopy(rendered["gpu/bulk-build"])
    job = find(docs, "Job", "juris-bulk-build")
    job["spec"]["completions"] = 3  # the workers still split the corpus 8 ways
    job["spec"]["completionMode"] = "NonIndexed"
    messages = [v.message for v in check(docs, "bulk-build")]
    assert any("not Indexed" in m for m in messages)
    assert any("8 shards but 3" in m for m in messages)


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {"a": "1"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {"a": "1"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"b": "1"}, False),
        (None, {"a": "1"}, False),
    ],
)
def test_selects(selector: dict | None, labels: dict, expected: bool) -> None:
    assert selects(selector, labels) is expected
