"""Qdrant's start script: the keys from the Secret files reach Qdrant, peers bootstrap from 0."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "files"
SCRIPT = SCRIPT / "qdrant-start.sh"
# Stands in for the image's ./entrypoint.sh (which execs the qdrant binary): prints what it got.
ENTRYPOINT = """#!/bin/bash
echo "api=$QDRANT__SERVICE__API_KEY read=$QDRANT__SERVICE__READ_ONLY_API_KEY args=$*"
"""


def _start(tmp_path: Path, hostname: str, cluster: str, keys: dict[str, str]) -> tuple[int, str]:
    (tmp_path / "entrypoint.sh").write_text(ENTRYPOINT, encoding="utf-8")
    (tmp_path / "entrypoint.sh").chmod(0o755)
    key_dir = tmp_path / "secrets"
    key_dir.mkdir(exist_ok=True)
    for name, value in keys.items():
        (key_dir / name).write_text(value, encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOSTNAME": hostname,
        "QDRANT__CLUSTER__ENABLED": cluster,
        "QDRANT_KEYS_DIR": str(key_dir),
    }
    result = subprocess.run(
        ["/bin/bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    return result.returncode, result.stdout + result.stderr


KEYS = {"api-key": "full\n", "read-only-api-key": "reader\n"}


@pytest.mark.parametrize(
    ("hostname", "cluster", "args"),
    [
        ("qdrant-0", "false", ""),
        ("qdrant-0", "true", "--uri http://qdrant-0.qdrant-headless:6335"),
        (
            "qdrant-2",
            "true",
            "--bootstrap http://qdrant-0.qdrant-headless:6335 "
            "--uri http://qdrant-2.qdrant-headless:6335",
        ),
    ],
)
def test_keys_and_peer_arguments(tmp_path: Path, hostname: str, cluster: str, args: str) -> None:
    code, out = _start(tmp_path, hostname, cluster, KEYS)
    assert code == 0, out
    assert out.strip() == f"api=full read=reader args={args}"


@pytest.mark.parametrize(
    "keys",
    [{"api-key": "full"}, {"api-key": "full", "read-only-api-key": ""}],
    ids=["missing", "empty"],
)
def test_refuses_to_start_without_both_keys(tmp_path: Path, keys: dict[str, str]) -> None:
    code, out = _start(tmp_path, "qdrant-0", "true", keys)
    assert code != 0
    assert "api=" not in out  # Qdrant itself was never started
