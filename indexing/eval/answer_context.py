"""What an answer is given for a statement of facts: the passages before and now.

    python -m indexing answer-context [--top-k 6] [--json]

An answer's retrieval (`Retriever.search_assessed`, as the gateway calls it) gives a text
longer than one window the fact-pattern document ranking, one passage per document
(`indexing.fact_patterns`), instead of the passages that share its words. This measures what
that changes in the context a model answers from, on the 30 AILA dev queries through the
built index, no filter: how many queries get at least one statute their judgment applied,
how many such statutes and cited precedents are among the passages, and how many distinct
documents the passages come from — both ways, in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Mapping
from typing import Any

from indexing.eval.crossval import PRIOR, STATUTES, dev_queries
from indexing.eval.metrics import Qrels
from indexing.eval.paths import AILA_SOURCES, checked_index

WAYS = {"passages (each passage on its own)": False, "fact-pattern documents (now)": None}


def answer_context(
    retriever: Any, queries: Mapping[str, str], qrels: Mapping[str, Qrels], top_k: int = 6
) -> dict[str, dict[str, float]]:
    """The context an answer gets for each query, both ways (see the module docstring)."""
    out: dict[str, dict[str, float]] = {}
    for name, group in WAYS.items():
        with_statute = statutes = precedents = 0
        documents: list[int] = []
        for qid, text in queries.items():
            passages, _ = retriever.search_assessed(text, top_k=top_k, group_by_doc=group)
            ids = {p.chunk.doc_id for p in passages}
            relevant = {
                task: {f"aila:{d}" for d, g in qrels[task].get(qid, {}).items() if g > 0}
                for task in (STATUTES, PRIOR)
            }
            found = len(ids & relevant[STATUTES])
            with_statute += found > 0
            statutes += found
            precedents += len(ids & relevant[PRIOR])
            documents.append(len(ids))
        out[name] = {
            "queries": len(queries),
            "queries_with_an_applied_statute": with_statute,
            "applied_statutes": statutes,
            "cited_precedents": precedents,
            "distinct_documents": statistics.fmean(documents) if documents else 0.0,
        }
    return out


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register the `answer-context` subcommand on the `python -m indexing` parser."""
    p = subparsers.add_parser(
        "answer-context", help="what an answer is given for a statement of facts, both ways"
    )
    p.add_argument("--top-k", type=int, default=6, help="passages per answer (gateway: 6)")
    p.add_argument("--corpus", help="corpus root (default: JURIS_CORPUS_DIR)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Execute `answer-context`; returns the exit status."""
    from pathlib import Path

    from indexing.opener import IndexUnavailable
    from indexing.retrieve import open_retriever
    from indexing.settings import IndexSettings

    settings: Any = IndexSettings(**{})
    corpus = Path(args.corpus) if args.corpus else settings.corpus()
    queries, qrels = dev_queries(corpus)
    if not queries:
        print(f"error: no AILA dev queries under {corpus}", file=sys.stderr)
        return 2
    try:
        retriever = open_retriever(settings)
        try:
            checked_index(retriever, AILA_SOURCES)
            result = answer_context(retriever, queries, qrels, args.top_k)
        finally:
            retriever.close()
    except IndexUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    for name, r in result.items():
        print(
            f"{name}: {r['queries_with_an_applied_statute']}/{r['queries']} queries with a "
            f"statute their judgment applied; {r['applied_statutes']} such statutes, "
            f"{r['cited_precedents']} cited precedents; "
            f"{r['distinct_documents']:.1f} documents per answer"
        )
    return 0
