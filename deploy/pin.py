"""Pin every image of the deployment by digest, read from the registry (`make deploy-pin-images`).

Juris's own images exist only once the operator has built and pushed them, and the others are
pulled from the operator's mirror: their digests are read from that registry with the first of
`crane digest`, `skopeo inspect --raw` or `docker buildx imagetools inspect` on PATH, never
written by hand. For each overlay an operator applies, every `images:` entry gets the digest of
`<newName or name>:<newTag>` (the tag stays: kustomize renders `name:tag@sha256:…` and the
kubelet pulls by the digest), and `components/unpinned-images` leaves the overlay. Every
`name:tag@sha256:…` reference already in the Dockerfiles and in `k8s/tools/` is refreshed.
Run again after each push to refresh.

Example:
    >>> pin_images(Path("deploy"), resolver("crane"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

Resolve = Callable[[str], str]

TOOLS = ("crane", "skopeo", "docker")
OVERLAYS = (
    "k8s/overlays/gpu",
    "k8s/overlays/cpu",
    "k8s/overlays/gpu/bulk-build",
    "k8s/overlays/cpu/bulk-build",
)
UNPINNED = re.compile(r"^\s*- (?:\.\./)+components/unpinned-images\s*$")
PINNED_REF = re.compile(r"(?P<ref>[\w.:/-]+?:[\w][\w.-]*)@sha256:[0-9a-f]{64}")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class PinError(RuntimeError):
    """No tool to read digests with, a registry that does not answer, or an entry without tag."""


def resolver(tool: str | None = None) -> Resolve:
    """A function from `repository:tag` to its digest, asking the registry with `tool`.

    Args:
        tool: `crane`, `skopeo` or `docker`; None takes the first of them on PATH.

    Returns:
        The resolver. It returns the digest of what the tag points to: for a multi-platform
        image the digest of its index, so every node pulls its own platform.

    Raises:
        PinError: when the tool (or, with None, every tool) is missing.
    """
    candidates = [tool] if tool else list(TOOLS)
    for name in candidates:
        path = shutil.which(name)
        if path:
            return lambda ref: _ask(name, path, ref)
    raise PinError(
        f"none of {', '.join(candidates)} found on PATH: one of them reads the digests "
        "from the registry (and the registry must be reachable from here)"
    )


def _ask(tool: str, path: str, ref: str) -> str:
    commands = {
        "crane": [path, "digest", ref],
        "skopeo": [path, "inspect", "--raw", f"docker://{ref}"],
        "docker": [path, "buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}"],
    }
    result = subprocess.run(commands[tool], capture_output=True, timeout=300, check=False)
    if result.returncode != 0:
        error = result.stderr.decode(errors="replace").strip()
        raise PinError(f"{tool} could not read the digest of {ref}: {error}")
    if tool == "skopeo":  # a manifest's digest is the SHA-256 of its bytes
        digest = "sha256:" + hashlib.sha256(result.stdout).hexdigest()
    elif tool == "docker":
        digest = json.loads(result.stdout)["digest"]
    else:
        digest = result.stdout.decode().strip()
    if not DIGEST.match(digest):
        raise PinError(f"{tool} answered {digest!r} for {ref}, not a sha256 digest")
    return digest


def pin_kustomization(text: str, resolve: Resolve) -> tuple[str, list[str]]:
    """A kustomization with every `images:` entry pinned, and without `unpinned-images`.

    Args:
        text: the kustomization.yaml (comments and layout are kept).
        resolve: `repository:tag` -> digest.

    Returns:
        The new text, and one line per image pinned (`ref -> digest`).

    Raises:
        PinError: for an entry without `newTag` (the tag is what gets pinned).
    """
    lines = text.splitlines(keepends=True)
    pinned: list[str] = []
    entries = _image_entries(lines)
    for start, end in reversed(entries):
        keys = {}
        for i in range(start, end):
            found = re.match(r"^\s*-?\s*(name|newName|newTag|digest):\s*(\S+)", lines[i])
            if found:
                keys[found.group(1)] = (i, found.group(2).strip("'\""))
        if "newTag" not in keys:
            raise PinError(f"images entry {keys['name'][1]!r} has no newTag: the tag to pin")
        ref = f"{keys.get('newName', keys['name'])[1]}:{keys['newTag'][1]}"
        digest = resolve(ref)
        indent = re.match(r"^\s*", lines[keys["newTag"][0]]).group(0)  # type: ignore[union-attr]
        line = f"{indent}digest: {digest}\n"
        if "digest" in keys:
            lines[keys["digest"][0]] = line
        else:
            lines.insert(keys["newTag"][0] + 1, line)
        pinned.append(f"{ref} -> {digest}")
    out = _drop_unpinned_component(lines)
    return "".join(out), sorted(pinned)


def _image_entries(lines: list[str]) -> list[tuple[int, int]]:
    """`(first line, end)` of each entry of the top-level `images:` list."""
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip() == "images:")
    except StopIteration:
        return []
    entries: list[tuple[int, int]] = []
    i = start + 1
    while i < len(lines) and (lines[i].startswith((" ", "#")) or not lines[i].strip()):
        if re.match(r"^\s*- name:", lines[i]):
            if entries:
                entries[-1] = (entries[-1][0], i)
            entries.append((i, i + 1))
        elif entries and lines[i].strip() and not lines[i].lstrip().startswith("#"):
            entries[-1] = (entries[-1][0], i + 1)
        i += 1
    return entries


def _drop_unpinned_component(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if UNPINNED.match(line):
            while out and out[-1].lstrip().startswith("#") and "deploy-pin-images" in out[-1]:
                out.pop()  # the comment that said this line would go
            continue
        out.append(line)
    # `components:` with no entry left goes too
    for i, line in enumerate(out):
        if line.rstrip() == "components:":
            j = i + 1
            while j < len(out) and (out[j].startswith((" ", "#")) or not out[j].strip()):
                j += 1
            if not any(x.lstrip().startswith("- ") for x in out[i + 1 : j]):
                del out[i:j]
            break
    return out


def refresh_references(text: str, resolve: Resolve) -> tuple[str, list[str]]:
    """Every `repository:tag@sha256:…` in a file, with the digest the tag points to now."""
    pinned: list[str] = []

    def repin(match: re.Match[str]) -> str:
        digest = resolve(match.group("ref"))
        pinned.append(f"{match.group('ref')} -> {digest}")
        return f"{match.group('ref')}@{digest}"

    return PINNED_REF.sub(repin, text), pinned


def pin_images(deploy_dir: Path, resolve: Resolve) -> list[str]:
    """Pin the overlays' images and refresh the pinned references under `deploy_dir`.

    Args:
        deploy_dir: the `deploy/` folder.
        resolve: `repository:tag` -> digest (see `resolver`).

    Returns:
        One line per file changed, naming what was pinned.
    """
    changes: list[str] = []
    jobs: list[tuple[Path, Callable[[str, Resolve], tuple[str, list[str]]]]] = [
        (deploy_dir / o / "kustomization.yaml", pin_kustomization) for o in OVERLAYS
    ]
    jobs += [(p, refresh_references) for p in sorted((deploy_dir / "k8s" / "tools").glob("*.yaml"))]
    jobs += [(p, refresh_references) for p in sorted((deploy_dir / "docker").glob("*.Dockerfile"))]
    cache: dict[str, str] = {}

    def cached(ref: str) -> str:
        if ref not in cache:
            cache[ref] = resolve(ref)
        return cache[ref]

    for path, pin in jobs:
        text = path.read_text(encoding="utf-8")
        new, pinned = pin(text, cached)
        if new != text:
            path.write_text(new, encoding="utf-8")
        if pinned:
            changes.append(f"{path.relative_to(deploy_dir.parent)}: " + "; ".join(pinned))
    return changes
