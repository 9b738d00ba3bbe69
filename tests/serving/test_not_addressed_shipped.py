"""The shipped relevance calibration, on an index that lacks the law a question needs.

The case a new user met: with only the GDPR indexed, the demo's fair-use question was
answered from GDPR Recital 148 and Art. 83(2), every quote verified. Here the whole GDPR is
built into a real embedded index and asked through the gateway with the calibration that
ships in `indexing/calibration/` (nothing fitted or set by the test): questions of US
copyright, appellate procedure and evidence are declined, GDPR questions are answered, and
with a model server configured the model is not asked to write from passages that do not
govern.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexing.retrieve import Retriever, open_retriever
from legal_corpus.adapters import make_adapter
from serving.generators.extractive import NOT_ADDRESSED
from tests.serving.conftest import gateway_client
from tests.serving.test_app import auth
from tests.support.fake_vllm import FakeModelServer
from tests.support.index_slice import build_test_index

pytestmark = pytest.mark.slow

DEMO_QUESTION = "Is copying for criticism or news reporting fair use of a copyrighted work?"
NOT_GDPR = (
    DEMO_QUESTION,
    "How long do I have to file a notice of appeal in a civil case?",
    "Can evidence of a settlement offer be used to prove liability?",
)
GDPR = {
    "What is the maximum fine for breaching the GDPR?": "gdpr:art83",
    "When can a person demand that a company delete their personal data?": "gdpr:art17",
}


@pytest.fixture(scope="module")
def gdpr_only(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[Retriever]:
    """A retriever over the whole GDPR and nothing else, with the default (shipped)
    relevance calibration of the bundled model."""
    units = make_adapter("gdpr").discover(corpus_dir)
    out = tmp_path_factory.mktemp("gdpr_only")
    settings = build_test_index(out, corpus_dir, units, require_ok=True)
    assert settings.relevance_file is None, "the test reads the shipped calibration"
    retriever = open_retriever(settings)
    assert retriever.relevance is not None, "no relevance calibration ships for the model"
    assert retriever.current_store().count() > 500  # the whole regulation: 543 passages
    yield retriever
    retriever.close()


def test_the_shipped_calibration_declines_law_the_index_does_not_hold(gdpr_only):
    for question in NOT_GDPR:
        nearest, relevance = gdpr_only.search_assessed(question, top_k=6)
        assert relevance is not None and not relevance.answered, (question, relevance)
        assert nearest and all(p.chunk.doc_id.startswith("gdpr:") for p in nearest)
    for question, governing in GDPR.items():
        passages, relevance = gdpr_only.search_assessed(question, top_k=6)
        assert relevance is not None and relevance.answered, (question, relevance)
        assert governing in {p.chunk.doc_id for p in passages}


@pytest.fixture
def client(gdpr_only, keys_file, user_key, tmp_path) -> Iterator[TestClient]:
    with gateway_client(gdpr_only, keys_file, tmp_path) as c:
        yield c


def test_the_demo_question_over_the_gdpr_alone_is_not_answered_from_it(client, user_key):
    body = client.post("/v1/ask", json={"question": DEMO_QUESTION}, headers=auth(user_key))
    answer = body.json()
    assert body.status_code == 200 and answer["answered"] is False
    assert answer["answer"] == NOT_ADDRESSED and answer["citations"] == []
    assert answer["verification"]["citations_by_status"] == {}
    # the nearest GDPR passages are shown, as such, and none is cited as support
    assert answer["passages"] and all(p["doc_id"].startswith("gdpr:") for p in answer["passages"])
    question = next(iter(GDPR))
    body = client.post("/v1/ask", json={"question": question}, headers=auth(user_key)).json()
    assert body["answered"] is True and body["citations"]
    assert all(c["doc_id"].startswith("gdpr:") for c in body["citations"])
    assert {c["status"] for c in body["citations"]} == {"verified"}


def test_with_a_model_server_the_model_is_not_asked_to_answer_from_them(
    gdpr_only, keys_file, user_key, tmp_path
):
    """The LLM path declines too: a model given passages that do not govern writes from them
    anyway, so it is not asked. The model server here never answers, so an ask that reached
    it would take the whole deadline."""
    with FakeModelServer("hung") as server:
        with gateway_client(
            gdpr_only, keys_file, tmp_path, vllm_url=server.url, vllm_total_timeout_s=5.0
        ) as client:
            start = time.monotonic()
            body = client.post(
                "/v1/ask", json={"question": DEMO_QUESTION}, headers=auth(user_key)
            ).json()
            took = time.monotonic() - start
        assert body["answered"] is False and body["answer"] == NOT_ADDRESSED
        assert body["citations"] == [] and body["degraded"] is False
        assert server.chat_requests() == [] and took < 4.0, took
