"""Progress on a non-terminal: one plain line at least every 30 s with done/total, rate and ETA
(a fake clock drives the time), and a bar only on a terminal."""

from __future__ import annotations

import logging

import pytest

from legal_corpus.progress import LogProgress, progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.unit
def test_lines_every_30_s_with_total_rate_and_eta(caplog):
    clock = FakeClock()
    log = logging.getLogger("test.progress")
    caplog.set_level(logging.INFO, logger="test.progress")
    bar = LogProgress(total=1000, desc="embed", unit="passage", logger=log, clock=clock)
    for _ in range(9):  # 9 × 10 s, 50 passages each: a line at 30, 60, 90 s only
        clock.now += 10
        bar.update(50)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines[0] == "embed: 150/1,000 passage (15.0%) · 5.0 passage/s · ETA 2m50s · elapsed 30s"
    assert lines[2].startswith("embed: 450/1,000 passage (45.0%) · 5.0 passage/s · ETA 1m50s")
    bar.close()
    bar.close()  # once only
    assert caplog.records[-1].getMessage().endswith("(done)")
    assert len(caplog.records) == 4


@pytest.mark.unit
def test_estimated_total_and_no_total(caplog):
    clock = FakeClock()
    log = logging.getLogger("test.progress")
    caplog.set_level(logging.INFO, logger="test.progress")
    bar = LogProgress(desc="parse", unit="unit", logger=log, clock=clock)
    clock.now += 31
    bar.update(62)
    assert caplog.records[-1].getMessage() == "parse: 62 unit · 2.0 unit/s · elapsed 31s"
    bar.total, bar.estimated = 620, True
    clock.now += 31
    bar.update(62)
    assert caplog.records[-1].getMessage().startswith("parse: 124/~620 unit (20.0%)")


@pytest.mark.unit
def test_iteration_counts_and_closes(caplog):
    caplog.set_level(logging.INFO, logger="juris.progress")
    items = list(progress(range(5), desc="parse", unit="unit"))  # not a terminal under pytest
    assert items == [0, 1, 2, 3, 4]
    assert caplog.records[-1].getMessage().startswith("parse: 5/5 unit (100.0%)")


@pytest.mark.unit
def test_bar_only_on_a_terminal(monkeypatch):
    import legal_corpus.progress as p

    assert isinstance(progress(total=3, desc="x"), LogProgress)
    monkeypatch.setattr(p, "is_terminal", lambda: True)
    assert not isinstance(progress(total=3, desc="x"), LogProgress)
    monkeypatch.setenv("JURIS_PROGRESS", "lines")
    assert isinstance(progress(total=3, desc="x"), LogProgress)
    quiet = progress(total=3, desc="x", enabled=False)
    assert not isinstance(quiet, LogProgress)


@pytest.mark.unit
def test_slow_work_shows_seconds_per_unit(caplog):
    clock = FakeClock()
    log = logging.getLogger("test.progress")
    caplog.set_level(logging.INFO, logger="test.progress")
    bar = LogProgress(total=40, desc="lora", unit="step", logger=log, clock=clock)
    clock.now += 45
    bar.update(1)
    assert (
        caplog.records[-1]
        .getMessage()
        .startswith("lora: 1/40 step (2.5%) · 45 s/step · ETA 29m15s")
    )
