"""The demo's model server: a bad model directory is said plainly, at once, and never hangs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from serving.lab.demo import ModelServer, _print_rendered

pytestmark = pytest.mark.unit


def test_a_missing_model_directory_is_reported_before_any_server_starts(tmp_path: Path) -> None:
    start = time.monotonic()
    server = ModelServer(tmp_path / "no-model", None, tmp_path / "vllm.log").start()
    assert server.wait() is None
    assert time.monotonic() - start < 10
    assert server.error is not None
    assert str(tmp_path / "no-model") in server.error and "base-model" in server.error
    assert not (tmp_path / "vllm.log").exists()  # nothing was started
    server.stop()


def test_streamed_text_holds_back_a_half_written_quote_marker(capsys) -> None:
    shown = _print_rendered("It provides: ##begin_qu", 0)
    assert capsys.readouterr().out == "It provides: "
    shown = _print_rendered("It provides: ##begin_quote##the fair use", shown)
    shown = _print_rendered("It provides: ##begin_quote##the fair use##end_quote## [1].", shown)
    assert capsys.readouterr().out == "“the fair use” [1]."
