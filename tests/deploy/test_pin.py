"""`make deploy-pin-images` on a copy of deploy/: every image pinned by digest, the overlays then
pass checkov without the digest skips, and a second run refreshes the digests.

No registry is reachable here: a resolver computed from the reference stands in for it (and a
`crane` script on PATH for the CLI), named as such; everything else is the real code path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
import yaml

from deploy.__main__ import NAMESPACES, main
from deploy.checkov import CheckovMissing, checkov_executable, scan
from deploy.manifests import containers_of, kustomize, render
from deploy.pin import OVERLAYS, PinError, Resolve, pin_images, pin_kustomization, resolver

from .conftest import require_kubectl

pytestmark = pytest.mark.unit

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def registry_stand_in(salt: str = "") -> Resolve:
    """`repository:tag` -> a digest derived from it (what a registry would answer)."""
    return lambda ref: "sha256:" + hashlib.sha256((salt + ref).encode()).hexdigest()


@pytest.fixture()
def deploy_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY / "k8s", copy / "k8s")
    shutil.copytree(DEPLOY / "docker", copy / "docker")
    return copy


def test_pinned_overlays_carry_digests_and_pass_checkov(deploy_copy: Path) -> None:
    require_kubectl()
    changes = pin_images(deploy_copy, registry_stand_in())
    assert len(changes) == len(OVERLAYS) + 3  # + the loader pod and both Dockerfiles
    for overlay in OVERLAYS:
        for doc in render(deploy_copy / overlay):
            for c in containers_of(doc):
                repo_tag, _, digest = c["image"].partition("@")
                assert ":" in repo_tag.rsplit("/", 1)[-1], c["image"]  # the tag stays
                assert digest == registry_stand_in()(repo_tag), c["image"]
            annotations = doc["metadata"].get("annotations") or {}
            assert not any(k.startswith("checkov.io/skip") for k in annotations), doc["metadata"]
    try:
        checkov_executable()
    except CheckovMissing as exc:
        pytest.skip(str(exc))
    k8s = deploy_copy / "k8s"
    manifests = {
        name: "\n---\n".join(
            (k8s / p).read_text("utf-8") if (k8s / p).is_file() else kustomize(k8s / p)
            for p in parts
        )
        for name, parts in NAMESPACES.items()
    }
    result = scan(manifests, sorted((deploy_copy / "docker").glob("*.Dockerfile")))
    assert result.failed == [] and result.parsing_errors == []
    skipped = {f.check_id for f in result.skipped}
    assert skipped <= {"CKV_K8S_8", "CKV_K8S_9", "CKV_DOCKER_2"}, skipped  # no digest skip left


def test_a_second_run_refreshes_the_digests(deploy_copy: Path) -> None:
    pin_images(deploy_copy, registry_stand_in("first"))
    pin_images(deploy_copy, registry_stand_in("second"))
    text = (deploy_copy / "k8s/overlays/gpu/kustomization.yaml").read_text("utf-8")
    spec = yaml.safe_load(text)
    assert "components" not in spec
    for entry in spec["images"]:
        ref = f"{entry.get('newName', entry['name'])}:{entry['newTag']}"
        assert entry["digest"] == registry_stand_in("second")(ref)
    assert text.count("digest:") == 4
    dockerfile = (deploy_copy / "docker/gateway.Dockerfile").read_text("utf-8")
    second = registry_stand_in("second")("python:3.11.14-slim-bookworm")
    assert dockerfile.count(f"python:3.11.14-slim-bookworm@{second}") == 2


def test_an_entry_without_a_tag_is_refused() -> None:
    text = "images:\n  - name: juris/gateway\n    newName: r/juris/gateway\n"
    with pytest.raises(PinError, match="'juris/gateway' has no newTag"):
        pin_kustomization(text, registry_stand_in())


def _tool(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text("#!/bin/sh\n" + script, encoding="utf-8")
    (bin_dir / name).chmod(0o755)


def test_cli_reads_digests_with_crane(
    deploy_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_kubectl()
    # Stands in for `crane digest REF` against a registry.
    _tool(
        tmp_path / "bin",
        "crane",
        'printf "sha256:%s\\n" "$(printf %s "$2" | sha256sum | cut -c1-64)"\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert main(["pin-images", "--tool", "crane", "--deploy-dir", str(deploy_copy)]) == 0
    out = capsys.readouterr().out
    expected = hashlib.sha256(b"registry.juris.internal/vllm/vllm-openai:v0.32.0").hexdigest()
    assert f"registry.juris.internal/vllm/vllm-openai:v0.32.0 -> sha256:{expected}" in out


def test_cli_reports_a_registry_error(
    deploy_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _tool(tmp_path / "bin", "crane", 'echo "GET https://$2: UNAUTHORIZED" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert main(["pin-images", "--deploy-dir", str(deploy_copy)]) == 1
    err = capsys.readouterr().err
    assert "crane could not read the digest of" in err and "UNAUTHORIZED" in err


def test_no_tool_on_path_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PinError, match="none of crane, skopeo, docker found on PATH"):
        resolver()
