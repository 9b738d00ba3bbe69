"""`python -m training declines`: which questions it asks, its counts checked by hand, and a
run through a real gateway over the index slice whose model says the sources do not answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.retrieve import open_retriever
from serving.answer_format import NOT_ANSWERED
from tests.serving.test_not_addressed import ADDRESSED, calibrated  # noqa: F401  (a fixture)
from tests.support.fake_vllm import FakeModelServer
from tests.support.index_slice import index_slice  # noqa: F401  (the fixture)
from training.lab.declines import Item, fit_overrule, question_items, run_declines, summarize
from training.lab.gateway import measuring_gateway

pytestmark = pytest.mark.unit


def test_every_unanswerable_question_and_a_seeded_draw_of_the_others() -> None:
    items = question_items(answerable=20, seed=0)
    unanswerable = [x for x in items if not x.answerable]
    # the dev and frozen test splits' questions the corpus cannot answer, and the second set's
    assert {x.split for x in unanswerable} == {"dev", "test", "fresh"}
    assert len(unanswerable) == 88 and len(items) == 108
    assert len({x.id for x in items}) == len(items)
    assert items == question_items(answerable=20, seed=0)
    assert items != question_items(answerable=20, seed=1)


def test_counts_by_split_and_judge() -> None:
    def rec(split: str, answerable: bool, by: str | None, weak: bool = False) -> dict:
        mode = "extractive" if by == "retrieval" else "llm"
        return {"split": split, "answerable": answerable, "declined_by": by, "mode": mode,
                "answered": by is None, "weak_match": weak}  # fmt: skip

    records = [
        rec("dev", False, "retrieval"), rec("dev", False, "model"), rec("dev", False, None, True),
        rec("dev", False, None), rec("dev", True, "model"), rec("dev", True, None),
        rec("test", False, "model"), rec("test", True, None, True),
    ]  # fmt: skip
    out = summarize(records)
    dev = out["dev"]
    assert dev["unanswerable"] == {
        "n": 4, "declined_by_retrieval": 1, "declined_by_model": 1, "asked_the_model": 3,
        "declined": 0.5, "model_overruled": 0, "answered": 2, "weak_match": 1,
    }  # fmt: skip
    assert dev["answerable"]["declined"] == 0.5 and dev["answerable"]["declined_by_model"] == 1
    assert dev["precision"] == round(2 / 3, 3)
    assert out["test"]["unanswerable"]["declined"] == 1.0 and out["test"]["precision"] == 1.0
    assert out["all"]["unanswerable"]["n"] == 5 and out["all"]["precision"] == 0.75
    assert out["all"]["answerable"]["weak_match"] == 1 and out["all"]["answerable"]["answered"] == 2


def decline(split: str, answerable: bool, relevance: float, overruled: bool = False) -> dict:
    """A record of a model's decline (`overruled`: retrieval set it aside)."""
    return {
        "split": split, "answerable": answerable, "relevance": relevance, "mode": "extractive"
        if overruled else "llm", "declined_by": None if overruled else "model",
        "degraded_reason": "model_declined" if overruled else None,
        "governing_cited": answerable if overruled else None, "answered": overruled,
        "weak_match": False,
    }  # fmt: skip


def test_overruled_declines_are_counted_apart() -> None:
    records = [
        decline("dev", False, 0.6), decline("dev", False, 0.95, overruled=True),
        decline("dev", True, 0.97, overruled=True), decline("dev", True, 0.7),
    ]  # fmt: skip
    records[2]["governing_cited"] = True
    dev = summarize(records)["dev"]
    assert dev["unanswerable"]["declined_by_model"] == 1
    assert dev["unanswerable"]["model_overruled"] == 1
    assert dev["unanswerable"]["asked_the_model"] == 2  # an overruled answer was asked too
    assert dev["answerable"]["declined_by_model"] == 1
    assert dev["answerable"]["model_overruled"] == 1
    assert dev["answerable"]["overruled_cite_governing"] == 1
    assert dev["precision"] == 0.5  # an overruled decline is not a decline


def test_the_overruling_threshold_is_fitted_on_the_dev_declines_alone() -> None:
    records = [
        decline("dev", False, 0.55), decline("dev", False, 0.8), decline("dev", True, 0.6),
        decline("dev", True, 0.9, overruled=True), decline("dev", True, 0.96, overruled=True),
        decline("test", False, 0.99), decline("dev", True, 0.5) | {"relevance": None},
    ]  # fmt: skip
    # below 0.575 or 0.85 one more unanswerable decline is kept than answerable ones: the
    # higher keeps more of the model's declines
    assert fit_overrule(records) == 0.85
    assert fit_overrule(records, split="test") == 1.0  # nothing to overrule
    assert fit_overrule(records, split="fresh") is None
    # when the answerable questions' declines lie lowest, every decline is overruled
    lowest = [decline("dev", True, 0.4), decline("dev", True, 0.5), decline("dev", False, 0.9)]
    assert fit_overrule(lowest) == 0.4


def test_a_run_through_a_gateway_whose_model_declines_everything(
    index_slice,  # noqa: F811
    tmp_path: Path,
) -> None:
    items = [
        Item("A", "dev", "Is copying for criticism or news reporting fair use?", True),
        Item("B", "dev", "Is a merger that lessens competition prohibited by the Clayton Act?",
             False),
    ]  # fmt: skip
    retriever = open_retriever(index_slice)
    try:
        with (
            FakeModelServer("say", text=NOT_ANSWERED) as model,
            measuring_gateway(retriever, model.url, tmp_path, max_tokens=40) as (url, key),
        ):
            summary = run_declines(url, key, "base", items, tmp_path, concurrency=2)
    finally:
        retriever.close()
    records = [json.loads(line) for line in (tmp_path / "base.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["A", "B"]
    # whoever judged first, nothing is answered: retrieval, or else the model asked
    assert all(r["answered"] is False for r in records)
    assert all(r["declined_by"] == ("model" if r["mode"] == "llm" else "retrieval")
               for r in records)  # fmt: skip
    assert summary["splits"]["all"]["precision"] == 0.5
    assert json.loads((tmp_path / "base.json").read_text()) == summary
    assert not (tmp_path / "measure_keys.json").exists()  # the key is gone with the gateway


def test_bad_arguments_exit_2_with_a_message(capsys, monkeypatch, tmp_path: Path) -> None:
    from training.cli import main

    monkeypatch.delenv("JURIS_VLLM_URL", raising=False)
    out = ["declines", "--out", str(tmp_path / "declines")]
    assert main(out) == 2
    assert "give --vllm-url" in capsys.readouterr().err
    assert main([*out, "--model-dir", "var/x", "--adapter", "legal"]) == 2
    assert "expected NAME=DIR" in capsys.readouterr().err
    assert main([*out, "--vllm-url", "http://127.0.0.1:9", "--overrule-from", "1.5"]) == 2
    assert "--overrule-from 1.5: a relevance from 0 to 1" in capsys.readouterr().err
    with FakeModelServer("say", text=NOT_ANSWERED) as model:  # it serves `base` only
        assert main([*out, "--vllm-url", model.url, "--model", "nope"]) == 2
    assert "'nope'" in capsys.readouterr().err
    assert not (tmp_path / "declines").exists()  # nothing was asked


def test_a_decline_the_gateway_overrules_is_counted_with_what_it_quoted(
    calibrated,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Retrieval matched the passages closely (the calibrated slice): the model's decline is
    set aside, and the record says so, with the governing provision the quotes cite."""
    relevance = calibrated.search_assessed(ADDRESSED, top_k=6)[1].probability
    items = [Item("A", "dev", ADDRESSED, True, ("usc:17/107",))]
    with (
        FakeModelServer("say", text=NOT_ANSWERED) as model,
        measuring_gateway(
            calibrated, model.url, tmp_path, max_tokens=40, overrule_decline_from=relevance
        ) as (url, key),
    ):
        summary = run_declines(url, key, "base", items, tmp_path, 1, relevance)
    (record,) = [json.loads(line) for line in (tmp_path / "base.jsonl").read_text().splitlines()]
    assert record["degraded_reason"] == "model_declined" and record["answered"] is True
    assert "usc:17/107" in record["cited"] and record["governing_cited"] is True
    dev = summary["splits"]["dev"]["answerable"]
    assert dev["model_overruled"] == 1 and dev["overruled_cite_governing"] == 1
    assert summary["overrule_decline_from"] == relevance
    assert summary["overrule_fitted_on_dev"] == round(relevance, 3)  # overrule them all
