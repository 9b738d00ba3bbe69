"""The backup script's local parts: pruning old backups by their UTC stamp."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

SCRIPT = (
    Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "files" / "qdrant_snapshot.py"
)


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qdrant_snapshot", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prune_keeps_recent_and_foreign_folders(script: ModuleType, tmp_path: Path) -> None:
    now = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)
    for name in ("20261101T003000Z", "20261120T003000Z", "20261124T003000Z", "manual-copy"):
        (tmp_path / name / "qdrant-0").mkdir(parents=True)
    script.prune(tmp_path, 14, now)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20261120T003000Z",
        "20261124T003000Z",
        "manual-copy",
    ]


def test_main_reports_unreachable_peers(
    script: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a closed local port: every call fails, the run must say so and exit non-zero
    monkeypatch.setenv("QDRANT_PEERS", "http://127.0.0.1:9")
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path))
    assert script.main() == 1


def test_api_key_from_the_mounted_secret_file(
    script: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "api-key").write_text("full-key\n", encoding="utf-8")
    monkeypatch.setenv("QDRANT_API_KEY_FILE", str(tmp_path / "api-key"))
    monkeypatch.delenv("QDRANT_API_KEY", raising=False)
    assert script.api_key() == "full-key"
