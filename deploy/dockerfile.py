"""Juris's own rules for its Dockerfiles, offline (no Docker engine is needed or used).

checkov scans the Dockerfiles for the standard rules (a non-root last `USER`, a `HEALTHCHECK`,
no `latest` base, no `sudo`, …: `deploy.checkov`); these are the rules it has none for.
`lint_dockerfile(path)` parses a Dockerfile (continuation lines, `ARG` defaults substituted into
`FROM` and `RUN`) and returns one message per broken rule, naming the file and line:

- at least two stages (multi-stage: build tools stay out of the runtime image);
- every base image pinned by digest (a tag can be moved; checkov only refuses `latest`);
- every `pip install` names exact versions (`name==version`), local paths, or the project
  itself (`.` / `.[extras]`, whose dependencies `pyproject.toml` pins);
- the final stage sets `HF_HUB_OFFLINE=1` (no model download at run time).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

PIP_OPTIONS_WITH_VALUE = frozenset(
    {
        "-i",
        "--index-url",
        "--extra-index-url",
        "-c",
        "--constraint",
        "-f",
        "--find-links",
        "--target",
        "-t",
        "--prefix",
        "--root",
        "--platform",
        "--python-version",
        "--only-binary",
        "--no-binary",
    }
)


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: keyword (upper case), its argument text, its first line."""

    keyword: str
    value: str
    line: int


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined, comments dropped.

    Args:
        text: the Dockerfile's content.

    Returns:
        The instructions in order.
    """
    out: list[Instruction] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not buffer and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buffer and line.lstrip().startswith("#"):
            continue
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer.append(line[:-1])
            continue
        buffer.append(line)
        joined = " ".join(part.strip() for part in buffer)
        buffer = []
        keyword, _, value = joined.partition(" ")
        out.append(Instruction(keyword.upper(), value.strip(), start))
    return out


def _substitute(value: str, args: dict[str, str]) -> str:
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)",
        lambda m: args.get(m.group(1) or m.group(2), m.group(0)),
        value,
    )


def image_pinned(image: str) -> bool:
    """Whether a base image reference is pinned by digest.

    Args:
        image: e.g. `python:3.11.14-slim-bookworm@sha256:65a9…`.

    Returns:
        True for a reference with a full SHA-256 digest.
    """
    return re.search(r"@sha256:[0-9a-f]{64}$", image) is not None


def _pip_requirements(command: str) -> list[str]:
    """The requirement arguments of every `pip install` in a shell command."""
    reqs: list[str] = []
    for part in re.split(r"&&|\|\||;", command):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        for i, word in enumerate(words):
            if word == "install" and i > 0 and words[i - 1].endswith("pip"):
                skip = False
                for arg in words[i + 1 :]:
                    if skip:
                        skip = False
                    elif arg in PIP_OPTIONS_WITH_VALUE:
                        skip = True
                    elif not arg.startswith("-"):
                        reqs.append(arg)
    return reqs


def _requirement_pinned(req: str) -> bool:
    if re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[A-Za-z0-9_.+\-]+", req):
        return True
    return req.startswith((".", "/")) and "$" not in req


def lint_dockerfile(path: Path) -> list[str]:
    """Every rule the Dockerfile at `path` breaks.

    Args:
        path: a Dockerfile.

    Returns:
        Messages `path:line: problem`, empty when the file complies.
    """
    instructions = parse_dockerfile(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    args: dict[str, str] = {}
    stages: list[str] = []
    stage_env: dict[int, str] = {}
    for ins in instructions:
        if ins.keyword == "ARG":
            name, _, default = ins.value.partition("=")
            if default:
                args.setdefault(name.strip(), default.strip().strip('"'))
        elif ins.keyword == "FROM":
            words = _substitute(ins.value, args).split()
            words = [w for w in words if not w.startswith("--platform")]
            image = words[0] if words else ""
            if image not in stages and image != "scratch" and not image_pinned(image):
                problems.append(f"{path}:{ins.line}: base image {image!r} is not pinned by digest")
            stages.append(words[2] if len(words) >= 3 and words[1].upper() == "AS" else image)
        elif ins.keyword == "ENV":
            stage_env[len(stages) - 1] = stage_env.get(len(stages) - 1, "") + " " + ins.value
        elif ins.keyword == "RUN":
            for req in _pip_requirements(_substitute(ins.value, args)):
                if not _requirement_pinned(req):
                    problems.append(f"{path}:{ins.line}: pip requirement {req!r} is not pinned")
    if len(stages) < 2:
        problems.append(f"{path}: a multi-stage build needs at least two stages")
    final = len(stages) - 1
    if not re.search(r"\bHF_HUB_OFFLINE=1\b", stage_env.get(final, "")):
        problems.append(f"{path}: the final stage does not set HF_HUB_OFFLINE=1")
    return problems
