"""A model's answer that cites none of its sources is set aside for the passages quoted
(`degraded`, reason `model_uncited`); one that cites at least one stands, its other claims
marked unsupported; a decline is judged as a decline."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from serving.answer_format import NOT_ANSWERED
from serving.answering import MODEL_UNCITED
from tests.serving.conftest import gateway_client
from tests.serving.test_app import auth
from tests.serving.test_not_addressed import (  # noqa: F401  (calibrated: the fixture)
    ADDRESSED,
    assert_passages_quoted_instead,
    calibrated,
    model_saying,
)
from tests.support.fake_vllm import FakeModelServer
from tests.support.index_slice import index_slice  # noqa: F401  (the fixture)

pytestmark = pytest.mark.unit

UNCITED = "Fair use is a defence to copyright infringement in every case. Courts agree."


@pytest.fixture
def model_said(calibrated, keys_file, user_key, tmp_path) -> Callable[..., Any]:  # noqa: F811
    """Ask `ADDRESSED` of a gateway over the calibrated slice whose model answers `said`
    (`model_saying`, with further settings)."""

    def ask(said: str, **settings: Any) -> Any:
        return model_saying(said, calibrated, keys_file, user_key, tmp_path, **settings)

    return ask


def test_an_answer_that_cites_no_source_is_set_aside_for_the_quoted_passages(model_said, tmp_path):
    body, stream, metrics, asked = model_said(UNCITED, stream=True)
    assert len(asked) == 2, "the model was asked"
    assert_passages_quoted_instead(body, MODEL_UNCITED)
    assert "in every case" not in body["answer"]
    assert body["verification"]["unsupported_claims"] == 0  # the quotes' sentences are cited
    degraded = next(d for k, d in stream if k == "degraded")
    assert degraded["reason"] == MODEL_UNCITED
    # "Courts agree." is too short to count as a claim
    said_why = "cites none of the 6 sources it was given; unsupported claims: 1"
    assert degraded["message"].endswith(said_why)
    kinds = [k for k, _ in stream]
    said = "".join(d["text"] for k, d in stream[: kinds.index("degraded")] if k == "token")
    assert said.split() == UNCITED.split()  # streamed as written, then set aside
    quoted = "".join(d["text"] for k, d in stream[kinds.index("degraded") :] if k == "token")
    final = next(d for k, d in stream if k == "citations")
    assert quoted == final["answer_raw"] == body["answer_raw"]
    assert 'juris_degraded_answers_total{reason="model_uncited"} 2.0' in metrics
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(a["mode"], a["degraded_reason"]) for a in audit] == [("extractive", MODEL_UNCITED)] * 2


@pytest.mark.parametrize(
    "said",
    [
        "",
        "Yes.",
        "See 17 U.S.C. § 107 on fair use.",
        "Fair use is not an infringement of copyright [40].",
        # [1] is 17 U.S.C. § 107: the law named is not the source the marker points at
        "17 U.S.C. § 504(c) [1] allows statutory damages instead of actual damages.",
    ],
)
def test_an_empty_a_bare_a_statute_only_or_a_wrongly_numbered_answer_cites_no_source(
    model_said, said
):
    """None of these says which passage it rests on: a legal citation names the law, not the
    passage a reader checks it against, a marker of a source never given names none, and a
    marker right after a citation of other law names the wrong one (`misattributed`)."""
    body, stream, _, _ = model_said(said, stream=True)
    assert body["mode"] == "extractive" and body["degraded_reason"] == MODEL_UNCITED
    message = next(d for k, d in stream if k == "degraded")["message"]
    if "[40]" in said:
        assert "(its [n] markers: 1 not_in_sources)" in message
    elif "[1]" in said:
        assert "(its [n] markers: 1 misattributed)" in message
    else:
        assert "markers" not in message


def test_an_answer_citing_one_source_stands_with_its_other_claims_unsupported(model_said):
    said = "Fair use is not an infringement of copyright [1]. Courts always agree on it."
    body = model_said(said)[0]
    assert body["mode"] == "llm" and body["degraded"] is False and body["answer"] == said
    assert body["verification"]["unsupported"] == ["Courts always agree on it."]


def test_a_decline_is_not_set_aside_as_uncited(model_said):
    body = model_said(NOT_ANSWERED, overrule_decline_from=0)[0]
    assert body["mode"] == "llm" and body["degraded"] is False
    assert body["answered"] is False and body["declined_by"] == "model"


def test_with_the_set_aside_off_an_uncited_answer_is_shown_all_unsupported(model_said):
    body, _, metrics, _ = model_said(UNCITED, set_aside_uncited=False)
    assert body["mode"] == "llm" and body["degraded"] is False and body["answer"] == UNCITED
    assert body["verification"]["unsupported_claims"] == 1  # "Courts agree." is too short
    assert "model_uncited" not in metrics


def test_the_chat_route_says_that_an_uncited_answer_is_set_aside(
    calibrated,  # noqa: F811
    keys_file,
    user_key,
    tmp_path,
):
    """An OpenAI-compatible client cannot take back the streamed words: a note says why they
    are set aside before the quoted passages follow."""
    with (
        FakeModelServer("say", text=UNCITED) as model,
        gateway_client(calibrated, keys_file, tmp_path, vllm_url=model.url) as client,
    ):
        body = {"messages": [{"role": "user", "content": ADDRESSED}], "stream": True}
        r = client.post("/v1/chat/completions", json=body, headers=auth(user_key))
    chunks = [json.loads(ln[6:]) for ln in r.text.splitlines()
              if ln.startswith("data: ") and ln != "data: [DONE]"]  # fmt: skip
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    said, note, quoted = text.partition(
        "[the model's answer cited none of its sources; set that aside: "
        "the sources quoted verbatim follow]"
    )
    assert note and said.split() == UNCITED.split()
    assert "17 U.S.C. § 107" in quoted and "in every case" not in quoted
    assert chunks[-1]["juris"]["degraded_reason"] == MODEL_UNCITED
