"""Places a question names, their jurisdictions, and which of them the index holds no law of
(`indexing.places`, `legal_corpus.jurisdictions`), with the real spaCy entity model."""

from __future__ import annotations

from datetime import date

import pytest

from indexing.model import Chunk, Passage
from indexing.places import Place, PlaceFinder, not_held
from legal_corpus.jurisdictions import jurisdiction_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("place", "code"),
    [
        ("New York", "us-ny"),
        ("Texas's", "us-tx"),
        ("NY", "us-ny"),
        ("the United States", "us"),
        ("the U.S.", "us"),
        ("Washington, D.C.", "us-dc"),
        ("the EU", "eu"),
        ("India", "in"),
        ("Ontario", None),
        ("Germany", None),
        ("London", None),
        ("ny", None),  # a postal code only in capitals
    ],
)
def test_a_place_maps_to_its_jurisdiction_code(place, code):
    assert jurisdiction_of(place) == code


@pytest.fixture(scope="module")
def finder() -> PlaceFinder:
    return PlaceFinder()


def test_the_places_a_question_names_are_found(finder):
    assert finder.places("How long does copyright last in Canada?") == (Place("Canada", None),)
    assert finder.places(
        "What is the limitation period for a negligence claim in New York and in Ontario?"
    ) == (Place("New York", "us-ny"), Place("Ontario", None))
    assert finder.places("Must the United States be joined as a party?") == (
        Place("the United States", "us"),
    )
    assert finder.places("Is copying for criticism fair use?") == ()


def test_a_lower_case_entity_is_not_a_place(finder):
    # the model tags "absentia" a place in some sentences; a name is capitalised
    found = finder.places("May a trial continue in absentia when the defendant absconds?")
    assert all(p.name[:1].isupper() for p in found)


def test_without_the_model_no_place_is_found(caplog):
    missing = PlaceFinder("no_such_spacy_model")
    assert missing.places("How long does copyright last in Canada?") == ()
    assert "place names are not read" in caplog.text


def passage(kind: str, title: str, headings: tuple[str, ...] = ()) -> Passage:
    chunk = Chunk(
        chunk_id="c", doc_id="d", version="v", source="s", kind=kind, jurisdiction="us",
        court=None, title=title, citation="c", doc_citation="c", pinpoint="", anchor="",
        heading_path=headings, text="A court in Ontario held that the law of Ontario applies.",
        valid_from=date(2020, 1, 1), valid_to=None, order=0,
    )  # fmt: skip
    return Passage(chunk, 1.0)


def test_a_place_is_held_by_its_jurisdiction_or_by_the_headings_of_enacted_law():
    places = (Place("New York", "us-ny"), Place("Ontario", None), Place("Puerto Rico", "us-pr"))
    holds = {"us-ny"}.__contains__
    opinion = passage("opinion", "Smith v. Ontario", ("Smith v. Ontario",))
    assert not_held(places, [opinion], holds) == ("Ontario", "Puerto Rico")  # text, party name
    statute = passage("statute", "48 U.S.C. § 2121", ("Title 48", "Chapter 20 — Puerto Rico"))
    assert not_held(places, [statute], holds) == ("Ontario",)
