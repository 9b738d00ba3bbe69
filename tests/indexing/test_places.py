"""Places a question names, their jurisdictions, and which of them the index holds no law of
(`indexing.places`, `legal_corpus.jurisdictions`), with the real spaCy entity model."""

from __future__ import annotations

from datetime import date

import pytest

from indexing.model import Chunk, Passage
from indexing.places import Place, PlaceFinder, abroad, may_name_a_place, not_held, only_entities
from legal_corpus.jurisdictions import country_of, jurisdiction_of, law_applying, laws_named

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


@pytest.mark.parametrize(
    ("place", "country", "law"),
    [
        ("Japan", "JP", ()),
        ("the United Kingdom", "GB", ()),
        ("the U.K.", "GB", ()),  # a name ISO spells otherwise
        ("Russia", "RU", ()),
        ("Ontario", "CA", ()),  # a province: ISO 3166-2
        ("England", "GB", ()),
        ("Texas", "US", ("us-tx", "us")),  # federal law applies in a state
        ("Georgia", "US", ("us-ga", "us")),  # the state, not the country
        ("the United States", "US", ("us",)),
        ("France", "FR", ("eu",)),  # EU law applies in a member state
        ("Norway", "NO", ("eu",)),  # and in the EEA, which takes in the GDPR
        ("India", "IN", ("in",)),
        ("the EU", None, ("eu",)),
        ("London", None, ()),  # a city is not known to be a country
    ],
)
def test_a_place_lies_in_a_country_under_the_law_that_applies_there(place, country, law):
    assert country_of(place) == country
    assert law_applying(place) == law


@pytest.mark.parametrize(
    ("question", "laws"),
    [
        ("Can a federal court confirm an arbitral award made in Chile?", ("us",)),
        ("Is an official record from Mexico self-authenticating in Federal court?", ("us",)),
        ("Under the GDPR, may a controller transfer personal data to Israel?", ("eu",)),
        ("Can an EU company send customer data to a processor in Brazil?", ("eu",)),
        ("Must a controller in Australia appoint a representative in the Union?", ("eu",)),
        ("May Member States restrict the right to erasure?", ("eu",)),
        ("Does the GDPR apply in a federal agency?", ("us", "eu")),
        # another country's own law; words that only look alike
        ("How long does copyright last in Japan?", ()),
        ("Is a price in EUR binding on the Unionist party?", ()),
    ],
)
def test_law_named_by_its_courts_or_instruments_is_read(question, laws):
    assert laws_named(question) == laws


@pytest.fixture(scope="module")
def finder() -> PlaceFinder:
    return PlaceFinder()


def test_the_places_a_question_names_are_found(finder):
    assert finder.places("How long does copyright last in Canada?") == (
        Place("Canada", None, "CA"),
    )
    assert finder.places(
        "What is the limitation period for a negligence claim in New York and in Ontario?"
    ) == (Place("New York", "us-ny", "US"), Place("Ontario", None, "CA"))
    assert finder.places("Must the United States be joined as a party?") == (
        Place("the United States", "us", "US"),
    )
    assert finder.places("Is copying for criticism fair use?") == ()


@pytest.mark.parametrize(
    ("text", "may"),
    [
        ("Is copying for criticism fair use?", False),  # the entity model is not run
        ("can a landlord keep the deposit?", False),
        ("How long does copyright last in Canada?", True),
        ("What does the GDPR say about profiling?", True),  # capitalised: the model decides
        ("Texas homestead exemption: how much is protected?", True),  # opens with a name
        ("", False),
    ],
)
def test_only_a_text_with_a_capitalised_name_is_read_for_places(text, may):
    assert may_name_a_place(text) is may


def test_the_entity_recogniser_runs_alone_and_finds_the_same_places(finder):
    import spacy

    from legal_corpus.adapters.rulings import SPACY_MODEL

    assert only_entities(spacy.load(SPACY_MODEL)).pipe_names == ["ner"]
    whole = spacy.load(SPACY_MODEL)
    text = "We won an arbitration in London. How do we enforce the award in New York?"
    assert [p.name for p in finder.places(text)] == [
        e.text for e in whole(text).ents if e.label_ == "GPE"
    ]


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


def test_a_trusted_question_is_abroad_only_when_every_place_it_names_is_another_countrys():
    holds = {"us", "eu"}.__contains__
    japan, london = Place("Japan", None, "JP"), Place("London", None)
    new_york, france = Place("New York", "us-ny", "US"), Place("France", None, "FR")
    assert abroad((japan,), [], holds) == ("Japan",)
    assert abroad((Place("Ontario", None, "CA"),), [], holds) == ("Ontario",)
    # a city, a state under federal law, a member state under EU law: not abroad
    assert abroad((london,), [], holds) == ()
    assert abroad((new_york,), [], holds) == ()
    assert abroad((france,), [], holds) == ()
    # "an arbitration in London ... assets in New York"; "the Panama Convention in US courts"
    assert abroad((london, new_york), [], holds) == ()
    assert abroad((Place("Panama", None, "PA"), Place("US", "us", "US")), [], holds) == ()
    # enacted law headed by the place holds it
    treaty = passage("statute", "22 U.S.C. § 2904", ("Chapter 41 — Japan-United States",))
    assert abroad((japan,), [treaty], holds) == ()
    # without any law indexed, a state is abroad too
    assert abroad((new_york,), [], set().__contains__) == ("New York",)
