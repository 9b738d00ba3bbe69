"""When the indexed sources do not address a question, the gateway says so, through both
answer paths, and the API and stream mark it (`answered: false`, `declined_by`): when its
relevance signal judges so, and when the model, given the passages, says so."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from indexing.model_record import model_identity
from indexing.relevance import RelevanceModel
from indexing.retrieve import Retriever, open_retriever
from serving.answer_format import NOT_ANSWERED
from serving.generators.extractive import NOT_ADDRESSED
from tests.serving.conftest import gateway_client
from tests.serving.test_app import auth, sse_events
from tests.support.fake_vllm import FakeModelServer
from tests.support.index_slice import index_slice  # noqa: F401  (the fixture)

pytestmark = pytest.mark.unit

ADDRESSED = "Is copying for criticism or news reporting fair use of a copyrighted work?"
NOT_IN_INDEX = "Is a merger that lessens competition prohibited by the Clayton Act?"


@pytest.fixture(scope="module")
def calibrated(index_slice) -> Iterator[Retriever]:  # noqa: F811
    """The slice's retriever with a relevance threshold between the two questions' cosines
    (the real features of the real index; the cut between them is this test's choice)."""
    retriever = open_retriever(index_slice)
    yes = retriever.search_assessed(ADDRESSED, top_k=6)[1]
    no = retriever.search_assessed(NOT_IN_INDEX, top_k=6)[1]
    assert yes is not None and no is not None and yes.cosine > no.cosine
    middle = (yes.cosine + no.cosine) / 2
    identity = model_identity(index_slice.model_dir(), index_slice.embed_backend)
    retriever.relevance = RelevanceModel(identity, (40.0, 0.0), -40.0 * middle, 0.5)
    yield retriever
    retriever.close()


@pytest.fixture
def client(calibrated, keys_file, user_key, tmp_path) -> Iterator[TestClient]:
    with gateway_client(calibrated, keys_file, tmp_path) as c:
        yield c


def test_retrieval_says_which_question_it_addresses(calibrated):
    passages, yes = calibrated.search_assessed(ADDRESSED, top_k=6)
    assert yes is not None and yes.answered and yes.probability is not None
    assert passages[0].chunk.doc_id == "usc:17/107"
    nearest, no = calibrated.search_assessed(NOT_IN_INDEX, top_k=6)
    assert no is not None and not no.answered and nearest  # the nearest passages still come
    # a question naming a provision the index holds is addressed, whatever the cosine
    named = calibrated.search_assessed("what does GDPR Art. 17 say", top_k=3)[1]
    assert named is not None and named.answered and named.probability == 1.0


def test_ask_answers_an_addressed_question(client, user_key):
    body = client.post("/v1/ask", json={"question": ADDRESSED}, headers=auth(user_key)).json()
    assert body["answered"] is True and body["relevance"] > 0.5
    assert body["citations"] and body["answer"] != NOT_ADDRESSED
    assert body["weak_match"] is False  # the calibration has no caution cut


@contextmanager
def cautious(retriever: Retriever, caution: float) -> Iterator[Retriever]:
    """`retriever` whose calibration marks an answered question below `caution` a weak
    match; restored after."""
    kept = retriever.relevance
    assert kept is not None
    retriever.relevance = dataclasses.replace(kept, caution=caution)
    try:
        yield retriever
    finally:
        retriever.relevance = kept


def test_an_answer_from_weakly_matched_passages_is_answered_and_marked(
    calibrated, above, keys_file, user_key, tmp_path
):
    """Between the threshold and the caution cut the question is answered, and the API, the
    stream, the metrics and the audit log mark the answer a weak match."""
    with cautious(calibrated, above), gateway_client(calibrated, keys_file, tmp_path) as client:
        body = client.post("/v1/ask", json={"question": ADDRESSED}, headers=auth(user_key)).json()
        r = client.post(
            "/v1/ask", json={"question": ADDRESSED, "stream": True}, headers=auth(user_key)
        )
        final = next(d for k, d in sse_events(r.text) if k == "citations")
        declined = client.post(
            "/v1/ask", json={"question": NOT_IN_INDEX}, headers=auth(user_key)
        ).json()
        metrics = client.get("/metrics").text
    assert body["answered"] is True and body["weak_match"] is True
    assert 0.5 < body["relevance"] < above
    assert body["citations"] and body["answer"] != NOT_ADDRESSED  # answered all the same
    assert final["weak_match"] is True
    assert declined["answered"] is False and declined["weak_match"] is False  # declined, not weak
    assert "juris_weak_match_answers_total 2.0" in metrics
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [a["weak_match"] for a in audit] == [True, True, False]


def test_the_demo_prints_a_weak_match(capsys):
    from serving.lab.demo import print_answer

    body = {
        "mode": "llm", "degraded": False, "model": "legal", "index_version": "juris_x",
        "answer": "Fair use [1].", "citations": [], "answered": True, "declined_by": None,
        "relevance": 0.6123, "weak_match": True,
        "verification": {"unsupported_claims": 0, "citations_by_status": {}},
    }  # fmt: skip
    print_answer(body)
    said = "WEAK MATCH: retrieval matched these passages to the question only weakly"
    assert f"{said} (relevance 0.61)" in capsys.readouterr().out
    print_answer({**body, "weak_match": False})
    assert "WEAK MATCH" not in capsys.readouterr().out


def test_ask_declines_a_question_the_sources_do_not_address(client, user_key):
    body = client.post("/v1/ask", json={"question": NOT_IN_INDEX}, headers=auth(user_key)).json()
    assert body["answered"] is False and body["relevance"] < 0.5
    assert body["answer"] == NOT_ADDRESSED
    # nothing in it is cited, so nothing verifies and reads as support
    assert body["citations"] == [] and body["verification"]["citations_by_status"] == {}
    # the statement makes no claim about the law: none of it is flagged as unsupported
    assert body["verification"]["unsupported_claims"] == 0
    assert body["passages"], "the nearest passages are shown, as such"
    assert body["mode"] == "extractive" and body["model"] == "extractive"
    assert body["declined_by"] == "retrieval"


def test_the_stream_marks_it_too(client, user_key):
    r = client.post(
        "/v1/ask", json={"question": NOT_IN_INDEX, "stream": True}, headers=auth(user_key)
    )
    events = sse_events(r.text)
    final = next(d for k, d in events if k == "citations")
    assert final["answered"] is False
    assert "".join(d["text"] for k, d in events if k == "token") == NOT_ADDRESSED


@pytest.fixture(scope="module")
def above(calibrated) -> float:
    """An overruling threshold above `ADDRESSED`'s relevance: a model's decline stands."""
    relevance = calibrated.search_assessed(ADDRESSED, top_k=6)[1].probability
    assert relevance is not None and 0.5 < relevance < 1.0
    return (relevance + 1.0) / 2


def model_saying(
    said: str, retriever, keys_file, user_key, tmp_path, stream: bool = False, **settings
):
    """Ask `ADDRESSED` of a gateway over `retriever` whose model answers `said` (and with
    `settings`); the JSON answer, the streamed events (when `stream`), the metrics, and the
    chat requests the model server saw."""
    with (
        FakeModelServer("say", text=said) as model,
        gateway_client(retriever, keys_file, tmp_path, vllm_url=model.url, **settings) as client,
    ):
        ask = {"question": ADDRESSED}
        body = client.post("/v1/ask", json=ask, headers=auth(user_key)).json()
        events = []
        if stream:
            r = client.post("/v1/ask", json={**ask, "stream": True}, headers=auth(user_key))
            events = sse_events(r.text)
        return body, events, client.get("/metrics").text, model.chat_requests()


@pytest.mark.parametrize(
    "said",
    [NOT_ANSWERED, "The provided sources do not address whether copying for news is fair use."],
)
def test_a_model_that_says_the_sources_do_not_answer_marks_the_answer_not_answered(
    calibrated, above, keys_file, user_key, tmp_path, said
):
    """Retrieval judged the passages to address the question, though not so surely as to
    overrule the model; the model, given them, says that they do not answer it and cites none
    (the sentence RAFT rows teach, or its own words). The answer is marked not answered, by
    the model, and its words stay the answer."""
    body, stream, metrics, asked = model_saying(
        said, calibrated, keys_file, user_key, tmp_path, stream=True, overrule_decline_from=above
    )
    assert len(asked) == 2, "the model was asked"
    assert body["mode"] == "llm" and body["model"] == "base" and body["degraded"] is False
    assert body["answer"] == said
    assert body["answered"] is False and body["declined_by"] == "model"
    assert body["relevance"] > 0.5  # retrieval judged otherwise
    assert body["citations"] == [] and body["passages"]
    # the statement claims nothing about the law: not flagged as an unsupported claim
    assert body["verification"]["unsupported_claims"] == 0
    final = next(d for k, d in stream if k == "citations")
    assert final["answered"] is False and final["declined_by"] == "model"
    assert 'juris_not_answered_total{by="model"} 2.0' in metrics
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(a["answered"], a["declined_by"]) for a in audit] == [(False, "model")] * 2


def test_a_model_answer_that_cites_its_sources_stays_answered(
    calibrated, keys_file, user_key, tmp_path
):
    said = "The sources do not answer every part of it, but fair use is not infringement [1]."
    body, _, _, _ = model_saying(said, calibrated, keys_file, user_key, tmp_path)
    assert body["mode"] == "llm" and body["answer"] == said
    assert body["answered"] is True and body["declined_by"] is None
    assert [c["n"] for c in body["citations"]] == [1]


def test_a_claim_the_model_adds_to_its_statement_stays_unsupported(
    calibrated, above, keys_file, user_key, tmp_path
):
    said = f"{NOT_ANSWERED} Copying a whole work is always fair use."
    body, _, _, _ = model_saying(
        said, calibrated, keys_file, user_key, tmp_path, overrule_decline_from=above
    )
    assert body["answered"] is False and body["declined_by"] == "model"
    assert body["verification"]["unsupported"] == ["Copying a whole work is always fair use."]


def assert_passages_quoted_instead(body: dict, reason: str) -> None:
    """The model's words were set aside (`reason`) for the passages quoted, the governing
    provision's first; the question is answered."""
    assert body["mode"] == "extractive" and body["model"] == "extractive"
    assert body["degraded"] is True and body["degraded_reason"] == reason
    assert body["answered"] is True and body["declined_by"] is None
    verified = [c for c in body["citations"] if c["status"] == "verified"]
    assert verified and verified[0]["doc_id"] == "usc:17/107"


def test_retrieval_overrules_a_decline_of_passages_it_matched_closely(
    calibrated, keys_file, user_key, tmp_path
):
    """The model says that the passages do not answer a question retrieval matched them to at
    the overruling threshold: the passages are quoted instead, the answer is degraded (reason
    `model_declined`) and answered, and nothing of the model's words is kept."""
    relevance = calibrated.search_assessed(ADDRESSED, top_k=6)[1].probability
    body, stream, metrics, asked = model_saying(
        NOT_ANSWERED, calibrated, keys_file, user_key, tmp_path, stream=True,
        overrule_decline_from=relevance,
    )  # fmt: skip
    assert len(asked) == 2, "the model was asked"
    assert_passages_quoted_instead(body, "model_declined")
    assert "do not answer" not in body["answer"]
    kinds = [k for k, _ in stream]
    degraded = next(d for k, d in stream if k == "degraded")
    assert degraded["reason"] == "model_declined" and "0." in degraded["message"]
    after = kinds.index("degraded")
    quoted = "".join(d["text"] for k, d in stream[after:] if k == "token")
    assert quoted == body["answer_raw"]  # what follows the event is the quoted answer
    final = next(d for k, d in stream if k == "citations")
    assert final["answered"] is True and final["declined_by"] is None
    assert 'juris_degraded_answers_total{reason="model_declined"} 2.0' in metrics
    assert 'juris_not_answered_total{by="model"}' not in metrics
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(a["answered"], a["degraded_reason"]) for a in audit] == [(True, "model_declined")] * 2


def test_overruling_off_leaves_every_decline_to_the_model(
    calibrated, keys_file, user_key, tmp_path
):
    body, _, _, _ = model_saying(
        NOT_ANSWERED, calibrated, keys_file, user_key, tmp_path, overrule_decline_from=0
    )
    assert body["mode"] == "llm" and body["answered"] is False
    assert body["declined_by"] == "model" and body["degraded"] is False


@pytest.mark.parametrize(
    ("declined_by", "says"),
    [
        ("retrieval", "the indexed sources do not appear to address the question"),
        ("model", "the model found that the passages it was given do not answer the question"),
    ],
)
def test_the_demo_prints_who_declined(capsys, declined_by, says):
    from serving.lab.demo import print_answer

    body = {
        "mode": "llm", "degraded": False, "model": "legal", "index_version": "juris_x",
        "answer": NOT_ANSWERED, "citations": [], "answered": False, "declined_by": declined_by,
        "verification": {"unsupported_claims": 0, "citations_by_status": {}},
    }  # fmt: skip
    print_answer(body)
    out = capsys.readouterr().out
    assert f"NOT ANSWERED: {says}; the passages are the nearest ones" in out
    print_answer({**body, "answered": True, "declined_by": None})
    assert "NOT ANSWERED" not in capsys.readouterr().out


def test_the_chat_route_says_that_an_overruled_decline_is_set_aside(
    calibrated, keys_file, user_key, tmp_path
):
    """An OpenAI-compatible client cannot take back the model's streamed words: a note says
    why they are set aside before the quoted passages follow."""
    relevance = calibrated.search_assessed(ADDRESSED, top_k=6)[1].probability
    with (
        FakeModelServer("say", text=NOT_ANSWERED) as model,
        gateway_client(
            calibrated, keys_file, tmp_path, vllm_url=model.url, overrule_decline_from=relevance
        ) as client,
    ):
        body = {"messages": [{"role": "user", "content": ADDRESSED}], "stream": True}
        r = client.post("/v1/chat/completions", json=body, headers=auth(user_key))
    chunks = [json.loads(ln[6:]) for ln in r.text.splitlines()
              if ln.startswith("data: ") and ln != "data: [DONE]"]  # fmt: skip
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    said, note, quoted = text.partition("but retrieval matched them to it closely")
    assert said.rstrip().endswith("[the model said that its passages do not answer the question,")
    assert NOT_ANSWERED in said and note
    assert quoted.startswith("; set that aside: the sources quoted verbatim follow]")
    assert "17 U.S.C. § 107" in quoted
    assert chunks[-1]["juris"]["degraded_reason"] == "model_declined"
    assert chunks[-1]["juris"]["answered"] is True


def test_the_demo_says_that_an_overruled_decline_is_set_aside(
    calibrated, keys_file, user_key, tmp_path, capsys
):
    from serving.app import create_app
    from serving.lab.demo import stream_answer
    from serving.lab.server import running_server
    from serving.settings import GatewaySettings

    relevance = calibrated.search_assessed(ADDRESSED, top_k=6)[1].probability
    with FakeModelServer("say", text=NOT_ANSWERED) as model:
        settings = GatewaySettings(  # type: ignore[call-arg]
            _env_file=None, api_keys_file=keys_file, vllm_url=model.url,
            audit_log=tmp_path / "audit.jsonl", overrule_decline_from=relevance,
        )  # fmt: skip
        with running_server(create_app(settings, retriever=calibrated)) as url:
            final = stream_answer(url, user_key, ADDRESSED, None)
    assert final is not None and final["degraded_reason"] == "model_declined"
    out = capsys.readouterr().out
    assert (
        "[the model said that its passages do not answer the question, but retrieval matched "
        "them to it closely; the passages are quoted instead]"
    ) in out
