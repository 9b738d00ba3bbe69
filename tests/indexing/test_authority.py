"""The authority prior through a real index: counted from the build, moved by a sync."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from indexing.build import run_build
from indexing.model import SearchFilters
from indexing.retrieve import open_retriever
from indexing.settings import IndexSettings
from indexing.sync import run_sync

pytestmark = pytest.mark.unit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
QUERY = "termination of a workman of the electricity board and reinstatement with back wages"


def _copy(corpus_dir: Path, root: Path, *ids: str) -> None:
    folder = root / "aila" / "casedocs"
    folder.mkdir(parents=True, exist_ok=True)
    for doc in ids:
        shutil.copy(corpus_dir / "aila" / "casedocs" / f"{doc}.txt", folder / f"{doc}.txt")


def _scores(settings: IndexSettings, weight: float, uncounted: str | None = None) -> dict:
    retriever = open_retriever(settings.model_copy(update={"authority_weight": weight}))
    try:
        found = retriever.search_documents(
            QUERY, top_k=10, filters=SearchFilters(kind="opinion"), mode="sparse",
            uncounted=uncounted,
        )  # fmt: skip
        return {doc: score for doc, score, _ in found}
    finally:
        retriever.close()


def test_a_synced_ruling_that_cites_an_opinion_lifts_it(tmp_path, corpus_dir):
    # C76 (2003) cites C92 (1996) by name and `1996 Indlaw SC 1409`; C2108 and C1516 cite
    # neither. The sync that adds C76 must raise C92 with no rewrite of C92's points.
    corpus = tmp_path / "corpus"
    _copy(corpus_dir, corpus, "C92", "C2108", "C1516")
    settings = IndexSettings(
        qdrant_path=tmp_path / "q", corpus_dir=corpus, embed_cache=PROJECT_ROOT / "var/embed_cache"
    )
    run_build(settings, progress=False)
    plain, lifted = _scores(settings, 0.0), _scores(settings, 0.5)
    assert "aila:C92" in plain and lifted == plain  # nobody cites anybody yet

    _copy(corpus_dir, corpus, "C76")
    run_sync(settings, progress=False)
    plain, lifted = _scores(settings, 0.0), _scores(settings, 0.5)
    assert lifted["aila:C92"] == pytest.approx(plain["aila:C92"] * (1 + 0.5 * math.log(2)))
    others = set(plain) - {"aila:C92"}
    assert others and {d: lifted[d] for d in others} == pytest.approx({d: plain[d] for d in others})
    # leaving C76's citations out (a benchmark query made from it) undoes the lift
    assert _scores(settings, 0.5, uncounted="aila:C76") == pytest.approx(plain)
