"""Fixtures shared by every test package: the real corpus, read from ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from legal_corpus.corpus import default_corpus_dir


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The bundled legal corpus; tests that need it skip with a message where it is absent."""
    path = default_corpus_dir()
    if not path.is_dir():
        pytest.skip(
            f"legal corpus not found at {path} "
            "(set JURIS_CORPUS_DIR or put ../shared beside the project)"
        )
    return path
