"""`python -m indexing eval-questions`: lawyers' questions on US and EU law, scored like trec_eval.

    python -m indexing eval-questions --json              # every mode, the bundled questions
    python -m indexing eval-questions --mode hybrid --run-out var/eval/questions-hybrid.run

AILA measures one kind of query (a long Indian fact pattern). A lawyer using Juris more often
asks a short question in words of their own: "How long does a copyright owner have to sue for
infringement?" — which 17 U.S.C. § 507 answers without using the word "copyright". This
benchmark holds 88 such questions about the US Code titles, Federal Rules and GDPR in the
bundled corpus (`benchmarks/law_questions.txt`), written without looking at any ranking, and
graded judgments of the documents that govern each (`benchmarks/law_questions.qrels`: 2 the
governing provision, 1 one that a lawyer would also read), with document ids as the index
writes them (`usc:17/507`, `frcp:56`, `fre:702`, `gdpr:art17`).

Documents are ranked through the built index (`JURIS_QDRANT_PATH` or `JURIS_QDRANT_URL`) over
every source in force today, AILA included, with `Retriever.search_documents` — the product's
own path. The baseline, measured in the same run, is the `bm25s` library over the text of the
same chunks (a document scoring by its best chunk). Measures are those of `indexing.eval.metrics`
(trec_eval's), and the JSON gives each mode's MAP and nDCG@10 as a ratio to the baseline's.
For the product's modes, `context@6` is the share of questions whose governing provision is
among the six passages `Retriever.search` returns, the passages `/v1/ask` answers from;
`doc@1` the share whose first passage is in a governing provision; `pinpoint@1` the share
whose first passage is at a governing subdivision, `pinpoint@6` one of the six. The
subdivisions are judged in `benchmarks/law_questions.pinpoints` from the provisions' text
alone (`LQ62 frap:4 (a)(1)`; `-` for a provision as a whole); a passage inside a judged
subdivision, or holding it, is at it.

    python -m indexing eval-questions --case-names 80 --json

measures known-item search instead: the titles of 80 court opinions of the build (a seeded
sample), each judged to find the opinion(s) of that title — a lawyer typing a case name.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from indexing.eval.metrics import (
    Qrels,
    Run,
    TrecFormatError,
    evaluate,
    read_qrels,
    read_queries,
    trec_order,
    write_jsonl,
    write_run,
)
from indexing.eval.paths import US_AND_EU_SOURCES, checked_index
from indexing.eval.rankers import Bm25sRanker, Scores, SourceDocs

if TYPE_CHECKING:
    from indexing.retrieve import Retriever

BENCHMARKS = Path(__file__).resolve().parent / "benchmarks"
QUESTIONS = BENCHMARKS / "law_questions.txt"
QRELS = BENCHMARKS / "law_questions.qrels"
PINPOINTS = BENCHMARKS / "law_questions.pinpoints"
DEPTH = 100
# passages an answer is written from (`JURIS_TOP_K`, the gateway's default)
CONTEXT = 6
MODES = ("bm25s", "bm25", "dense", "hybrid")
# evaluation mode -> the retriever's query mode
QUERY_MODE = {"bm25": "sparse", "dense": "dense", "hybrid": "hybrid"}
# the sample of case names `--case-names` draws (fixed: the same build, the same queries)
CASE_NAME_SEED = 7


class ChunkBm25s:
    """The `bm25s` baseline (`indexing.eval.rankers.Bm25sRanker`) over the chunks of a built
    index that are in force today, each document scoring by its best chunk.

    Args:
        retriever: an open retriever; its current build's chunk texts are read once.
    """

    def __init__(self, retriever: Retriever) -> None:
        from indexing.retrieve import filter_conditions

        hits = retriever.current_store().scroll(filter_conditions(None), fields=("doc_id", "text"))
        docs: list[str] = []
        texts: list[str] = []
        for hit in hits:
            docs.append(hit.payload["doc_id"])
            texts.append(hit.payload.get("text") or "")
        if not texts:
            raise ValueError("the index holds no chunk in force today")
        self._docs = docs
        chunks = tuple(str(i) for i in range(len(texts)))
        self._ranker = Bm25sRanker(SourceDocs("index", chunks, tuple(texts)))

    def rank(self, query: str) -> Scores:
        """Each document's best chunk score for `query` (documents sharing no term: absent)."""
        out: Scores = {}
        for chunk, score in self._ranker.rank(query).items():
            doc = self._docs[int(chunk)]
            out[doc] = max(out.get(doc, 0.0), score)
        return out


def case_name_queries(retriever: Retriever, n: int) -> tuple[dict[str, str], Qrels]:
    """Known-item searches: the titles of `n` court opinions of the current build, a seeded
    sample of its distinct titles, each judged (grade 2) to find every opinion of that title.

    Raises:
        ValueError: the build holds no titled court opinion.
    """
    from indexing.store import Match, Where

    by_title: dict[str, set[str]] = {}
    store = retriever.current_store()
    for hit in store.scroll(Where((Match("kind", "opinion"),)), fields=("doc_id", "title")):
        title = " ".join(str(hit.payload.get("title") or "").split())
        if title:
            by_title.setdefault(title, set()).add(hit.payload["doc_id"])
    if not by_title:
        raise ValueError("the index holds no titled court opinion")
    titles = random.Random(CASE_NAME_SEED).sample(sorted(by_title), min(n, len(by_title)))
    queries = {f"NAME{i:03d}": title for i, title in enumerate(titles, start=1)}
    qrels = {qid: dict.fromkeys(sorted(by_title[title]), 2) for qid, title in queries.items()}
    return queries, qrels


def index_ranker(retriever: Retriever, mode: str) -> Callable[[str], Scores]:
    """Document scores through the index for one product mode (`bm25`, `dense`, `hybrid`)."""

    def rank(query: str) -> Scores:
        found = retriever.search_documents(query, top_k=DEPTH, mode=QUERY_MODE[mode])
        return {doc: score for doc, score, _ in found}

    return rank


def read_pinpoints(path: Path) -> dict[str, dict[str, tuple[str, ...]]]:
    """qid -> governing document -> its governing subdivisions, from `qid doc_id pinpoint
    [pinpoint ...]` lines (`-`: the provision as a whole, `()`; `#` starts a comment).

    Raises:
        TrecFormatError: a line with fewer than three fields (names the file and line).
    """
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) < 3:
            raise TrecFormatError(path, n, "expected `qid doc_id pinpoint [pinpoint ...]`")
        qid, doc, *pins = fields
        out.setdefault(qid, {})[doc] = () if pins == ["-"] else tuple(pins)
    return out


def first_passages(
    retriever: Retriever,
    mode: str,
    queries: dict[str, str],
    qrels: Qrels,
    pinpoints: dict[str, dict[str, tuple[str, ...]]] | None = None,
    k: int = CONTEXT,
    rows: list[dict[str, Any]] | None = None,
) -> dict[str, float]:
    """What `Retriever.search`'s first `k` passages hold (what `/v1/ask` writes its answer
    from): the share of questions whose governing document (grade 2) is among them
    (`context@k`), is the first passage's (`doc@1`) and, with `pinpoints`, whose first
    passage is at a governing subdivision (`pinpoint@1`; a governing document without
    judged subdivisions counts whole) or one of them is (`pinpoint@k`). With `rows`, one
    dict per question is appended there: its passages (document id, pinpoint) and those
    four outcomes, named as `eval-doctrine --per-question` names them."""
    from indexing.eval.doctrine import holds_pinpoint

    context = doc1 = pin1 = pin_k = 0
    for qid, text in queries.items():
        governing = {doc for doc, grade in qrels.get(qid, {}).items() if grade >= 2}
        judged = (pinpoints or {}).get(qid, {})
        passages = retriever.search(text, top_k=k, mode=QUERY_MODE[mode])
        at = [
            p.chunk.doc_id in governing and holds_pinpoint(p.chunk, judged.get(p.chunk.doc_id, ()))
            for p in passages
        ]
        outcome = {
            "context": any(p.chunk.doc_id in governing for p in passages),
            "doc1": bool(passages) and passages[0].chunk.doc_id in governing,
            "pinpoint1": bool(at) and at[0],
            "pinpoint_context": any(at),
        }
        context += outcome["context"]
        doc1 += outcome["doc1"]
        pin1 += outcome["pinpoint1"]
        pin_k += outcome["pinpoint_context"]
        if rows is not None:
            rows.append(
                {
                    "id": qid,
                    "mode": mode,
                    "passages": [[p.chunk.doc_id, p.chunk.pinpoint] for p in passages],
                    **outcome,
                }
            )
    n = max(1, len(queries))
    out = {f"context@{k}": context / n, "doc@1": doc1 / n}
    if pinpoints is not None:
        out.update({"pinpoint@1": pin1 / n, f"pinpoint@{k}": pin_k / n})
    return out


def run_mode(rank: Callable[[str], Scores], queries: dict[str, str], label: str) -> Run:
    """Every query ranked, `DEPTH` documents each, in trec_eval's order."""
    run: Run = {}
    for qid, text in tqdm(queries.items(), desc=label, unit="q", leave=False):
        run[qid] = dict(trec_order(rank(text), DEPTH))
    return run


def measure(
    retriever: Retriever,
    queries: dict[str, str],
    qrels: Qrels,
    modes: Sequence[str] = MODES,
    run_dir: Path | None = None,
    pinpoints: dict[str, dict[str, tuple[str, ...]]] | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> dict[str, dict[str, float]]:
    """The measures of each mode; with the baseline among them, MAP and nDCG@10 ratios too.

    Args:
        retriever: an open retriever over the built index.
        queries: query id -> text.
        qrels: the judgments.
        modes: among `MODES`.
        run_dir: where to write one TREC run file per mode (None: not written).
        pinpoints: the governing subdivisions (`read_pinpoints`; None: no `pinpoint@1`).
        rows: where each product mode's questions append their passages and outcomes
            (`first_passages`; None: not kept).
    """
    results: dict[str, dict[str, float]] = {}
    for mode in modes:
        rank = ChunkBm25s(retriever).rank if mode == "bm25s" else index_ranker(retriever, mode)
        run = run_mode(rank, queries, mode)
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_run(run_dir / f"questions-{mode}.run", run, tag=f"juris-{mode}", depth=DEPTH)
        results[mode] = evaluate(qrels, run)
        if mode in QUERY_MODE:
            results[mode].update(
                first_passages(retriever, mode, queries, qrels, pinpoints, rows=rows)
            )
    base = results.get("bm25s")
    if base:
        for mode, m in results.items():
            for key in ("map", "ndcg@10"):
                if mode != "bm25s" and base[key] > 0:
                    m[f"{key}_vs_bm25s"] = m[key] / base[key]
    return results


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register the `eval-questions` subcommand on the `python -m indexing` parser."""
    p = subparsers.add_parser(
        "eval-questions", help="score retrieval through the index on lawyers' questions"
    )
    p.add_argument("--queries", type=Path, default=QUESTIONS, help="`ID||text` lines")
    p.add_argument("--qrels", type=Path, default=QRELS, help="TREC qrels `qid 0 docid grade`")
    p.add_argument(
        "--pinpoints",
        type=Path,
        help="governing subdivisions, `qid doc_id pinpoint ...` (default: the bundled "
        "questions' own, with the bundled questions)",
    )
    p.add_argument(
        "--case-names",
        type=int,
        metavar="N",
        help="known-item search instead: the titles of N court opinions of the build as queries",
    )
    p.add_argument("--mode", choices=(*MODES, "all"), default="all")
    p.add_argument("--run-out", type=Path, help="folder for one TREC run file per mode")
    p.add_argument("--json", action="store_true", help="print the measures as one JSON object")
    p.add_argument(
        "--per-question",
        type=Path,
        help="write one JSON line per question and product mode here: its first passages and "
        "whether the governing provision and subdivision are among them",
    )
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Execute `eval-questions`; returns the exit status (2: bad input files or no index)."""
    from indexing.retrieve import IndexUnavailable, open_retriever
    from indexing.settings import IndexSettings

    try:
        queries = read_queries(args.queries)
        qrels = read_qrels(args.qrels)
        pins = args.pinpoints or (PINPOINTS if args.qrels == QRELS else None)
        pinpoints = read_pinpoints(pins) if pins is not None else None
    except (OSError, TrecFormatError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    settings: Any = IndexSettings(**{})
    try:
        retriever = open_retriever(settings)
        checked_index(retriever, US_AND_EU_SOURCES)
    except IndexUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    modes = MODES if args.mode == "all" else (args.mode,)
    try:
        if args.case_names is not None:
            if args.case_names < 1:
                raise ValueError("--case-names must be at least 1")
            queries, qrels = case_name_queries(retriever, args.case_names)
            pinpoints = None
        rows: list[dict[str, Any]] | None = [] if args.per_question else None
        results = measure(retriever, queries, qrels, modes, args.run_out, pinpoints, rows)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        retriever.close()
    if args.per_question and rows is not None:
        write_jsonl(args.per_question, rows)
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        for mode, m in results.items():
            figures = "  ".join(f"{k} {v:.4f}" for k, v in m.items() if k != "queries")
            print(f"{mode:7s} {figures}")
    return 0
