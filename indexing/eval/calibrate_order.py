"""`python -m indexing calibrate-order`: fit the learned order of a question's passages.

    python -m indexing calibrate-order [--l2 1.0] [--deals 10] [--out FILE]

Runs the answerable questions of the doctrine dev split (`indexing.eval.doctrine`) through
the built index, takes each question's fused passages as the retriever fuses them (no
learned order) at the two depths the order is used at — the passages an answer is chosen
from and the candidates of a document ranking — and fits the weights of
`indexing.learned_order` by pairwise logistic regression over the differently judged
documents of each question, both depths pooled. The weights are written
for the embedding model in use: into its directory (`juris_order.json`), or for the model the
package ships, into the package's `indexing/calibration/`. The test split is never read; the
printed figures are the fitted order's on the dev split itself and from 5-fold
cross-validation over it: the questions about one provision kept in one fold, and the
figures averaged over `--deals` deals of them into folds (one deal moves pinpoint@1 by
several questions); `python -m indexing eval-doctrine --split test` measures the shipped
order on the frozen split.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from statistics import mean
from typing import Any

from tqdm import tqdm

from indexing.eval.doctrine import (
    QUESTIONS,
    at_pinpoint,
    open_checked,
    provision_folds,
    read_questions,
)
from indexing.eval.metrics import Run, evaluate

FOLDS = 5
# one deal of 236 questions into 5 folds moves pinpoint@1 by several questions
DEALS = 10


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register `calibrate-order` on the `python -m indexing` parser."""
    c = subparsers.add_parser(
        "calibrate-order",
        help="fit the learned order of a question's passages on the dev questions",
    )
    c.add_argument("--questions", type=Path, default=QUESTIONS, help="JSONL question file")
    c.add_argument("--l2", type=float, default=1.0, help="ridge penalty on the weights")
    c.add_argument(
        "--deals",
        type=int,
        default=DEALS,
        help="deals of the questions into folds that the cross-validated figures average over",
    )
    c.add_argument(
        "--out",
        type=Path,
        help="weights file (default: juris_order.json in the embedding model's directory; "
        "for a model installed as a package, the package's calibration folder)",
    )
    c.set_defaults(func=run_calibrate_order)
    return c


def document_map(
    scored: Sequence[tuple[dict[str, float], Any, dict[str, int]]],
) -> float:
    """MAP of documents ranked by their best passage, over `(id -> score, candidates,
    grades)` per question."""
    run: Run = {}
    qrels = {}
    for n, (scores, candidates, grades) in enumerate(scored):
        best: dict[str, float] = {}
        for c in candidates:
            best[c.doc_id] = max(best.get(c.doc_id, float("-inf")), scores[c.id])
        run[str(n)] = best
        qrels[str(n)] = grades
    return evaluate(qrels, run)["map"]


def governing_passages(
    candidates: Sequence[Any], governing: dict[str, tuple[str, ...]]
) -> list[str]:
    """The ids of `candidates` at a governing subdivision of a governing document whose
    subdivisions are judged (`at_pinpoint`)."""
    return [
        c.id
        for c in candidates
        if governing.get(c.doc_id) and at_pinpoint(c.pinpoints, governing[c.doc_id])
    ]


def lead_at_pinpoint(
    scored: Sequence[tuple[dict[str, float], Any, dict[str, tuple[str, ...]]]],
) -> float:
    """The share of questions whose first passage (by `id -> score`, ties by id) is at a
    governing subdivision (`pinpoint@1`), over `(scores, candidates, governing)` per question."""
    hits = 0
    for scores, candidates, governing in scored:
        if not candidates:
            continue
        first = min(candidates, key=lambda c: (-scores[c.id], c.id))
        hits += first.doc_id in governing and at_pinpoint(first.pinpoints, governing[first.doc_id])
    return hits / max(1, len(scored))


def run_calibrate_order(args: argparse.Namespace) -> int:
    """Execute `calibrate-order`: fit on the dev split, cross-validate, write the weights."""
    from indexing.learned_order import (
        ORDER_FILE,
        OrderModel,
        document_pairs,
        features,
        fit_order,
        lead_pairs,
    )
    from indexing.model_record import model_identity
    from indexing.relevance import packaged_path
    from indexing.retrieve import DOCUMENT_CANDIDATES, QUESTION_CANDIDATES, IndexUnavailable
    from indexing.settings import IndexSettings

    # the depths the order is used at: a question's passages and its document ranking (on
    # the dev split, a fit at either depth alone or pooled measured within 0.005 of each
    # other; pooled, one set of weights is fitted to both uses)
    depths = (QUESTION_CANDIDATES, DOCUMENT_CANDIDATES)
    if args.deals < 1:
        print("error: --deals must be at least 1", file=sys.stderr)
        return 2
    unordered: dict[str, Any] = {"learned_order": False}
    settings: Any = IndexSettings(**unordered)
    try:
        questions = [q for q in read_questions(args.questions, "dev") if q.answerable]
        retriever = open_checked(settings)
    except (OSError, ValueError, IndexUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    data = []
    fitted_on = []
    try:
        for q in tqdm(questions, desc="dev", unit="q"):
            if retriever.is_fact_pattern(q.question):
                continue
            fitted_on.append(q)
            grades = {j.doc_id: j.grade for j in q.judgments}
            for depth in depths:
                candidates, terms = retriever.question_candidates(q.question, depth)
                rows = features(q.question, candidates, terms)
                data.append((q.question, candidates, terms, grades, rows, q.governing()))
    finally:
        retriever.close()

    identity = model_identity(settings.model_dir(), settings.embed_backend)

    def fit(part: Sequence[Any]) -> OrderModel:
        pairs = [d for _, c, _, g, rows, _ in part for d in document_pairs(rows, c, g)]
        order = OrderModel(identity, fit_order(pairs, args.l2))
        # the lead passage, at the depth of a question's passages (`data` holds each
        # question's depths in turn, that one first); none to learn from: no lead stage
        leads = [
            d
            for text, c, t, _, _, gov in part[:: len(depths)]
            for d in lead_pairs(order.raw_scores(text, c, t), c, governing_passages(c, gov), text)
        ]
        return OrderModel(
            identity, order.weights, lead=fit_order(leads, args.l2) if leads else None
        )

    def scored(part: Sequence[Any], model: OrderModel) -> list[Any]:
        return [(model.scores(text, c, t), c, g, gov) for text, c, t, g, _, gov in part]

    model = fit(data)

    def out_of_fold(seed: int | None) -> tuple[list[Any], list[Any]]:
        """Each question scored by the order fitted without its fold, with and without the
        lead; folds by provision (`provision_folds`: a question's twins about the same
        provision, and both depths of a question, in the same fold)."""
        by_question = provision_folds(fitted_on, FOLDS, seed)
        fold = [by_question[n // len(depths)] for n in range(len(data))]
        led: list[Any] = [None] * len(data)
        unled: list[Any] = [None] * len(data)
        for k in range(FOLDS):
            held = [n for n in range(len(data)) if fold[n] == k]
            fitted = fit([d for n, d in enumerate(data) if fold[n] != k])
            without = OrderModel(identity, fitted.weights)
            for n, row, plain in zip(
                held,
                scored([data[n] for n in held], fitted),
                scored([data[n] for n in held], without),
                strict=True,
            ):
                led[n], unled[n] = row, plain
        return led, unled

    # the first deal in the file's order, the others shuffled; figures are their means
    deals = [out_of_fold(None if d == 0 else d) for d in range(args.deals)]
    in_sample = scored(data, model)
    first = range(0, len(data), len(depths))
    figures = {}
    for i, depth in enumerate(depths):
        at = range(i, len(data), len(depths))
        figures[f"{depth} deep: fused"] = document_map(
            [({x.id: x.fused for x in data[n][1]}, data[n][1], data[n][3]) for n in at]
        )
        figures[f"{depth} deep: learned, in sample"] = document_map([in_sample[n][:3] for n in at])
        figures[f"{depth} deep: learned, {FOLDS}-fold"] = mean(
            document_map([led[n][:3] for n in at]) for led, _ in deals
        )
    pinpoints = [
        tuple(
            lead_at_pinpoint([(s, c, gov) for s, c, _, gov in (rows[n] for n in first)])
            for rows in (unled, led)
        )
        for led, unled in deals
    ]
    figures[f"pinpoint@1: learned, no lead, {FOLDS}-fold"] = mean(p[0] for p in pinpoints)
    figures[f"pinpoint@1: learned, lead, {FOLDS}-fold"] = mean(p[1] for p in pinpoints)
    gains = [p[1] - p[0] for p in pinpoints]
    figures[f"pinpoint@1: the lead's gain, {FOLDS}-fold, least of {len(deals)} deals"] = min(gains)
    figures[f"pinpoint@1: the lead's gain, {FOLDS}-fold, most of {len(deals)} deals"] = max(gains)
    model = OrderModel(
        identity,
        model.weights,
        {
            "questions": str(args.questions.name),
            "split": "dev",
            "answerable": len(data) // len(depths),
            "depths": list(depths),
            "l2": args.l2,
            "index": retriever.index_version,
            "dev": {k: round(v, 4) for k, v in figures.items()},
        },
        model.lead,
    )
    out = args.out
    if out is None:
        model_dir = settings.model_dir()
        out = (
            packaged_path(identity, "order")
            if "site-packages" in model_dir.parts
            else model_dir / ORDER_FILE
        )
    model.save(out)
    print(
        f"learned order for {identity} written to {out}: weights "
        + ", ".join(f"{w:.3f}" for w in model.weights)
        + "; lead weights "
        + ", ".join(f"{w:.3f}" for w in model.lead or ())
        + "; dev figures: "
        + ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
    )
    return 0
