"""Versions and dates across the statutory sources: periods chain without gaps or overlaps,
identical years merge, editions stay apart, removed provisions stop being in force."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

from legal_corpus.corpus import as_of, load_versions
from legal_corpus.model import LegalDocument

pytestmark = pytest.mark.unit


def assert_chain(versions: list[LegalDocument]) -> None:
    """Each version ends the day the next begins; only the last may be open-ended."""
    assert versions
    labels = [v.version.label for v in versions]
    assert len(labels) == len(set(labels)), labels
    for older, newer in pairwise(versions):
        assert older.version.valid_to is not None
        assert older.version.valid_to == newer.version.valid_from, (older.version, newer.version)
        assert older.content_hash != newer.content_hash


# (the US Code chains are checked in test_uscode.py, which parses those titles once)
@pytest.mark.parametrize("doc_id", ["fre:702", "frcp:12", "frap:35", "frbp:3015.1", "usc:3/202"])
def test_versions_chain(corpus_dir: Path, doc_id: str) -> None:
    assert_chain(load_versions(doc_id, corpus_dir))


def test_identical_years_merge_into_one_version(corpus_dir: Path) -> None:
    versions = load_versions("fre:702", corpus_dir)
    assert [v.version.label for v in versions] == ["2005", "2012", "2024"]
    assert versions[1].metadata["years"] == list(range(2012, 2024))
    assert versions[2].metadata["years"] == [2024, 2025]  # current.md adds no version
    # the 2011 restyling took effect 2011-12-01, the first version's start comes from the
    # amendment history (eff. Dec. 1, 2000)
    assert versions[0].version.valid_from == date(2000, 12, 1)
    assert versions[1].version.valid_from == date(2011, 12, 1)
    assert all("current.md" not in f for v in versions for f in v.metadata["files"])


def test_rule_without_current_file_ends(corpus_dir: Path) -> None:
    # Fed. R. App. P. 35 was folded into Rule 40 on 2024-12-01; the bundle stops at 2024.md
    versions = load_versions("frap:35", corpus_dir)
    assert versions[-1].metadata["years"][-1] == 2024
    assert versions[-1].version.valid_to == date(2024, 12, 1)
    assert as_of(versions, "2024-06-01") is versions[-1]
    assert as_of(versions, "2025-01-01") is None


def test_rule_added_later_starts_later(corpus_dir: Path) -> None:
    # Bankruptcy Rule 3015.1 first appears in the 2018 file (effective 2017-12-01)
    versions = load_versions("frbp:3015.1", corpus_dir)
    assert versions[0].metadata["years"][0] == 2018
    assert versions[0].version.valid_from == date(2017, 12, 1)
    assert as_of(versions, "2017-06-01") is None


def test_us_code_editions_stay_separate_even_when_text_is_identical(corpus_dir: Path) -> None:
    # 17 U.S.C. § 102 reads the same in both editions
    old, new = load_versions("usc:17/102", corpus_dir)
    assert old.text == new.text
    assert old.version.label == "Online@113-31" and new.version.label == "Online@117-80"
    assert old.version.valid_to == new.version.valid_from == date(2021, 12, 27)
    assert old.content_hash != new.content_hash  # different versions, different periods
    assert old.source_path != new.source_path


def test_unknown_id_has_no_versions(corpus_dir: Path) -> None:
    assert load_versions("fre:9999", corpus_dir) == []
    assert load_versions("usc:99/1", corpus_dir) == []
