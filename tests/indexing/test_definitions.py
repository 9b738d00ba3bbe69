"""The terms a passage defines (`indexing.definitions`), on the forms the law uses and on the
GDPR's own definitions article."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.definitions import defined_terms
from indexing.learned_order import defines, title_words

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("(1) ‘personal data’ means any information relating to an identified person;",
         ("personal data",)),
        ('the words "person" and "whoever" include corporations, companies, associations',
         ("person", "whoever")),
        ("“original”, “duplicate” or “copy” has the meaning given in Rule 1001",
         ("original", "duplicate", "copy")),
        ('The term "patentee" includes not only the patentee to whom the patent was issued',
         ("patentee",)),
        ('"Writing" shall mean letters, words, numbers; "Writing" refers to the same thing',
         ("Writing",)),  # repeats kept once
        ('the term “Office” is defined in section 2', ("Office",)),
        ("‘consent’ of the data subject means any freely given indication", ("consent",)),
        # the Federal Rules' official text doubles single curly quotes
        ("(c) Hearsay. ‘‘Hearsay’’ means a statement that:", ("Hearsay",)),
        ("In this rule, ‘‘State’’ includes the District and ‘‘court’’ means a federal court",
         ("State", "court")),
        ("''Indian tribe'' means an Indian tribe", ("Indian tribe",)),
    ],
)  # fmt: skip
def test_the_forms_that_define_a_term(text: str, terms: tuple[str, ...]) -> None:
    assert defined_terms(text) == terms


@pytest.mark.parametrize(
    "text",
    [
        "A “derivative work” is a work based upon one or more preexisting works",
        'the court said that "fair use" applied',
        "a statement that the owner's work means nothing",  # an apostrophe is not a quote
        "no quotes at all means nothing",
        "",
    ],
)
def test_quoted_words_that_define_nothing(text: str) -> None:
    assert defined_terms(text) == ()


def test_defines_measures_how_much_of_the_question_the_defined_term_covers() -> None:
    asked = title_words("What counts as personal data?")  # counts, person, data
    assert defines(asked, ("personal data",)) == pytest.approx(2 / 3)
    # the largest term the question holds all of, not a term it holds only in part
    assert defines(asked, ("data", "personal data", "data subject")) == pytest.approx(2 / 3)
    assert defines(asked, ("data subject", "controller")) == 0.0
    assert defines(asked, ()) == 0.0
    assert defines(frozenset(), ("personal data",)) == 0.0


def test_the_gdpr_definitions_article_defines_its_terms(corpus_dir: Path) -> None:
    from legal_corpus.adapters.gdpr import GdprAdapter

    adapter = GdprAdapter()
    units = adapter.discover(corpus_dir)
    if not units:
        pytest.skip(f"the GDPR is not in {corpus_dir}")
    art4 = next(d for d in adapter.parse(units[0]) if d.doc_id == "gdpr:art4")
    terms = defined_terms(art4.text)
    for term in ("personal data", "processing", "controller", "processor", "consent",
                 "pseudonymisation", "personal data breach"):  # fmt: skip
        assert term in terms
    assert len(terms) == 26  # Art. 4 defines 26 terms


def test_the_federal_rules_definitions_are_read(corpus_dir: Path) -> None:
    """Fed. R. Evid. 801 defines "statement", "declarant" and "hearsay" in the doubled
    quotes of the official text (‘‘Hearsay’’ means …)."""
    from legal_corpus.adapters import make_adapter

    adapter = make_adapter("federal_rules")
    units = [u for u in adapter.discover(corpus_dir) if u.key == "evidence/rule-801"]
    if not units:
        pytest.skip(f"Fed. R. Evid. 801 is not in {corpus_dir}")
    rule = next(d for d in adapter.parse(units[0]) if d.version.valid_to is None)
    assert defined_terms(rule.text) == ("Statement", "Declarant", "Hearsay")
    asked = title_words("What is hearsay?")
    assert defines(asked, defined_terms(rule.text)) == 1.0
