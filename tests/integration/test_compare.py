"""`python -m training compare` end to end against a real vLLM server, on a handful of rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.model import SearchFilters
from training.cli import main
from training.lab.compare import CompareConfig, run_compare
from training.raft import retrieved_row, write_jsonl

pytestmark = pytest.mark.integration

QUESTIONS = {
    "Q1": ("Is the fair use of a copyrighted work for teaching an infringement?", "usc:17/107"),
    "Q2": ("What must the proponent of expert testimony show?", "fre:702"),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, slice_retriever) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    rows = []
    for question, doc in QUESTIONS.values():
        passages = slice_retriever.search(question, 3, SearchFilters())
        rows.append(retrieved_row(question, passages, {doc}, max_chars_per_source=500,
                                  max_chars_total=1500, split="eval").to_json())  # fmt: skip
    passages = slice_retriever.search("erasure of personal data", 3, SearchFilters())
    absent = retrieved_row("When must personal data be erased?", passages, {"usc:17/101"},
                           max_chars_per_source=500, max_chars_total=1500)  # fmt: skip
    rows.append(absent.to_json())
    write_jsonl(root / "eval.jsonl", rows)
    (root / "q.txt").write_text("".join(f"{k}||{q}\n" for k, (q, _) in QUESTIONS.items()))
    (root / "q.qrels").write_text("".join(f"{k} 0 {d} 2\n" for k, (_, d) in QUESTIONS.items()))
    (root / "empty.txt").write_text("")
    return {"raft": root / "eval.jsonl", "q": root / "q.txt", "qrels": root / "q.qrels",
            "empty": root / "empty.txt", "root": root}  # fmt: skip


def test_compare_writes_the_report_of_five_configurations(vllm_server, slice_retriever, inputs):
    out = inputs["root"] / "out"
    cfg = CompareConfig(
        vllm_url=vllm_server.url, base_model="base", ft_model="legal", raft_model="legal",
        out=out, raft_eval=inputs["raft"], questions=inputs["q"], qrels=inputs["qrels"],
        max_tokens=24, concurrency=2, top_k=3, max_chars_per_source=500,
    )  # fmt: skip
    summary = run_compare(cfg, slice_retriever, progress=False)
    answers = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 5 * (3 + 2)
    assert {a["config"] for a in answers} == {
        "base-closed", "base-rag", "ft-closed", "ft-rag", "raft-rag"
    }  # fmt: skip
    assert not [a for a in answers if a.get("error")]
    for a in answers:
        closed = a["config"].endswith("closed")
        assert (a["passages"] == []) == closed
        assert a["counts"]["citations"] == len(a["citations"])
        assert a["counts"]["sourced"] == (not closed)  # only these can cite a passage
        if closed:  # nothing was given, so nothing can be verified against it
            assert a["counts"]["citations_verified"] == 0
    # the lawyers' questions went through the gateway: its retrieval found the passages
    rag = [a for a in answers if a["question_set"] == "lawyers" and a["config"] == "base-rag"]
    assert all("usc:17/107" in a["passage_docs"] for a in rag if a["qid"] == "Q1")
    sets = {(s["config"], s["question_set"]) for s in summary["summaries"]}
    assert len(sets) == 10
    report = (out / "report.md").read_text()
    assert "RAFT + RAG" in report and "What the numbers say" in report and "95%" in report
    assert (out / "report.png").stat().st_size > 10_000


def test_bad_arguments_exit_2_with_a_message(vllm_server, inputs, capsys) -> None:
    common = ["compare", "--vllm-url", vllm_server.url, "--out", str(inputs["root"] / "bad")]
    qrels = ["--qrels", str(inputs["qrels"])]
    raft, empty, q = (str(inputs[k]) for k in ("raft", "empty", "q"))
    args = [*common, "--raft-model", "nope", "--raft-eval", raft, "--questions", q, *qrels]
    assert main(args) == 2
    assert "'nope'" in capsys.readouterr().err
    args = [*common, "--ft-model", "legal", "--raft-eval", empty, "--questions", q, *qrels]
    assert main(args) == 2
    assert "no rows" in capsys.readouterr().err
    args = [*common, "--ft-model", "legal", "--raft-eval", raft, "--questions", empty, *qrels]
    assert main(args) == 2
    assert "no judged questions" in capsys.readouterr().err
