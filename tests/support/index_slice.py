"""A real, small embedded index over a fixed slice of the bundled corpus, for tests.

    from tests.support.index_slice import index_slice   # the pytest fixture (session scope)

    def test_something(index_slice):                    # -> IndexSettings of the built index
        retriever = open_retriever(index_slice)

or, outside pytest, `build_index_slice(out_dir, corpus_dir)`.

The slice (every source's adapter must exist; a missing one is skipped with a warning):

- Fed. R. Evid. 702, all versions (old text before 2023-12-01, the amended text after);
- Fed. R. Civ. P. 12 and 56, versions in force since 2020;
- 17 U.S.C. §§ 102–107, both editions (2013 and 2022), and 30 U.S.C. § 1811, a section of the
  2013 edition that the 2022 edition dropped;
- GDPR Arts. 5, 6, 15, 16, 17 and recitals 39, 47, 65;
- AILA statutes S1–S12 and judgments C1, C79, C2364;
- one CAP opinion (`case_3.json`).

Vectors are cached by text hash under the project's `var/embed_cache`, so only the first
session pays for embedding (a few hundred chunks: about 15 s on 2 idle cores).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from indexing.build import run_build
from indexing.settings import IndexSettings
from legal_corpus.adapters import SourceUnit, make_adapter
from legal_corpus.model import LegalDocument

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_SINCE_2020 = date(2020, 1, 1)


def _in_force_since_2020(doc: LegalDocument) -> bool:
    return doc.version.valid_to is None or doc.version.valid_to > _SINCE_2020


# source -> (unit keys, document filter)
SLICE: dict[str, tuple[set[str] | None, Callable[[LegalDocument], bool]]] = {
    "federal_rules": (
        {"evidence/rule-702", "civil/rule-12", "civil/rule-56"},
        lambda d: d.doc_id == "fre:702" or _in_force_since_2020(d),
    ),
    "uscode": (
        {"t17", "t30"},
        lambda d: d.doc_id in {f"usc:17/{n}" for n in range(102, 108)} | {"usc:30/1811"},
    ),
    "gdpr": (
        None,
        lambda d: (
            d.doc_id
            in {f"gdpr:art{n}" for n in (5, 6, 15, 16, 17)}
            | {f"gdpr:recital{n}" for n in (39, 47, 65)}
        ),
    ),
    "aila/statutes": ({f"S{n}" for n in range(1, 13)}, lambda d: True),
    "aila/casedocs": ({"C1", "C79", "C2364"}, lambda d: True),
    "opinions/cap": ({"case_3"}, lambda d: True),
}


def slice_units(corpus_dir: Path) -> tuple[list[SourceUnit], Callable[[LegalDocument], bool]]:
    """The units of the slice present in `corpus_dir`, and the filter picking its documents."""
    units: list[SourceUnit] = []
    filters: dict[str, Callable[[LegalDocument], bool]] = {}
    for source, (keys, keep) in SLICE.items():
        try:
            found = make_adapter(source).discover(corpus_dir)
        except ImportError as err:  # an adapter not written yet
            warnings.warn(f"index slice: source {source} skipped ({err})", stacklevel=2)
            continue
        chosen = [u for u in found if keys is None or u.key in keys]
        units.extend(chosen)
        filters[source] = keep

    def doc_filter(doc: LegalDocument) -> bool:
        keep = filters.get(doc.source)
        return keep is not None and keep(doc)

    return units, doc_filter


def build_test_index(
    out_dir: Path,
    corpus_dir: Path,
    units: list[SourceUnit],
    doc_filter: Callable[[LegalDocument], bool] | None = None,
    require_ok: bool = False,
) -> IndexSettings:
    """Build a real embedded index of `units` (their documents `doc_filter` keeps) under
    `out_dir`, vectors from the project's embedding cache, and return the settings that open
    it (embedded engine, torch embeddings, the bundled model's shipped calibrations).

    Raises:
        RuntimeError: nothing was indexed, or (`require_ok`) a unit or document failed.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    settings = IndexSettings(
        qdrant_path=Path(out_dir) / "qdrant",
        qdrant_url=None,
        corpus_dir=Path(corpus_dir),
        embed_backend="torch",
        embed_cache=PROJECT_ROOT / "var" / "embed_cache",
        collection="juris",
    )
    result = run_build(settings, units=units, doc_filter=doc_filter, progress=False)
    if not result.report.ok:
        if require_ok:
            raise RuntimeError(f"test index: {result.report.summary()}")
        log.warning("test index: %s", result.report.summary())
    if result.points == 0:
        raise RuntimeError(f"test index is empty: {result.report.summary()}")
    return settings


def build_index_slice(out_dir: Path, corpus_dir: Path) -> IndexSettings:
    """Build the slice index under `out_dir` and return the settings that open it.

    Args:
        out_dir: an empty (or new) directory for the index.
        corpus_dir: the bundled corpus (`../shared/legal_corpus`).

    Returns:
        `IndexSettings` pointing at the built index (embedded engine, torch embeddings).
    """
    units, doc_filter = slice_units(Path(corpus_dir))
    return build_test_index(out_dir, corpus_dir, units, doc_filter)


@pytest.fixture(scope="session")
def index_slice(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> IndexSettings:
    """Settings of a real embedded index over the corpus slice (built once per session)."""
    return build_index_slice(tmp_path_factory.mktemp("index_slice"), corpus_dir)
