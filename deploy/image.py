"""What an image built from one of Juris's Dockerfiles holds, and whether its code imports.

The files an image gets are those its Dockerfile's `COPY` instructions take from the build
context, which the Dockerfile's `.dockerignore` filters (BuildKit reads
`<name>.Dockerfile.dockerignore` beside it). The rules of `.dockerignore` are Docker's own, as
docker-py implements them (`docker.utils.build.exclude_paths`, in `.venv-deploy`). Two checks
run on the Python modules among those files, without a Docker engine:

- `missing_imports`: every `import` of a project package in every module — inside functions
  too — names a module the image holds. An import inside a function may name a module the
  `.dockerignore` leaves out by name (the developer harness: the command that needs it is not
  run in the image);
- `import_failures`: every module imports in a fresh interpreter whose `sys.path` holds only
  the copied tree and the site-packages of `.venv` (no repository, no `.pth` files).

Example:
    >>> contents = image_contents(Path("deploy/docker/gateway.Dockerfile"))  # doctest: +SKIP
    >>> missing_imports(contents), import_failures(contents)  # doctest: +SKIP
    ([], [])
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deploy.dockerfile import parse_dockerfile

REPO = Path(__file__).resolve().parents[1]
TOOLS_PYTHON = REPO / ".venv-deploy" / "bin" / "python"
# docker-py's reading of a .dockerignore (docker/api/build.py) and its matcher.
CONTEXT_SCRIPT = """
import json, sys
from docker.utils.build import exclude_paths
print(json.dumps(sorted(exclude_paths(sys.argv[1], json.loads(sys.argv[2])))))
"""
IMPORT_SCRIPT = """
import importlib, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
failures = []
for name in json.loads(sys.argv[3]):
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
print(json.dumps(failures))
"""


class ToolsMissing(RuntimeError):
    """No `.venv-deploy` with docker-py (`make deploy-check` creates it)."""


@dataclass(frozen=True)
class ImageContents:
    """The project files an image holds (repository-relative), and those left out by name."""

    dockerfile: Path
    files: frozenset[str]
    left_out: frozenset[str]

    def modules(self) -> dict[str, str]:
        """Module name -> file, for every Python module of a package the image holds."""
        return _modules(self.files)


def dockerignore_patterns(dockerfile: Path) -> list[str]:
    """The patterns of `<dockerfile>.dockerignore`, read as docker-py reads a `.dockerignore`."""
    path = dockerfile.with_name(dockerfile.name + ".dockerignore")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def build_context(patterns: list[str], root: Path = REPO) -> set[str]:
    """The files of `root` a build sends with these `.dockerignore` patterns (docker-py).

    Raises:
        ToolsMissing: when `.venv-deploy` is not there.
    """
    if not TOOLS_PYTHON.is_file():
        raise ToolsMissing(f"{TOOLS_PYTHON} not found (make deploy-check creates .venv-deploy)")
    result = subprocess.run(
        [str(TOOLS_PYTHON), "-c", CONTEXT_SCRIPT, str(root), json.dumps(patterns)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {p for p in json.loads(result.stdout) if (root / p).is_file()}


def image_contents(dockerfile: Path, root: Path = REPO) -> ImageContents:
    """The project files the image of `dockerfile` holds: its `COPY` sources, in the context.

    Args:
        dockerfile: a Dockerfile built from `root` (`docker build -f DOCKERFILE ROOT`).
        root: the build context.

    Returns:
        The files copied in, and the project files the `.dockerignore` names to leave out.

    Raises:
        ValueError: when a `COPY` source is not in the build context.
    """
    patterns = dockerignore_patterns(dockerfile)
    context = build_context(patterns, root)
    files: set[str] = set()
    for ins in parse_dockerfile(dockerfile.read_text(encoding="utf-8")):
        if ins.keyword not in ("COPY", "ADD"):
            continue
        words = shlex.split(ins.value)
        if any(w.startswith("--from") for w in words):
            continue  # from another stage, not from the context
        sources = [w for w in words if not w.startswith("--")][:-1]
        for source in sources:
            source = source.rstrip("/").removeprefix("./")
            hits = {
                f
                for f in context
                if f == source or f.startswith(source + "/") or fnmatch.fnmatch(f, source)
            }
            if not hits:
                raise ValueError(
                    f"{dockerfile}:{ins.line}: COPY {source!r} matches nothing in the build "
                    "context (see its .dockerignore)"
                )
            files |= hits
    named = [p.rstrip("/") for p in patterns if not p.startswith("!") and not set(p) & set("*?[")]
    left_out = {f for f in _project_files(root) for n in named if f == n or f.startswith(n + "/")}
    return ImageContents(dockerfile, frozenset(files), frozenset(left_out - files))


def _project_files(root: Path) -> set[str]:
    """The `.py` files of the repository's packages (not its virtual environments)."""
    return {
        str(p.relative_to(root))
        for pkg in project_packages(root)
        for p in (root / pkg).rglob("*.py")
    }


def _modules(files: frozenset[str] | set[str]) -> dict[str, str]:
    """Module name -> file for the `.py` files that sit in packages (folders with __init__.py)."""
    out = {}
    for f in files:
        if not f.endswith(".py"):
            continue
        parts = f[: -len(".py")].split("/")
        packages = ["/".join(parts[:i]) + "/__init__.py" for i in range(1, len(parts))]
        if len(parts) < 2 or not all(p in files for p in packages):
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = f
    return out


def project_packages(root: Path = REPO) -> set[str]:
    """The repository's top-level packages (`legal_corpus`, `indexing`, `serving`, …)."""
    return {p.parent.name for p in root.glob("*/__init__.py")}


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, int, bool, bool]]:
    """`(name, line, inside a function, a module for sure)` for every import of a module.

    `from X import a` gives `X` (a module) and `X.a` (a submodule, or a name defined in `X`).
    """
    out: list[tuple[str, int, bool, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                out.extend((a.name, child.lineno, in_function, True) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module if is_package else module.rpartition(".")[0]
                    for _ in range(child.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                out.append((base, child.lineno, in_function, True))
                out.extend(
                    (f"{base}.{a.name}", child.lineno, in_function, False) for a in child.names
                )
            visit(child, nested)

    visit(tree, False)
    return out


def missing_imports(contents: ImageContents, root: Path = REPO) -> list[str]:
    """Imports of project modules the image does not hold, as `file:line: message`.

    Args:
        contents: what the image holds.
        root: the repository (to tell a submodule from a name imported from a module).

    Returns:
        One message per import of a project module that is not in the image; an import inside
        a function may name a module the `.dockerignore` leaves out by name.
    """
    packages = project_packages(root)
    held = contents.modules()
    repo_modules = _modules(_project_files(root))
    left_out = set(_modules(set(contents.left_out) | set(contents.files))) - set(held)
    problems = []
    for module, file in sorted(held.items()):
        tree = ast.parse((root / file).read_text(encoding="utf-8"), filename=file)
        for name, line, lazy, is_module in _imports(tree, module, file.endswith("__init__.py")):
            if name.split(".")[0] not in packages or name in held:
                continue
            if not is_module and name not in repo_modules:
                continue  # a name defined in the module it is imported from (checked on its own)
            if lazy and name in left_out:
                continue
            where = "left out by the .dockerignore" if name in left_out else "not copied"
            problems.append(f"{file}:{line}: imports {name}, {where} in {contents.dockerfile.name}")
    return problems


def import_failures(contents: ImageContents, python: Path | None = None) -> list[str]:
    """Modules of the image that fail to import with only the image's files and site-packages.

    Args:
        contents: what the image holds.
        python: the interpreter whose site-packages stand for the image's (`.venv`'s by default).

    Returns:
        `module: error` for every module that does not import.
    """
    python = python or Path(sys.executable)
    site_packages = subprocess.run(
        [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="juris-image-") as tree:
        for rel in contents.files:
            dest = Path(tree) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / rel, dest)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tree,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "DO_NOT_TRACK": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
        # -I: no repository, no PYTHONPATH, no user site; -S: no site-packages .pth files (the
        # editable install of the repository among them); the script adds site-packages itself.
        modules = json.dumps(sorted(contents.modules()))
        result = subprocess.run(
            [str(python), "-I", "-S", "-c", IMPORT_SCRIPT, tree, site_packages, modules],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tree,
            env=env,
            check=False,
        )
    if result.returncode != 0:
        return [f"the import check itself failed: {result.stderr.strip()[-2000:]}"]
    failures: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return failures
