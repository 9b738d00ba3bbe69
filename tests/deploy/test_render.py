"""Every kustomization under deploy/ renders with the real `kubectl kustomize`, and the README's
kustomize commands name directories that do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from deploy.manifests import RenderError, render

from .conftest import K8S, require_kubectl

pytestmark = pytest.mark.unit

DEPLOY = K8S.parent
REPO = DEPLOY.parent
KUSTOMIZATIONS = sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml"))


def _is_component(directory: Path) -> bool:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    return spec.get("kind") == "Component"


@pytest.mark.parametrize(
    "directory", KUSTOMIZATIONS, ids=[str(p.relative_to(K8S)) for p in KUSTOMIZATIONS]
)
def test_every_kustomization_renders(directory: Path) -> None:
    require_kubectl()
    if _is_component(directory):
        users = [
            d
            for d in KUSTOMIZATIONS
            if directory.name in (d / "kustomization.yaml").read_text(encoding="utf-8")
            and not _is_component(d)
        ]
        assert users, f"component {directory} is used by no kustomization"
        for user in users:
            assert render(user)
    else:
        assert render(directory)


def test_a_kustomize_error_is_reported_with_its_message(tmp_path: Path) -> None:
    require_kubectl()
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n", encoding="utf-8")
    with pytest.raises(RenderError, match=r"kubectl kustomize .*missing\.yaml"):
        render(tmp_path)


def test_readme_kustomize_commands_name_renderable_directories() -> None:
    require_kubectl()
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    command = r"kubectl (?:-n \S+ )?(?:kustomize|apply -k|create -k|diff -k)"
    commands = re.findall(command + r" (deploy/k8s/[\w/.-]*\w)", readme)
    assert len(set(commands)) >= 4, commands
    for rel in sorted(set(commands)):
        assert render(REPO / rel), rel
