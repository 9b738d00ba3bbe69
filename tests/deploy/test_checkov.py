"""checkov passes the deployment, and bites: each way of breaking a standard rule is reported.

One checkov run (≈ 3 s) covers every case; skipped where checkov is not installed
(`make deploy-check` installs it into .venv-deploy).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from deploy.__main__ import DOCKERFILES, K8S, NAMESPACES, ROOT
from deploy.checkov import CheckovMissing, Scan, checkov_executable, scan
from deploy.manifests import Manifest, containers_of, kustomize, pod_spec

from .conftest import find, require_kubectl

pytestmark = pytest.mark.unit

# Every check the deployment skips, and why it may: see the reasons on the resources.
ALLOWED_SKIPS = {
    "CKV_K8S_43",  # by tag until `make deploy-pin-images` (components/unpinned-images)
    "CKV_K8S_15",  # the pull policy that goes with a digest, likewise
    "CKV_K8S_8",  # the loader pod sleeps while `kubectl cp` runs: nothing to probe
    "CKV_K8S_9",
    "CKV_DOCKER_2",  # the indexer image runs batch jobs: no server for a HEALTHCHECK
}

Breaker = Callable[[Manifest], None]


def _container(dep: Manifest) -> dict:
    return containers_of(dep)[0]


def _security(dep: Manifest) -> dict:
    return _container(dep)["securityContext"]


def _no_seccomp(dep: Manifest) -> None:
    pod_spec(dep)["securityContext"].pop("seccompProfile")  # type: ignore[index]
    _security(dep).pop("seccompProfile")


def _root(dep: Manifest) -> None:
    pod_spec(dep)["securityContext"].update(runAsNonRoot=False, runAsUser=0)  # type: ignore[index]
    _security(dep).update(runAsNonRoot=False)


def _secret_env(dep: Manifest) -> None:
    _container(dep)["env"].append(
        {"name": "K", "valueFrom": {"secretKeyRef": {"name": "qdrant-api-keys", "key": "api-key"}}}
    )


K8S_BREAKERS: list[tuple[str, Breaker]] = [
    ("CKV_K8S_14", lambda d: _container(d).update(image="juris/gateway:latest")),
    ("CKV_K8S_11", lambda d: _container(d)["resources"].pop("limits")),
    ("CKV_K8S_12", lambda d: _container(d)["resources"]["requests"].pop("memory")),
    ("CKV_K8S_23", _root),
    ("CKV_K8S_40", lambda d: pod_spec(d)["securityContext"].update(runAsUser=1000)),  # type: ignore[index]
    ("CKV_K8S_20", lambda d: _security(d).update(allowPrivilegeEscalation=True)),
    ("CKV_K8S_16", lambda d: _security(d).update(privileged=True)),
    ("CKV_K8S_37", lambda d: _security(d).pop("capabilities")),
    ("CKV_K8S_22", lambda d: _security(d).update(readOnlyRootFilesystem=False)),
    ("CKV_K8S_31", _no_seccomp),
    ("CKV_K8S_8", lambda d: _container(d).pop("livenessProbe")),
    ("CKV_K8S_9", lambda d: _container(d).pop("readinessProbe")),
    ("CKV_K8S_35", _secret_env),
    ("CKV_K8S_38", lambda d: pod_spec(d).update(automountServiceAccountToken=True)),  # type: ignore[union-attr]
]
GATEWAY_DOCKERFILE = ROOT / "docker" / "gateway.Dockerfile"
DOCKER_BREAKERS: list[tuple[str, str, str]] = [
    ("CKV_DOCKER_8", r"USER 10001:10001\n", "USER root\n"),
    ("CKV_DOCKER_2", r"HEALTHCHECK", "# HEALTHCHECK"),
    ("CKV_DOCKER_7", r"python:[\w.-]+@sha256:\w+", "python:latest"),
]


@pytest.fixture(scope="module")
def namespaces() -> dict[str, str]:
    """What each namespace gets, as `python -m deploy check` hands it to checkov."""
    require_kubectl()
    out = {}
    for file, parts in NAMESPACES.items():
        texts = [
            (K8S / p).read_text(encoding="utf-8") if (K8S / p).is_file() else kustomize(K8S / p)
            for p in parts
        ]
        out[file] = "\n---\n".join(texts)
    return out


@pytest.fixture(scope="module")
def result(namespaces: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Scan:
    """One checkov run: the deployment as it is, and one broken copy per case."""
    try:
        checkov_executable()
    except CheckovMissing as exc:
        pytest.skip(str(exc))
    gpu = list(yaml.safe_load_all(namespaces["juris-gpu.yaml"]))
    broken = []
    for i, (_, breaker) in enumerate(K8S_BREAKERS):
        dep = copy.deepcopy(find(gpu, "Deployment", "gateway"))
        dep["metadata"]["name"] = f"broken-{i}"
        breaker(dep)
        broken.append(dep)
    tmp = tmp_path_factory.mktemp("dockerfiles")
    dockerfiles = [ROOT / d for d in DOCKERFILES]
    for i, (_, old, new) in enumerate(DOCKER_BREAKERS):
        text = GATEWAY_DOCKERFILE.read_text(encoding="utf-8")
        assert re.search(old, text)
        path = tmp / f"broken-{i}.Dockerfile"
        path.write_text(re.sub(old, new, text), encoding="utf-8")
        dockerfiles.append(path)
    manifests = {**namespaces, "broken.yaml": yaml.safe_dump_all(broken)}
    return scan(manifests, dockerfiles)


def test_deployment_passes(result: Scan) -> None:
    failed = [f for f in result.failed if f.file != "broken.yaml" and "broken-" not in f.file]
    assert failed == [], "\n".join(map(str, failed))
    assert result.parsing_errors == []
    assert result.passed > 1000


def test_every_skip_is_inline_with_a_reason(result: Scan) -> None:
    for finding in result.skipped:
        assert finding.check_id in ALLOWED_SKIPS, finding
        assert len(finding.reason) > 20, finding


@pytest.mark.parametrize(
    ("index", "check_id"), [(i, c) for i, (c, _) in enumerate(K8S_BREAKERS)], ids=lambda v: str(v)
)
def test_checkov_reports_a_broken_workload(result: Scan, index: int, check_id: str) -> None:
    failed = {f.check_id for f in result.failed if f.resource == f"Deployment.juris.broken-{index}"}
    assert check_id in failed, f"expected {check_id}, got {sorted(failed)}"


@pytest.mark.parametrize(
    ("index", "check_id"),
    [(i, c) for i, (c, _, _) in enumerate(DOCKER_BREAKERS)],
    ids=lambda v: str(v),
)
def test_checkov_reports_a_broken_dockerfile(result: Scan, index: int, check_id: str) -> None:
    failed = {f.check_id for f in result.failed if f.file.endswith(f"broken-{index}.Dockerfile")}
    assert check_id in failed, f"expected {check_id}, got {sorted(failed)}"


def test_scan_names_the_files_it_was_given(result: Scan) -> None:
    files = {f.file for f in result.skipped}
    assert {"juris-gpu.yaml", "juris-cpu.yaml", "deploy/docker/indexer.Dockerfile"} <= files


def test_missing_checkov_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import deploy.checkov

    monkeypatch.setattr(deploy.checkov, "TOOLS_VENV", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CheckovMissing, match="make deploy-check"):
        checkov_executable()
