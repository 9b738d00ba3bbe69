"""The product's own answer is never flagged: the extractive answer to every benchmark
question, over the real index slice (statutes, rules, the GDPR, Indian and US opinions),
cites and quotes only what verifies and makes no unsupported claim."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexing.retrieve import Retriever, open_retriever
from tests.serving.conftest import gateway_client
from tests.serving.test_app import auth
from tests.support.index_slice import index_slice  # noqa: F401  (the fixture)

pytestmark = pytest.mark.unit

BENCHMARKS = Path(__file__).resolve().parents[2] / "indexing" / "eval" / "benchmarks"


def benchmark_questions() -> list[str]:
    """The doctrine questions (both files, every split) and the 88 lawyers' questions."""
    questions = [
        json.loads(line)["question"]
        for name in ("doctrine_questions.jsonl", "doctrine_fresh.jsonl")
        for line in (BENCHMARKS / name).read_text("utf-8").splitlines()
        if line.strip()
    ]
    lawyers = (BENCHMARKS / "law_questions.txt").read_text("utf-8").splitlines()
    return questions + [line.split("||", 1)[1] for line in lawyers if line.strip()]


@pytest.fixture(scope="module")
def slice_retriever(index_slice) -> Iterator[Retriever]:  # noqa: F811
    """The slice's retriever with no relevance calibration: every question is answered from
    the nearest passages the slice holds, whatever its law (the most answers to check)."""
    retriever = open_retriever(index_slice)
    retriever.relevance = None
    yield retriever
    retriever.close()


@pytest.fixture
def client(slice_retriever, keys_file, user_key, tmp_path) -> Iterator[TestClient]:
    with gateway_client(
        slice_retriever, keys_file, tmp_path, rate_limit_per_minute=1e9, rate_limit_burst=10**6
    ) as c:
        yield c


def test_every_extractive_answer_verifies_whole(client, user_key):
    questions = benchmark_questions()
    assert len(questions) > 600
    questions = questions[::3]  # a third, spread through every file: about 20 s
    flagged, answered = {}, 0
    for question in questions:
        r = client.post("/v1/ask", json={"question": question}, headers=auth(user_key))
        assert r.status_code == 200, r.text
        body = r.json()
        answered += body["answered"]
        assert body["mode"] == "extractive" and body["citations"], question
        bad = [(c["text"], c["status"]) for c in body["citations"] if c["status"] != "verified"]
        if bad or body["verification"]["unsupported"]:
            flagged[question] = (bad, body["verification"]["unsupported"])
    assert answered == len(questions) and not flagged, (answered, flagged)
