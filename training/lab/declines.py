"""Who says that the sources do not answer: `python -m training declines`.

An answer is not answered (`answered: false`) when retrieval's calibrated relevance signal
judges that the passages do not address the question — then no model is asked — or when the
model, given the passages retrieval let through, says that none of them answers it
(`declined_by: model`, `serving.answer_format.says_not_answered`; RAFT rows teach a fine-tuned
model the sentence). This asks a real gateway (started in this process over the index, with
its default settings) every doctrine question the corpus cannot answer — the dev and frozen
test splits and the second frozen set (`indexing.eval.doctrine`) — and a seeded sample of the
answerable ones, through one served model, and counts the declines of each kind per split:
recall on the unanswerable questions, false declines on the answerable ones, precision.

    python -m training declines --model-dir var/models/smollm2-135m-instruct \\
        --adapter legal=var/adapters/legal/adapter --model legal --out var/declines

Writes `DIR/<model>.jsonl` (every answer, with who declined it) and `DIR/<model>.json` (the
counts).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from indexing.eval.doctrine import FRESH, QUESTIONS, read_questions


@dataclass(frozen=True, slots=True)
class Item:
    """One question: its id, split (`dev`, `test`, `fresh`), text, and whether the corpus
    answers it."""

    id: str
    split: str
    question: str
    answerable: bool


def question_items(answerable: int = 60, seed: int = 0) -> list[Item]:
    """Every unanswerable doctrine question, then `answerable` answerable ones drawn with
    `seed` (dev, test and the second set in their files' order)."""
    items = [
        Item(q.id, "fresh" if path == FRESH else q.split, q.question, q.answerable)
        for path in (QUESTIONS, FRESH)
        for q in read_questions(path)
    ]
    can = [x for x in items if x.answerable]
    picked = random.Random(seed).sample(can, min(answerable, len(can)))
    return [x for x in items if not x.answerable] + picked


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Declines by split and kind: for the unanswerable questions, how many each judge
    declined and the recall of both together; for the answerable ones, the same as false
    declines; and the precision of all declines."""
    out: dict[str, Any] = {}
    for split in [*dict.fromkeys(r["split"] for r in records), "all"]:
        rows = [r for r in records if split in ("all", r["split"])]
        counts: dict[str, Any] = {}
        for kind, answerable in (("unanswerable", False), ("answerable", True)):
            part = [r for r in rows if r["answerable"] is answerable]
            by = Counter(r["declined_by"] for r in part if r["declined_by"])
            declined = sum(by.values())
            counts[kind] = {
                "n": len(part),
                "declined_by_retrieval": by["retrieval"],
                "declined_by_model": by["model"],
                "asked_the_model": sum(r["mode"] == "llm" for r in part),
                "declined": round(declined / len(part), 3) if part else None,
            }
        right = counts["unanswerable"]["declined_by_retrieval"]
        right += counts["unanswerable"]["declined_by_model"]
        wrong = counts["answerable"]["declined_by_retrieval"]
        wrong += counts["answerable"]["declined_by_model"]
        counts["precision"] = round(right / (right + wrong), 3) if right + wrong else None
        out[split] = counts
    return out


def run_declines(
    gateway_url: str,
    api_key: str,
    model: str,
    items: Sequence[Item],
    out: Path,
    concurrency: int = 6,
) -> dict[str, Any]:
    """Ask every item through the gateway with `model`; write the answers and the counts.

    Raises:
        RuntimeError: the gateway refused an ask (its status and body).
    """
    out.mkdir(parents=True, exist_ok=True)
    headers = {"Authorization": f"Bearer {api_key}"}

    with httpx.Client(timeout=1000) as client:

        def ask(item: Item) -> dict[str, Any]:
            r = client.post(f"{gateway_url}/v1/ask", headers=headers,
                            json={"question": item.question, "model": model})  # fmt: skip
            if r.status_code != 200:
                raise RuntimeError(f"{item.id}: gateway HTTP {r.status_code}: {r.text[:300]}")
            body = r.json()
            return {
                "id": item.id, "split": item.split, "answerable": item.answerable,
                "model": model, "mode": body["mode"], "degraded": body["degraded"],
                "answered": body["answered"], "declined_by": body["declined_by"],
                "relevance": body["relevance"], "answer": body["answer_raw"],
            }  # fmt: skip

        with ThreadPoolExecutor(max(1, concurrency)) as pool:
            records = list(pool.map(ask, items))
    with (out / f"{model}.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    summary = {"model": model, "questions": len(records), "splits": summarize(records)}
    (out / f"{model}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
