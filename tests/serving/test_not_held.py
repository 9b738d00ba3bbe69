"""A question the relevance signal doubts that names a place whose law the index holds none of
is not answered, and the gateway says which place (`indexing.places`); one the signal trusts
that names only another country's place (a province of Canada) is answered, marked a weak
match naming it; a place the index holds, and a city, a state or an EU member state named in
a trusted question, change nothing. A question that names held law beside the place (a
federal court, the United States) asks how that law reaches there: a doubted one is answered,
a weak match naming the place, and a trusted one is not marked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from indexing.retrieve import Retriever
from serving.generators.extractive import NOT_ADDRESSED
from serving.lab.demo import print_answer
from tests.serving.conftest import gateway_client
from tests.serving.test_app import auth, sse_events
from tests.serving.test_not_addressed import ADDRESSED, calibrated, cautious  # noqa: F401
from tests.support.index_slice import index_slice  # noqa: F401  (the fixture)

pytestmark = pytest.mark.unit

# the slice holds United States federal law and the GDPR, no law of Ontario
IN_ONTARIO = ADDRESSED.removesuffix("?") + " in Ontario?"
IN_THE_US = ADDRESSED.removesuffix("?") + " in the United States?"
# the held law named beside the place: by its courts, and by a held place
IN_ONTARIO_FEDERAL_COURT = ADDRESSED.removesuffix("?") + " in Ontario, in a federal court?"
IN_ONTARIO_AND_THE_US = ADDRESSED.removesuffix("?") + " in Ontario and in the United States?"
BESIDE = (IN_ONTARIO_FEDERAL_COURT, IN_ONTARIO_AND_THE_US)


@pytest.fixture
def doubting(calibrated) -> Iterator[Retriever]:  # noqa: F811
    """`calibrated`, with a caution cut above every place question's relevance: the signal
    answers them but doubts them (a weak match)."""
    probabilities = []
    for question in (IN_ONTARIO, IN_THE_US, *BESIDE):
        relevance = calibrated.search_assessed(question, top_k=6)[1]
        assert relevance is not None and relevance.probability is not None
        probabilities.append(relevance.probability)
    assert min(probabilities) > 0.5  # all answered without the caution cut
    with cautious(calibrated, (max(probabilities) + 1.0) / 2) as retriever:
        yield retriever


def test_a_doubted_question_naming_a_place_not_held_is_declined(doubting):
    passages, ontario = doubting.search_assessed(IN_ONTARIO, top_k=6)
    assert ontario is not None and not ontario.answered and not ontario.weak
    assert ontario.not_held == ("Ontario",)
    assert passages and passages[0].chunk.doc_id == "usc:17/107"  # the nearest still come
    us = doubting.search_assessed(IN_THE_US, top_k=6)[1]
    assert us is not None and us.answered and us.weak and us.not_held == ()


@pytest.mark.parametrize("question", BESIDE)
def test_a_doubted_question_naming_held_law_beside_the_place_is_answered_naming_it(
    doubting, question
):
    passages, relevance = doubting.search_assessed(question, top_k=6)
    assert relevance is not None and relevance.answered and relevance.weak
    assert relevance.not_held == ("Ontario",)
    assert passages and passages[0].chunk.doc_id == "usc:17/107"


@pytest.mark.parametrize("question", BESIDE)
def test_a_trusted_question_naming_held_law_beside_another_country_is_not_marked(
    calibrated,  # noqa: F811
    question,
):
    relevance = calibrated.search_assessed(question, top_k=6)[1]
    assert relevance is not None and relevance.answered and not relevance.weak
    assert relevance.not_held == ()


@pytest.mark.parametrize("place", ["London", "France", "New York"])
def test_a_city_a_member_state_or_a_state_named_in_a_trusted_question_changes_nothing(
    calibrated,  # noqa: F811
    place,
):
    # a city is not known to be a country; EU law applies in France, federal law in New York
    question = ADDRESSED.removesuffix("?") + f" in {place}?"
    relevance = calibrated.search_assessed(question, top_k=6)[1]
    assert relevance is not None and relevance.answered and not relevance.weak
    assert relevance.not_held == ()


def test_a_trusted_question_naming_only_another_country_is_answered_as_a_weak_match(
    calibrated,  # noqa: F811
):
    # trusted without the place; events abroad may still be under the law the index holds
    plain = calibrated.search_assessed(ADDRESSED, top_k=6)[1]
    assert plain is not None and plain.answered and not plain.weak
    passages, ontario = calibrated.search_assessed(IN_ONTARIO, top_k=6)
    assert ontario is not None and ontario.answered and ontario.weak
    assert ontario.not_held == ("Ontario",)
    assert passages and passages[0].chunk.doc_id == "usc:17/107"


def test_the_api_and_the_demo_name_the_country_of_a_weak_match(
    calibrated,  # noqa: F811
    keys_file,
    user_key,
    tmp_path,
    capsys,
):
    with gateway_client(calibrated, keys_file, tmp_path) as client:
        body = client.post("/v1/ask", json={"question": IN_ONTARIO}, headers=auth(user_key)).json()
    assert body["answered"] is True and body["declined_by"] is None
    assert body["weak_match"] is True and body["not_held"] == ["Ontario"]
    assert body["citations"]  # answered from the passages, verified as ever
    print_answer(body)
    said = "WEAK MATCH: the question names Ontario, and the indexed sources hold no law of it"
    assert said in capsys.readouterr().out


def test_places_are_not_read_when_turned_off(doubting):
    kept, doubting.places = doubting.places, None
    try:
        relevance = doubting.search_assessed(IN_ONTARIO, top_k=6)[1]
    finally:
        doubting.places = kept
    assert relevance is not None and relevance.answered and relevance.weak


def test_the_answer_says_which_place_the_index_holds_no_law_of(
    doubting, keys_file, user_key, tmp_path
):
    with gateway_client(doubting, keys_file, tmp_path) as client:
        body = client.post("/v1/ask", json={"question": IN_ONTARIO}, headers=auth(user_key)).json()
        streamed = client.post(
            "/v1/ask", json={"question": IN_ONTARIO, "stream": True}, headers=auth(user_key)
        )
    said = "The question names Ontario; the indexed sources hold no law of it."
    assert body["answered"] is False and body["declined_by"] == "retrieval"
    assert body["not_held"] == ["Ontario"] and body["weak_match"] is False
    assert body["answer"] == f"{said} {NOT_ADDRESSED}"
    assert body["citations"] == [] and body["passages"]  # nothing to verify; nearest shown
    final = next(d for k, d in sse_events(streamed.text) if k == "citations")
    assert final["not_held"] == ["Ontario"] and final["answered"] is False


def test_the_audit_log_and_the_demo_name_the_place(doubting, keys_file, user_key, tmp_path, capsys):
    with gateway_client(doubting, keys_file, tmp_path) as client:
        body = client.post("/v1/ask", json={"question": IN_ONTARIO}, headers=auth(user_key)).json()
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(a["answered"], a["not_held"]) for a in audit] == [(False, ["Ontario"])]
    print_answer(body)
    said = "NOT ANSWERED: the question names Ontario, and the indexed sources hold no law of it"
    assert said in capsys.readouterr().out
