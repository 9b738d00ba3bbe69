"""Every overlay renders, validates against the Kubernetes schemas and passes the policy check."""

from __future__ import annotations

import os
from pathlib import Path

import kubernetes_validate
import pytest

from deploy.__main__ import main
from deploy.manifests import Manifest, containers_of, pod_spec
from deploy.policy import check

from .conftest import OVERLAYS, find

pytestmark = pytest.mark.unit

# Oldest and a recent Kubernetes version the manifests target (both bundled by the package).
KUBE_VERSIONS = ("1.30", "1.33")


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_overlay_is_schema_valid(
    rendered: dict[str, list[Manifest]], overlay: str, version: str
) -> None:
    docs = rendered[overlay]
    assert docs
    for doc in docs:
        # strict: unknown fields (a typo such as `resource:`) are errors, not silently dropped
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_overlay_passes_policy(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    violations = check(rendered[overlay], OVERLAYS[overlay][1])
    assert violations == [], "\n".join(map(str, violations))


def test_schema_validation_bites(rendered: dict[str, list[Manifest]]) -> None:
    import copy

    dep = copy.deepcopy(find(rendered["gpu"], "Deployment", "gateway"))
    pod_spec(dep)["containers"][0]["resource"] = {"limits": {"cpu": "1"}}  # type: ignore[index]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, "1.33", strict=True)


def test_gpu_overlay_shape(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["gpu"]
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"juris"}
    vllm = find(docs, "Deployment", "vllm")
    assert vllm["spec"]["replicas"] == 2
    (c,) = containers_of(vllm)
    assert c["image"] == "registry.juris.internal/vllm/vllm-openai:v0.32.0"
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "legal=/models/adapters/legal" in c["args"]
    assert find(docs, "StatefulSet", "qdrant")["spec"]["replicas"] == 3
    assert find(docs, "Deployment", "gateway")["spec"]["replicas"] == 3
    assert find(docs, "HorizontalPodAutoscaler", "gateway")["spec"]["minReplicas"] == 3
    # every image went through the overlay's registry mirror
    images = {c["image"] for d in docs for c in containers_of(d)}
    assert all(i.startswith("registry.juris.internal/") for i in images), images


def test_cpu_overlay_is_one_node_extractive(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["cpu"]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Deployment", "vllm") not in kinds
    assert ("NetworkPolicy", "vllm") not in kinds
    assert ("PersistentVolumeClaim", "juris-models") not in kinds
    assert find(docs, "ConfigMap", "juris-config")["data"]["JURIS_VLLM_URL"] == ""
    sts = find(docs, "StatefulSet", "qdrant")
    assert sts["spec"]["replicas"] == 1
    env = {e["name"]: e.get("value") for e in containers_of(sts)[0]["env"]}
    assert env["QDRANT__CLUSTER__ENABLED"] == "false"
    egress = find(docs, "NetworkPolicy", "gateway")["spec"]["egress"]
    assert all(
        p["podSelector"]["matchLabels"] != {"app.kubernetes.io/name": "juris-vllm"}
        for rule in egress
        for p in rule["to"]
    )


def test_bulk_build_shards(rendered: dict[str, list[Manifest]]) -> None:
    for overlay, shards in (("gpu/bulk-build", 8), ("cpu/bulk-build", 2)):
        job = find(rendered[overlay], "Job", "juris-bulk-build")
        assert job["spec"]["completionMode"] == "Indexed"
        assert job["spec"]["completions"] == shards
        (c,) = containers_of(job)
        assert "$(JOB_COMPLETION_INDEX)/$(JURIS_BULK_SHARDS)" in c["args"]
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["JURIS_BULK_SHARDS"] == str(shards)


def test_reindex_cronjob(rendered: dict[str, list[Manifest]]) -> None:
    cron = find(rendered["gpu"], "CronJob", "juris-reindex")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    job = cron["spec"]["jobTemplate"]["spec"]
    assert job["backoffLimit"] <= 6 and job["activeDeadlineSeconds"] > 0
    assert containers_of(cron)[0]["args"] == ["-m", "indexing", "sync"]


def test_cli_check_passes_every_overlay(capsys: pytest.CaptureFixture[str]) -> None:
    # The overlays one by one (render, Juris's policy, schemas); `make deploy-check` runs the
    # whole `python -m deploy check` (checkov, vLLM's parser, the images' imports too).
    overlays = [str(path) for path, _ in OVERLAYS.values()]
    assert main(["check", "--kube-version", "1.33", *overlays]) == 0
    out = capsys.readouterr().out
    assert "0 problem(s)" in out and "render   overlays/gpu: 28 objects, ok" in out


def test_pvc_loader_pod_is_schema_valid() -> None:
    from deploy.manifests import load_yaml_documents

    from .conftest import K8S

    (pod,) = load_yaml_documents(K8S / "tools" / "pvc-loader.yaml")
    kubernetes_validate.validate(pod, "1.33", strict=True)
    assert "@sha256:" in containers_of(pod)[0]["image"]


def test_cli_check_fails_on_a_broken_overlay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gpu = os.path.relpath(OVERLAYS["gpu"][0], tmp_path)  # kustomize refuses absolute paths
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{gpu}]\nreplicas:\n  - name: gateway\n    count: 1\n", encoding="utf-8"
    )
    assert main(["check", "--profile", "gpu", "--kube-version", "1.33", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "[gateway-replicas] Deployment/gateway" in out
