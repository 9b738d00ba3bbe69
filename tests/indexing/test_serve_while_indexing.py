"""Serving while a build fills (the demo's path): the pointer moves to the build as soon as its
first passages are written, searches answer from what is already in — enacted law first —
and the completed build takes over in one pointer swap without a failed search. Real corpus
text, real MiniLM, real embedded Qdrant; the embedder is the real one slowed down so that the
build lasts long enough to be searched while it fills."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from indexing.build import make_catalog, make_embedder, run_build
from indexing.model import SearchFilters
from indexing.retrieve import IndexUnavailable, open_retriever
from indexing.settings import IndexSettings
from indexing.status import pending_for, pending_sources, read_status


class SlowEmbedder:
    """The real embedder, `delay` seconds slower per call (the build's only)."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay = inner, delay
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens

    def encode(self, texts, progress=False):
        time.sleep(self.delay)
        return self.inner.encode(texts)


@pytest.fixture()
def two_tier_corpus(tmp_path: Path, corpus_dir: Path) -> Path:
    """Twelve AILA statutes and three AILA judgments (one of each tier)."""
    root = tmp_path / "corpus"
    for sub, names in (
        ("statutes", [f"S{n}.txt" for n in range(1, 13)]),
        ("casedocs", ["C1.txt", "C2.txt", "C3.txt"]),
    ):
        (root / "aila" / sub).mkdir(parents=True)
        for name in names:
            shutil.copy(corpus_dir / "aila" / sub / name, root / "aila" / sub / name)
    return root


@pytest.mark.unit
def test_searches_during_a_background_build_then_the_swap(tmp_path, two_tier_corpus):
    settings = IndexSettings(
        qdrant_path=tmp_path / "q",
        corpus_dir=two_tier_corpus,
        embed_cache=None,
        embed_batch=4,  # batches of 32 passages (4 for the first): many steps to search between
        keep_builds=2,
    )
    slow = SlowEmbedder(make_embedder(settings, cached=False), delay=0.4)
    result: dict[str, Any] = {}

    def build() -> None:
        try:
            result["build"] = run_build(settings, embedder=slow, progress=False, serve_early=True)
        except BaseException as err:  # reported by the assertions below
            result["error"] = err

    thread = threading.Thread(target=build)
    thread.start()
    catalog = make_catalog(settings)
    deadline = time.monotonic() + 120
    while catalog.current() is None and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    filling = catalog.current()
    assert filling is not None, "the build never became searchable"

    retriever = open_retriever(settings)
    failures: list[BaseException] = []
    during: list[tuple[str, int, dict]] = []  # (build searched, results, status) while filling
    after = 0
    try:
        while thread.is_alive() or after < 5:
            if not thread.is_alive():
                after += 1
            try:
                hits = retriever.search(
                    "punishment for murder", top_k=5, filters=SearchFilters(kind="statute")
                )
                status = retriever.index_status() or {}
                if thread.is_alive() and status.get("state") == "filling":
                    during.append((retriever.index_version, len(hits), status))
            except IndexUnavailable:
                pass  # an empty first instant is not a failure of a search that had results
            except Exception as err:
                failures.append(err)
            time.sleep(0.05)
        final_version = retriever.index_version
        final_hits = retriever.search("murder", top_k=5, filters=SearchFilters())
    finally:
        retriever.close()
        thread.join()

    assert "error" not in result, result.get("error")
    assert failures == []
    built = result["build"]
    # searches answered from the filling build while the rest was indexed
    assert any(version == filling and n > 0 for version, n, _ in during)
    # enacted law first: statutes done while the judgments were still pending
    assert any(
        "aila/statutes" not in pending_sources(st) and "aila/casedocs" in pending_sources(st)
        for _, _, st in during
    )
    assert any(pending_for(st, kind="opinion") == ["aila/casedocs"] for _, _, st in during)
    assert all(pending_for(st, kind="statute") == [] for _, _, st in during if
               "aila/statutes" not in pending_sources(st))  # fmt: skip
    # the completed build (an optimised copy) took over with one pointer swap
    assert built.build != filling
    assert final_version == built.build == catalog.current()
    assert final_hits
    status = read_status(settings.qdrant_path, settings.collection)
    assert status is not None and status["state"] == "complete"
    assert status["build"] == built.build
    assert status["passages"] == built.points == built.stats.chunks
    assert {s["state"] for s in status["sources"].values()} == {"done"}
