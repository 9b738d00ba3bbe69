"""The house rules of imports, checked on the source of every product module.

Product packages import downwards only: `legal_corpus ← indexing ← serving ← training`
(`deploy` stands apart and imports none of them). Lab code (`legal_corpus.lab`,
`indexing.eval`, `serving.lab`, `training.lab`) may use the product, but the product never
imports the lab, except the command lines that dispatch to it. Every `import`, `from … import` and
`importlib.import_module("…")` counts, at module level or inside a function. Product
modules must also import without the evaluation lab's libraries (the `eval` extra, which the
container images leave out).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]

# package -> the project packages its modules may import
MAY_IMPORT = {
    "legal_corpus": {"legal_corpus"},
    "indexing": {"legal_corpus", "indexing"},
    "serving": {"legal_corpus", "indexing", "serving"},
    "training": {"legal_corpus", "indexing", "serving", "training"},
    "deploy": {"deploy"},
}
LAB = ("legal_corpus.lab", "indexing.eval", "serving.lab", "training.lab")
# the command lines that run lab commands (`python -m indexing report`, `python -m serving demo`)
DISPATCHERS = {
    "legal_corpus.cli",
    "legal_corpus.citations.__main__",
    "indexing.cli",
    "serving.__main__",
    "training.cli",
}
EVAL_LIBRARIES = ("bm25s", "Stemmer", "ir_measures", "pytrec_eval", "matplotlib")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for package in MAY_IMPORT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, path))
    return found


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports: `(line, dotted name)`."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            # `from indexing import build` imports the module indexing.build
            out += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            out.append((node.lineno, node.args[0].value))
    return out


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def test_product_packages_import_downwards_only():
    wrong = []
    for name, path in _modules():
        allowed = MAY_IMPORT[name.split(".")[0]]
        for line, target in _imports(path):
            top = target.split(".")[0]
            if top in MAY_IMPORT and top not in allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "imports against legal_corpus ← indexing ← serving ← training:\n" + "\n".join(
        wrong
    )


def test_the_product_does_not_import_the_lab():
    wrong = []
    for name, path in _modules():
        if any(_in(name, lab) for lab in LAB) or name in DISPATCHERS:
            continue
        for line, target in _imports(path):
            if any(_in(target, lab) for lab in LAB):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "product modules importing lab code:\n" + "\n".join(wrong)


def test_product_modules_import_without_the_eval_libraries():
    names = [
        name
        for name, _ in _modules()
        if not any(_in(name, lab) for lab in LAB) and not name.endswith("__main__")
    ]
    script = (
        "import importlib, sys\n"
        f"for lib in {EVAL_LIBRARIES!r}:\n"
        "    sys.modules[lib] = None  # importing it raises ImportError\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
