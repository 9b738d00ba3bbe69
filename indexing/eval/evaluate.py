"""`python -m indexing eval`: rank AILA documents for each query and score the run like trec_eval.

    python -m indexing eval --queries ../shared/legal_corpus/aila/queries_dev.txt \\
        --qrels ../shared/legal_corpus/aila/qrels_statutes_dev.txt --source aila/statutes \\
        --mode hybrid --run-out var/eval/statutes-hybrid.run --json

prints `{"map":…, "p@10":…, "ndcg@10":…, "bpref":…, "recip_rank":…, "recall@100":…,
"queries":N}`. Modes: `bm25` (the product's legal-token sparse vectors), `dense` (MiniLM),
`hybrid` (the product default: both, fused), and `bm25s` (the independent library baseline).
Documents are ranked over the whole source folder; ids are the file stems the qrels use
(`C123`, `S45`).

The three product modes rank a fact pattern (a query longer than one embedding window, as
every AILA query is) the way the product does (`indexing.fact_patterns`), over the chunks a
build of both AILA sources holds: in memory by default (`indexing.eval.memory`: the same
chunks and vectors, scored exactly), through the built index with `--index`
(`indexing.eval.index_ranker`). The two give the same ranking for the same settings
(`tests/indexing/test_fact_patterns.py`). See `README.md` beside this module.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from indexing.eval.citing import query_doc, repeats
from indexing.eval.index_ranker import IndexRanker
from indexing.eval.metrics import (
    Qrels,
    Run,
    TrecFormatError,
    evaluate,
    read_qrels,
    read_queries,
    trec_order,
    write_run,
)
from indexing.eval.paths import FactPatternPath, checked_index, memory_path
from indexing.eval.rankers import Bm25sRanker, Scores, SourceDocs, load_source
from indexing.fact_patterns import FactPatternSettings
from indexing.rerank import CrossEncoderReranker, RerankerUnavailable, configured_reranker

log = logging.getLogger(__name__)

Mode = Literal["bm25", "dense", "hybrid", "bm25s"]
MODES: tuple[Mode, ...] = ("bm25s", "bm25", "dense", "hybrid")
SOURCES = ("aila/casedocs", "aila/statutes")
RUN_DEPTH = 100
EMBED_BUDGET = 4000


# evaluation mode -> the product's query mode
QUERY_MODE = {"bm25": "sparse", "dense": "dense", "hybrid": "hybrid"}


@dataclass(frozen=True, slots=True)
class RetrievalChoices:
    """What the evaluation ranks with (see README.md).

    Args:
        fact_patterns: the fact-pattern settings (default: the product's, cross-validated).
        embed_budget: embed at most this many chunks missing from the embedding cache
            (None: no cap). A fresh checkout has none cached; `build` fills the cache, and
            every cached vector is used. The default bounds a fresh run on two cores to
            about ten minutes of embedding; chunks left without a vector take no part in
            the dense rankings (the run logs how many).
    """

    fact_patterns: FactPatternSettings = field(default_factory=FactPatternSettings)
    embed_budget: int | None = EMBED_BUDGET


class AilaEvaluation:
    """Rankings of one AILA source: the bm25s baseline and the product's modes.

    Args:
        corpus_dir: the corpus root.
        source: `aila/casedocs` or `aila/statutes`.
        cache_dir: where the chunked points of the in-memory path are kept between runs.
        choices: the retrieval choices.
        only_docs: restrict both AILA sources to these ids (small slices for tests).
        reranker: a cross-encoder the in-memory results are reranked with, by each
            document's best chunk (None, the default: no reranking).
        index: rank `bm25`, `dense` and `hybrid` through a built index instead of in memory
            (`bm25s` stays the library baseline; the retriever reranks itself).
        settings: `IndexSettings` (embedding model and cache; default: from the environment).
        memory: an in-memory path already built (shared between the two sources).
    """

    def __init__(
        self,
        corpus_dir: Path,
        source: str,
        cache_dir: Path,
        choices: RetrievalChoices | None = None,
        only_docs: Sequence[str] | None = None,
        reranker: CrossEncoderReranker | None = None,
        index: IndexRanker | None = None,
        settings: Any = None,
        memory: FactPatternPath | None = None,
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        self.corpus_dir, self.source, self.cache_dir = corpus_dir, source, cache_dir
        self.choices = choices or RetrievalChoices()
        self.docs: SourceDocs = load_source(corpus_dir, source, only_docs)
        self.only_docs = only_docs
        self._bm25s: Bm25sRanker | None = None
        self._reranker = reranker
        self._index = index
        self._settings = settings
        self._memory = memory
        self._repeats: dict[str, set[str]] | None = None

    def bm25s(self) -> Bm25sRanker:
        """The bm25s baseline ranker."""
        if self._bm25s is None:
            self._bm25s = Bm25sRanker(self.docs)
        return self._bm25s

    def memory(self) -> FactPatternPath:
        """The in-memory path (chunks both AILA sources on first use; cached on disk)."""
        if self._memory is None:
            from indexing.settings import IndexSettings

            settings = self._settings or IndexSettings(**{})
            only = list(self.only_docs) if self.only_docs is not None else None
            self._memory = memory_path(
                self.corpus_dir, settings, self.cache_dir, self.choices.embed_budget, only
            )
        return self._memory

    def repeats(self) -> dict[str, set[str]]:
        """The judgments the source holds twice (`indexing.eval.citing.repeats`; built once)."""
        if self._repeats is None:
            self._repeats = repeats(self.docs)
        return self._repeats

    def rank(self, mode: Mode, query: str, uncounted: Collection[str] = ()) -> Scores:
        """Document scores for one query in one mode.

        `uncounted`: judgments whose citations count for nothing (the one a citing-judgment
        query was made from, and those repeating it).

        Raises:
            ValueError: a query of one embedding window in memory (the in-memory path ranks
                fact patterns; a question goes through the index, `--index`).
        """
        if mode == "bm25s":
            return self.bm25s().rank(query)
        if self._index is not None:
            return self._index.rank(mode, query, uncounted)
        memory = self.memory()
        if len(memory.patterns.windows(query)) < 2:
            raise ValueError(
                "the in-memory path ranks fact patterns (longer than one embedding window); "
                "rank a question through the index (--index)"
            )
        found = memory.ranked(
            query, self.source, self.choices.fact_patterns, QUERY_MODE[mode], uncounted
        )
        scores = {doc: score for doc, score, _ in found}
        if self._reranker is None:
            return scores
        texts = {doc: text for doc, _, text in found}
        return self._reranker.rerank_scores(
            memory.patterns.windows(query), scores, lambda doc: texts.get(doc, "")
        )

    def run(
        self,
        mode: Mode,
        queries: dict[str, str],
        depth: int = RUN_DEPTH,
        exclude_query_doc: bool = False,
    ) -> Run:
        """A TREC run: every query's top `depth` documents in trec_eval order.

        `exclude_query_doc` leaves out of each ranking the document its query was made from
        (`indexing.eval.citing.query_doc`), and its citations (and those of any judgment
        repeating it) from the citation-aware scores.
        """
        run: Run = {}
        for qid, text in tqdm(queries.items(), desc=f"{self.source} {mode}", disable=None):
            skip = query_doc(qid) if exclude_query_doc else None
            uncounted = {skip, *self.repeats().get(skip, ())} if skip is not None else set()
            scores = self.rank(mode, text, uncounted)
            if skip is not None:
                scores.pop(skip, None)
            run[qid] = dict(trec_order(self._complete(scores, depth, skip), depth))
        return run

    def _complete(self, scores: Scores, depth: int, skip: str | None = None) -> Scores:
        """Pad a ranking that scored fewer than `depth` documents with the unscored ones.

        They rank below every scored document (in trec_eval's tie order), so a run file
        always holds `depth` documents per query when the source has that many (`skip`, an
        excluded document, is not padded back in).
        """
        if len(scores) >= min(depth, len(self.docs.ids)):
            return scores
        floor = min(scores.values(), default=0.0) - 1.0
        padded = dict(scores)
        for doc in self.docs.ids:
            if doc != skip:
                padded.setdefault(doc, floor)
        return padded


def evaluate_mode(
    evaluation: AilaEvaluation,
    mode: Mode,
    queries: dict[str, str],
    qrels: Qrels,
    run_out: Path | None = None,
    exclude_query_doc: bool = False,
) -> dict[str, float]:
    """Run one mode over the queries, optionally write the run file, and score it.

    Args:
        evaluation: the rankers of one source.
        mode: `bm25`, `dense`, `hybrid` or `bm25s`.
        queries: query id -> text.
        qrels: the judgments.
        run_out: where to write the TREC run (None: not written).
        exclude_query_doc: see `AilaEvaluation.run`.

    Returns:
        The measures (see `indexing.eval.metrics.evaluate`).
    """
    run = evaluation.run(mode, queries, exclude_query_doc=exclude_query_doc)
    if run_out is not None:
        write_run(run_out, run, tag=f"juris-{mode}")
    return evaluate(qrels, run)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register the `eval` subcommand on the `python -m indexing` parser."""
    p = subparsers.add_parser("eval", help="score retrieval on AILA-style queries and qrels")
    configure_parser(p)
    return p


def configure_parser(p: argparse.ArgumentParser) -> None:
    """The `eval` options (shared by `python -m indexing eval` and this module's main)."""
    p.add_argument("--queries", type=Path, required=True, help="`ID||text` lines")
    p.add_argument("--qrels", type=Path, required=True, help="TREC qrels `qid Q0 docid rel`")
    p.add_argument("--source", choices=SOURCES, default="aila/casedocs")
    p.add_argument("--mode", choices=MODES, default="hybrid")
    p.add_argument("--run-out", type=Path, help="write the TREC run file here")
    p.add_argument("--corpus", type=Path, help="corpus root (default: JURIS_CORPUS_DIR)")
    p.add_argument("--cache", type=Path, default=Path("var/eval/cache"), help="cache dir")
    add_embed_options(p)
    p.add_argument("--only-docs", help="comma-separated document ids: rank only these")
    p.add_argument(
        "--exclude-query-doc",
        action="store_true",
        help="leave out of each ranking the document a `CITING_<doc id>` query was made "
        "from (the citing-judgments benchmark, `python -m indexing citing-bench`)",
    )
    p.add_argument(
        "--index",
        action="store_true",
        help="rank through the built index (JURIS_QDRANT_PATH or JURIS_QDRANT_URL), the "
        "product's own query path, instead of the in-memory rankers",
    )
    p.add_argument("--json", action="store_true", help="print the measures as one JSON object")
    p.set_defaults(func=run_cli)


def add_embed_options(p: argparse.ArgumentParser) -> None:
    """The option that bounds embedding work (shared with `report`)."""
    p.add_argument(
        "--embed-budget",
        type=int,
        default=EMBED_BUDGET,
        help=f"embed at most N chunks missing from the embedding cache (default {EMBED_BUDGET}, "
        "about ten minutes on two cores; 0 = no cap: the AILA judgments' 92,000 chunks take "
        "hours, or come from the cache a `build` of the AILA sources fills)",
    )


def choices_from_args(args: argparse.Namespace) -> RetrievalChoices:
    """The retrieval choices with the embedding cap of the command line."""
    budget = args.embed_budget if args.embed_budget and args.embed_budget > 0 else None
    return RetrievalChoices(embed_budget=budget)


def run_cli(args: argparse.Namespace) -> int:
    """Execute `eval`; returns the exit status (2 on bad input files)."""
    from indexing.settings import IndexSettings

    settings: Any = IndexSettings(**{})
    corpus = args.corpus or settings.corpus()
    try:
        queries = read_queries(args.queries)
        qrels = read_qrels(args.qrels)
    except (OSError, TrecFormatError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    only = [d.strip() for d in args.only_docs.split(",")] if args.only_docs else None
    index: IndexRanker | None = None
    if args.index:
        from indexing.retrieve import IndexUnavailable, open_retriever

        try:
            retriever = open_retriever(settings)  # reranks itself when one is configured
            checked_index(retriever, (args.source,))
        except (IndexUnavailable, RerankerUnavailable) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        index = IndexRanker(retriever, args.source, RUN_DEPTH)
    try:
        evaluation = AilaEvaluation(
            corpus,
            args.source,
            args.cache,
            choices_from_args(args),
            only_docs=only,
            reranker=None if index else configured_reranker(settings),
            index=index,
            settings=settings,
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    unknown = set(qrels) - set(queries)
    if unknown:
        log.warning("qrels name %d queries absent from %s", len(unknown), args.queries)
    try:
        metrics = evaluate_mode(
            evaluation, args.mode, queries, qrels, args.run_out, args.exclude_query_doc
        )
    finally:
        if index is not None:
            index.retriever.close()
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key:<12}{value:.4f}" if key != "queries" else f"{key:<12}{int(value)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m indexing.eval.evaluate …` (the same as `python -m indexing eval …`)."""
    parser = argparse.ArgumentParser(prog="python -m indexing eval", description=__doc__)
    configure_parser(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
