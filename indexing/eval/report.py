"""`python -m indexing report --out var/eval` (`make eval`): AILA 2019 side by side.

Runs the bm25s baseline, the product's sparse (`bm25`), `dense` and `hybrid` modes on both
AILA 2019 tasks over the 30 dev queries (prior cases: `aila/casedocs` with
`qrels_priorcases_dev*.txt`; statutes: `aila/statutes` with `qrels_statutes_dev*.txt`) and
on the cited-precedents benchmark built from the corpus (`indexing.eval.citing`: 300 citing
judgments, written to `--out/citing`), in memory and, when a build exists
(`JURIS_QDRANT_PATH` or `JURIS_QDRANT_URL`), through the index, in one process; then the
cross-validation of the fact-pattern settings (`indexing.eval.crossval`), per fold, both
paths side by side. It writes into `--out`:

- `report.md` — Markdown tables of MAP, P@10, nDCG@10, BPREF, RR and R@100 per task and
  mode, with the best published FIRE 2019 runs as reference rows, then the per-fold
  cross-validated figures and their spread (also alone in `crossval/crossval.md`);
- `report.png` — a bar chart of MAP and P@10 (matplotlib, Agg backend);
- `metrics.json` — the same figures; `runs/<task>-<mode>.run` — the TREC run files.

The in-memory path chunks both AILA sources once (cached under `--out/cache`) and reads
dense vectors from the embedding cache a `build` fills; at most `--embed-budget` missing
chunks are embedded (default 4,000: about ten minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexing.eval.citing import build as build_citing
from indexing.eval.crossval import markdown as crossval_markdown
from indexing.eval.crossval import run_crossval
from indexing.eval.evaluate import (
    MODES,
    RUN_DEPTH,
    AilaEvaluation,
    Mode,
    RetrievalChoices,
    add_embed_options,
    choices_from_args,
    evaluate_mode,
)
from indexing.eval.index_ranker import IndexRanker
from indexing.eval.metrics import Qrels, read_qrels, read_queries
from indexing.eval.paths import FactPatternPath
from indexing.rerank import CrossEncoderReranker, RerankerUnavailable, configured_reranker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Task:
    """One evaluation task: its documents, queries, judgments and best published run.

    `queries` and `qrels` are paths under the corpus root (AILA's) or under the output
    folder (`citing`, the benchmark the report builds); a task without a published run has
    no reference row and no target.
    """

    name: str
    source: str
    queries: tuple[str, ...]
    qrels: tuple[str, ...]
    published_map: float | None = None
    published_p10: float | None = None
    citing: bool = False

    def load(self, corpus_dir: Path, out: Path) -> tuple[dict[str, str], Qrels]:
        """The task's queries and judgments (every file present; the citing benchmark is
        built when needed)."""
        if self.citing:
            folder = out / "citing"
            build_citing(corpus_dir, folder)
            pairs = [
                (folder / q, folder / r) for q, r in zip(self.queries, self.qrels, strict=True)
            ]
        else:
            pairs = [
                (corpus_dir / q, corpus_dir / r)
                for q, r in zip(self.queries, self.qrels, strict=True)
                if (corpus_dir / q).exists()
            ]
        queries: dict[str, str] = {}
        qrels: Qrels = {}
        for q, r in pairs:
            queries.update(read_queries(q))
            qrels.update(read_qrels(r))
        return queries, qrels


DEV = ("aila/queries_dev.txt", "aila/queries_dev2.txt")
TASKS = (
    Task(
        "prior cases", "aila/casedocs", DEV,
        ("aila/qrels_priorcases_dev.txt", "aila/qrels_priorcases_dev2.txt"), 0.1492, 0.07,
    ),
    Task(
        "statutes", "aila/statutes", DEV,
        ("aila/qrels_statutes_dev.txt", "aila/qrels_statutes_dev2.txt"), 0.1566, 0.0975,
    ),
    Task("cited precedents", "aila/casedocs", ("queries.txt",), ("qrels.txt",), citing=True),
)  # fmt: skip
# the targets on the track's held-out queries (issue 20), through the built index
TARGETS = {"prior cases": 0.194, "statutes": 0.204}
COLUMNS = ("map", "p@10", "ndcg@10", "bpref", "recip_rank", "recall@100")
MODE_LABELS = {
    "bm25s": "bm25s baseline (library, stemmed)",
    "bm25": "Juris bm25 (legal-token sparse)",
    "dense": "Juris dense (MiniLM)",
    "hybrid": "Juris hybrid (default)",
}


def run_report(
    corpus_dir: Path,
    out: Path,
    modes: Sequence[Mode] = MODES,
    choices: RetrievalChoices | None = None,
    reranker: CrossEncoderReranker | None = None,
    settings: Any = None,
    index: bool = True,
    folds: int = 5,
) -> dict[str, dict[str, dict[str, float]]]:
    """Evaluate every mode on every task, cross-validate, and write report.md, report.png,
    metrics.json, runs and crossval/.

    Args:
        corpus_dir: the corpus root (holds `aila/`).
        out: the output directory.
        modes: the modes to run.
        choices: retrieval choices (default: the product's).
        reranker: optional cross-encoder the in-memory results are reranked with.
        settings: `IndexSettings` (model, caches, the index; default: from the environment).
        index: also rank through the built index, when there is one.
        folds: cross-validation folds.

    Returns:
        task name -> run -> measures (`index hybrid` and the like for the index's runs).
    """
    from indexing.eval.paths import AILA_SOURCES, index_available, index_path, memory_path
    from indexing.settings import IndexSettings
    from indexing.status import pending_note

    settings = settings or IndexSettings(**{})
    choices = choices or RetrievalChoices()
    out.mkdir(parents=True, exist_ok=True)
    memory = memory_path(corpus_dir, settings, out / "cache", choices.embed_budget)
    retriever = None
    skipped = ""
    if index and index_available(settings):
        from indexing.retrieve import open_retriever

        retriever = open_retriever(settings)
        # a build still filling, or one a demo stopped part-way: its misses are not rankings
        missing = pending_note(retriever.index_status(), sources=AILA_SOURCES)
        if missing is not None:
            skipped = f"not measured through the index: {missing[1]}"
            log.warning("%s", skipped)
            retriever.close()
            retriever = None
    try:
        results: dict[str, dict[str, dict[str, float]]] = {}
        for task in TASKS:
            queries, qrels = task.load(corpus_dir, out)
            ways = [("", AilaEvaluation(
                corpus_dir, task.source, out / "cache", choices, reranker=reranker,
                settings=settings, memory=memory,
            ))]  # fmt: skip
            if retriever is not None:
                ranker = IndexRanker(retriever, task.source, RUN_DEPTH)
                ways.append(("index ", AilaEvaluation(
                    corpus_dir, task.source, out / "cache", choices, index=ranker,
                    settings=settings,
                )))  # fmt: skip
            results[task.name] = {}
            for prefix, evaluation in ways:
                for mode in modes:
                    if prefix and mode == "bm25s":
                        continue  # the baseline is the library's, measured once
                    stem = "citing" if task.citing else task.source.split("/")[-1]
                    name = f"{prefix}{mode}"
                    run_file = out / "runs" / f"{stem}-{name.replace(' ', '-')}.run"
                    metrics = evaluate_mode(evaluation, mode, queries, qrels, run_file, task.citing)
                    results[task.name][name] = metrics
                    log.info("%s %s MAP %.4f", task.name, name, metrics["map"])
        paths: list[FactPatternPath] = [memory]
        if retriever is not None:
            paths.append(index_path(retriever=retriever))
        cv = run_crossval(corpus_dir, out / "crossval", settings, paths, folds)
    finally:
        if retriever is not None:
            retriever.close()
    (out / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    note = f"\n> {skipped}\n" if skipped else ""
    (out / "report.md").write_text(markdown(results, choices) + note + "\n" + crossval_markdown(cv))
    chart(results, out / "report.png")
    return results


def markdown(results: dict[str, dict[str, dict[str, float]]], choices: RetrievalChoices) -> str:
    """The Markdown report: one table per task, published best run as a reference row."""
    lines = [
        "# Retrieval evaluation — AILA 2019 dev queries (AILA_Q1–Q30) and cited precedents",
        "",
        "Measures computed as trec_eval computes them (ir-measures over pytrec-eval-terrier);",
        "documents ranked over the whole source; runs of 100 documents per query. `index …`",
        "rows rank through the built index, the others in memory over the same chunks.",
        "Figures on these rows are in-sample: the product's settings were chosen on these",
        "queries; the cross-validated (out-of-fold) estimate follows the tables.",
        "Cited precedents: 300 judgments of the corpus as queries (their facts, citations",
        "removed), the judgments each cites as relevant; the citing judgment is left out of its",
        "own ranking and of the authority counts (`python -m indexing citing-bench`).",
        f"Fact-pattern settings: `{choices.fact_patterns}`.",
        "",
    ]
    for task in TASKS:
        rows = results.get(task.name, {})
        lines += [f"## {task.name}", ""]
        lines.append("| run | " + " | ".join(COLUMNS) + " | queries |")
        lines.append("|---|" + "---:|" * (len(COLUMNS) + 1))
        for mode, m in rows.items():
            cells = " | ".join(f"{m[c]:.4f}" for c in COLUMNS)
            label = MODE_LABELS.get(mode) or f"index: {MODE_LABELS.get(mode[6:], mode)}"
            lines.append(f"| {label} | {cells} | {int(m['queries'])} |")
        if task.published_map is None or task.published_p10 is None:
            lines.append("")
            continue
        ref = ["—"] * len(COLUMNS)
        ref[0], ref[1] = f"{task.published_map:.4f}", f"{task.published_p10:.4f}"
        lines.append(f"| FIRE 2019 best published run (test queries) | {' | '.join(ref)} | 50 |")
        target = TARGETS[task.name]
        lines += [
            "",
            f"Target on the track's held-out queries, through the index: MAP ≥ {target:.3f} "
            "and above bm25s (measured outside the project; see the cross-validation below "
            "for the estimate).",
            "",
        ]
    return "\n".join(lines)


def chart(results: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    """A grouped bar chart of MAP and P@10 per task and run (PNG, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(6 * len(TASKS), 4.2), squeeze=False)
    for ax, task in zip(axes[0], TASKS, strict=True):
        rows = results.get(task.name, {})
        labels = list(rows)
        maps = [rows[m]["map"] for m in rows]
        p10s = [rows[m]["p@10"] for m in rows]
        if task.published_map is not None and task.published_p10 is not None:
            labels.append("FIRE best")
            maps.append(task.published_map)
            p10s.append(task.published_p10)
            ax.axhline(1.3 * task.published_map, color="grey", linestyle="--", linewidth=1)
            ax.set_title(f"AILA 2019 {task.name} (dev Q1–Q10)")
        else:
            ax.set_title(f"{task.name} (citing judgments)")
        xs = range(len(labels))
        ax.bar([x - 0.2 for x in xs], maps, width=0.4, label="MAP")
        ax.bar([x + 0.2 for x in xs], p10s, width=0.4, label="P@10")
        ax.set_xticks(list(xs), labels, rotation=20)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register the `report` subcommand on the `python -m indexing` parser."""
    p = subparsers.add_parser("report", help="AILA 2019 evaluation report (make eval)")
    configure_parser(p)
    return p


def configure_parser(p: argparse.ArgumentParser) -> None:
    """The `report` options."""
    p.add_argument("--out", type=Path, default=Path("var/eval"), help="output directory")
    p.add_argument("--corpus", type=Path, help="corpus root (default: JURIS_CORPUS_DIR)")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated modes")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    p.add_argument(
        "--no-index", action="store_true", help="in memory only, even when a build exists"
    )
    add_embed_options(p)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    """Execute `report`; returns the exit status."""
    from indexing.opener import IndexUnavailable
    from indexing.settings import IndexSettings

    settings: Any = IndexSettings(**{})
    corpus = args.corpus or settings.corpus()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        print(f"error: unknown modes {bad}; expected {', '.join(MODES)}", file=sys.stderr)
        return 2
    try:
        results = run_report(
            corpus,
            args.out,
            modes,
            choices_from_args(args),
            configured_reranker(settings),
            settings,
            not args.no_index,
            args.folds,
        )
    except (FileNotFoundError, RerankerUnavailable, IndexUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for task, rows in results.items():
        for mode, m in rows.items():
            print(f"{task:<12} {mode:<7} MAP {m['map']:.4f}  P@10 {m['p@10']:.4f}")
    print(f"wrote {args.out / 'report.md'} and {args.out / 'report.png'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m indexing.eval.report …` (the same as `python -m indexing report …`)."""
    parser = argparse.ArgumentParser(prog="python -m indexing report", description=__doc__)
    configure_parser(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
