"""Fixtures of the indexing tests: the shared real index slice, a retriever over it, a small
writable corpus, a small AILA corpus."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexing.retrieve import Retriever, open_retriever
from indexing.settings import IndexSettings
from tests.support.index_slice import index_slice  # noqa: F401  (re-exported fixture)
from tests.support.small_aila import copy_small_aila


@pytest.fixture(scope="module")
def retriever(index_slice: IndexSettings) -> Iterator[Retriever]:  # noqa: F811
    """A retriever over the index slice, one per test module."""
    r = open_retriever(index_slice)
    yield r
    r.close()


@pytest.fixture()
def small_corpus(tmp_path: Path, corpus_dir: Path) -> Path:
    """A writable corpus of six real AILA statutes (S1–S6), for build and sync tests."""
    root = tmp_path / "corpus"
    (root / "aila" / "statutes").mkdir(parents=True)
    for n in range(1, 7):
        src = corpus_dir / "aila" / "statutes" / f"S{n}.txt"
        shutil.copy(src, root / "aila" / "statutes" / src.name)
    return root


@pytest.fixture()
def small_aila(tmp_path: Path, corpus_dir: Path) -> Path:
    """Five real AILA judgments, six statutes and the dev queries (`tests.support.small_aila`):
    enough passages for a build of more than one batch."""
    return copy_small_aila(corpus_dir, tmp_path / "corpus")
