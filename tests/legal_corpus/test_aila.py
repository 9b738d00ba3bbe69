"""AILA judgments and statutes, parsed from the real bundled files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from legal_corpus.adapters import ParseError
from legal_corpus.adapters.aila import (
    AilaCaseAdapter,
    AilaStatuteAdapter,
    parse_judgment,
    parse_statute,
    read_text,
)
from legal_corpus.model import Kind

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def casedocs(corpus_dir: Path) -> Path:
    return corpus_dir / "aila" / "casedocs"


def test_header_title_court_date_and_metadata(casedocs: Path) -> None:
    doc = parse_judgment(casedocs / "C1.txt")
    assert doc.doc_id == "aila:C1"
    assert doc.source == "aila/casedocs"
    assert doc.kind is Kind.OPINION
    assert doc.jurisdiction == "in"
    assert doc.title == "Masud Khan v State Of Uttar Pradesh"
    assert doc.court == "Supreme Court of India"
    assert doc.decision_date == date(1973, 9, 26)
    assert doc.version.valid_from == date(1973, 9, 26)
    assert doc.metadata["case_number"] == "Writ Petition No. 117 of 1973"
    assert doc.metadata["delivered_by"] == "A. Alagiriswami, J."
    assert "parse_warnings" not in doc.metadata


def test_numbered_paragraphs_are_pinpoints(casedocs: Path) -> None:
    doc = parse_judgment(casedocs / "C1.txt")
    first = doc.section("¶ 1")
    assert first is not None
    assert first.citation == "Masud Khan v State Of Uttar Pradesh, ¶ 1"
    assert first.text.startswith("Petitioner Masud Khan prays for his release")
    assert not first.text.startswith("1.")
    second = doc.section("¶ 2")
    assert second is not None and second.text.startswith("If these statements were correct")


@pytest.mark.parametrize(
    ("name", "status", "first_pinpoints", "opening"),
    [
        # text before the first numbered paragraph is the unlabelled body section
        ("C432", None, ["", "¶ 2", "¶ 3"], "Special leave granted."),
        # a treatment note between the title and the court line
        ("C2612", "Negative Judicial Treatment", ["¶ 1", "¶ 2"], "We heard Shri Shanti"),
        # "1 Leave granted." without a dot after the number
        ("C2666", None, ["¶ 1", "¶ 2"], "Leave granted."),
        # "1.Four groups" without a space after the dot
        ("C1775", None, ["¶ 1", "¶ 2"], "Four groups of tenants"),
    ],
)
def test_header_and_numbering_variants(
    casedocs: Path, name: str, status: str | None, first_pinpoints: list[str], opening: str
) -> None:
    doc = parse_judgment(casedocs / f"{name}.txt")
    pins = [s.pinpoint for s in doc.walk()]
    assert pins[: len(first_pinpoints)] == first_pinpoints
    assert next(s for s in doc.walk() if s.text).text.startswith(opening)
    assert doc.metadata.get("status") == status
    assert doc.court == "Supreme Court of India"
    assert doc.decision_date is not None


def test_quoted_numbered_lists_do_not_become_paragraphs(casedocs: Path) -> None:
    """C2805 quotes numbered rules inside its own numbered paragraphs."""
    doc = parse_judgment(casedocs / "C2805.txt")
    pins = [s.pinpoint for s in doc.walk()]
    assert pins == [f"¶ {n}" for n in range(1, 37)]
    fourth = doc.section("¶ 4")
    assert fourth is not None and fourth.text.startswith("In order to implement")
    third = doc.section("¶ 3")
    assert third is not None and "Data Entry Operator-C" in third.text


def test_numbering_that_skips_numbers_is_followed(casedocs: Path) -> None:
    """C582 jumps from paragraph 14 to 18; 18 onwards are still paragraphs."""
    doc = parse_judgment(casedocs / "C582.txt")
    assert doc.section("¶ 18") is not None
    assert doc.section("¶ 55") is not None


def test_pinpoints_unique_and_text_kept_on_a_slice(casedocs: Path) -> None:
    adapter = AilaCaseAdapter()
    units = adapter.discover(casedocs.parent.parent)
    assert len(units) == 2914
    for unit in units[::10]:
        (doc,) = adapter.parse(unit)
        pins = [s.pinpoint for s in doc.walk()]
        assert len(pins) == len(set(pins)), doc.doc_id
        raw = unit.paths[0].read_text(encoding="utf-8")
        # every word of the last line of the file survives into the document text
        last_line = [ln for ln in raw.splitlines() if ln.strip()][-1]
        assert last_line.split()[-1] in doc.text, doc.doc_id


def test_judgment_without_numbered_paragraphs_is_one_body(casedocs: Path, tmp_path: Path) -> None:
    raw = (casedocs / "C1.txt").read_text(encoding="utf-8")
    lines = raw.splitlines()
    stripped = lines[:6] + [
        ln.split(".", 1)[1].strip() if ln[:1].isdigit() else ln for ln in lines[6:]
    ]
    path = tmp_path / "C1.txt"
    path.write_text("\n".join(stripped), encoding="utf-8")
    doc = parse_judgment(path)
    assert [s.pinpoint for s in doc.walk()] == [""]
    assert doc.sections[0].text.startswith("Petitioner Masud Khan prays")
    assert any("no numbered paragraphs" in w for w in doc.metadata["parse_warnings"])


def test_missing_date_and_stray_bytes_are_recorded(casedocs: Path, tmp_path: Path) -> None:
    raw = (casedocs / "C1.txt").read_bytes()
    lines = raw.split(b"\n")
    del lines[3]  # the date line
    lines[7] = lines[7].replace(b"Pakistan", b"Pakist\xe1n", 1)  # a Latin-1 byte
    path = tmp_path / "C1.txt"
    path.write_bytes(b"\n".join(lines))
    doc = parse_judgment(path)
    assert doc.decision_date is None
    warnings = doc.metadata["parse_warnings"]
    assert any("not UTF-8" in w for w in warnings)
    assert any("no decision date" in w for w in warnings)
    assert doc.section("¶ 2") is not None


def test_binary_or_utf16_file_is_a_parse_error(casedocs: Path, tmp_path: Path) -> None:
    text = (casedocs / "C1.txt").read_text(encoding="utf-8")
    path = tmp_path / "C1.txt"
    path.write_bytes(text.encode("utf-16-le"))
    with pytest.raises(ParseError) as err:
        parse_judgment(path)
    assert err.value.path == str(path) and err.value.where == "line 1"
    assert read_text(tmp_path / "x", text.encode("utf-16"))[0].startswith("Masud Khan")


def test_statutes(corpus_dir: Path) -> None:
    adapter = AilaStatuteAdapter()
    units = adapter.discover(corpus_dir)
    assert len(units) == 197
    doc = parse_statute(corpus_dir / "aila" / "statutes" / "S45.txt")
    assert doc.doc_id == "aila:S45"
    assert doc.kind is Kind.STATUTE
    assert doc.source == "aila/statutes"
    assert doc.title.startswith("Prohibition of discrimination on grounds of religion")
    assert doc.citation == doc.title
    assert doc.sections[0].text.startswith("1) The State shall not discriminate")
    assert "Title:" not in doc.text and "Desc:" not in doc.text


def test_statute_without_desc_is_an_error(corpus_dir: Path, tmp_path: Path) -> None:
    first = (corpus_dir / "aila" / "statutes" / "S45.txt").read_text().splitlines()[0]
    path = tmp_path / "S45.txt"
    path.write_text(first + "\n")
    with pytest.raises(ParseError, match="Desc:"):
        parse_statute(path)


def test_units_for_finds_one_file(corpus_dir: Path) -> None:
    (unit,) = AilaCaseAdapter().units_for(corpus_dir, "aila:C123")
    assert unit.paths[0].name == "C123.txt"
    (unit,) = AilaStatuteAdapter().units_for(corpus_dir, "aila:S45")
    assert unit.paths[0].name == "S45.txt"
    assert AilaCaseAdapter().units_for(corpus_dir, "aila:C999999") == []
    assert AilaCaseAdapter().units_for(corpus_dir, "aila:S45") == []


def test_second_opinion_restarting_its_numbering(casedocs: Path, tmp_path: Path) -> None:
    """A judgment whose second opinion numbers its paragraphs from 1 again."""
    first = (casedocs / "C1.txt").read_text(encoding="utf-8").rstrip("\n")
    second_body = (casedocs / "C2.txt").read_text(encoding="utf-8").splitlines()[6:]
    path = tmp_path / "C1.txt"
    path.write_text(
        first + "\nThe Judgment was delivered by : R. V. Raveendran, J.\n" + "\n".join(second_body)
    )
    doc = parse_judgment(path)
    pins = [s.pinpoint for s in doc.walk()]
    assert len(pins) == len(set(pins))
    opinion = doc.section("opinion 2")
    assert opinion is not None and opinion.heading.endswith("R. V. Raveendran, J.")
    assert opinion.children[0].pinpoint == "opinion 2, ¶ 1"
    assert opinion.children[0].citation == "Masud Khan v State Of Uttar Pradesh, opinion 2, ¶ 1"
    assert opinion.children[0].text.startswith("These appeals are filed against")
    assert doc.metadata["opinions"] == ["A. Alagiriswami, J.", "R. V. Raveendran, J."]


@pytest.mark.parametrize(
    ("name", "bench", "delivered_by", "opening"),
    [
        # "is as follows" and no numbered paragraph before the body: the body is text, not header
        ("C2214", "The Order of the Court is as follows:", None, "Special leave granted."),
        # "The Order of the Court was delivered by"
        ("C443", None, "M.M. Punchhi, J. and B.P. Jeevan Reddy, J.", "Retroactivity of some"),
        # the bench line in quotes
        ("C1208", '"The Order of the Court is as follows"', None, "The detenu, namely"),
        # a "(Non-Reportable)" note between the case number and the bench line
        ("C1027", None, "A. K. Sikri, J.", "The present special leave petition"),
        # "Judgement"
        ("C250", None, "FAZAL ALI, J.", "In the appeal u/s. 2(a)"),
    ],
)
def test_bench_line_variants(
    casedocs: Path, name: str, bench: str | None, delivered_by: str | None, opening: str
) -> None:
    doc = parse_judgment(casedocs / f"{name}.txt")
    if bench is not None:
        assert doc.metadata["bench"] == bench
    assert doc.metadata.get("delivered_by") == delivered_by
    assert next(s for s in doc.walk() if s.text).text.startswith(opening)
    assert not doc.text.startswith(("The Judg", "The Order", '"The Order'))
