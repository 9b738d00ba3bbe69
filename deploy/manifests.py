"""Rendered Kubernetes objects: `kubectl kustomize` renders, helpers read workloads.

Rendering calls the `kubectl` that operators run (`kubectl apply -k DIR` sends exactly what
`kubectl kustomize DIR` prints), so a kustomization that real kustomize refuses fails here too.
`kubectl kustomize` needs no cluster; `kubectl apply --dry-run=client` does (it asks the API
server for its resource types), so nothing here uses it.

Example:
    >>> docs = render(Path("deploy/k8s/overlays/gpu"))  # doctest: +SKIP
    >>> sorted({d["kind"] for d in docs})  # doctest: +SKIP
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]


class RenderError(RuntimeError):
    """`kubectl kustomize` refused a kustomization, or its output is not Kubernetes objects."""


class KubectlMissing(RenderError):
    """No `kubectl` on PATH (`make deploy-check` installs it)."""


def kubectl() -> str:
    """The path of `kubectl`.

    Raises:
        KubectlMissing: when it is not on PATH.
    """
    path = shutil.which("kubectl")
    if path is None:
        raise KubectlMissing("kubectl not found on PATH (make deploy-check installs it)")
    return path


def kustomize(directory: Path) -> str:
    """What `kubectl kustomize DIRECTORY` prints: the YAML `kubectl apply -k` would send.

    Args:
        directory: a folder with a kustomization file.

    Returns:
        The rendered YAML stream.

    Raises:
        RenderError: with kustomize's own message when it fails.
    """
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RenderError(f"kubectl kustomize {directory}: {_kubectl_error(result.stderr)}")
    return result.stdout


def _kubectl_error(stderr: str) -> str:
    """kubectl's error message without its log prefix (`E1203 … "command failed" err="…"`)."""
    lines = stderr.strip().splitlines()
    if not lines:
        return "failed"
    found = re.search(r'err="(.*)"$', lines[0])
    return found.group(1) if found else lines[0]


def render(directory: Path) -> list[Manifest]:
    """The objects `kubectl apply -k DIRECTORY` would send, in kustomize's order.

    Args:
        directory: a folder with a kustomization file.

    Returns:
        The rendered objects.

    Raises:
        RenderError: when kustomize fails or prints something that is not an object.
    """
    return parse_documents(kustomize(directory), f"kubectl kustomize {directory}")


def load_yaml_documents(path: Path) -> list[Manifest]:
    """Every Kubernetes object of a YAML file (a manifest applied with `kubectl apply -f`).

    Args:
        path: a YAML file.

    Returns:
        The objects in file order.

    Raises:
        RenderError: on invalid YAML or a document that is not an object.
    """
    return parse_documents(path.read_text(encoding="utf-8"), str(path))


def parse_documents(text: str, where: str) -> list[Manifest]:
    """The non-empty documents of a YAML stream, each required to be a Kubernetes object."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise RenderError(f"{where}: invalid YAML: {exc}") from exc
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or "kind" not in doc or "metadata" not in doc:
            raise RenderError(f"{where}: document {i + 1} is not a Kubernetes object")
    return docs


def pod_spec(doc: Manifest) -> dict[str, Any] | None:
    """The pod spec inside a workload object (Deployment, StatefulSet, Job, CronJob, Pod).

    Args:
        doc: a Kubernetes object.

    Returns:
        Its pod spec, or None for objects that run no pods.
    """
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return (spec.get("template") or {}).get("spec")
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        return (job.get("template") or {}).get("spec")
    return None


def containers_of(doc: Manifest) -> list[dict[str, Any]]:
    """Every container and init container of a workload object (empty for other objects)."""
    spec = pod_spec(doc)
    if spec is None:
        return []
    return [*spec.get("initContainers", []), *spec.get("containers", [])]
