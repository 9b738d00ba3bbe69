"""GDPR adapter on the real Formex file (small enough to parse whole in every run)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from legal_corpus.adapters import IngestReport, iter_documents
from legal_corpus.adapters.base import ParseError
from legal_corpus.adapters.gdpr import GdprAdapter
from legal_corpus.corpus import as_of, load_versions
from legal_corpus.model import Kind, LegalDocument

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def gdpr(corpus_dir: Path) -> dict[str, LegalDocument]:
    adapter = GdprAdapter()
    (unit,) = adapter.discover(corpus_dir)
    return {d.doc_id: d for d in adapter.parse(unit)}


def test_counts(gdpr: dict[str, LegalDocument]) -> None:
    articles = [k for k in gdpr if k.startswith("gdpr:art")]
    recitals = [k for k in gdpr if k.startswith("gdpr:recital")]
    assert len(articles) == 99
    assert len(recitals) == 173
    assert {f"gdpr:art{n}" for n in range(1, 100)} == set(articles)
    assert {f"gdpr:recital{n}" for n in range(1, 174)} == set(recitals)


# (doc_id, pinpoint, citation, text start)
PROVISIONS = [
    ("gdpr:art17", "(1)", "GDPR Art. 17(1)", "The data subject shall have the right to obtain"),
    (
        "gdpr:art17",
        "(1)(a)",
        "GDPR Art. 17(1)(a)",
        "the personal data are no longer necessary in relation to the purposes",
    ),
    ("gdpr:art17", "(3)(e)", "GDPR Art. 17(3)(e)", "for the establishment, exercise or defence"),
    ("gdpr:art6", "(1)(f)", "GDPR Art. 6(1)(f)", "processing is necessary for the purposes of the"),
    ("gdpr:art4", "(11)", "GDPR Art. 4(11)", "‘consent’ of the data subject means"),
    ("gdpr:art99", "(2)", "GDPR Art. 99(2)", "It shall apply from 25 May 2018."),
    ("gdpr:recital47", "", "GDPR Recital 47", "The legitimate interests of a controller"),
]


@pytest.mark.parametrize(("doc_id", "pinpoint", "citation", "start"), PROVISIONS)
def test_provisions(
    gdpr: dict[str, LegalDocument], doc_id: str, pinpoint: str, citation: str, start: str
) -> None:
    section = gdpr[doc_id].section(pinpoint)
    assert section is not None
    assert section.citation == citation
    assert section.text.startswith(start)


def test_article_17(gdpr: dict[str, LegalDocument]) -> None:
    doc = gdpr["gdpr:art17"]
    assert doc.citation == "GDPR Art. 17"
    assert doc.title == "Right to erasure (‘right to be forgotten’)"
    assert doc.kind is Kind.REGULATION and doc.jurisdiction == "eu"
    assert doc.heading_path == (
        "Regulation (EU) 2016/679 (General Data Protection Regulation)",
        "CHAPTER III — Rights of the data subject",
        "Section 3 — Rectification and erasure",
        "Article 17 — Right to erasure (‘right to be forgotten’)",
    )
    assert [s.pinpoint for s in doc.walk()][:4] == ["", "(1)", "(1)(a)", "(1)(b)"]
    assert doc.version.label == "2018-05-23"
    assert doc.version.valid_from == date(2018, 5, 25)
    assert doc.version.valid_to is None


def test_text_has_no_duplicates_or_footnotes(gdpr: dict[str, LegalDocument]) -> None:
    for doc in gdpr.values():
        pins = [s.pinpoint for s in doc.walk()]
        assert len(pins) == len(set(pins)), doc.doc_id
        for s in doc.walk():  # a point's words are in the point only, not also its parent
            for child in s.children:
                assert not child.text or child.text not in s.text, child.citation
    # recital 1 cites the Charter and the TFEU; footnote references (OJ C …) are metadata
    assert any("OJ C" in n for d in gdpr.values() for n in d.metadata["footnotes"])
    assert not any("OJ C 229, 31.7.2012" in d.text for d in gdpr.values())


def test_as_of_before_application(corpus_dir: Path) -> None:
    versions = load_versions("gdpr:art17", corpus_dir)
    assert len(versions) == 1
    assert as_of(versions, "2018-01-01") is None
    assert as_of(versions, "2020-01-01") is versions[0]


def test_truncated_xml(corpus_dir: Path, tmp_path: Path) -> None:
    data = (corpus_dir / "gdpr" / "gdpr-en.xml").read_bytes()
    bad = tmp_path / "gdpr" / "gdpr-en.xml"
    bad.parent.mkdir()
    bad.write_bytes(data[: len(data) // 3])
    report = IngestReport()
    assert list(iter_documents(tmp_path, ["gdpr"], report)) == []
    (err,) = report.errors
    assert isinstance(err, ParseError)
    assert err.path == str(bad)
    assert err.where.startswith("line ")
    assert "malformed XML" in err.message


def test_units_for(corpus_dir: Path) -> None:
    adapter = GdprAdapter()
    assert adapter.units_for(corpus_dir, "gdpr:art1") == adapter.discover(corpus_dir)
    assert adapter.units_for(corpus_dir, "fre:702") == []
