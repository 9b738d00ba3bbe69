"""checkov, the policy scanner operators and security reviews run, on Juris's deployment.

checkov (pinned, in its own environment `.venv-deploy`, which `make deploy-check` creates)
scans the rendered manifests (framework `kubernetes`) and the Dockerfiles (`dockerfile`)
offline. A check that does not apply is skipped on the resource itself, never on the command
line: a `checkov.io/skip<n>: CKV_…=reason` annotation, or a `# checkov:skip=CKV_…: reason`
comment in a Dockerfile; `Scan.skipped` lists them with their reasons.

Example:
    >>> scan({"juris-gpu.yaml": rendered_yaml}, [Path("deploy/docker/gateway.Dockerfile")])
    ... # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TOOLS_VENV = REPO / ".venv-deploy"


class CheckovMissing(RuntimeError):
    """No checkov executable (`make deploy-check` installs it into `.venv-deploy`)."""


@dataclass(frozen=True)
class Finding:
    """One check on one resource: `CKV_K8S_43` on `Deployment.juris.gateway` in `juris-gpu.yaml`."""

    check_id: str
    check_name: str
    resource: str
    file: str
    reason: str = ""

    def __str__(self) -> str:
        why = f" (skipped: {self.reason})" if self.reason else ""
        return f"{self.check_id} {self.resource} in {self.file}: {self.check_name}{why}"


@dataclass
class Scan:
    """What checkov reported, all frameworks together."""

    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    parsing_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No failed check and every file parsed."""
        return not self.failed and not self.parsing_errors


def checkov_executable() -> str:
    """checkov from `.venv-deploy`, else from PATH.

    Raises:
        CheckovMissing: when neither has it.
    """
    local = TOOLS_VENV / "bin" / "checkov"
    if local.is_file():
        return str(local)
    found = shutil.which("checkov")
    if found is None:
        raise CheckovMissing(f"checkov not found in {TOOLS_VENV} or on PATH (make deploy-check)")
    return found


def scan(manifests: dict[str, str], dockerfiles: list[Path] | None = None) -> Scan:
    """Run checkov once over rendered manifests and Dockerfiles.

    Args:
        manifests: file name -> YAML stream (e.g. an overlay as `kubectl kustomize` prints it);
            the names appear in the findings.
        dockerfiles: Dockerfiles to scan with the `dockerfile` framework.

    Returns:
        The passed count, the failed and skipped findings, and the files checkov could not parse.

    Raises:
        CheckovMissing: when checkov is not installed.
        RuntimeError: when checkov itself fails (not a failed check).
    """
    executable = checkov_executable()
    dockerfiles = dockerfiles or []
    frameworks = (["kubernetes"] if manifests else []) + (["dockerfile"] if dockerfiles else [])
    with tempfile.TemporaryDirectory(prefix="juris-checkov-") as tmp:
        files = []
        for name, text in manifests.items():
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8")
            files.append(str(path))
        files += [str(p) for p in dockerfiles]
        command = [executable, "--skip-download", "--framework", *frameworks, "-o", "json"]
        for file in files:
            command += ["-f", file]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            # No telemetry, no download of the platform's check metadata: offline by design.
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"},
        )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return _parse(json.loads(result.stdout), tmp)


def _parse(report: Any, tmp: str) -> Scan:
    """Scan from checkov's JSON report (one object per framework, or a list of them)."""
    out = Scan()
    for part in report if isinstance(report, list) else [report]:
        if "results" not in part:  # a framework with nothing to scan
            continue
        out.passed += int(part["summary"]["passed"])
        results = part["results"]
        out.failed += [_finding(c, tmp) for c in results.get("failed_checks", [])]
        out.skipped += [_finding(c, tmp) for c in results.get("skipped_checks", [])]
        out.parsing_errors += [_name(p, tmp) for p in results.get("parsing_errors", [])]
    return out


def _finding(check: dict[str, Any], tmp: str) -> Finding:
    return Finding(
        check_id=check["check_id"],
        check_name=check["check_name"],
        resource=check["resource"],
        file=_name(check.get("file_abs_path") or check["file_path"], tmp),
        reason=((check.get("check_result") or {}).get("suppress_comment") or "").strip(),
    )


def _name(path: str, tmp: str) -> str:
    """A scanned file as the caller named it (manifests), or relative to the repository."""
    if tmp in path:
        return Path(path).name
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return path
