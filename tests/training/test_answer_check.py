"""`python -m training check-answers`: the questions it asks, what it counts in an answer, and
the product's own extractive answers over the real index slice, none of them flagged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexing.retrieve import Retriever, open_retriever
from tests.support.index_slice import index_slice  # noqa: F401  (the fixture)
from training.lab.answer_check import benchmark_questions, check_answer, run_answer_check
from training.lab.gateway import measuring_gateway

pytestmark = pytest.mark.unit


def test_it_asks_every_doctrine_and_lawyers_question_once() -> None:
    questions = benchmark_questions()
    ids = [qid for qid, _ in questions]
    assert len(ids) == len(set(ids)) == 638  # 437 doctrine + 113 second set + 88 lawyers'
    assert ids[-1] == "LQ88" and questions[::3] == benchmark_questions(every=3)


def body(answer: str, citations: list[dict], unsupported: list[str], mode: str = "llm") -> dict:
    return {
        "mode": mode, "answered": True, "declined_by": None, "answer_raw": answer,
        "citations": citations, "verification": {"unsupported": unsupported},
    }  # fmt: skip


def test_what_it_counts_in_an_answer() -> None:
    source = {"n": 1, "kind": "source", "doc_id": "usc:17/107", "status": "verified", "text": "[1]"}
    unknown = {"kind": "legal", "doc_id": None, "status": "unknown", "text": "Pub. L. 1-2"}
    cited = check_answer("A", body("Fair use [1]. See Pub. L. 1-2.", [source, unknown], []))
    assert cited["flagged"] and not cited["uncited"]
    assert cited["not_verified"] == [{"text": "Pub. L. 1-2", "status": "unknown", "message": ""}]
    bare = check_answer("B", body("Fair use is always allowed.", [], ["Fair use is always."]))
    assert bare["flagged"] and bare["uncited"]
    # a quoted answer is the product's, never set aside as uncited
    assert not check_answer("C", body("", [], [], mode="extractive"))["uncited"]


@pytest.fixture(scope="module")
def slice_retriever(index_slice) -> Iterator[Retriever]:  # noqa: F811
    """The slice's retriever with no relevance calibration: every question is answered from
    the nearest passages the slice holds, whatever its law (the most answers to check)."""
    retriever = open_retriever(index_slice)
    retriever.relevance = None
    yield retriever
    retriever.close()


def test_no_extractive_answer_over_the_slice_is_flagged(slice_retriever, tmp_path: Path) -> None:
    """A third of the questions, spread through every file (about 15 s): each is answered by
    quoting the slice's statutes, rules, GDPR articles and Indian and US opinions, and the
    verifier flags nothing in any of them."""
    questions = benchmark_questions(every=3)
    with measuring_gateway(slice_retriever, "", tmp_path, max_tokens=40) as (url, key):
        summary = run_answer_check(url, key, "extractive", questions, tmp_path, 1, False)
    assert summary["answered"] == summary["questions"] == len(questions)
    assert summary["flagged"] == 0, summary["flagged_ids"]
    assert summary["unsupported_claims"] == 0 and summary["uncited"] == 0
    records = [json.loads(x) for x in (tmp_path / "extractive.jsonl").read_text().splitlines()]
    assert len(records) == len(questions) and all(r["citations"] for r in records)
    assert json.loads((tmp_path / "extractive.json").read_text()) == summary


def test_a_model_the_server_does_not_serve_exits_2_before_asking(capsys, tmp_path: Path) -> None:
    from tests.support.fake_vllm import FakeModelServer
    from training.cli import main

    out = ["check-answers", "--out", str(tmp_path / "check")]
    with FakeModelServer("say", text="Fair use [1].") as model:  # it serves `base` only
        assert main([*out, "--vllm-url", model.url, "--model", "nope"]) == 2
    assert "'nope'" in capsys.readouterr().err
    assert not (tmp_path / "check").exists()  # nothing was asked
