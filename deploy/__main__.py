"""`python -m deploy check`: render every overlay with `kubectl kustomize` and check it offline.

python -m deploy check                                         # every overlay: schemas + policy
python -m deploy check --kube-version 1.33 deploy/k8s/overlays/cpu
kubectl kustomize deploy/k8s/overlays/gpu > gpu.yaml           # what `kubectl apply -k` sends
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deploy.dockerfile import lint_dockerfile
from deploy.manifests import Manifest, RenderError, load_yaml_documents, render
from deploy.policy import Profile, check, check_workloads

ROOT = Path(__file__).resolve().parent
OVERLAYS: dict[str, Profile] = {
    "overlays/gpu": "gpu",
    "overlays/cpu": "cpu",
    "overlays/gpu/bulk-build": "bulk-build",
    "overlays/cpu/bulk-build": "bulk-build",
}
KUBE_VERSIONS = ("1.30", "1.33")
DOCKERFILES = ("docker/gateway.Dockerfile", "docker/indexer.Dockerfile")


def profile_of(overlay: Path) -> Profile:
    """The policy profile of an overlay directory (by its path under deploy/k8s)."""
    rel = overlay.resolve().relative_to(ROOT / "k8s").as_posix()
    if rel not in OVERLAYS:
        raise SystemExit(f"{overlay}: not one of the overlays {sorted(OVERLAYS)}")
    return OVERLAYS[rel]


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


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="validate schemas and policy; non-zero on failure")
    p_check.add_argument("overlays", type=Path, nargs="*")
    p_check.add_argument("--kube-version", action="append", dest="versions")
    p_check.add_argument(
        "--profile", choices=["gpu", "cpu", "bulk-build"], help="policy profile of OVERLAYS"
    )
    args = parser.parse_args(argv)

    overlays = args.overlays or [ROOT / "k8s" / o for o in OVERLAYS]
    failures = 0
    for overlay in overlays:
        try:
            docs = render(overlay)
        except RenderError as exc:
            print(f"FAIL {overlay}: {exc}")
            failures += 1
            continue
        problems = [str(v) for v in check(docs, args.profile or profile_of(overlay))]
        for version in args.versions or KUBE_VERSIONS:
            problems += schema_errors(docs, version)
        failures += len(problems)
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(f"{overlay}: {len(docs)} objects, {status}")
        for problem in problems:
            print(f"  {problem}")
    if not args.overlays:
        loader = load_yaml_documents(ROOT / "k8s" / "tools" / "pvc-loader.yaml")
        problems = [str(v) for v in check_workloads(loader)]
        for version in args.versions or KUBE_VERSIONS:
            problems += schema_errors(loader, version)
        failures += len(problems)
        print(
            f"k8s/tools/pvc-loader.yaml: {'ok' if not problems else f'{len(problems)} problem(s)'}"
        )
        for problem in problems:
            print(f"  {problem}")
        for rel in DOCKERFILES:
            problems = lint_dockerfile(ROOT / rel)
            failures += len(problems)
            print(f"{rel}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
            for problem in problems:
                print(f"  {problem}")
    print(f"{failures} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
