"""`JURIS_QDRANT_API_KEY_FILE`: the Qdrant key read from a file (a Kubernetes Secret volume)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from indexing.settings import IndexSettings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JURIS_QDRANT_API_KEY", raising=False)
    monkeypatch.delenv("JURIS_QDRANT_API_KEY_FILE", raising=False)


def test_key_read_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text("4f0c9a1e\n", encoding="utf-8")  # as `kubectl create secret` stores it
    monkeypatch.setenv("JURIS_QDRANT_API_KEY_FILE", str(key_file))
    assert IndexSettings().qdrant_api_key == "4f0c9a1e"


def test_no_file_keeps_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIS_QDRANT_API_KEY", "from-env")
    monkeypatch.setenv("JURIS_QDRANT_API_KEY_FILE", "")
    assert IndexSettings().qdrant_api_key == "from-env"


@pytest.mark.parametrize(
    ("content", "with_env", "message"),
    [
        (None, False, "No such file"),
        ("  \n", False, "is empty"),
        ("key", True, "not both"),
    ],
)
def test_bad_key_file_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str | None,
    with_env: bool,
    message: str,
) -> None:
    key_file = tmp_path / "api-key"
    if content is not None:
        key_file.write_text(content, encoding="utf-8")
    monkeypatch.setenv("JURIS_QDRANT_API_KEY_FILE", str(key_file))
    if with_env:
        monkeypatch.setenv("JURIS_QDRANT_API_KEY", "from-env")
    with pytest.raises(ValidationError, match=message) as info:
        IndexSettings()
    assert "JURIS_QDRANT_API_KEY" in str(info.value)
