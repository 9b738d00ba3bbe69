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

A model's decline of passages that retrieval matched to the question closely is overruled by
the gateway (`JURIS_OVERRULE_DECLINE_FROM`, `serving.answering.Pipeline.overrule`): the
passages are quoted instead, `degraded` with reason `model_declined`. The counts say how many
declines of each kind were overruled, and whether the quoted passages cite the governing
provision; `fit_overrule` chooses the threshold from the dev split's declines alone. Of the
questions answered, they say how many were marked a weak match (`weak_match`: the relevance
calibration's caution band, where the page asks the reader to check that the sources govern).

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
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

from indexing.eval.doctrine import FRESH, QUESTIONS, read_questions
from legal_corpus.progress import progress
from serving.answering import MODEL_DECLINED


@dataclass(frozen=True, slots=True)
class Item:
    """One question: its id, split (`dev`, `test`, `fresh`), text, and whether the corpus
    answers it."""

    id: str
    split: str
    question: str
    answerable: bool
    governing: tuple[str, ...] = ()  # the documents judged to govern it


def question_items(answerable: int = 60, seed: int = 0) -> list[Item]:
    """Every unanswerable doctrine question, then `answerable` answerable ones drawn with
    `seed` (dev, test and the second set in their files' order)."""
    items = [
        Item(
            q.id,
            "fresh" if path == FRESH else q.split,
            q.question,
            q.answerable,
            tuple(q.governing()),
        )
        for path in (QUESTIONS, FRESH)
        for q in read_questions(path)
    ]
    can = [x for x in items if x.answerable]
    picked = random.Random(seed).sample(can, min(answerable, len(can)))
    return [x for x in items if not x.answerable] + picked


def overruled(record: dict[str, Any]) -> bool:
    """Whether the model declined and retrieval overruled it (the passages were quoted)."""
    return record.get("degraded_reason") == MODEL_DECLINED


def model_declined(record: dict[str, Any]) -> bool:
    """Whether the model said that its passages do not answer, overruled or not."""
    return record["declined_by"] == "model" or overruled(record)


def fit_overrule(records: Sequence[dict[str, Any]], split: str = "dev") -> float | None:
    """The overruling threshold `split`'s model declines choose, or None when they have none.

    The candidates are the lowest of their relevances (every decline overruled), the midpoint
    between each two consecutive ones, and 1 (none overruled). The one kept stands the most
    declines of unanswerable questions less those of answerable ones; among equals the
    highest, which overrules the model least.
    """
    said: list[tuple[float, bool]] = sorted(
        (r["relevance"], r["answerable"])
        for r in records
        if r["split"] == split and model_declined(r) and r["relevance"] is not None
    )
    if not said:
        return None
    cuts = [said[0][0], 1.0]
    cuts += [(a[0] + b[0]) / 2 for a, b in pairwise(said) if a[0] < b[0]]

    def stood(cut: float) -> int:
        return sum(-1 if answerable else 1 for r, answerable in said if r < cut)

    best: float = max(cuts, key=lambda c: (stood(c), c))
    return round(best, 3)


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Declines by split and kind: for the unanswerable questions, how many each judge
    declined and the recall of both together; for the answerable ones, the same as false
    declines; and the precision of all declines. `model_overruled` counts the model's declines
    retrieval set aside (they are answered), `overruled_cite_governing` those whose quoted
    passages cite a governing provision; `answered` the questions answered, `weak_match` those of
    them marked a weak match."""
    out: dict[str, Any] = {}
    for split in [*dict.fromkeys(r["split"] for r in records), "all"]:
        rows = [r for r in records if split in ("all", r["split"])]
        counts: dict[str, Any] = {}
        for kind, answerable in (("unanswerable", False), ("answerable", True)):
            part = [r for r in rows if r["answerable"] is answerable]
            by = Counter(r["declined_by"] for r in part if r["declined_by"])
            declined = sum(by.values())
            over = [r for r in part if overruled(r)]
            counts[kind] = {
                "n": len(part),
                "declined_by_retrieval": by["retrieval"],
                "declined_by_model": by["model"],
                "asked_the_model": sum(r["mode"] == "llm" or overruled(r) for r in part),
                "declined": round(declined / len(part), 3) if part else None,
                "model_overruled": len(over),
                "answered": sum(r["answered"] for r in part),
                "weak_match": sum(r["answered"] and r["weak_match"] for r in part),
            }
            if answerable:
                counts[kind]["overruled_cite_governing"] = sum(
                    r["governing_cited"] is True for r in over
                )
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
    overrule_from: float | None = None,
) -> dict[str, Any]:
    """Ask every item through the gateway with `model`; write the answers and the counts
    (`overrule_from`: the gateway's overruling threshold, for the record).

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
            cited = sorted({c["doc_id"] for c in body["citations"]
                            if c["status"] == "verified" and c["doc_id"]})  # fmt: skip
            return {
                "id": item.id, "split": item.split, "answerable": item.answerable,
                "model": model, "mode": body["mode"], "degraded": body["degraded"],
                "degraded_reason": body["degraded_reason"],
                "answered": body["answered"], "declined_by": body["declined_by"],
                "relevance": body["relevance"], "weak_match": body["weak_match"],
                "answer": body["answer_raw"],
                "passages": [p["doc_id"] for p in body["passages"]], "cited": cited,
                "governing_cited": bool(set(cited) & set(item.governing))
                if item.governing else None,
            }  # fmt: skip

        with ThreadPoolExecutor(max(1, concurrency)) as pool:
            answers = pool.map(ask, items)
            records = list(progress(answers, total=len(items), desc="declines", unit="answer"))
    with (out / f"{model}.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    summary = {
        "model": model,
        "questions": len(records),
        "overrule_decline_from": overrule_from,
        "overrule_fitted_on_dev": fit_overrule(records),
        "splits": summarize(records),
    }
    (out / f"{model}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
