"""Court rulings through unstructured, offline: every bundled PDF and text opinion."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

from legal_corpus.adapters import ParseError
from legal_corpus.adapters.rulings import (
    SPACY_MODEL,
    RulingsAdapter,
    build_paragraphs,
    find_court,
    find_date,
    find_docket,
    find_title,
    parse_ruling_file,
)
from legal_corpus.model import Kind, LegalDocument

pytestmark = pytest.mark.unit

# file -> (court, decision date, docket, title, a phrase of the opinion's body)
BUNDLED = {
    "pdf/ca1-12-2209.pdf": (
        "United States Court of Appeals for the First Circuit",
        date(2013, 1, 3),
        "No. 12-2207",
        "TRANSAMERICA LIFE INSURANCE COMPANY v. ESTELLA RODRIGUES",
        "These three appeals are consolidated.",
    ),
    "pdf/ca8-17-2543.pdf": (
        "United States Court of Appeals for the Eighth Circuit",
        date(2017, 7, 26),
        "No. 17-2543",
        "Mary Beavers v. Midland Funding LLC, et al",
        "Fair Debt Collection Practices Act",
    ),
    "pdf/opinion_pdf_text_based.pdf": (
        "Supreme Court of the United States",
        date(2013, 6, 13),
        "No. 11–889",
        "TARRANT REGIONAL WATER DISTRICT v. HERRMANN ET AL.",
        "The Red River Compact (or Compact) is a congressionally sanctioned agreement",
    ),
    "pdf/opinion_tax.pdf": (
        "United States Tax Court",
        date(2020, 2, 20),
        "Nos. 19031-13, 27735-13",
        "ROCK BORDELON AND TORIE BORDELON v. COMMISSIONER OF INTERNAL REVENUE",
        "personal guarantee of Loan 1",
    ),
    "pdf/tn-diaz-v-create-and-construct.pdf": (
        "Tennessee Workers' Compensation Appeals Board",
        date(2019, 9, 13),
        "No. 2019-06-0263",
        "Ruben Diaz v. Create and Construct, LLC",
        "In this interlocutory appeal, the employee reported suffering injuries",
    ),
    "text/opinion_text.txt": (
        "United States Court of Appeals for the District of Columbia Circuit",
        date(1997, 11, 7),
        "No. 96-7169",
        "Ideal Electronic Security Co., Inc., et al. v. International Fidelity Insurance Company",
        "This case involves a claim under an indemnity agreement by a surety company",
    ),
}


@pytest.fixture(scope="session")
def rulings(corpus_dir: Path) -> dict[str, LegalDocument]:
    """The bundled rulings parsed once (the first call also imports unstructured)."""
    return {name: parse_ruling_file(corpus_dir / "opinions" / name) for name in BUNDLED}


def test_offline_spacy_model_is_used(rulings: dict[str, LegalDocument]) -> None:
    """unstructured's tokenizer runs on the pip-installed model, with no download."""
    import unstructured.nlp.tokenize as tokenize

    assert tokenize._SPACY_MODEL_NAME == SPACY_MODEL
    sentences = tokenize.sent_tokenize("The appeal is denied. Costs to the appellee.")
    assert len(sentences) == 2


def test_importing_legal_corpus_does_not_import_unstructured() -> None:
    import subprocess
    import sys

    code = (
        "import sys, legal_corpus, legal_corpus.adapters.rulings, legal_corpus.cli;"
        "sys.exit('unstructured' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize("name", list(BUNDLED))
def test_every_bundled_ruling_yields_its_text_and_caption(
    rulings: dict[str, LegalDocument], name: str
) -> None:
    court, decided, docket, title, phrase = BUNDLED[name]
    doc = rulings[name]
    assert doc.doc_id == f"ruling:{Path(name).stem}"
    assert doc.kind is Kind.OPINION and doc.jurisdiction == "us"
    assert doc.court == court
    assert doc.decision_date == decided == doc.version.valid_from
    assert doc.metadata["docket"] == docket
    assert doc.title == title
    assert phrase in doc.text
    assert len(doc.text) > 500
    assert doc.citation.startswith(f"{title}, {docket} (")
    pins = [s.pinpoint for s in doc.walk()]
    assert pins == [f"¶ {n}" for n in range(1, len(pins) + 1)]
    assert doc.sections[0].citation == f"{doc.citation}, ¶ 1"


def test_page_furniture_is_removed(rulings: dict[str, LegalDocument]) -> None:
    text = rulings["pdf/opinion_pdf_text_based.pdf"].text
    assert "Cite as: 569 U. S." not in text
    assert text.count("TARRANT REGIONAL WATER DIST. v. HERRMANN") <= 1
    assert "Document: 00116475093" not in rulings["pdf/ca1-12-2209.pdf"].text


def test_no_paragraph_is_repeated(rulings: dict[str, LegalDocument]) -> None:
    for name, doc in rulings.items():
        texts = [s.text for s in doc.sections]
        assert all(a != b for a, b in pairwise(texts)), name


def test_consolidated_dockets_are_all_kept(rulings: dict[str, LegalDocument]) -> None:
    dockets = rulings["pdf/ca1-12-2209.pdf"].metadata["dockets"]
    assert dockets[:3] == ["12-2207", "12-2208", "12-2209"]


def test_paragraphs_are_merged_into_sensible_sizes(rulings: dict[str, LegalDocument]) -> None:
    doc = rulings["pdf/opinion_tax.pdf"]
    sizes = sorted(len(s.text) for s in doc.sections)
    assert len(sizes) > 20
    assert sizes[len(sizes) // 2] > 200  # median: paragraphs, not lines
    assert sizes[-1] < 6000


@pytest.mark.slow
def test_slip_opinion_text(corpus_dir: Path) -> None:
    doc = parse_ruling_file(corpus_dir / "opinions" / "text" / "scotus_slip_opinion.txt")
    assert doc.title == "FISHER v. UNIVERSITY OF TEXAS AT AUSTIN ET AL."
    assert doc.court == "Supreme Court of the United States"
    assert doc.decision_date == date(2013, 6, 24)
    assert doc.metadata["docket"] == "No. 11–345"
    assert max(len(s.text) for s in doc.sections) < 6000
    assert "strict scrutiny" in doc.text


def _paragraphs_of(corpus_dir: Path) -> list[str]:
    raw = (corpus_dir / "opinions" / "text" / "opinion_text.txt").read_text()
    return [" ".join(p.split()) for p in raw.split("\n\n") if p.strip()]


def test_html_ruling(corpus_dir: Path, tmp_path: Path) -> None:
    paras = _paragraphs_of(corpus_dir)
    body = "".join(f"<p>{p}</p>" for p in paras)
    path = tmp_path / "ideal-electronic.html"
    path.write_text(f"<html><head><title>Opinion</title></head><body>{body}</body></html>")
    doc = parse_ruling_file(path)
    assert doc.doc_id == "ruling:ideal-electronic"
    assert doc.metadata["format"] == "html"
    assert doc.court == "United States Court of Appeals for the District of Columbia Circuit"
    assert doc.decision_date == date(1997, 11, 7)
    assert "indemnity agreement by a surety company" in doc.text


def test_docx_ruling(corpus_dir: Path, tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    for p in _paragraphs_of(corpus_dir):
        document.add_paragraph(p)
    path = tmp_path / "ideal-electronic.docx"
    document.save(str(path))
    doc = parse_ruling_file(path)
    assert doc.metadata["format"] == "docx"
    assert doc.metadata["docket"] == "No. 96-7169"
    assert doc.decision_date == date(1997, 11, 7)
    assert "indemnity agreement by a surety company" in doc.text


def test_unknown_extension_is_a_parse_error(corpus_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "opinion.rtf"
    path.write_bytes((corpus_dir / "opinions" / "text" / "opinion_text.txt").read_bytes())
    with pytest.raises(ParseError, match=r"unsupported file type '\.rtf'") as err:
        parse_ruling_file(path)
    assert err.value.path == str(path)


def test_caption_finders_on_real_caption_lines() -> None:
    head = (
        "United States Court of Appeals\n\nFOR THE DISTRICT OF COLUMBIA CIRCUIT\n"
        "Argued September 3, 1997      Decided November 7, 1997\nNo. 96-7169"
    )
    assert find_court(head) == "United States Court of Appeals for the District of Columbia Circuit"
    assert find_date(head) == date(1997, 11, 7)
    assert find_docket(head) == "No. 96-7169"
    assert find_docket("Ark. Bar No. 2003047 Appellate Case: 17-2543 Page: 1") == "No. 17-2543"
    assert find_date("No. 11–345. Argued October 10, 2012—Decided June 24, 2013") == date(
        2013, 6, 24
    )
    assert find_title(["Mary Beavers", "Appellant", "v.", "17-2543", "Midland Funding LLC"]) == (
        "Mary Beavers v. Midland Funding LLC"
    )


def test_numbered_paragraphs_become_pinpoints() -> None:
    from legal_corpus.adapters.rulings import Piece

    texts = [f"{n}. The court considered point {n}." for n in range(1, 7)]
    pieces = [Piece("NarrativeText", "OPINION", 1)]
    for t in texts:
        pieces += [Piece("NarrativeText", t, 1), Piece("NarrativeText", "More text here.", 1)]
    paras = build_paragraphs(pieces)
    assert [p[1].split(".")[0] for p in paras[1:]] == [str(n) for n in range(1, 7)]


def test_units_for(corpus_dir: Path) -> None:
    adapter = RulingsAdapter()
    assert len(adapter.discover(corpus_dir)) == 7
    (unit,) = adapter.units_for(corpus_dir, "ruling:ca1-12-2209")
    assert unit.paths[0].name == "ca1-12-2209.pdf"
    assert adapter.units_for(corpus_dir, "ruling:nope") == []


def test_pdf_without_text_is_an_error_not_an_empty_document(
    rulings: dict[str, LegalDocument], tmp_path: Path
) -> None:
    """What a scanned opinion (or a missing pikepdf) looks like: pages but no text."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    path = tmp_path / "scanned.pdf"
    pdf.save(str(path))
    with pytest.raises(ParseError, match="no text extracted") as err:
        parse_ruling_file(path)
    assert err.value.path == str(path)
