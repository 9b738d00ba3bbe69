"""The gateway and indexer images hold every project module their code imports: the files the
Dockerfile copies, filtered by its .dockerignore with Docker's rules (docker-py), are read for
imports (inside functions too) and imported in an interpreter that sees only them."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.image import (
    TOOLS_PYTHON,
    ImageContents,
    image_contents,
    import_failures,
    missing_imports,
)

pytestmark = pytest.mark.unit

DOCKER = Path(__file__).resolve().parents[2] / "deploy" / "docker"


@pytest.fixture(autouse=True)
def _docker_py() -> None:
    if not TOOLS_PYTHON.is_file():
        pytest.skip(f"{TOOLS_PYTHON} missing: make deploy-check creates .venv-deploy (docker-py)")


@pytest.fixture(scope="module")
def gateway() -> ImageContents:
    if not TOOLS_PYTHON.is_file():
        pytest.skip(f"{TOOLS_PYTHON} missing")
    return image_contents(DOCKER / "gateway.Dockerfile")


def test_gateway_image_holds_what_the_gateway_imports(gateway: ImageContents) -> None:
    assert {"pyproject.toml", "serving/app.py", "serving/__main__.py"} <= gateway.files
    assert "serving/web/index.html" in gateway.files  # package data goes in too
    assert not any(f.startswith(("training/", "tests/", "deploy/")) for f in gateway.files)
    lab = ("serving/lab/", "indexing/eval/", "legal_corpus/lab/")
    assert not any(f.startswith(lab) for f in gateway.files)  # lab code stays out
    assert "serving/lab/vllm_process.py" in gateway.left_out
    assert missing_imports(gateway) == []
    assert import_failures(gateway) == []


def test_indexer_image_holds_what_the_indexer_imports() -> None:
    indexer = image_contents(DOCKER / "indexer.Dockerfile")
    assert "indexing/cli.py" in indexer.files
    assert missing_imports(indexer) == []
    assert import_failures(indexer) == []


def test_a_module_left_behind_fails_both_checks(gateway: ImageContents) -> None:
    without = ImageContents(
        gateway.dockerfile, gateway.files - {"serving/settings.py"}, gateway.left_out
    )
    assert any("imports serving.settings, not copied" in p for p in missing_imports(without))
    assert any(p.startswith("serving.app: ModuleNotFoundError") for p in import_failures(without))


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_only_a_lazy_import_may_name_a_module_left_out(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/eager.py": "import app.dev\n",
            "app/lazy.py": "def run():\n    from app.dev import tool\n    return tool\n",
            "app/dev.py": "tool = 1\n",
            "Dockerfile": "FROM x@sha256:0\nCOPY app ./app\n",
            "Dockerfile.dockerignore": "*\n!app\napp/dev.py\n",
        },
    )
    contents = image_contents(tmp_path / "Dockerfile", root=tmp_path)
    assert contents.files == {"app/__init__.py", "app/eager.py", "app/lazy.py"}
    assert contents.left_out == {"app/dev.py"}
    assert missing_imports(contents, root=tmp_path) == [
        "app/eager.py:1: imports app.dev, left out by the .dockerignore in Dockerfile"
    ]


def test_a_copy_source_outside_the_context_is_an_error(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/__init__.py": "",
            "Dockerfile": "FROM x@sha256:0\nCOPY app ./app\nCOPY README.md ./\n",
            "Dockerfile.dockerignore": "*\n!app\n",
            "README.md": "",
        },
    )
    with pytest.raises(ValueError, match=r"Dockerfile:3: COPY 'README.md' matches nothing"):
        image_contents(tmp_path / "Dockerfile", root=tmp_path)
