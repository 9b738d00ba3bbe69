"""`python -m indexing eval-doctrine`: doctrine-style and plain-language questions, judged to
the governing provision and its subdivision, with questions the corpus cannot answer.

    python -m indexing eval-doctrine --split dev --json              # tune on this
    python -m indexing eval-doctrine --split test --json             # report this, never tune
    python -m indexing calibrate-relevance --split dev               # fit the abstention signal
    python -m indexing eval-doctrine --split test --questions FRESH  # the second frozen set

(`FRESH`: `indexing/eval/benchmarks/doctrine_fresh.jsonl`; `make eval` runs all three, and
`PLACES`, `places_questions.jsonl`: questions naming another country.)

Lawyers name the law by its doctrines ("excited utterance", "work product", "on-sale bar",
"right to be forgotten") or ask in plain words ("Can the jury be told the driver was
insured?"), and the provision that governs rarely uses either. `benchmarks/
doctrine_questions.jsonl` holds such questions over the US Code titles, Federal Rules and GDPR
of the bundled corpus, written by hand from the corpus's own structure (every judged document
and pinpoint was checked against `python -m legal_corpus show`), each with graded judgments:
2 the governing provision with the subdivision(s) that govern (`fre:408` at `(b)`), 1 one a
lawyer would also read. A third of them, fixed by position when the file was written, form a
frozen `test` split that no choice is tuned on; the rest are `dev`. Questions whose governing
law is not in the corpus at all (US Code titles not bundled, state law, other countries;
`style` `unanswerable`, with the law that governs named in `governing_law`) measure whether
Juris says so instead of answering from the nearest provision.

Measures, through the built index (`JURIS_QDRANT_PATH` / `JURIS_QDRANT_URL`), every source in
force today:

- `top5`: share of answerable questions whose governing provision is among the documents of
  the first five passages of `Retriever.search` (what `python -m indexing search` prints);
- `context@6`: the same over six passages, the ones `/v1/ask` answers from;
- `doc@1` / `pinpoint@1`: the first passage is in the governing provision / holds a governing
  subdivision (it is the subdivision, lies inside it, or is a merged chunk holding it);
- `pinpoint@6`: one of the six passages an answer is written from holds a governing
  subdivision (the right rule quoted at the wrong subdivision answers another question);
- `map`, `ndcg@10`, `recip_rank`: the document ranking of `Retriever.search_documents`,
  trec_eval's measures (`indexing.eval.metrics`);
- abstention, over answerable and unanswerable questions of the split, when the embedding
  model has a relevance calibration (`indexing.relevance`): `abstain_precision` (of the
  questions Juris declined, the share that are indeed unanswerable), `abstain_recall` (of the
  unanswerable ones, the share declined) and `false_abstain` (answerable ones declined); of
  the questions it answered, `weak_answerable` and `weak_unanswerable`, the shares marked a
  weak match (below the calibration's caution cut: answered with a warning to check).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from indexing.eval.metrics import Qrels, Run, evaluate, trec_order, write_jsonl
from indexing.eval.paths import US_AND_EU_SOURCES, checked_index

if TYPE_CHECKING:
    from indexing.model import Chunk, Passage, Relevance
    from indexing.retrieve import Retriever

BENCHMARKS = Path(__file__).resolve().parent / "benchmarks"
QUESTIONS = BENCHMARKS / "doctrine_questions.jsonl"
# a second set, all `test`, written after every setting of the retrieval was chosen (README,
# "A second frozen set"): new provisions asked in their own words, and doctrines by names
# their provisions never use, and questions the corpus cannot answer; never tuned on
FRESH = BENCHMARKS / "doctrine_fresh.jsonl"
# questions that name another country, half of them answerable from the law the corpus holds
# (an award made in Chile confirmed in a federal court), half about that country's own law
# (README, "Held law named beside another country"): what reading places declines and marks
PLACES = BENCHMARKS / "places_questions.jsonl"
SPLITS = ("dev", "test", "all")
STYLES = ("doctrine", "plain", "unanswerable")
DEPTH = 100
PASSAGES = 10
# passages an answer is written from (`JURIS_TOP_K`, the gateway's default)
CONTEXT = 6


class QuestionFileError(ValueError):
    """A malformed question file (the message names the file and the line)."""


@dataclass(frozen=True, slots=True)
class Judgment:
    """A document judged for a question, and the pinpoints within it that govern (none: the
    provision as a whole)."""

    doc_id: str
    pinpoints: tuple[str, ...]
    grade: int


@dataclass(frozen=True, slots=True)
class Question:
    """One benchmark question."""

    id: str
    split: str
    style: str
    question: str
    judgments: tuple[Judgment, ...] = ()
    governing_law: str = ""

    @property
    def answerable(self) -> bool:
        """Whether the corpus holds the law that governs it."""
        return any(j.grade >= 2 for j in self.judgments)

    def governing(self) -> dict[str, tuple[str, ...]]:
        """Governing document -> its governing pinpoints."""
        return {j.doc_id: j.pinpoints for j in self.judgments if j.grade >= 2}


def read_questions(path: Path, split: str = "all") -> list[Question]:
    """The questions of `split` in a JSONL question file.

    Raises:
        QuestionFileError: a line is not a valid question (names the file and line).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    out: list[Question] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                q = _question(json.loads(line))
            except (ValueError, KeyError, TypeError) as err:
                raise QuestionFileError(f"{path}, line {n}: {err}") from err
            if q.id in seen:
                raise QuestionFileError(f"{path}, line {n}: question id {q.id} repeated")
            seen.add(q.id)
            if split in ("all", q.split):
                out.append(q)
    return out


def _question(data: dict[str, Any]) -> Question:
    judgments = tuple(
        Judgment(str(j["doc_id"]), tuple(str(p) for p in j.get("pinpoints", ())), int(j["grade"]))
        for j in data.get("judgments", ())
    )
    q = Question(
        str(data["id"]),
        str(data["split"]),
        str(data["style"]),
        str(data["question"]).strip(),
        judgments,
        str(data.get("governing_law", "")),
    )
    if q.split not in ("dev", "test") or q.style not in STYLES or not q.question:
        raise ValueError(f"question {q.id}: bad split, style or empty text")
    if (q.style == "unanswerable") == q.answerable:
        raise ValueError(f"question {q.id}: an unanswerable question has no grade-2 judgment")
    return q


def provision_folds(questions: Sequence[Question], k: int, seed: int | None = None) -> list[int]:
    """A fold (0 to `k` − 1) for each question, every question sharing a governing provision
    with another in the same fold.

    Many questions come in twos or threes about one provision (a doctrine question and its
    plain-language telling). Dealt apart, a question out of fold is measured with its twin
    among the questions fitted on, and a fit that learns where the dev questions' provisions
    lie looks like one that generalises (`eval/README.md`, "A query adapter learned from the
    dev questions"). Questions linked by a shared governing document form a group; groups
    are dealt in order of first appearance (or shuffled by `seed`), each to the fold with the
    fewest questions so far (the lowest-numbered on a tie), so the same file and seed give
    the same folds.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    group = list(range(len(questions)))

    def root(n: int) -> int:
        while group[n] != n:
            group[n] = group[group[n]]
            n = group[n]
        return n

    first_with: dict[str, int] = {}
    for n, q in enumerate(questions):
        for doc_id in q.governing():
            if doc_id in first_with:
                group[root(n)] = root(first_with[doc_id])
            else:
                first_with[doc_id] = n
    members: dict[int, list[int]] = {}
    for n in range(len(questions)):
        members.setdefault(root(n), []).append(n)
    groups = sorted(members.values(), key=lambda m: m[0])
    if seed is not None:
        random.Random(seed).shuffle(groups)
    folds = [0] * len(questions)
    sizes = [0] * k
    for together in groups:
        target = min(range(k), key=lambda f: (sizes[f], f))
        for n in together:
            folds[n] = target
        sizes[target] += len(together)
    return folds


def holds_pinpoint(chunk: Chunk, pinpoints: Sequence[str]) -> bool:
    """Whether a passage is at one of `pinpoints`: it is the subdivision, lies inside it, or
    (a merged chunk) holds it. No pinpoints: any passage of the document is."""
    return at_pinpoint(chunk.pinpoints or (chunk.pinpoint,), pinpoints)


def at_pinpoint(held: Sequence[str], pinpoints: Sequence[str]) -> bool:
    """Whether a passage holding the subdivisions `held` is at one of `pinpoints` (as
    `holds_pinpoint`)."""
    if not pinpoints:
        return True
    return any(h == p or h.startswith(p) for h in held for p in pinpoints if p)


@dataclass
class Row:
    """What one question got."""

    id: str
    split: str
    style: str
    answerable: bool
    passages: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, pinpoint)
    top5: bool = False
    context: bool = False
    doc1: bool = False
    pinpoint1: bool = False
    pinpoint_context: bool = False
    cosine: float = 0.0
    bm25: float = 0.0
    probability: float | None = None
    answered: bool = True
    weak: bool = False


def score_question(
    retriever: Retriever, q: Question, mode: str = "hybrid"
) -> tuple[Row, list[Passage], Relevance | None]:
    """One question through `Retriever.search_assessed`."""
    passages, rel = retriever.search_assessed(q.question, top_k=PASSAGES, mode=mode)
    row = Row(q.id, q.split, q.style, q.answerable)
    row.passages = [(p.chunk.doc_id, p.chunk.pinpoint) for p in passages]
    if rel is not None:
        row.cosine, row.bm25, row.probability = rel.cosine, rel.bm25, rel.probability
        row.answered, row.weak = rel.answered, rel.weak
    gov = q.governing()
    docs = [p.chunk.doc_id for p in passages]
    row.top5 = any(d in gov for d in docs[:5])
    row.context = any(d in gov for d in docs[:CONTEXT])
    row.pinpoint_context = any(
        p.chunk.doc_id in gov and holds_pinpoint(p.chunk, gov[p.chunk.doc_id])
        for p in passages[:CONTEXT]
    )
    if passages and passages[0].chunk.doc_id in gov:
        row.doc1 = True
        row.pinpoint1 = holds_pinpoint(passages[0].chunk, gov[passages[0].chunk.doc_id])
    return row, passages, rel


def qrels_of(questions: Iterable[Question]) -> Qrels:
    """Document-level judgments of the answerable questions."""
    return {q.id: {j.doc_id: j.grade for j in q.judgments} for q in questions if q.answerable}


def measure(
    retriever: Retriever,
    questions: Sequence[Question],
    mode: str = "hybrid",
    documents: bool = True,
) -> tuple[dict[str, Any], list[Row]]:
    """The measures of the module docstring over `questions`, and a row per question."""
    rows: list[Row] = []
    run: Run = {}
    for q in tqdm(questions, desc="questions", unit="q", leave=False):
        row, _, _ = score_question(retriever, q, mode)
        rows.append(row)
        if documents and q.answerable:
            found = retriever.search_documents(q.question, top_k=DEPTH, mode=mode)
            run[q.id] = dict(trec_order({doc: score for doc, score, _ in found}, DEPTH))
    return summarize(rows, qrels_of(questions) if documents else None, run), rows


def summarize(rows: Sequence[Row], qrels: Qrels | None = None, run: Run | None = None) -> dict:
    """Shares over the answerable rows, abstention over all, trec measures when given."""
    answerable = [r for r in rows if r.answerable]
    n = len(answerable)
    out: dict[str, Any] = {"questions": n, "unanswerable": len(rows) - n}
    for key in ("top5", "context", "doc1", "pinpoint1", "pinpoint_context"):
        name = {
            "context": f"context@{CONTEXT}",
            "doc1": "doc@1",
            "pinpoint1": "pinpoint@1",
            "pinpoint_context": f"pinpoint@{CONTEXT}",
        }
        out[name.get(key, key)] = sum(getattr(r, key) for r in answerable) / n if n else 0.0
    for style in ("doctrine", "plain"):
        part = [r for r in answerable if r.style == style]
        if part:
            out[f"top5_{style}"] = sum(r.top5 for r in part) / len(part)
    if qrels and run:
        out.update(evaluate(qrels, run))
    out.update(abstention(rows))
    return out


def abstention(rows: Sequence[Row]) -> dict[str, float]:
    """Abstention precision / recall and false abstentions (empty when uncalibrated); and of
    the questions answered, the shares of answerable and of unanswerable ones marked a weak
    match (`Relevance.weak`)."""
    if not rows or any(r.probability is None for r in rows):
        return {}
    declined = [r for r in rows if not r.answered]
    unanswerable = [r for r in rows if not r.answerable]
    answerable = [r for r in rows if r.answerable]
    right = sum(not r.answerable for r in declined)
    through = [r for r in rows if r.answered]
    weak = {
        f"weak_{name}": sum(r.weak for r in part) / len(part) if part else 0.0
        for name, part in (
            ("answerable", [r for r in through if r.answerable]),
            ("unanswerable", [r for r in through if not r.answerable]),
        )
    }
    return {
        "abstain_precision": right / len(declined) if declined else 1.0,
        "abstain_recall": right / len(unanswerable) if unanswerable else 1.0,
        "false_abstain": sum(not r.answered for r in answerable) / len(answerable)
        if answerable
        else 0.0,
        **weak,
    }


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register `eval-doctrine` on the `python -m indexing` parser."""
    p = subparsers.add_parser(
        "eval-doctrine", help="doctrine and plain-language questions, pinpoints, abstention"
    )
    p.add_argument("--questions", type=Path, default=QUESTIONS, help="JSONL question file")
    p.add_argument("--split", choices=SPLITS, default="dev")
    p.add_argument("--mode", choices=("hybrid", "dense", "sparse"), default="hybrid")
    p.add_argument(
        "--no-documents", action="store_true", help="skip the document ranking (MAP etc.)"
    )
    p.add_argument("--per-question", type=Path, help="write one JSON line per question here")
    p.add_argument("--json", action="store_true", help="print the measures as one JSON object")
    p.set_defaults(func=run_cli)
    return p


def open_checked(settings: Any) -> Retriever:
    """A retriever over the configured index, checked to answer."""
    from indexing.retrieve import open_retriever

    retriever = open_retriever(settings)
    checked_index(retriever, US_AND_EU_SOURCES)
    return retriever


def run_cli(args: argparse.Namespace) -> int:
    """Execute `eval-doctrine`; returns the exit status (2: bad input or no usable index)."""
    from indexing.retrieve import IndexUnavailable
    from indexing.settings import IndexSettings

    try:
        questions = read_questions(args.questions, args.split)
        settings: Any = IndexSettings(**{})
        retriever = open_checked(settings)
    except (OSError, ValueError, IndexUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        results, rows = measure(retriever, questions, args.mode, not args.no_documents)
    finally:
        retriever.close()
    results["split"] = args.split
    if args.per_question:
        write_jsonl(args.per_question, (r.__dict__ for r in rows))
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        for key, value in results.items():
            print(f"{key:20s} {value:.4f}" if isinstance(value, float) else f"{key:20s} {value}")
    return 0
