"""`python -m indexing eval`: rank AILA documents for each query and score the run like trec_eval.

    python -m indexing eval --queries ../shared/legal_corpus/aila/queries_dev.txt \\
        --qrels ../shared/legal_corpus/aila/qrels_statutes_dev.txt --source aila/statutes \\
        --mode hybrid --run-out var/eval/statutes-hybrid.run --json

prints `{"map":…, "p@10":…, "ndcg@10":…, "bpref":…, "recip_rank":…, "recall@100":…,
"queries":N}`. Modes: `bm25` (the product's legal-token sparse vectors), `dense` (MiniLM),
`hybrid` (the product default: both, fused), and `bm25s` (the independent library baseline).
Documents are ranked over the whole source folder; ids are the file stems the qrels use
(`C123`, `S45`). With `--index` the three product modes query the built index instead
(`indexing.eval.index_ranker`). See `indexing/README.md`, section Evaluation, for the measured
choices.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm import tqdm

from indexing.authority import AUTHORITY_WEIGHT, PRECEDENT_WEIGHT, with_citations
from indexing.eval.citing import judgments, query_doc, repeats
from indexing.eval.dense import DenseCache
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
from indexing.eval.rankers import (
    QUERY_WINDOW,
    Aggregation,
    Bm25sRanker,
    DenseRanker,
    Scores,
    SourceDocs,
    SparseRanker,
    fuse_rrf,
    load_source,
    split_query,
)
from indexing.fusion import DENSE_SHARE, normalised_sum
from indexing.rerank import CrossEncoderReranker, RerankerUnavailable, configured_reranker
from legal_corpus.citation_graph import CitationGraph

log = logging.getLogger(__name__)

Mode = Literal["bm25", "dense", "hybrid", "bm25s"]
MODES: tuple[Mode, ...] = ("bm25s", "bm25", "dense", "hybrid")
SOURCES = ("aila/casedocs", "aila/statutes")
RUN_DEPTH = 100
EMBED_BUDGET = 4000
Encoder = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True, slots=True)
class RetrievalChoices:
    """The retrieval choices the evaluation measured and kept (see README, Evaluation).

    Args:
        sparse_agg: passage-to-document aggregation of sparse scores.
        query_tf: weight sparse query terms by their frequency in the query.
        query_terms: sparse side keeps the query's this many most specific terms (None: all).
        opinion_agg, opinion_query_terms: the same two choices for the judgments
            (`aila/casedocs`), as the product makes them for court opinions: a precedent is
            found by the story it shares with the facts over several passages, a provision
            by the few terms of art of one (README, Evaluation, "Cited precedents").
        dense_fuse: how the windows of a long query are fused (`mean` or `max`).
        query_window: words per dense query window (stride half a window).
        hybrid_weights: RRF weights of (sparse, dense) for a query longer than one window.
        dense_rounds: embed at most this many passages per document (None: all); the
            dense side uses every passage already cached.
        embed_budget: embed at most this many passages per source, counted breadth first
            from round 0 (None: no cap). The default bounds a fresh run on two cores to
            about ten minutes of embedding: all 653 statute passages, the first passage of
            every judgment; more rounds only with a larger budget (or none).
        authority_weight, precedent_weight: the citation-aware scores of the judgments, as
            the product applies them to court opinions (`indexing.authority`; 0: off).
    """

    sparse_agg: Aggregation = "max"
    query_tf: bool = False
    query_terms: int | None = 20
    opinion_agg: Aggregation = "top3"
    opinion_query_terms: int | None = 100
    dense_fuse: Literal["mean", "max"] = "max"
    query_window: int = QUERY_WINDOW
    hybrid_weights: tuple[float, float] = (1.0, 1.0)
    dense_rounds: int | None = None
    embed_budget: int | None = EMBED_BUDGET
    authority_weight: float = AUTHORITY_WEIGHT
    precedent_weight: float = PRECEDENT_WEIGHT


def load_encoder(model_dir: Path | None = None) -> Encoder:
    """The product's embedder (`indexing.embeddings`, torch backend) as an encode function.

    Args:
        model_dir: a local sentence-transformers directory (default: the bundled MiniLM).

    Returns:
        texts -> L2-normalised float32 rows.
    """
    from indexing.embeddings import load_embedder
    from indexing.settings import default_embed_model

    embedder = load_embedder(model_dir or default_embed_model(), "torch")
    return lambda texts: embedder.encode(list(texts))


class AilaEvaluation:
    """Rankers over one AILA source, built lazily and cached under `cache_dir`.

    Args:
        corpus_dir: the corpus root.
        source: `aila/casedocs` or `aila/statutes`.
        cache_dir: where passage matrices and dense vectors are kept between runs.
        choices: the retrieval choices.
        encoder_factory: builds the dense encoder when a dense mode is first used.
        only_docs: restrict the source to these ids (small slices for tests).
        reranker: a cross-encoder the hybrid results are reranked with (None, the default:
            no reranking; see `indexing.rerank.configured_reranker`).
        index: rank `bm25`, `dense` and `hybrid` through a built index instead of the
            in-memory rankers (`bm25s` stays the library baseline; no reranking).
    """

    def __init__(
        self,
        corpus_dir: Path,
        source: str,
        cache_dir: Path,
        choices: RetrievalChoices | None = None,
        encoder_factory: Callable[[], Encoder] = load_encoder,
        only_docs: Sequence[str] | None = None,
        reranker: CrossEncoderReranker | None = None,
        index: IndexRanker | None = None,
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        self.corpus_dir, self.source, self.cache_dir = corpus_dir, source, cache_dir
        self.choices = choices or RetrievalChoices()
        self.docs: SourceDocs = load_source(corpus_dir, source, only_docs)
        self.only_docs = only_docs
        self._encoder_factory = encoder_factory
        self._encoder: Encoder | None = None
        self._bm25s: Bm25sRanker | None = None
        self._sparse: SparseRanker | None = None
        self._dense: DenseRanker | None = None
        self._reranker = reranker
        self._index = index
        self._citations: CitationGraph | None = None
        self._repeats: dict[str, set[str]] | None = None

    def encoder(self) -> Encoder:
        """The dense encoder (loaded once)."""
        if self._encoder is None:
            self._encoder = self._encoder_factory()
        return self._encoder

    def bm25s(self) -> Bm25sRanker:
        """The bm25s baseline ranker."""
        if self._bm25s is None:
            self._bm25s = Bm25sRanker(self.docs)
        return self._bm25s

    def sparse(self) -> SparseRanker:
        """The product-sparse ranker (passage matrix cached)."""
        if self._sparse is None:
            cache = self.cache_dir / "sparse" if self.only_docs is None else None
            self._sparse = SparseRanker(self.docs, cache)
        return self._sparse

    def dense(self) -> DenseRanker:
        """The dense ranker; embeds the passages missing from the cache first."""
        if self._dense is None:
            root = self.cache_dir / "dense"
            if self.only_docs is not None:
                root = root / f"slice-{self.docs.fingerprint()}"
            cache = DenseCache(root, self.source, self.corpus_dir, only=self.only_docs)
            # the cap bounds embedding work; every round already cached is used
            cache.build(
                self.encoder(),
                max_rounds=self.choices.dense_rounds,
                max_passages=self.choices.embed_budget,
            )
            passage_ids, vectors = cache.load()
            self._dense = DenseRanker(self.docs.ids, passage_ids, vectors, self.encoder())
        return self._dense

    def citations(self) -> CitationGraph:
        """The citations between the judgments of the source (built once)."""
        if self._citations is None:
            self._citations = CitationGraph(
                judgments(self.docs), zip(self.docs.ids, self.docs.texts, strict=True)
            )
        return self._citations

    def repeats(self) -> dict[str, set[str]]:
        """The judgments the source holds twice (`indexing.eval.citing.repeats`; built once)."""
        if self._repeats is None:
            self._repeats = repeats(self.docs)
        return self._repeats

    def rank(self, mode: Mode, query: str, uncounted: Collection[str] = ()) -> Scores:
        """Document scores for one query in one mode.

        `uncounted`: judgments whose citations count for nothing (the one a citing-judgment
        query was made from, and those repeating it).
        """
        if mode == "bm25s":
            return self.bm25s().rank(query)
        if self._index is not None:
            return self._index.rank(mode, query, uncounted)
        scores = self._rank_in_memory(mode, query)
        c = self.choices
        if self.source != "aila/casedocs" or not (c.authority_weight or c.precedent_weight):
            return scores
        return with_citations(
            scores,
            self.citations(),
            lambda d: True,  # every document of the source is a judgment
            c.authority_weight,
            c.precedent_weight,
            uncounted,
        )

    def _rank_in_memory(self, mode: Mode, query: str) -> Scores:
        c = self.choices
        opinions = self.source == "aila/casedocs"
        agg = c.opinion_agg if opinions else c.sparse_agg
        terms = c.opinion_query_terms if opinions else c.query_terms
        if mode == "bm25":
            return self.sparse().rank(query, agg, c.query_tf, terms)
        if mode == "dense":
            return self.dense().rank(query, c.dense_fuse, c.query_window)
        sparse = self.sparse().rank(query, agg, c.query_tf, terms)
        dense = self.dense().rank(query, c.dense_fuse, c.query_window)
        if len(split_query(query, c.query_window)) == 1:
            # a question: the product fuses its two rankings by their scores (indexing.fusion)
            fused = normalised_sum([dense, sparse], (DENSE_SHARE, 1.0 - DENSE_SHARE))
        else:
            fused = fuse_rrf([sparse, dense], c.hybrid_weights)
        if self._reranker is None:
            return fused
        sparse_ranker = self.sparse()
        return self._reranker.rerank_scores(
            split_query(query),
            fused,
            lambda doc: sparse_ranker.best_passage(doc, query, self.docs.texts, terms),
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
    """The options that bound dense embedding work (shared with `report`)."""
    p.add_argument(
        "--dense-rounds",
        type=int,
        default=None,
        help="embed at most N passages per document (default: no cap); cached ones are used",
    )
    p.add_argument(
        "--embed-budget",
        type=int,
        default=EMBED_BUDGET,
        help=f"embed at most N passages per source (default {EMBED_BUDGET}, about ten minutes "
        "on two cores; 0 = no cap: the full AILA judgments take about an hour)",
    )


def choices_from_args(args: argparse.Namespace, settings: Any = None) -> RetrievalChoices:
    """The retrieval choices with the embedding caps of the command line (and, given the
    `IndexSettings`, the configured `JURIS_AUTHORITY_WEIGHT` and `JURIS_PRECEDENT_WEIGHT`)."""
    budget = args.embed_budget if args.embed_budget and args.embed_budget > 0 else None
    weights = (
        {
            "authority_weight": settings.authority_weight,
            "precedent_weight": settings.precedent_weight,
        }
        if settings is not None
        else {}
    )
    return RetrievalChoices(dense_rounds=args.dense_rounds, embed_budget=budget, **weights)


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
            retriever.check()
        except (IndexUnavailable, RerankerUnavailable) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        index = IndexRanker(retriever, args.source, RUN_DEPTH)
    try:
        evaluation = AilaEvaluation(
            corpus,
            args.source,
            args.cache,
            choices_from_args(args, settings),
            encoder_factory=lambda: load_encoder(settings.embed_model),
            only_docs=only,
            reranker=None if index else configured_reranker(settings),
            index=index,
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
