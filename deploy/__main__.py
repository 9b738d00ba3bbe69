"""`python -m deploy check`: every check of the deployment, offline (`make deploy-check`).

python -m deploy check                     # everything below; non-zero on any problem
python -m deploy check --kube-version 1.33 --profile gpu deploy/k8s/overlays/gpu
python -m deploy pin-images                # digests from the registry into the overlays
kubectl kustomize deploy/k8s/overlays/gpu > gpu.yaml   # what `kubectl apply -k` sends

In order: `kubectl kustomize` renders every kustomization under deploy/k8s; kubernetes-validate
checks each object against the Kubernetes API schemas; `deploy.policy` checks Juris's own rules
(network flows, Qdrant keys, the gateway, jobs); checkov scans the objects each namespace gets
and the Dockerfiles; `deploy.dockerfile` checks Juris's own Dockerfile rules; vLLM's parser reads
the vLLM Deployment's arguments; each image holds every project module its code imports, and
every module imports with only the image's files (`deploy.image`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from deploy.checkov import Scan, scan
from deploy.dockerfile import lint_dockerfile
from deploy.image import image_contents, import_failures, missing_imports
from deploy.manifests import (
    Manifest,
    RenderError,
    containers_of,
    kustomize,
    load_yaml_documents,
    parse_documents,
)
from deploy.pin import PinError, pin_images, resolver
from deploy.policy import Profile, check
from deploy.vllm_args import vllm_args_problems

ROOT = Path(__file__).resolve().parent
K8S = ROOT / "k8s"
# The kustomizations an operator applies, with their policy profile.
OVERLAYS: dict[str, Profile] = {
    "overlays/gpu": "gpu",
    "overlays/cpu": "cpu",
    "overlays/gpu/bulk-build": "bulk-build",
    "overlays/cpu/bulk-build": "bulk-build",
}
# What one namespace holds, for checkov (its graph checks, such as "every pod has a
# NetworkPolicy", need the objects that are applied together): an overlay, its bulk build and,
# in production, the loader pod.
NAMESPACES = {
    "juris-gpu.yaml": ["overlays/gpu", "overlays/gpu/bulk-build", "tools/pvc-loader.yaml"],
    "juris-cpu.yaml": ["overlays/cpu", "overlays/cpu/bulk-build"],
}
TOOLS = ("tools/pvc-loader.yaml",)
KUBE_VERSIONS = ("1.30", "1.33")
DOCKERFILES = ("docker/gateway.Dockerfile", "docker/indexer.Dockerfile")


def profile_of(overlay: Path) -> Profile:
    """The policy profile of an overlay directory (by its path under deploy/k8s)."""
    rel = overlay.resolve().relative_to(K8S).as_posix()
    if rel not in OVERLAYS:
        raise SystemExit(f"{overlay}: not one of the overlays {sorted(OVERLAYS)}")
    return OVERLAYS[rel]


def kustomizations() -> list[Path]:
    """Every kustomization directory under deploy/k8s but components (rendered by their users)."""
    out = []
    for kfile in sorted(K8S.rglob("kustomization.yaml")):
        if "kind: Component" not in kfile.read_text(encoding="utf-8"):
            out.append(kfile.parent)
    return out


def schema_errors(docs: list[Manifest], version: str) -> list[str]:
    """Strict schema validation of every object with kubernetes-validate.

    Args:
        docs: rendered objects.
        version: a Kubernetes version kubernetes-validate bundles (e.g. `1.33`).

    Returns:
        One message per invalid object.
    """
    import kubernetes_validate

    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            name = f"{doc['kind']}/{doc['metadata'].get('name')}"
            errors.append(f"{name} (Kubernetes {version}): {str(exc).splitlines()[0]}")
    return errors


class Report:
    """Prints one line per check and counts the problems."""

    def __init__(self) -> None:
        self.problems = 0

    def add(self, what: str, problems: list[str], detail: str = "") -> None:
        """Print `what`: ok (or its problems, one per line) and count them."""
        self.problems += len(problems)
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(f"{what}: {detail + ', ' if detail else ''}{status}", flush=True)
        for problem in problems:
            print(f"  {problem}", flush=True)

    def run(self, what: str, step: Callable[[], list[str]]) -> None:
        """Run a step that may fail as a whole (a missing tool): that is one problem."""
        try:
            problems = step()
        except (RenderError, RuntimeError, OSError, ValueError, subprocess.SubprocessError) as exc:
            problems = [str(exc)]
        self.add(what, problems)


def check_overlay(report: Report, overlay: Path, profile: Profile, versions: list[str]) -> None:
    """Render one overlay with kubectl, then its schemas and Juris's policy."""
    name = (
        overlay.resolve().relative_to(K8S).as_posix()
        if overlay.resolve().is_relative_to(K8S)
        else str(overlay)
    )
    try:
        docs = parse_documents(kustomize(overlay), str(overlay))
    except RenderError as exc:
        report.add(f"render   {name}", [str(exc)])
        return
    report.add(f"render   {name}", [], f"{len(docs)} objects")
    problems = [str(v) for v in check(docs, profile)]
    for version in versions:
        problems += schema_errors(docs, version)
    report.add(f"policy   {name} (schemas {', '.join(versions)})", problems)


def checkov_step(report: Report) -> None:
    """checkov over every namespace's objects and the Dockerfiles, in one run."""

    def run() -> list[str]:
        manifests = {}
        for file, parts in NAMESPACES.items():
            texts = []
            for part in parts:
                path = K8S / part
                texts.append(
                    path.read_text(encoding="utf-8") if path.is_file() else kustomize(path)
                )
            manifests[file] = "\n---\n".join(texts)
        result: Scan = scan(manifests, [ROOT / d for d in DOCKERFILES])
        print(
            f"checkov  {', '.join(NAMESPACES)}, {', '.join(Path(d).name for d in DOCKERFILES)}: "
            f"{result.passed} passed, {len(result.failed)} failed, {len(result.skipped)} skipped",
            flush=True,
        )
        # Skips are inline, each with its reason: list them, one line per check and reason.
        grouped: dict[tuple[str, str], list[str]] = {}
        for finding in result.skipped:
            grouped.setdefault((finding.check_id, finding.reason), []).append(finding.resource)
        for (check_id, reason), resources in sorted(grouped.items()):
            print(f"  skipped {check_id} on {len(resources)} resource(s): {reason}", flush=True)
        return [*map(str, result.failed), *(f"parse error: {p}" for p in result.parsing_errors)]

    report.run("checkov", run)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="every check; non-zero on any problem")
    p_check.add_argument("overlays", type=Path, nargs="*", help="only these overlays")
    p_check.add_argument("--kube-version", action="append", dest="versions")
    p_check.add_argument(
        "--profile", choices=["gpu", "cpu", "bulk-build"], help="policy profile of OVERLAYS"
    )
    p_pin = sub.add_parser("pin-images", help="pin every image by the digest the registry gives")
    p_pin.add_argument("--tool", choices=["crane", "skopeo", "docker"], help="default: first found")
    p_pin.add_argument("--deploy-dir", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.command == "pin-images":
        return pin_command(args.deploy_dir, args.tool)
    report = Report()
    versions = args.versions or list(KUBE_VERSIONS)
    if args.overlays:
        for overlay in args.overlays:
            check_overlay(report, overlay, args.profile or profile_of(overlay), versions)
        print(f"{report.problems} problem(s)")
        return 1 if report.problems else 0

    for directory in kustomizations():
        rel = directory.relative_to(K8S).as_posix()
        if rel in OVERLAYS:
            check_overlay(report, directory, OVERLAYS[rel], versions)
        else:
            try:
                count = len(parse_documents(kustomize(directory), rel))
                report.add(f"render   {rel}", [], f"{count} objects")
            except RenderError as exc:
                report.add(f"render   {rel}", [str(exc)])
    for tool in TOOLS:
        docs = load_yaml_documents(K8S / tool)
        report.add(f"schemas  {tool}", [e for v in versions for e in schema_errors(docs, v)])
    checkov_step(report)
    for rel in DOCKERFILES:
        report.add(f"lint     {rel}", lint_dockerfile(ROOT / rel))
    report.run(
        "vllm     Deployment/vllm args (vLLM's parser)",
        lambda: vllm_args_problems(parse_documents(kustomize(K8S / "overlays/gpu"), "gpu")),
    )
    for rel in DOCKERFILES:
        report.run(f"image    {rel} (imports)", partial(image_problems, ROOT / rel))
    print(f"{report.problems} problem(s)")
    return 1 if report.problems else 0


def pin_command(deploy_dir: Path, tool: str | None) -> int:
    """`pin-images`: write the digests, then show that every rendered image carries one."""
    try:
        changes = pin_images(deploy_dir, resolver(tool))
    except PinError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for change in changes:
        print(f"pinned   {change}")
    unpinned = []
    for overlay in OVERLAYS:
        for doc in parse_documents(kustomize(deploy_dir / "k8s" / overlay), overlay):
            for container in containers_of(doc):
                if "@sha256:" not in container["image"]:
                    unpinned.append(f"{overlay}: {container['image']} has no images: entry")
    for line in unpinned:
        print(f"error: {line}", file=sys.stderr)
    return 1 if unpinned else 0


def image_problems(dockerfile: Path) -> list[str]:
    """Imports the image of `dockerfile` cannot satisfy, found by reading and by importing."""
    contents = image_contents(dockerfile)
    left_out = ", ".join(sorted(contents.left_out)) or "nothing"
    print(
        f"image    {dockerfile.relative_to(ROOT)}: {len(contents.files)} files, "
        f"{len(contents.modules())} modules; left out by name: {left_out}",
        flush=True,
    )
    return missing_imports(contents) + import_failures(contents)


if __name__ == "__main__":
    sys.exit(main())
