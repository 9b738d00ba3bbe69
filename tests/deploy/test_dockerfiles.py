"""The container build files follow Juris's own rules (parsed offline: there is no Docker engine);
checkov's standard Dockerfile rules are in test_checkov.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.dockerfile import image_pinned, lint_dockerfile, parse_dockerfile

pytestmark = pytest.mark.unit

DOCKER = Path(__file__).resolve().parents[2] / "deploy" / "docker"
DIGEST = "sha256:" + "0123456789abcdef" * 4
GOOD = f"""\
ARG BASE=python:3.11.14-slim-bookworm@{DIGEST}
FROM ${{BASE}} AS build
ARG TORCH=2.13.0
RUN pip install --index-url https://example.invalid/cpu torch==${{TORCH}} \\
 && pip install ".[serving]"
FROM ${{BASE}}
COPY --from=build /opt/venv /opt/venv
ENV HF_HUB_OFFLINE=1
USER 10001:10001
"""


@pytest.mark.parametrize("name", ["gateway.Dockerfile", "indexer.Dockerfile"])
def test_project_dockerfiles_pass(name: str) -> None:
    path = DOCKER / name
    assert lint_dockerfile(path) == []
    instructions = parse_dockerfile(path.read_text(encoding="utf-8"))
    froms = [i.value.split() for i in instructions if i.keyword == "FROM"]
    assert [f[-1] for f in froms] == ["build", "runtime"]
    assert froms[0][0] == froms[1][0]  # both stages on the same pinned base
    assert froms[0][0].startswith("python:3.11.14-slim-bookworm@sha256:")
    runs = " ".join(i.value for i in instructions if i.keyword == "RUN")
    # CPU torch pinned and installed before the project extras
    assert runs.index("torch==${TORCH_VERSION}") < runs.index(".[serving,indexing,rulings]")
    assert (DOCKER / f"{name}.dockerignore").is_file()


def test_good_example_passes(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(GOOD, encoding="utf-8")
    assert lint_dockerfile(path) == []


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (f"@{DIGEST}", "", "is not pinned by digest"),
        ("torch==${TORCH}", "torch", "pip requirement 'torch' is not pinned"),
        ("torch==${TORCH}", "torch>=2", "is not pinned"),
        ("ENV HF_HUB_OFFLINE=1\n", "", "HF_HUB_OFFLINE"),
        ("FROM ${BASE}\nCOPY --from=build /opt/venv /opt/venv\n", "", "two stages"),
    ],
)
def test_lint_bites(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    path = tmp_path / "Dockerfile"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    problems = lint_dockerfile(path)
    assert any(message in p for p in problems), problems
    assert all(p.startswith(str(path)) for p in problems)


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        (f"python:3.11.14-slim-bookworm@{DIGEST}", True),
        (f"python@{DIGEST}", True),
        ("python:3.11.14-slim-bookworm", False),
        ("python@sha256:abc", False),
        ("python:latest", False),
    ],
)
def test_image_pinned(image: str, pinned: bool) -> None:
    assert image_pinned(image) is pinned


def test_the_installed_package_carries_its_fitted_files(tmp_path: Path) -> None:
    # the images `pip install .` (not editable): the bundled model's relevance calibration and
    # learned order, and the question sets the lab commands read, must be in the wheel
    import subprocess
    import sys
    import zipfile

    root = DOCKER.parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted((root / "indexing" / "calibration").glob("*.json")):
        assert f"indexing/calibration/{path.name}" in names
    assert "indexing/eval/benchmarks/doctrine_questions.jsonl" in names
