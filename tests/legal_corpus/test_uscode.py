"""US Code adapter on the real USLM files: title 17 in both editions, one 2013-only title,
the appendix title 5A, and broken copies of real files."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from legal_corpus.adapters import IngestReport, iter_documents
from legal_corpus.adapters.base import ParseError
from legal_corpus.adapters.uscode import UscodeAdapter, file_of_title, section_id, title_of_file
from legal_corpus.corpus import as_of, load_versions
from legal_corpus.model import Kind, LegalDocument

pytestmark = pytest.mark.unit

R2013 = date(2013, 8, 9)
R2022 = date(2021, 12, 27)


@pytest.fixture(scope="module")
def title17(corpus_dir: Path) -> dict[tuple[str, str], LegalDocument]:
    """Every section of title 17, both editions, keyed by (doc_id, release point)."""
    adapter = UscodeAdapter()
    (unit,) = adapter.units_for(corpus_dir, "usc:17/107")
    return {(d.doc_id, d.version.label): d for d in adapter.parse(unit)}


def test_discover_groups_both_editions_per_title(corpus_dir: Path) -> None:
    units = {u.key: u for u in UscodeAdapter().discover(corpus_dir)}
    assert len(units) == 26  # 23 titles in 2013, 18 in 2022, 15 in both
    assert [p.parent.name for p in units["t17"].paths] == ["2013", "2022"]
    assert [p.parent.name for p in units["t6"].paths] == ["2013"]
    assert [p.parent.name for p in units["t5A"].paths] == ["2022"]


@pytest.mark.parametrize(
    ("name", "title"),
    [("usc17.xml", "17"), ("usc05A.xml", "5A"), ("usc11a.xml", "11a"), ("usc01.xml", "1")],
)
def test_title_file_names_round_trip(name: str, title: str) -> None:
    assert title_of_file(name) == title
    assert file_of_title(title) == name


@pytest.mark.parametrize(
    ("title", "identifier", "doc_id", "citation"),
    [
        ("17", "/us/usc/t17/s107", "usc:17/107", "17 U.S.C. § 107"),
        ("17", "/us/usc/t17/s106A", "usc:17/106A", "17 U.S.C. § 106A"),
        ("3", "/us/usc/t3/s202 to 204", "usc:3/202", "3 U.S.C. §§ 202–204"),
        ("30", "/us/usc/t30/s44, 45", "usc:30/44", "30 U.S.C. §§ 44, 45"),
        ("30", "/us/usc/t30/s28–1", "usc:30/28-1", "30 U.S.C. § 28-1"),
        (
            "5A",
            "/us/usc/t5a/pl/92/463/s1",
            "usc:5A/pl92-463/s1",
            "Pub. L. 92-463, § 1 (5 U.S.C. App.)",
        ),
    ],
)
def test_section_ids(title: str, identifier: str, doc_id: str, citation: str) -> None:
    assert section_id(title, identifier) == (doc_id, citation)


# (pinpoint, citation, words the text starts with)
FAIR_USE = [
    ("", "17 U.S.C. § 107", "Notwithstanding the provisions of sections 106 and 106A"),
    ("(1)", "17 U.S.C. § 107(1)", "the purpose and character of the use"),
    ("(2)", "17 U.S.C. § 107(2)", "the nature of the copyrighted work;"),
    ("(3)", "17 U.S.C. § 107(3)", "the amount and substantiality of the portion used"),
    ("(4)", "17 U.S.C. § 107(4)", "the effect of the use upon the potential market"),
]


@pytest.mark.parametrize("label", ["Online@113-31", "Online@117-80"])
@pytest.mark.parametrize(("pinpoint", "citation", "start"), FAIR_USE)
def test_fair_use_pinpoints_and_text(
    title17: dict[tuple[str, str], LegalDocument],
    label: str,
    pinpoint: str,
    citation: str,
    start: str,
) -> None:
    doc = title17[("usc:17/107", label)]
    section = doc.section(pinpoint)
    assert section is not None
    assert section.citation == citation
    assert section.text.startswith(start)


def test_fair_use_document(title17: dict[tuple[str, str], LegalDocument]) -> None:
    doc = title17[("usc:17/107", "Online@117-80")]
    assert doc.citation == "17 U.S.C. § 107"
    assert doc.kind is Kind.STATUTE and doc.jurisdiction == "us"
    assert doc.title == "Limitations on exclusive rights: Fair use"
    assert doc.heading_path == (
        "Title 17 — COPYRIGHTS",
        "CHAPTER 1 — SUBJECT MATTER AND SCOPE OF COPYRIGHT",
        "§ 107. Limitations on exclusive rights: Fair use",
    )
    assert [s.pinpoint for s in doc.walk()] == ["", "(1)", "(2)", "(3)", "(4)"]
    # the continuation ("The fact that a work is unpublished …") is statutory text that
    # closes the list of factors: it follows factor (4), it is not the section's preamble
    unpublished = "The fact that a work is unpublished shall not itself bar"
    root = doc.section("")
    assert root is not None and unpublished not in root.text
    assert root.closing.startswith(unpublished)
    assert doc.text.index("upon the potential market") < doc.text.index(unpublished)
    # notes and the source credit are metadata, never text
    assert "Pub. L. 94–553" in doc.metadata["source_credit"]
    assert "Pub. L. 94–553" not in doc.text
    assert any(n["heading"] == "house report no. 94–1476" for n in doc.metadata["notes"])
    assert "General Background of the Problem" not in doc.text
    assert doc.metadata["release_point"] == "Online@117-80"
    assert doc.metadata["release_date"] == "2021-12-27"
    assert doc.source_path.endswith("uscode/2022/usc17.xml")


def test_nested_levels_and_headings(title17: dict[tuple[str, str], LegalDocument]) -> None:
    doc = title17[("usc:17/106A", "Online@117-80")]
    a = doc.section("(a)")
    assert a is not None and a.heading == "Rights of Attribution and Integrity"
    clause = doc.section("(a)(3)(B)")
    assert clause is not None
    assert clause.citation == "17 U.S.C. § 106A(a)(3)(B)"
    assert clause.text.startswith("to prevent any destruction of a work of recognized stature")


def test_pinpoints_unique_and_text_clean(title17: dict[tuple[str, str], LegalDocument]) -> None:
    for doc in title17.values():
        pins = [s.pinpoint for s in doc.walk()]
        assert len(pins) == len(set(pins)), doc.version_key
        for s in doc.walk():
            assert "  " not in s.text and s.text == s.text.strip(), s.citation


def test_editions_are_versions_of_one_section(corpus_dir: Path) -> None:
    versions = load_versions("usc:17/107", corpus_dir)
    assert [v.version.label for v in versions] == ["Online@113-31", "Online@117-80"]
    assert versions[0].version.valid_from == R2013
    assert versions[0].version.valid_to == R2022
    assert versions[1].version.valid_from == R2022
    assert versions[1].version.valid_to is None
    assert as_of(versions, "2015-01-01") is versions[0]
    assert as_of(versions, "2023-01-01") is versions[1]
    assert as_of(versions, "2010-01-01") is None


def test_section_absent_from_2022_ends_at_2022_release(corpus_dir: Path) -> None:
    # 30 U.S.C. § 1102 (geothermal energy definitions) is in 2013 and not in 2022
    versions = load_versions("usc:30/1102", corpus_dir)
    assert len(versions) == 1
    (v,) = versions
    assert v.version.label == "Online@113-31"
    assert v.version.valid_to == R2022
    assert v.text.startswith("For the purposes of this chapter")
    assert as_of(versions, "2022-06-01") is None


def test_section_new_in_2022(title17: dict[tuple[str, str], LegalDocument]) -> None:
    assert ("usc:17/1401", "Online@117-80") in title17
    assert ("usc:17/1401", "Online@113-31") not in title17


def test_title_in_one_edition_is_open_ended(corpus_dir: Path) -> None:
    # title 6 is only in the 2013 edition
    versions = load_versions("usc:6/101", corpus_dir)
    assert [v.version.label for v in versions] == ["Online@113-31"]
    assert versions[0].version.valid_to is None


def test_repealed_stub_kept_with_status(corpus_dir: Path) -> None:
    versions = load_versions("usc:3/202", corpus_dir)
    assert [v.version.label for v in versions] == ["Online@113-31", "Online@117-80"]
    for v in versions:
        assert v.metadata["status"] == "repealed"
        assert v.citation == "3 U.S.C. §§ 202–204"
        assert v.title.startswith("Repealed.")


def test_appendix_title_sections(corpus_dir: Path) -> None:
    (doc,) = load_versions("usc:5A/pl92-463/s1", corpus_dir)
    assert doc.citation == "Pub. L. 92-463, § 1 (5 U.S.C. App.)"
    assert doc.text == "This Act may be cited as the “Federal Advisory Committee Act”."


def _copy_title(corpus_dir: Path, tmp_path: Path, edition: str, name: str) -> Path:
    dest = tmp_path / "uscode" / edition / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(corpus_dir / "uscode" / edition / name, dest)
    return dest


def test_truncated_xml_names_file_and_line(corpus_dir: Path, tmp_path: Path) -> None:
    bad = _copy_title(corpus_dir, tmp_path, "2013", "usc01.xml")
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    _copy_title(corpus_dir, tmp_path, "2013", "usc04.xml")
    report = IngestReport()
    docs = list(iter_documents(tmp_path, ["uscode"], report))
    assert len(report.errors) == 1
    err = report.errors[0]
    assert isinstance(err, ParseError)
    assert err.path == str(bad)
    assert err.where.startswith("line ")
    assert "malformed XML" in err.message
    # the good title was parsed in full despite the bad one; nothing of the bad one
    assert any(d.doc_id.startswith("usc:4/") for d in docs)
    assert not any(d.doc_id.startswith("usc:1/") for d in docs)
    assert not report.ok


def test_not_xml_at_all(corpus_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "uscode" / "2022" / "usc09.xml"
    bad.parent.mkdir(parents=True)
    bad.write_text("Title 9 — ARBITRATION\n§ 1. Definitions\n")
    adapter = UscodeAdapter()
    (unit,) = adapter.discover(tmp_path)
    with pytest.raises(ParseError) as info:
        list(adapter.parse(unit))
    assert str(bad) in str(info.value)
    assert "line 1" in info.value.where


@pytest.mark.slow
def test_whole_source_counts(corpus_dir: Path) -> None:
    report = IngestReport()
    per_release: dict[str, int] = {}
    ids: set[str] = set()
    for doc in iter_documents(corpus_dir, ["uscode"], report):
        per_release[doc.version.label] = per_release.get(doc.version.label, 0) + 1
        ids.add(doc.doc_id)
        pins = [s.pinpoint for s in doc.walk()]
        assert len(pins) == len(set(pins)), doc.version_key
    assert report.ok, report.summary()
    assert report.units["uscode"] == 26
    assert per_release == {"Online@113-31": 5275, "Online@117-80": 2655}
    assert len(ids) == 5772
