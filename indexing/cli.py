"""`python -m indexing build|sync|search|bench` (and `eval`, `report` when installed).

    python -m indexing build [--corpus DIR] [--sources uscode federal_rules ...]
    python -m indexing build --shard I/N [--build-name NAME] [--no-finalize]
    python -m indexing build --finalize NAME
    python -m indexing sync [--corpus DIR] [--incoming DIR] [--dry-run]
    python -m indexing search "fair use" --top-k 10 [--as-of 2023-06-01] [--jurisdiction us]
                              [--kind statute] [--source uscode] [--mode hybrid] --json
    python -m indexing bench --out var/bench

The evaluation lab (`indexing.eval`) adds `eval`, `report`, `citing-bench`, `crossval`,
`adapt-embedder` and `eval-questions`: each module exposes `register(subparsers)`, which adds
its parser with `set_defaults(func=...)` where `func(args) -> int` is the exit status. Where
that subpackage or its libraries (the `eval` extra) are not installed, as in the container
images, the commands remain and say what is missing.

Exit status: 0 done; 1 done but some input files were skipped (listed on stderr); 2 usage
error, unavailable index or another writer running.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

# module -> the command it registers
EXTENSIONS = {
    "indexing.eval.evaluate": "eval",
    "indexing.eval.report": "report",
    "indexing.eval.citing": "citing-bench",
    "indexing.eval.questions": "eval-questions",
    "indexing.eval.crossval": "crossval",
    "indexing.eval.answer_context": "answer-context",
    "indexing.eval.adapt": "adapt-embedder",
    "indexing.eval.doctrine": "eval-doctrine",
    "indexing.eval.calibrate": "calibrate-relevance",
    "indexing.eval.calibrate_order": "calibrate-order",
    "indexing.tuning.embedder": "train-embedder",
    "indexing.tuning.reranker": "train-reranker",
    "indexing.tuning.names": "mine-lexicon",
}
# the `eval` extra's libraries (import names)
EVAL_LIBRARIES = frozenset({"bm25s", "Stemmer", "ir_measures", "pytrec_eval", "matplotlib"})
# the `tuning` extra's libraries (training the retrieval models on the corpus)
TUNING_LIBRARIES = frozenset({"datasets", "accelerate"})


def _settings(args: argparse.Namespace) -> Any:
    from indexing.settings import IndexSettings

    overrides: dict[str, Any] = {}
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = Path(args.corpus)
    return IndexSettings(**overrides)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from err


def _progress(args: argparse.Namespace) -> bool:
    # a bar on a terminal, a plain log line every 30 s elsewhere (legal_corpus.progress)
    return not getattr(args, "quiet", False)


def _shard(value: str) -> tuple[int, int]:
    from indexing.shards import parse_shard

    try:
        return parse_shard(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def cmd_build(args: argparse.Namespace) -> int:
    from indexing.build import run_build

    settings = _settings(args)
    if args.finalize:
        return _finalize(settings, args.finalize)
    if args.shard is not None:
        return _build_shard(settings, args)
    if args.build_name or args.no_finalize:
        print("error: --build-name and --no-finalize go with --shard i/N", file=sys.stderr)
        return 2
    result = run_build(settings, sources=args.sources or None, progress=_progress(args))
    s = result.stats
    print(
        f"build {result.build}: {s.documents} document versions, {s.chunks} chunks, "
        f"{result.points} points in {s.seconds:.1f} s ({s.chunks_per_second:.1f} chunks/s); "
        f"now current for {settings.collection!r}"
        + (f"; dropped {', '.join(result.dropped)}" if result.dropped else "")
    )
    print(result.report.summary(), file=sys.stderr)
    return 0 if result.report.ok else 1


def _finalize(settings: Any, name: str) -> int:
    from indexing.shards import finalize

    done = finalize(settings, name)
    if done.already:
        print(f"build {done.build} is already current for {settings.collection!r}")
    else:
        print(
            f"build {done.build}: {done.shards} shards, {done.points} points; "
            f"now current for {settings.collection!r}"
            + (f"; dropped {', '.join(done.dropped)}" if done.dropped else "")
        )
    return 0


def _build_shard(settings: Any, args: argparse.Namespace) -> int:
    from indexing.shards import run_shard

    index, count = args.shard
    result = run_shard(
        settings,
        (index, count),
        build_name=args.build_name,
        sources=args.sources or None,
        progress=_progress(args),
        finalize_when_complete=not args.no_finalize,
    )
    s = result.stats
    print(
        f"build {result.build}: shard {index}/{count} done, {s.documents} document versions, "
        f"{s.chunks} chunks in {s.seconds:.1f} s ({s.chunks_per_second:.1f} chunks/s)"
    )
    if result.finalized is not None:
        f = result.finalized
        print(
            f"build {f.build}: all {count} shards done, {f.points} points; "
            f"now current for {settings.collection!r}"
            if not f.already
            else f"build {f.build} is already current"
        )
    print(result.report.summary(), file=sys.stderr)
    return 0 if result.report.ok else 1


def cmd_sync(args: argparse.Namespace) -> int:
    from indexing.sync import run_sync

    settings = _settings(args)
    result = run_sync(
        settings,
        sources=args.sources or None,
        incoming=Path(args.incoming) if args.incoming else None,
        dry_run=args.dry_run,
        progress=_progress(args),
    )
    if result.dry_run and result.build is None:
        print("no index yet: a sync would build it from scratch")
    else:
        print(result.plan.describe())
        if not result.dry_run:
            print(f"index {result.build}: {result.embedded_chunks} chunks embedded")
    if result.report.errors:
        print(result.report.summary(), file=sys.stderr)
    return 0 if result.report.ok else 1


def passage_json(p: Any) -> dict[str, Any]:
    """The search CLI's JSON shape of one passage."""
    c = p.chunk
    return {
        "doc_id": c.doc_id,
        "chunk_id": c.chunk_id,
        "score": round(float(p.score), 6),
        "citation": c.citation,
        "pinpoint": c.pinpoint,
        "text": c.text,
        "version": c.version,
        "valid_from": c.valid_from.isoformat() if c.valid_from else None,
        "valid_to": c.valid_to.isoformat() if c.valid_to else None,
        "source": c.source,
        "kind": c.kind,
        "jurisdiction": c.jurisdiction,
        "heading_path": list(c.heading_path),
    }


def cmd_search(args: argparse.Namespace) -> int:
    from indexing.model import SearchFilters
    from indexing.retrieve import open_retriever
    from indexing.status import pending_note

    settings = _settings(args)
    filters = SearchFilters(
        as_of=args.as_of,
        jurisdiction=args.jurisdiction,
        kind=args.kind,
        sources=tuple(args.source or ()),
    )
    retriever = open_retriever(settings)
    try:
        passages = retriever.search(
            args.query, top_k=args.top_k, filters=filters, mode=args.mode, group_by_doc=args.group
        )
        # a build still filling, or an incomplete one (a demo stopped while it indexed)
        note = pending_note(
            retriever.index_status(), filters.kind, filters.jurisdiction, filters.sources
        )
        out = {
            "query": args.query,
            "index_version": retriever.index_version,
            "mode": args.mode,
            "index_note": note[1] if note else None,
            "results": [passage_json(p) for p in passages],
        }
    finally:
        retriever.close()
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        if note:
            print(f"note: {note[1]}", file=sys.stderr)
        for i, r in enumerate(out["results"], 1):
            print(f"{i:2d}. [{r['score']:.4f}] {r['citation']}  ({r['doc_id']} @ {r['version']})")
            print(f"    {r['text'][:200]}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """The current build and whether it is complete; exit 0 when it is, 1 when not."""
    from indexing.build import has_complete_build, make_catalog
    from indexing.status import pending_note, read_status

    settings = _settings(args)
    current = make_catalog(settings).current()
    complete = has_complete_build(settings)
    status = read_status(settings.qdrant_path, settings.collection)
    if status is not None:
        status["current"] = current
    note = pending_note(status)
    out = {"current": current, "complete": complete, "index_note": note[1] if note else None}
    if args.json:
        print(json.dumps(out))
    else:
        state = "complete" if complete else "none" if current is None else "not complete"
        print(f"current build: {current or '(none)'} — {state}")
        if note:
            print(f"note: {note[1]}")
    return 0 if complete else 1


def cmd_bench(args: argparse.Namespace) -> int:
    try:
        from indexing.eval.bench import run_bench
    except ModuleNotFoundError as err:
        if not "indexing.eval.bench".startswith(err.name or "-"):
            raise
        return _lab_missing("bench", err.name or "")
    return run_bench(_settings(args), Path(args.out), args)


def _lab_missing(command: str, missing: str) -> int:
    if missing.split(".")[0] in TUNING_LIBRARIES:
        print(
            f"error: `python -m indexing {command}` needs the `tuning` extra's libraries, not "
            f"installed here (missing: {missing}); `pip install '.[tuning]'` installs them",
            file=sys.stderr,
        )
        return 2
    print(
        f"error: `python -m indexing {command}` needs the evaluation lab (`indexing.eval`) and "
        f"its libraries, not installed here (missing: {missing}); with the source tree, "
        "`pip install '.[eval]'` installs them",
        file=sys.stderr,
    )
    return 2


def _unavailable(sub: Any, command: str, missing: str) -> None:
    """Register `command` as one that says why it cannot run here."""
    extra = "tuning" if missing.split(".")[0] in TUNING_LIBRARIES else "eval"
    p = sub.add_parser(command, help=f"(not installed: needs the {extra} extra, missing {missing})")
    p.set_defaults(func=lambda args: _lab_missing(command, missing), lab_missing=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, extensions included."""
    parser = argparse.ArgumentParser(prog="python -m indexing", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--corpus", help="corpus directory (default: JURIS_CORPUS_DIR)")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or lines")

    b = sub.add_parser("build", help="build a new index version and make it current")
    common(b)
    b.add_argument("--sources", nargs="*", help="sources to index (default: all)")
    b.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="index only shard I of N into a shared build; the alias moves once all are done",
    )
    b.add_argument(
        "--build-name",
        help="the build every shard worker fills (default: agreed via the index state folder)",
    )
    b.add_argument(
        "--no-finalize",
        action="store_true",
        help="with --shard: never make the build current here (run --finalize later)",
    )
    b.add_argument(
        "--finalize",
        metavar="NAME",
        help="make the sharded build NAME current once every shard reported done",
    )
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("sync", help="add/replace/retire changed documents in the current index")
    common(s)
    s.add_argument("--sources", nargs="*", help="sources to sync (default: all)")
    s.add_argument("--incoming", help="folder of new rulings (PDF, HTML, DOCX, TXT)")
    s.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    s.set_defaults(func=cmd_sync)

    q = sub.add_parser("search", help="hybrid search of the current index")
    common(q)
    q.add_argument("query")
    q.add_argument("--top-k", type=int, default=10)
    q.add_argument("--as-of", type=_day, help="only versions in force that day (YYYY-MM-DD)")
    q.add_argument("--jurisdiction")
    q.add_argument("--kind", choices=["statute", "rule", "regulation", "opinion"])
    q.add_argument("--source", action="append", help="restrict to a source (repeatable)")
    q.add_argument("--mode", choices=["hybrid", "dense", "sparse"], default="hybrid")
    q.add_argument("--group", action="store_true", help="one passage per document")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_search)

    st = sub.add_parser(
        "status", help="the current build and whether it is complete (exit 1 if not)"
    )
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.set_defaults(func=cmd_status)

    k = sub.add_parser("bench", help="throughput, sync and latency benchmarks")
    common(k)
    k.add_argument("--out", default="var/bench", help="output folder (JSON + Markdown)")
    k.add_argument("--sample", type=int, default=1500, help="chunks for the throughput runs")
    k.add_argument("--queries", type=int, default=200, help="queries for the latency run")
    k.add_argument(
        "--latency-index",
        help="index root to time queries on (default: the configured JURIS_QDRANT_PATH)",
    )
    k.add_argument(
        "--only",
        default="throughput,sync,latency,hnsw,embeddings,rerank,speedups,incoming,corpus",
        help="comma-separated parts to run",
    )
    k.add_argument(
        "--whole-corpus",
        action="store_true",
        help="corpus part: build the whole corpus from an empty embedding cache (~30 min) "
        "instead of reading the last build's status",
    )
    k.add_argument("--sync-docs", type=int, default=100, help="documents of the sync corpus")
    k.set_defaults(func=cmd_bench)

    for name, command in EXTENSIONS.items():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            missing = err.name or ""
            lab_missing = name == missing or name.startswith(f"{missing}.")
            known = EVAL_LIBRARIES | TUNING_LIBRARIES
            if not lab_missing and missing.split(".")[0] not in known:
                raise
            _unavailable(sub, command, missing)
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m indexing`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "lab_missing", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from indexing.build import BusyError
    from indexing.retrieve import IndexUnavailable

    try:
        rc: int = args.func(args)
        return rc
    except (BusyError, IndexUnavailable, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a build stopped so is marked failed in its status file
        print("interrupted", file=sys.stderr)
        return 130
