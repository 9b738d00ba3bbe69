"""Caselaw Access Project case JSON, parsed from the real bundled files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from legal_corpus.adapters import ParseError
from legal_corpus.adapters.cap_json import CapJsonAdapter, jurisdiction_code, parse_cap_case
from legal_corpus.model import Kind

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def cap_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "opinions" / "cap_json"


@pytest.mark.parametrize(
    ("name", "doc_id", "citation", "jurisdiction", "decided", "court"),
    [
        ("case_1", "cap:4223181", "444 N.J. Super. 423", "us-nj", date(2015, 8, 24),
         "New Jersey Superior Court, Chancery Division"),
        ("case_2", "cap:9248666", "134 S.W.3d 673", "us-mo", date(2004, 3, 23),
         "Missouri Court of Appeals"),
        ("case_3", "cap:6088068", "1 B.T.A. 694", "us", date(1925, 2, 28),
         "United States Board of Tax Appeals"),
        ("case_4", "cap:9250317", "134 S.W.3d 928", "us-tx", date(2004, 5, 26),
         "Texas Courts of Appeals"),
        ("case_6", "cap:4531970", "200 Colo. 11", "us-co", date(1980, 5, 19),
         "Colorado Supreme Court"),
    ],
)  # fmt: skip
def test_metadata_and_canonical_citation(
    cap_dir: Path,
    name: str,
    doc_id: str,
    citation: str,
    jurisdiction: str,
    decided: date,
    court: str,
) -> None:
    doc = parse_cap_case(cap_dir / f"{name}.json")
    raw = json.loads((cap_dir / f"{name}.json").read_text())
    assert doc.doc_id == doc_id
    assert doc.kind is Kind.OPINION
    assert doc.citation == citation
    assert doc.jurisdiction == jurisdiction
    assert doc.decision_date == decided == doc.version.valid_from
    assert doc.court == court
    assert doc.title == raw["name_abbreviation"]
    assert doc.metadata["citations"] == [
        {"type": c["type"], "cite": c["cite"]} for c in raw["citations"]
    ]
    assert doc.metadata["cites_to"] == raw["cites_to"]
    assert doc.metadata["docket_number"] == raw["docket_number"]


def test_paragraph_pinpoints_text_and_pages(cap_dir: Path) -> None:
    doc = parse_cap_case(cap_dir / "case_2.json")
    first = doc.section("¶ 1")
    assert first is not None
    assert first.citation == "134 S.W.3d 673, ¶ 1"
    assert first.heading == "Opinion (majority) by WILLIAM H. CRANDALL, JR., Judge."
    assert first.text.startswith("Father, T.J.S., appeals from the judgment")
    second = doc.section("¶ 2")
    assert second is not None
    # star pagination is removed from the text and kept as the page a paragraph starts on
    assert "*676" not in second.text and "born of the marriage in 1993" in second.text
    assert doc.metadata["paragraph_pages"]["¶ 3"] == "676"
    # head matter is metadata, never text
    assert "Farmington, MO" not in doc.text
    assert "Clinton B. Roberts" in " ".join(doc.metadata["head_matter"]["attorneys"])


def test_every_paragraph_of_the_casebody_is_kept(cap_dir: Path) -> None:
    for path in sorted(cap_dir.glob("*.json")):
        raw = json.loads(path.read_text())
        root = etree.fromstring(raw["casebody"]["data"].encode())
        ns = {"c": root.nsmap[None]}
        expected = len(root.xpath("//c:opinion/c:p | //c:opinion/c:blockquote", namespaces=ns))
        doc = parse_cap_case(path)
        paragraphs = [s for s in doc.sections if s.pinpoint.startswith("¶")]
        assert len(paragraphs) == expected, path.name
        pins = [s.pinpoint for s in doc.walk()]
        assert len(pins) == len(set(pins))


def test_several_opinions_and_footnotes(cap_dir: Path) -> None:
    doc = parse_cap_case(cap_dir / "case_6.json")
    opinions = doc.metadata["opinions"]
    assert [o["type"] for o in opinions] == [
        "majority",
        "concurring-in-part-and-dissenting-in-part",
        "concurring-in-part-and-dissenting-in-part",
    ]
    later = doc.section(opinions[2]["first"])
    assert later is not None and later.heading.endswith("by JUSTICE ROVIRA")
    note = doc.section("n. 1")
    assert note is not None and note.text.startswith("We discussed in People v. Bridges")
    assert note.citation == "200 Colo. 11, n. 1"


def test_structured_casebody_json(cap_dir: Path, tmp_path: Path) -> None:
    """CAP's later format: casebody.opinions as JSON objects instead of an XML string."""
    raw = json.loads((cap_dir / "case_2.json").read_text())
    root = etree.fromstring(raw["casebody"]["data"].encode())
    ns = {"c": root.nsmap[None]}
    paras = ["".join(p.itertext()).strip() for p in root.xpath("//c:opinion/c:p", namespaces=ns)]
    raw["casebody"] = {
        "judges": [],
        "opinions": [{"type": "majority", "author": "CRANDALL, Judge.", "text": "\n".join(paras)}],
    }
    path = tmp_path / "case_2.json"
    path.write_text(json.dumps(raw))
    doc = parse_cap_case(path)
    assert len(doc.sections) == len(paras)
    assert doc.sections[0].heading == "Opinion (majority) by CRANDALL, Judge."
    assert doc.citation == "134 S.W.3d 673"


def test_malformed_casebody_xml_names_the_line(cap_dir: Path, tmp_path: Path) -> None:
    raw = json.loads((cap_dir / "case_2.json").read_text())
    raw["casebody"]["data"] = raw["casebody"]["data"][:3000]
    path = tmp_path / "case_2.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ParseError) as err:
        parse_cap_case(path)
    assert err.value.path == str(path)
    assert err.value.where.startswith("casebody line ")


def test_jurisdiction_codes() -> None:
    assert jurisdiction_code({"slug": "us", "name_long": "United States"}) == "us"
    assert jurisdiction_code({"slug": "nc", "name_long": "North Carolina"}) == "us-nc"
    assert jurisdiction_code({"slug": "tex", "name_long": "Texas"}) == "us-tx"
    assert jurisdiction_code({"slug": "navajo-nation", "name_long": "Navajo Nation"}) == (
        "us-navajo-nation"
    )


def test_discover_and_units_for(corpus_dir: Path) -> None:
    adapter = CapJsonAdapter()
    assert len(adapter.discover(corpus_dir)) == 6
    (unit,) = adapter.units_for(corpus_dir, "cap:4531970")
    assert unit.paths[0].name == "case_6.json"
    assert adapter.units_for(corpus_dir, "cap:1") == []


def test_fields_of_unexpected_types_are_a_parse_error(cap_dir: Path, tmp_path: Path) -> None:
    raw = json.loads((cap_dir / "case_2.json").read_text())
    raw["court"] = "Missouri Court of Appeals"  # an object in CAP
    path = tmp_path / "case_2.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ParseError, match="unexpected CAP JSON structure"):
        parse_cap_case(path)
