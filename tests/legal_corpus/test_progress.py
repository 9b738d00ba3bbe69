"""Progress on a non-terminal: a plain line at least every 30 s and one at the end."""

from __future__ import annotations

import logging

import pytest

from legal_corpus.progress import LogProgress, progress

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_30_seconds_with_rate_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    caplog.set_level(logging.INFO, logger="juris.progress")
    bar = LogProgress(total=1000, desc="embed", unit="passage", clock=clock)
    for _ in range(10):
        clock.now += 10.0
        bar.update(50)
    bar.close()
    lines = [r.getMessage() for r in caplog.records]
    # 100 s of work: lines at 30, 60 and 90 s, then the final one
    assert len(lines) == 4, lines
    assert lines[0].startswith("embed: 150/1,000 passage (15.0%)")
    assert "5.0 passage/s" in lines[0] and "ETA 2m50s" in lines[0]
    assert lines[-1].endswith("(done)") and "500/1,000" in lines[-1]


def test_iterating_counts_and_closes_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="juris.progress")
    items = list(LogProgress(range(7), desc="parse", unit="file", every_s=1e9))
    assert items == list(range(7))
    done = [r.getMessage() for r in caplog.records if r.getMessage().endswith("(done)")]
    assert len(done) == 1 and "7/7 file (100.0%)" in done[0]


def test_not_a_terminal_gives_log_lines_and_disabled_gives_silence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="juris.progress")
    assert isinstance(progress(total=3, desc="x"), LogProgress)  # pytest's stderr is no tty
    quiet = progress(range(3), desc="y", enabled=False)
    assert list(quiet) == [0, 1, 2]
    assert not any("y:" in r.getMessage() for r in caplog.records)
