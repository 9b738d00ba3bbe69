"""Fixtures of the training tests: real corpus chunks (Federal Rules of Evidence), tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.model import Chunk


def evidence_chunks(corpus_dir: Path, n_rules: int = 40) -> list[Chunk]:
    """Chunks of all versions of the first `n_rules` Federal Rules of Evidence and Rule 702."""
    from indexing.chunking import Chunker
    from legal_corpus.adapters import IngestReport, discover_units, parse_units

    units = [
        u for u in discover_units(corpus_dir, ["federal_rules"]) if u.key.startswith("evidence/")
    ]
    chosen = units[:n_rules] + [u for u in units if u.key == "evidence/rule-702"]
    report = IngestReport()
    chunks = list(Chunker().iter_chunks(parse_units(chosen, report)))
    assert not report.errors, report.errors
    return chunks


@pytest.fixture(scope="session")
def fre_chunks(corpus_dir: Path) -> list[Chunk]:
    """Real chunks of a slice of the Federal Rules of Evidence, every version."""
    return evidence_chunks(corpus_dir)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny local model, built once per session."""
    from training.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))
