"""Case names: a query naming a court opinion gets it first (`indexing.case_names`)."""

from __future__ import annotations

import pytest

from indexing.case_names import CaseNames, looks_like_case_name, normalise
from indexing.model import SearchFilters
from indexing.retrieve import open_retriever

pytestmark = pytest.mark.unit

TITLES = {
    "aila:C1437": "Kartar Singh v State of Punjab",
    "aila:C2322": "State of Uttar Pradesh v Kartar Singh",
    "aila:C498": "Shanti and another v State of Haryana",
    "aila:C650": "Smt. Shanti and Another v State of Haryana",
    "aila:C1291": "Mohar Singh and Others v State of Rajasthan",
    "aila:C1340": "Mohar Singh v State of Rajasthan",
    "cap:1": "Roe v. Wade",
    "cap:2": "In re Gault",
}


@pytest.fixture()
def names() -> CaseNames:
    return CaseNames.from_titles(TITLES)


def test_normalise_drops_what_names_no_one():
    assert normalise("Babu Ram & Ors. versus State of U.P. and others") == (
        "babu", "ram", "v", "state", "of", "u", "p",
    )  # fmt: skip
    assert normalise("Roe vs. Wade") == normalise("ROE V WADE") == ("roe", "v", "wade")


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("Kartar Singh v. State of Punjab", ["aila:C1437"]),
        ("State of U.P. v Kartar Singh", []),  # another name for the State: no guess
        ("State of Uttar Pradesh vs Kartar Singh", ["aila:C2322"]),
        ("Shanti v State of Haryana", ["aila:C498"]),
        ("Smt Shanti and anr. v. State of Haryana", ["aila:C650"]),
        ("Roe v. Wade, 410 U.S. 113 (1973)", ["cap:1"]),  # a citation after the name
        ("what did Roe v. Wade hold about viability", []),  # a question, not a name
        ("In re Gault", []),  # no `v`: not a party-against-party name
    ],
)
def test_named(names, query, want):
    assert names.named(query) == want


def test_one_name_for_two_cases_puts_the_one_written_so_first(names):
    assert names.named("Mohar Singh and Others v State of Rajasthan") == [
        "aila:C1291",
        "aila:C1340",
    ]
    assert names.named("Mohar Singh v State of Rajasthan") == ["aila:C1340", "aila:C1291"]


def test_long_text_is_no_case_name():
    facts = "The appellant " + "was charged with murder " * 10 + "in State v Singh"
    assert not looks_like_case_name(facts)


def test_retriever_puts_the_named_opinion_first(index_slice):
    r = open_retriever(index_slice)
    try:
        first = r.search("Soni v. State of Uttar Pradesh", top_k=3)[0]
        assert first.chunk.doc_id == "aila:C79" and first.chunk.order == 0
        docs = r.search_documents("State of Rajasthan v Jeet Singh", top_k=3)
        assert docs[0][0] == "aila:C2364"
        # the filters still apply: a named opinion outside them is not returned
        only_us = SearchFilters(jurisdiction="us")
        found = r.search("Soni v. State of Uttar Pradesh", top_k=3, filters=only_us)
        assert "aila:C79" not in [p.chunk.doc_id for p in found]
    finally:
        r.close()
