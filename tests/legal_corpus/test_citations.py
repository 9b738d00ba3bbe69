"""Citation parsing on real legal text: `(sentence, expected canonical citations)` tables.

Every sentence below is copied from the bundled corpus (`../shared/legal_corpus`); the comment
names the file. The GDPR rows are the exception: no bundled text cites the GDPR by name (the
regulation itself says "this Regulation"), so they use the spellings the issue lists.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legal_corpus.citations import is_bare_rule, normalize_citation, parse_citations
from legal_corpus.model import CitationKind

pytestmark = pytest.mark.unit


def canonicals(text: str) -> list[str]:
    return [c.canonical for c in parse_citations(text)]


US_CODE = [
    # opinions/text/opinion_text.txt:119 (OCR'd `§§` as `ss`; a lettered range)
    (
        "the United States.  40 U.S.C. ss 270a-270f (1994).  Ideal and",
        [f"40 U.S.C. § 270{x}" for x in "abcdef"],
    ),
    # opinions/text/opinion_text.txt:145
    (
        "jurisdiction under the Miller Act, 40 U.S.C. s 270b, which",
        ["40 U.S.C. § 270b"],
    ),
    # uscode/2022/usc17.xml (statutory note)
    (
        "'international agreement' contained in section 101 of title 17, United States Code, as",
        ["17 U.S.C. § 101"],
    ),
    # uscode/2022/usc17.xml (statutory note)
    (
        "governed by the provisions of section 304(a) of title 17, United States Code, as",
        ["17 U.S.C. § 304(a)"],
    ),
    # uscode/2022/usc17.xml
    (
        "exclusive rights, as provided by section 106 of title 17 as amended by the first",
        ["17 U.S.C. § 106"],
    ),
    # the spellings issue 2 lists
    ("17 U.S.C. § 107", ["17 U.S.C. § 107"]),
    ("17 USC 107", ["17 U.S.C. § 107"]),
    ("17 U.S.C. 107", ["17 U.S.C. § 107"]),
    ("17 U.S.C. §107(a)", ["17 U.S.C. § 107(a)"]),
    ("Section 107 of title 17", ["17 U.S.C. § 107"]),
    ("17 U.S.C. §§ 107–108", ["17 U.S.C. § 107", "17 U.S.C. § 108"]),
    ("28 U.S.C. §§ 1331, 1343", ["28 U.S.C. § 1331", "28 U.S.C. § 1343"]),
    ("28 U. S. C. §1331(a)", ["28 U.S.C. § 1331(a)"]),
    ("17 U.S.C.A. § 107", ["17 U.S.C. § 107"]),
    ("title 17, United States Code, section 107", ["17 U.S.C. § 107"]),
    ("18 U.S.C. 2511(2)(d)", ["18 U.S.C. § 2511(2)(d)"]),
    # uscode/2022/usc17.xml (statutory note): a list under `of title 17`
    (
        "enacting provisions set out as notes under sections 106, 114, and 115 of title 17",
        ["17 U.S.C. § 106", "17 U.S.C. § 114", "17 U.S.C. § 115"],
    ),
    # a hyphenated section is one section, not a range
    ("42 U.S.C. §§ 2000e-2, 2000e-3", ["42 U.S.C. § 2000e-2", "42 U.S.C. § 2000e-3"]),
    # a list does not swallow the title of the next citation
    ("42 U.S.C. § 1983, 28 U.S.C. § 1331", ["42 U.S.C. § 1983", "28 U.S.C. § 1331"]),
]

RULES = [
    # opinions/text/opinion_text.txt:259 (the case `Id.` refers to is outside the sentence)
    (
        'inferences in [its] favor."  Id. at 400;  Fed. R. Civ. P. 50(a)(1).',
        ["Id.", "Fed. R. Civ. P. 50(a)(1)"],
    ),
    # opinions/text/opinion_text.txt:352 (bare rule across a line break; the opinion named
    # Fed. R. Civ. P. 50(a)(1) earlier)
    (
        "judgment in favor of IFIC is appropriate pursuant to Rule\n50(a)(1).",
        ["Fed. R. Civ. P. 50(a)(1)"],
    ),
    # federal_rules/civil/rule-12/current.md (a list after a bare rule)
    (
        "If, on a motion under Rule 12(b)(6) or 12(c), matters outside the pleadings are presented",
        ["Fed. R. Civ. P. 12(b)(6)", "Fed. R. Civ. P. 12(c)"],
    ),
    # federal_rules/evidence/rule-1101/current.md (bare; only the evidence rules have a 104)
    (
        "the court's determination, under Rule 104(a), on a preliminary question of fact",
        ["Fed. R. Evid. 104(a)"],
    ),
    # federal_rules/bankruptcy/rule-1020/current.md (bare; a bankruptcy rule number)
    (
        "An objection or request under this rule is governed by Rule 9014 and must be served on",
        ["Fed. R. Bankr. P. 9014"],
    ),
    # federal_rules/civil/rule-14/current.md (a Supplemental Rule for admiralty claims)
    (
        "If a plaintiff asserts an admiralty or maritime claim under Rule 9(h), the defendant or "
        "a person who asserts a right under Supplemental Rule C(6)(a)(i) may",
        ["Fed. R. Civ. P. 9(h)", "Fed. R. Civ. P. Supp. R. C(6)(a)(i)"],
    ),
    # the spellings issue 2 lists
    ("Fed. R. Civ. P. 12(b)(6)", ["Fed. R. Civ. P. 12(b)(6)"]),
    ("FRCP 23", ["Fed. R. Civ. P. 23"]),
    ("F.R.C.P. 23(b)(3)", ["Fed. R. Civ. P. 23(b)(3)"]),
    ("Rule 702 of the Federal Rules of Evidence", ["Fed. R. Evid. 702"]),
    ("Federal Rule of Civil Procedure 56", ["Fed. R. Civ. P. 56"]),
    ("Fed. R. Evid. 702(b)", ["Fed. R. Evid. 702(b)"]),
    ("FRE 403", ["Fed. R. Evid. 403"]),
    ("FRAP 4", ["Fed. R. App. P. 4"]),
    ("FRBP 7001", ["Fed. R. Bankr. P. 7001"]),
    ("FRCrP 11", ["Fed. R. Crim. P. 11"]),
    ("Fed.R.Civ.P. 12", ["Fed. R. Civ. P. 12"]),
    ("Fed. R. Crim. P. 12.1", ["Fed. R. Crim. P. 12.1"]),
    ("Fed. R. App. P. 4(a)(1)(A)", ["Fed. R. App. P. 4(a)(1)(A)"]),
    ("Bankruptcy Rule 7001", ["Fed. R. Bankr. P. 7001"]),
    (
        "Rules 702 and 703 of the Federal Rules of Evidence",
        ["Fed. R. Evid. 702", "Fed. R. Evid. 703"],
    ),
    # a bare rule takes its family from the text before it
    (
        "Under Fed. R. Crim. P. 11 the court must address the defendant; Rule 32 then governs.",
        ["Fed. R. Crim. P. 11", "Fed. R. Crim. P. 32"],
    ),
]

GDPR = [
    ("Article 17(1) GDPR", ["GDPR Art. 17(1)"]),
    ("Art. 6(1)(f) GDPR", ["GDPR Art. 6(1)(f)"]),
    ("Article 17 of the GDPR", ["GDPR Art. 17"]),
    ("Article 6(1)(f) of Regulation (EU) 2016/679", ["GDPR Art. 6(1)(f)"]),
    ("Recital 47", ["GDPR Recital 47"]),
    ("Articles 15 to 17 GDPR", ["GDPR Art. 15", "GDPR Art. 16", "GDPR Art. 17"]),
]

CASES = [
    # opinions/text/scotus_slip_opinion.txt:243
    (
        "supra, and Gratz v. Bollinger, 539 U. S. 244 (2003), the",
        ["supra", "539 U.S. 244"],
    ),
    # opinions/cap_json/case_5.json
    (
        "our review shall be limited to questions of law. Kennett Bd. of Pub. Works v. Shipman, "
        "15 S.W.3d 792, 795 (Mo.App. S.D.2000). The evidence is reviewed",
        ["15 S.W.3d 792"],
    ),
    # opinions/text/scotus_slip_opinion.txt (full, then id., short and supra forms)
    (
        "See Grutter v. Bollinger, 539 U. S. 306, 315 (2003). Id., at 325. "
        "Grutter, 539 U. S., at 330. Grutter, supra, at 333.",
        ["539 U.S. 306"] * 4,
    ),
    # opinions/text/scotus_slip_opinion.txt:225 (a state code through eyecite)
    (
        "Ten Percent Law, codified at Tex. Educ. Code Ann. §51.803",
        ["Tex. Educ. Code Ann. § 51.803"],
    ),
    ("29 C.F.R. § 1630.2(j)", ["29 C.F.R. § 1630.2(j)"]),
]

INDIA = [
    # aila/casedocs/C1000.txt
    (
        "stood trial for commission of offences under Sections 147, 148, 341, 447, 302 read with "
        "Section 109 read with Section 149 of the Indian Penal Code",
        [f"IPC § {n}" for n in (147, 148, 341, 447, 302, 109, 149)],
    ),
    # aila/casedocs/C1033.txt
    (
        "a charge sheet under Sections 302, 364 and 120-B of IPC was filed",
        ["IPC § 302", "IPC § 364", "IPC § 120B"],
    ),
    # aila/casedocs/C1038.txt
    (
        "for the offences punishable under Sections 148, 302/149 and 201/149 IPC and sentenced",
        ["IPC § 148", "IPC § 302", "IPC § 149", "IPC § 201", "IPC § 149"],
    ),
    # aila/casedocs/C1003.txt
    (
        "submitted a report u/s. 173 of the Code of Criminal Procedure (for short 'the Code').",
        ["CrPC § 173"],
    ),
    # aila/casedocs/C1011.txt
    (
        "punishable under Section 302 and Section 323 IPC and under Section 27 of the Arms Act and",
        ["IPC § 302", "IPC § 323", "Arms Act § 27"],
    ),
    # aila/casedocs/C1030.txt
    (
        "found guilty of offence punishable under Section 302 of the Indian Penal Code, 1860 (in",
        ["IPC § 302"],
    ),
    # aila/casedocs/C1544.txt
    (
        "strictly in terms of proviso appended to Section 138 of the Negotiable Instruments Act",
        ["Negotiable Instruments Act § 138"],
    ),
    # aila/casedocs/C1220.txt
    (
        "are clearly violative of Articles 14, 19 and 301 of the Constitution of India. Serious",
        ["Const. of India art. 14", "Const. of India art. 19", "Const. of India art. 301"],
    ),
    # aila/casedocs/C1005.txt
    (
        "Appeal) Rules and Art. 311(2) of the Constitution, came to the conclusion",
        ["Const. of India art. 311(2)"],
    ),
    ("Article 21 of the Constitution", ["Const. of India art. 21"]),
    ("Section 13 of the Hindu Marriage Act, 1955", ["Hindu Marriage Act, 1955 § 13"]),
    ("s. 9 of the Code of Civil Procedure", ["CPC § 9"]),
]

NEGATIVE = [
    "Section 5 of the agreement",
    "Call (202) 555-0143 or 1-800-555-0199 before 5 p.m.",
    "In 2019 the parties met 12 times; in 1998, 302 claims were filed.",
    # aila/casedocs/C1020.txt: the Code of Civil Procedure's Orders, articles of association
    "89.  Order 47, Rule 1 of the Code provides for filing an application for",
    "our attention was drawn to Rule 8 of the Articles of Association and it was submitted",
    # gdpr/gdpr-en.xml: another regulation's article is not a GDPR article
    "Where reference is made to this paragraph, Article 5 of Regulation (EU) No 182/2011 shall",
    "Local Rule 7.1 requires a conference; Circuit Rule 28 governs briefs.",
    "Article 17 of the contract",
]


@pytest.mark.parametrize(("sentence", "expected"), US_CODE + RULES + GDPR + CASES + INDIA)
def test_sentence_yields_canonical_citations(sentence: str, expected: list[str]) -> None:
    assert canonicals(sentence) == expected


@pytest.mark.parametrize("sentence", NEGATIVE)
def test_text_without_a_legal_citation_yields_none(sentence: str) -> None:
    assert parse_citations(sentence) == []


@pytest.mark.parametrize(
    ("text", "kind", "doc_id", "pinpoint"),
    [
        ("17 U.S.C. § 107(a)(1)", CitationKind.USC, "usc:17/107", "(a)(1)"),
        ("Fed. R. Civ. P. 12(b)(6)", CitationKind.RULE, "frcp:12", "(b)(6)"),
        ("Fed. R. Evid. 702", CitationKind.RULE, "fre:702", ""),
        ("Fed. R. Crim. P. 11", CitationKind.RULE, "frcrmp:11", ""),
        ("Fed. R. App. P. 4", CitationKind.RULE, "frap:4", ""),
        ("Fed. R. Bankr. P. 7001", CitationKind.RULE, "frbp:7001", ""),
        ("FRCP 23.1", CitationKind.RULE, "frcp:23.1", ""),
        ("GDPR Art. 17(1)(a)", CitationKind.GDPR, "gdpr:art17", "(1)(a)"),
        ("GDPR Recital 47", CitationKind.GDPR, "gdpr:recital47", ""),
        ("410 U.S. 113, 116", CitationKind.CASE, None, "116"),
        ("Section 302 of the Indian Penal Code", CitationKind.STATUTE_OTHER, None, ""),
        ("Article 21 of the Constitution", CitationKind.CONSTITUTION, None, ""),
    ],
)
def test_kind_doc_id_and_pinpoint(
    text: str, kind: CitationKind, doc_id: str | None, pinpoint: str
) -> None:
    (cit,) = parse_citations(text)
    assert (cit.kind, cit.doc_id, cit.pinpoint) == (kind, doc_id, pinpoint)


@pytest.mark.parametrize(
    "canonical",
    [
        "17 U.S.C. § 107",
        "17 U.S.C. § 107(a)(1)",
        "Fed. R. Civ. P. 12(b)(6)",
        "Fed. R. Evid. 702",
        "Fed. R. Crim. P. 11",
        "Fed. R. App. P. 4",
        "Fed. R. Bankr. P. 7001",
        "GDPR Art. 17(1)(a)",
        "GDPR Recital 47",
        "IPC § 302",
        "Const. of India art. 21",
        "410 U.S. 113",
    ],
)
def test_canonical_forms_normalise_to_themselves(canonical: str) -> None:
    cit = normalize_citation(canonical)
    assert cit is not None and cit.canonical == canonical


@pytest.mark.parametrize(
    ("query", "canonical", "doc_id"),
    [
        ("what does 17 USC 107 say about fair use", "17 U.S.C. § 107", "usc:17/107"),
        ("Rule 12(b)(6) motion to dismiss", "Fed. R. Civ. P. 12(b)(6)", "frcp:12"),
        ("usc:17/107", "17 U.S.C. § 107", "usc:17/107"),
        ("frcp:12(b)(6)", "Fed. R. Civ. P. 12(b)(6)", "frcp:12"),
        ("gdpr:recital47", "GDPR Recital 47", "gdpr:recital47"),
        # typed in lower case
        ("17 usc 107", "17 U.S.C. § 107", "usc:17/107"),
        ("frcp 12(b)(6)", "Fed. R. Civ. P. 12(b)(6)", "frcp:12"),
        ("art 17 gdpr", "GDPR Art. 17", "gdpr:art17"),
        ("fed. r. evid. 702", "Fed. R. Evid. 702", "fre:702"),
    ],
)
def test_normalize_citation_for_the_search_box(query: str, canonical: str, doc_id: str) -> None:
    cit = normalize_citation(query)
    assert cit is not None and (cit.canonical, cit.doc_id) == (canonical, doc_id)


def test_normalize_citation_without_a_citation_is_none() -> None:
    assert normalize_citation("fair use of a photograph") is None


def test_bare_rule_is_marked_and_defaults_to_civil_procedure() -> None:
    bare, explicit = parse_citations("Rule 12(b)(6); compare Fed. R. Civ. P. 56.")
    assert bare.canonical == "Fed. R. Civ. P. 12(b)(6)" and is_bare_rule(bare)
    assert explicit.canonical == "Fed. R. Civ. P. 56" and not is_bare_rule(explicit)


def test_bare_rule_in_a_text_about_other_rules_is_not_a_federal_rule() -> None:
    # aila/casedocs/C1162.txt speaks of a state rule; the text shows it is an Indian judgment
    text = (
        "State of Kerala etc. v. Allassary Mohammed etc. etc. (supra) and held that Rule 22 was "
        "purely directory and must be construed as such."
    )
    assert [c for c in parse_citations(text) if c.kind is CitationKind.RULE] == []


def test_us_code_found_by_both_parsers_is_reported_once() -> None:
    found = parse_citations("Plaintiffs sued under 42 U.S.C. § 1983 and 28 U.S.C. §§ 1331, 1343.")
    assert [c.canonical for c in found] == [
        "42 U.S.C. § 1983",
        "28 U.S.C. § 1331",
        "28 U.S.C. § 1343",
    ]


def test_id_after_a_statute_names_that_statute() -> None:
    first, again = parse_citations("See 17 U.S.C. § 107(a). Id.")
    assert (again.kind, again.canonical, again.doc_id) == (
        first.kind,
        first.canonical,
        first.doc_id,
    )


def test_spans_point_at_the_raw_text() -> None:
    text = "Under 17 USC 107 and Fed. R. Civ. P. 12(b)(6), see Roe v. Wade, 410 U.S. 113 (1973)."
    found = parse_citations(text)
    assert [c.raw for c in found] == ["17 USC 107", "Fed. R. Civ. P. 12(b)(6)", "410 U.S. 113"]
    assert all(text[c.start : c.end] == c.raw for c in found)
    assert [c.start for c in found] == sorted(c.start for c in found)


def test_importing_the_module_does_not_load_eyecite() -> None:
    code = (
        "import sys, legal_corpus.citations as c; c.parse_citations('Fed. R. Evid. 702');"
        "print('eyecite' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_real_opinion(corpus_dir: Path) -> None:
    """A whole DC Circuit opinion: statutes, rules and cases, each span matching its text."""
    text = (corpus_dir / "opinions/text/opinion_text.txt").read_text()
    found = parse_citations(text)
    assert all(text[c.start : c.end] == c.raw for c in found)
    names = [c.canonical for c in found]
    assert names.count("Fed. R. Civ. P. 50(a)(1)") == 3
    assert "40 U.S.C. § 270b" in names and "73 F.3d 397" in names
    kinds = {c.kind for c in found}
    assert {CitationKind.USC, CitationKind.RULE, CitationKind.CASE} <= kinds


def test_fast_eyecite_tokenizer_finds_what_eyecite_finds(corpus_dir: Path) -> None:
    """The windowed tokenizer and the faster court lookup change speed, not results."""
    from eyecite import get_citations
    from eyecite.tokenizers import AhocorasickTokenizer

    from legal_corpus.citations.cases import _eyecite

    _, fast = _eyecite()
    text = (corpus_dir / "opinions/text/opinion_text.txt").read_text()

    def found(tokenizer: object) -> list[tuple[str, tuple[int, int], str, str | None]]:
        return [
            (type(c).__name__, c.span(), c.matched_text(), getattr(c.metadata, "court", None))
            for c in get_citations(text, tokenizer=tokenizer)
        ]

    expected = found(AhocorasickTokenizer())
    assert len(expected) > 30
    assert found(fast) == expected


def test_fast_court_lookup_agrees_with_eyecite() -> None:
    import eyecite.helpers as helpers
    from courts_db import courts

    from legal_corpus.citations.cases import _eyecite, _speed_up_court_lookup

    _eyecite()
    fast = helpers.get_court_by_paren
    assert getattr(fast, "_juris_fast", False)
    for paren in ["2d Cir.", "5th Cir.", "Mo.App. S.D.", "D.C. Cir.", "Tex.App.-Waco", "9th Cir"]:
        assert fast(paren) == _reference_court(paren, courts)
    _speed_up_court_lookup()  # idempotent
    assert helpers.get_court_by_paren is fast


def _reference_court(paren: str, courts: list[dict[str, object]]) -> object:
    """eyecite 2.7's `get_court_by_paren`, as written there."""
    import re

    court_str = re.sub(r"[^\w]", "", paren).lower()
    code = None
    for court in courts:
        s = re.sub(r"[^\w]", "", str(court["citation_string"])).lower()
        if s == court_str:
            return str(court["id"])
        if s.startswith(court_str):
            code = court["id"]
    return code


_PIECES = [
    "17",
    "U.S.C.",
    "USC",
    "§",
    "§§",
    "107",
    "108",
    "–",
    "-",
    ",",
    "and",
    "or",
    "(a)",
    "(1)",
    "Fed.",
    "R.",
    "Civ.",
    "Evid.",
    "P.",
    "Rule",
    "Rules",
    "12",
    "702",
    "7001",
    "12.1",
    "of",
    "the",
    "Federal",
    "Rules",
    "Evidence",
    "Article",
    "Art.",
    "GDPR",
    "Recital",
    "47",
    "Section",
    "Sections",
    "IPC",
    "read",
    "with",
    "/",
    "Constitution",
    "Id.",
    "supra",
    "at",
    "410",
    "U.S.",
    "113",
    "v.",
    "Roe",
    "Wade",
    "(1973)",
    "title",
    "Act",
    "1955",
    "Order",
    "XXI",
    "\n",
    ";",
    ".",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30))
def test_any_mix_of_citation_words_parses_without_error(words: list[str]) -> None:
    text = " ".join(words)
    found = parse_citations(text)
    assert all(text[c.start : c.end] == c.raw and c.canonical for c in found)
    assert [c.start for c in found] == sorted(c.start for c in found)


def test_rule_family_of_the_text_itself() -> None:
    # federal_rules/criminal/rule-12_2/current.md: a Criminal Rule citing its own family
    text = (
        "If the defendant provides notice under Rule 12.2(a), the court must, upon the "
        "government’s motion, order the defendant to be examined under 18 U.S.C. § 4242."
    )
    assert canonicals(text) == ["Fed. R. Civ. P. 12.2(a)", "18 U.S.C. § 4242"]
    found = parse_citations(text, rule_family="criminal")
    assert [c.canonical for c in found] == ["Fed. R. Crim. P. 12.2(a)", "18 U.S.C. § 4242"]
    assert found[0].doc_id == "frcrmp:12.2"


def test_this_title_inside_the_us_code() -> None:
    # uscode/2022/usc17.xml (statutory note)
    text = (
        "enacting provisions set out as notes under this section and sections 106, 114, and 115 "
        "of this title"
    )
    assert canonicals(text) == []
    found = parse_citations(text, usc_title="17")
    assert [c.doc_id for c in found] == ["usc:17/106", "usc:17/114", "usc:17/115"]


def test_a_bare_section_inside_the_us_code_is_of_the_same_title() -> None:
    # uscode/2022/usc17.xml, § 106 and § 107: a positive-law title writes no "of this title"
    text = "Subject to sections 107 through 109, the owner of copyright under this title has"
    assert canonicals(text) == []
    found = parse_citations(text, usc_title="17")
    assert [c.doc_id for c in found] == ["usc:17/107", "usc:17/108", "usc:17/109"]
    fair_use = "Notwithstanding the provisions of sections 106 and 106A, the fair use"
    assert [c.doc_id for c in parse_citations(fair_use, usc_title="17")] == [
        "usc:17/106",
        "usc:17/106A",
    ]
    pinned = parse_citations("as defined in section 101(a)(2)", usc_title="35")
    assert [(c.doc_id, c.pinpoint) for c in pinned] == [("usc:35/101", "(a)(2)")]
    # a section of another act or title is not the document's own title
    for other in ("section 5 of the Act of June 1, 1938", "section 12 of Public Law 95-452"):
        assert parse_citations(other, usc_title="17") == []
    assert [c.doc_id for c in parse_citations("section 1 of title 9", usc_title="17")] == [
        "usc:9/1"
    ]


def test_a_bare_article_inside_the_gdpr_is_its_own() -> None:
    # gdpr/gdpr-en.xml, Art. 30(5) and Art. 94(2)
    text = (
        "processing of special categories of data as referred to in Article 9(1) or processing "
        "of personal data relating to criminal convictions and offences referred to in Article "
        "10, and is unlikely to result in a risk"
    )
    assert canonicals(text) == []  # outside the GDPR, "Article 9(1)" of what?
    found = parse_citations(text, in_gdpr=True)
    assert [(c.doc_id, c.pinpoint) for c in found] == [("gdpr:art9", "(1)"), ("gdpr:art10", "")]
    other_act = (
        "the Working Party on the Protection of Individuals with regard to the Processing of "
        "Personal Data established by Article 29 of Directive 95/46/EC shall be construed"
    )
    assert parse_citations(other_act, in_gdpr=True) == []
    listed = parse_citations("the rights provided for in Articles 15 to 18", in_gdpr=True)
    assert [c.doc_id for c in listed] == [f"gdpr:art{n}" for n in (15, 16, 17, 18)]
    # a named citation reads the same either way
    assert [c.doc_id for c in parse_citations("Article 17 GDPR", in_gdpr=True)] == ["gdpr:art17"]


@pytest.mark.parametrize(("option", "value"), [("rule_family", "tax"), ("usc_title", "five")])
def test_bad_options_are_refused_with_a_clear_message(option: str, value: str) -> None:
    with pytest.raises(ValueError, match=repr(value)):
        parse_citations("Rule 12", **{option: value})


def test_supra_resolves_to_the_named_case(corpus_dir: Path) -> None:
    """In the Supreme Court slip opinion, supra names Grutter and Gratz (both v. Bollinger,
    both in volume 539) and cases whose full citation only comes later than the syllabus."""
    text = (corpus_dir / "opinions/text/scotus_slip_opinion.txt").read_text()
    found = parse_citations(text)

    def supra_after(words: str) -> str:
        # the slip opinion breaks lines anywhere: match the words across any whitespace
        m = re.search(r"\s+".join(map(re.escape, words.split())) + r",\s*", text)
        assert m is not None, words
        return next(c.canonical for c in found if c.start >= m.end() and c.raw.startswith("supra"))

    assert supra_after("decisions in Grutter v. Bollinger") == "539 U.S. 306"
    assert supra_after("strict scrutiny, Gratz") == "539 U.S. 244"
    assert supra_after("benefits of diversity. Bakke") == "438 U.S. 265"
    assert supra_after("See Adarand") == "515 U.S. 200"  # its full citation comes later


def test_command_line_parse(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "legal_corpus.citations", "parse", "See 17 USC 107 and FRE 702."],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(r["canonical"], r["doc_id"]) for r in rows] == [
        ("17 U.S.C. § 107", "usc:17/107"),
        ("Fed. R. Evid. 702", "fre:702"),
    ]
    missing = tmp_path / "no-such-opinion.txt"
    bad = subprocess.run(
        [sys.executable, "-m", "legal_corpus.citations", "parse", "--file", str(missing)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and str(missing) in bad.stderr
