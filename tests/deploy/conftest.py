"""Overlays rendered once per session by `kubectl kustomize` (no cluster, no network)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from deploy.manifests import Manifest, render

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = {
    "gpu": (K8S / "overlays" / "gpu", "gpu"),
    "cpu": (K8S / "overlays" / "cpu", "cpu"),
    "gpu/bulk-build": (K8S / "overlays" / "gpu" / "bulk-build", "bulk-build"),
    "cpu/bulk-build": (K8S / "overlays" / "cpu" / "bulk-build", "bulk-build"),
}


def require_kubectl() -> None:
    """Skip the calling test where `kubectl` cannot be had (`make deploy-check` installs it)."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not on PATH: the overlays are rendered by kubectl kustomize")


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """Every overlay as `kubectl kustomize` renders it."""
    require_kubectl()
    return {name: render(path) for name, (path, _) in OVERLAYS.items()}


@pytest.fixture()
def gpu_docs(rendered: dict[str, list[Manifest]]) -> list[Manifest]:
    """A private copy of the production overlay, for tests that break it on purpose."""
    return copy.deepcopy(rendered["gpu"])


def find(docs: list[Manifest], kind: str, name: str) -> Manifest:
    """The object `kind/name` of a rendered overlay."""
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise KeyError(f"{kind}/{name}")
