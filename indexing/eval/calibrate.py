"""`python -m indexing calibrate-relevance`: fit the abstention signal on the dev questions.

    python -m indexing calibrate-relevance [--max-false-abstain 0.05] [--max-caution 0.15] \\
        [--out FILE]

Runs the dev split of the doctrine questions (`indexing.eval.doctrine`: answerable ones and
ones whose governing law is not in the corpus) through the built index, fits the logistic
regression of `indexing.relevance` on their match features, and sets the threshold as high as
the allowed share of answerable questions declined permits; then the caution cut (a weak
match) as high as the allowed share of the answerable questions it lets through permits. The
calibration is written for the embedding model in use: into its directory
(`juris_relevance.json`), or for the model the package ships, into the package's
`indexing/calibration/`. The test split is never read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from indexing.eval.doctrine import (
    QUESTIONS,
    abstention,
    open_checked,
    read_questions,
    score_question,
)

# answerable dev questions the threshold may decline
MAX_FALSE_ABSTAIN = 0.05
# answerable dev questions, of those the threshold lets through, the caution may mark a weak
# match: a warning that fires on many good answers is one a lawyer learns to skip (README,
# "Weak matches")
MAX_CAUTION = 0.15


def choose_threshold(
    probabilities: Sequence[float], labels: Sequence[int], max_false_abstain: float
) -> float:
    """The threshold that declines (probability below it) the largest share of questions
    while declining at most `max_false_abstain` of the answerable ones (label 1)."""
    answerable = sorted(p for p, y in zip(probabilities, labels, strict=True) if y == 1)
    if not answerable:
        raise ValueError("no answerable question to calibrate on")
    allowed = int(max_false_abstain * len(answerable))
    return float(min(0.999, max(1e-6, answerable[allowed])))


def choose_caution(
    probabilities: Sequence[float], labels: Sequence[int], threshold: float, max_caution: float
) -> float | None:
    """The caution cut: of the questions `threshold` lets through, it marks (probability below
    it) the largest share while marking at most `max_caution` of the answerable ones; None
    when it would mark none (`max_caution` 0, or too few questions)."""
    through = [(p, y) for p, y in zip(probabilities, labels, strict=True) if p >= threshold]
    if max_caution <= 0 or not any(y == 1 for _, y in through):
        return None
    cut = choose_threshold([p for p, _ in through], [y for _, y in through], max_caution)
    return cut if cut > threshold else None


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register `calibrate-relevance` on the `python -m indexing` parser."""
    c = subparsers.add_parser(
        "calibrate-relevance",
        help="fit the relevance signal (abstention) of the embedding model on dev questions",
    )
    c.add_argument("--questions", type=Path, default=QUESTIONS, help="JSONL question file")
    c.add_argument(
        "--max-false-abstain",
        type=float,
        default=MAX_FALSE_ABSTAIN,
        help="share of answerable dev questions the threshold may decline",
    )
    c.add_argument(
        "--max-caution",
        type=float,
        default=MAX_CAUTION,
        help="share of the answerable dev questions the threshold lets through that the "
        "caution cut may mark a weak match (0: no caution)",
    )
    c.add_argument(
        "--out",
        type=Path,
        help="calibration file (default: juris_relevance.json in the embedding model's "
        "directory; for a model installed as a package, the package's calibration folder)",
    )
    c.set_defaults(func=run_calibrate)
    return c


def run_calibrate(args: argparse.Namespace) -> int:
    """Execute `calibrate-relevance`: fit on the dev split, choose the threshold, write it."""
    from indexing.model_record import model_identity
    from indexing.relevance import CALIBRATION_FILE, RelevanceModel, fit_logistic, packaged_path
    from indexing.retrieve import IndexUnavailable
    from indexing.settings import IndexSettings

    settings: Any = IndexSettings(**{})
    try:
        questions = read_questions(args.questions, "dev")
        retriever = open_checked(settings)
    except (OSError, ValueError, IndexUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    retriever.relevance = None  # the features only
    try:
        rows = [score_question(retriever, q)[0] for q in tqdm(questions, desc="dev", unit="q")]
    finally:
        retriever.close()
    features = [(r.cosine, r.bm25) for r in rows]
    labels = [int(r.answerable) for r in rows]
    identity = model_identity(settings.model_dir(), settings.embed_backend)
    weights, bias = fit_logistic(features, labels)
    unfitted = RelevanceModel(identity, weights, bias)
    probabilities = [unfitted.probability(c, b) for c, b in features]
    threshold = choose_threshold(probabilities, labels, args.max_false_abstain)
    caution = choose_caution(probabilities, labels, threshold, args.max_caution)
    model = RelevanceModel(
        identity,
        weights,
        bias,
        threshold,
        {
            "questions": str(args.questions.name),
            "split": "dev",
            "answerable": sum(labels),
            "unanswerable": len(labels) - sum(labels),
            "max_false_abstain": args.max_false_abstain,
            "max_caution": args.max_caution,
            "index": retriever.index_version,
        },
        caution,
    )
    out = args.out
    if out is None:
        model_dir = settings.model_dir()
        out = (
            packaged_path(identity)
            if "site-packages" in model_dir.parts
            else model_dir / CALIBRATION_FILE
        )
    model.save(out)
    for r in rows:  # as the retriever will judge them with this calibration
        rel = model.assess(r.cosine, r.bm25)
        r.probability, r.answered, r.weak = rel.probability, rel.answered, rel.weak
    figures = abstention(rows)
    print(
        f"relevance calibration for {identity} written to {out}: weights {weights}, bias "
        f"{bias:.3f}, threshold {threshold:.3f}, caution "
        f"{'none' if caution is None else f'{caution:.3f}'}; on dev: "
        + ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
    )
    return 0
