"""What the verifier flags in one model's answers to every benchmark question:
`python -m training check-answers`.

Asks a real gateway (the measuring one: the model's answer as written, nothing set aside)
every doctrine question (`indexing.eval.doctrine`: dev, frozen test, second frozen set) and
the 88 lawyers' questions through one served model, or through the extractive backend
(`--model extractive`, no model server). Of each answer it keeps what the verifier flagged —
unsupported sentences and citations that did not verify — and whether it cites none of the
sources it was given (what the gateway sets aside by default, `serving.answering.uncited`).

The extractive answer is the product's own, so any flag in it is the verifier's error or the
backend's: 0 is the expectation, and a count above it is a defect to read.

    python -m training check-answers --model extractive --out var/check-answers
    python -m training check-answers --model-dir var/models/smollm2-135m-instruct \\
        --adapter legal=var/adapters/legal/adapter --model legal --out var/check-answers

Writes `DIR/<model>.jsonl` (every answer and its flags) and `DIR/<model>.json` (the counts).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from indexing.eval.doctrine import BENCHMARKS, FRESH, QUESTIONS, read_questions
from indexing.eval.metrics import write_jsonl
from legal_corpus.progress import progress
from serving.answering import EXTRACTIVE, uncited
from training.lab.compare import citation_of, lawyers_items


def benchmark_questions(every: int = 1) -> list[tuple[str, str]]:
    """`(id, question)` of the doctrine questions (both files, every split) and the lawyers'
    questions, in their files' order; `every`: every n-th of them only."""
    doctrine = [(q.id, q.question) for path in (QUESTIONS, FRESH) for q in read_questions(path)]
    lawyers = lawyers_items(BENCHMARKS / "law_questions.txt", BENCHMARKS / "law_questions.qrels")
    return (doctrine + [(it.qid, it.question) for it in lawyers])[:: max(1, every)]


def check_answer(qid: str, body: dict[str, Any]) -> dict[str, Any]:
    """One `/v1/ask` answer's record: what was flagged in it, and whether it is uncited."""
    flagged = [
        {"text": c["text"], "status": c["status"], "message": c.get("message", "")}
        for c in body["citations"]
        if c["status"] != "verified"
    ]
    answered = bool(body["answered"])
    unsupported = list(body["verification"]["unsupported"])
    return {
        "id": qid, "mode": body["mode"], "answered": answered,
        "declined_by": body["declined_by"], "answer": body["answer_raw"],
        "citations": len(body["citations"]), "unsupported": unsupported,
        "not_verified": flagged, "flagged": bool(unsupported or flagged),
        "uncited": answered and body["mode"] == "llm"
        and uncited(body["answer_raw"], [citation_of(c) for c in body["citations"]]),
    }  # fmt: skip


def summarize(model: str, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The counts of `records`: questions, answered, flagged answers and what flagged them,
    and uncited answers."""
    answered = [r for r in records if r["answered"]]
    return {
        "model": model,
        "questions": len(records),
        "answered": len(answered),
        "declined_by": dict(Counter(r["declined_by"] for r in records if r["declined_by"])),
        "flagged": sum(r["flagged"] for r in answered),
        "unsupported_claims": sum(len(r["unsupported"]) for r in answered),
        "not_verified": dict(Counter(c["status"] for r in answered for c in r["not_verified"])),
        "uncited": sum(r["uncited"] for r in answered),
        "flagged_ids": [r["id"] for r in answered if r["flagged"]],
    }


def run_answer_check(
    gateway_url: str,
    api_key: str,
    model: str,
    questions: Sequence[tuple[str, str]],
    out: Path,
    concurrency: int = 4,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Ask every question through the gateway with `model`; write the answers and the counts.

    Raises:
        RuntimeError: the gateway refused an ask (its status and body).
    """
    out.mkdir(parents=True, exist_ok=True)
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(timeout=1000) as client:

        def ask(question: tuple[str, str]) -> dict[str, Any]:
            qid, text = question
            r = client.post(f"{gateway_url}/v1/ask", headers=headers,
                            json={"question": text, "model": model})  # fmt: skip
            if r.status_code != 200:
                raise RuntimeError(f"{qid}: gateway HTTP {r.status_code}: {r.text[:300]}")
            return check_answer(qid, r.json())

        workers = 1 if model == EXTRACTIVE else max(1, concurrency)
        with ThreadPoolExecutor(workers) as pool:
            answers = pool.map(ask, questions)
            bar = progress(
                answers, total=len(questions), desc="check-answers", unit="answer",
                enabled=show_progress,
            )  # fmt: skip
            records = list(bar)
    write_jsonl(out / f"{model}.jsonl", records)
    summary = summarize(model, records)
    (out / f"{model}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
