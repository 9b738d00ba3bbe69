"""A build and a sync off a terminal (a CronJob's log, CI, `make demo > file`) log plain
progress lines for parsing, embedding and upserting (and comparing, for a sync), each with
done/total and a rate, the last one marked `(done)`."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from indexing.build import run_build
from indexing.settings import IndexSettings
from indexing.sync import run_sync

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(\w+): [\d,]+/~?[\d,]+ \w+ \([\d.]+%\) · [\d,.]+ \w+/s")


@pytest.mark.unit
def test_build_and_sync_log_progress_lines(tmp_path, small_corpus, caplog):
    settings = IndexSettings(
        qdrant_path=tmp_path / "q",
        corpus_dir=small_corpus,
        embed_cache=PROJECT_ROOT / "var" / "embed_cache",
    )
    caplog.set_level(logging.INFO, logger="juris.progress")
    run_build(settings, progress=True)  # pytest's stderr is not a terminal
    lines = [r.getMessage() for r in caplog.records if r.name == "juris.progress"]
    stages = {m.group(1) for line in lines if (m := LINE.match(line)) and "(done)" in line}
    assert {"parse", "embed", "upsert"} <= stages, lines
    assert any(re.match(r"embed: (\d+)/\1 passage \(100\.0%\)", line) for line in lines), lines
    assert any(re.match(r"parse: (\d+)/\1 kB \(100\.0%\)", line) for line in lines), lines

    caplog.clear()
    (small_corpus / "aila" / "statutes" / "S7.txt").write_text(
        "Title: Section 7 of a test act\nDesc: A new provision added for the sync.\n"
    )
    run_sync(settings, progress=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "juris.progress"]
    stages = {m.group(1) for line in lines if (m := LINE.match(line)) and "(done)" in line}
    assert {"compare", "embed", "upsert"} <= stages, lines
