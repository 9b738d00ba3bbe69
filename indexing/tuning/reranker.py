"""`python -m indexing train-reranker`: a cross-encoder trained on the corpus's own pairs.

    python -m indexing train-reranker --out var/models/juris-reranker [--pairs FILE] [--resume]
    JURIS_RERANKER_DIR=var/models/juris-reranker JURIS_RERANK_DEPTH=10 python -m indexing search …

The reranker slot (`indexing.rerank`, `JURIS_RERANKER_DIR`) takes any sentence-transformers
`CrossEncoder`; none ships offline, so this trains one here, on the pairs `train-embedder`
mines (`indexing.tuning.pairs`). Each query gets its passage (label 1) and passages that do
not answer it (label 0): another subdivision of the same provision where there is one (the
reranker must tell `Fed. R. App. P. 4(a)(1)(A)` from `4(c)`), and the `hard_negatives`
passages of other provisions that the first stage's own model (the bundled MiniLM) finds
closest to the query (sentence-transformers' `mine_hard_negatives`, passages scoring within
5 % of the positive left out as likely answers too); with `hard_negatives` 0, a random
passage of another pair instead.
The model starts from a copy of the bundled MiniLM (its encoder; the scoring head is new),
keeping its first `layers` layers (a reranker reads `depth` pairs per question, so its size
is its latency; but cut to 2 layers it learned nothing in a whole epoch here — positives
scored above random passages 50.5 % of the time — so all 6 are the default), and trains
with binary cross-entropy through sentence-transformers' `CrossEncoderTrainer`: seeded,
checkpointed, resumable, stopped by a CPU-time budget like `train-embedder`. Measured through
the whole-corpus build it lowers MAP, alone or blended (indexing/eval/README.md, "The lawyer's
vocabulary"): the slot stays off by default.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from indexing.tuning.embedder import copy_base, mined_pairs, progress_and_budget, start_run

log = logging.getLogger(__name__)


@dataclass
class RerankerTraining:
    """How the cross-encoder is trained."""

    out: Path = field(
        default=Path("var/models/juris-reranker"), metadata={"help": "model directory written"}
    )
    base: Path | None = field(
        default=None, metadata={"help": "encoder to start from (default: the bundled MiniLM)"}
    )
    pairs: Path | None = field(
        default=None, metadata={"help": "pairs JSONL (default: <out>/pairs.jsonl, mined)"}
    )
    layers: int = field(default=6, metadata={"help": "encoder layers kept (latency)"})
    hard_negatives: int = field(
        default=1, metadata={"help": "negatives per query the first-stage model finds closest"}
    )
    epochs: float = field(default=1.0, metadata={"help": "passes over the pairs"})
    batch_size: int = field(default=32, metadata={"help": "(query, passage) rows per batch"})
    learning_rate: float = field(default=5e-5, metadata={"help": "peak learning rate"})
    max_length: int = field(default=160, metadata={"help": "tokens per query + passage"})
    seed: int = field(default=7, metadata={"help": "seeds negatives, shuffling and the model"})
    save_steps: int = field(default=100, metadata={"help": "checkpoint every N steps"})
    time_budget_min: float = field(
        default=25.0, metadata={"help": "stop (and save) after these minutes of `threads` cores"}
    )
    threads: int = field(default=2, metadata={"help": "torch CPU threads"})
    resume: bool = field(default=False, metadata={"help": "continue from the last checkpoint"})

    def __post_init__(self) -> None:
        if self.layers < 1 or self.batch_size < 2 or self.epochs <= 0 or self.hard_negatives < 0:
            raise ValueError(
                "need layers >= 1, batch_size >= 2, epochs > 0 and hard_negatives >= 0"
            )


def labelled_rows(
    pairs: list[Any], seed: int, hard: dict[str, list[str]] | None = None
) -> dict[str, list[Any]]:
    """(query, passage, label) rows: each pair's passage (1), a sibling subdivision of the
    same document where the pairs know one (0), and the query's mined hard negatives (0) —
    or, when none were mined for it, another pair's passage (0)."""
    rng = random.Random(seed)
    by_doc: dict[str, list[Any]] = defaultdict(list)
    for p in pairs:
        by_doc[p.doc_id].append(p)
    rows: dict[str, list[Any]] = {"query": [], "passage": [], "label": []}

    def add(q: str, passage: str, label: float) -> None:
        rows["query"].append(q)
        rows["passage"].append(passage)
        rows["label"].append(label)

    for p in pairs:
        add(p.query, p.passage, 1.0)
        siblings = [s for s in by_doc[p.doc_id] if s.pinpoint != p.pinpoint]
        if siblings:
            add(p.query, rng.choice(siblings).passage, 0.0)
        mined = (hard or {}).get(p.query)
        if mined:
            for negative in mined:
                add(p.query, negative, 0.0)
            continue
        other = rng.choice(pairs)
        if other.doc_id != p.doc_id:
            add(p.query, other.passage, 0.0)
    return rows


def hard_negatives(pairs: list[Any], model_dir: Path, count: int) -> dict[str, list[str]]:
    """query -> the `count` passages of *other* documents the first-stage model ranks
    closest to it among all pairs' passages (a passage within 5 % of the positive's score
    is left out: it likely answers the query too)."""
    if count < 1:
        return {}
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    docs_of: dict[str, set[str]] = defaultdict(set)
    for p in pairs:
        docs_of[p.passage].add(p.doc_id)
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    data = Dataset.from_dict(
        {"query": [p.query for p in pairs], "passage": [p.passage for p in pairs]}
    )
    log.info("mining %d hard negatives for each of %d queries", count, len(pairs))
    mined = mine_hard_negatives(
        data,
        model,
        corpus=sorted(docs_of),
        range_max=count + 20,
        relative_margin=0.05,
        num_negatives=count + 5,  # room for the ones of the query's own document
        sampling_strategy="top",
        output_format="labeled-pair",  # n-tuples would drop a query short of negatives
        batch_size=64,
        verbose=sys.stderr.isatty(),
    )
    found: dict[str, list[str]] = defaultdict(list)
    for query, passage, label in zip(mined["query"], mined["passage"], mined["label"], strict=True):
        if not label and passage not in found[query]:
            found[query].append(passage)
    out: dict[str, list[str]] = {}
    for p in pairs:
        own = [n for n in found.get(p.query, []) if p.doc_id not in docs_of[n]]
        out[p.query] = own[:count]
    return out


def train(cfg: RerankerTraining, settings: Any) -> Path:
    """Train and save the cross-encoder; returns its directory."""
    checkpoints = start_run(cfg.out, cfg.threads, cfg.seed, cfg.resume)
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    from indexing.tuning.embedder import EmbedderTraining
    from indexing.tuning.pairs import load_pairs

    work = checkpoints.parent
    base = copy_base(cfg.base or settings.model_dir(), work)
    pairs_cfg = EmbedderTraining(out=cfg.out, pairs=cfg.pairs, seed=cfg.seed)
    pairs = load_pairs(mined_pairs(pairs_cfg, settings))
    hard = hard_negatives(pairs, settings.model_dir(), cfg.hard_negatives)
    data = Dataset.from_dict(labelled_rows(pairs, cfg.seed, hard))
    model = CrossEncoder(str(base), num_labels=1, max_length=cfg.max_length, device="cpu")
    encoder = model.model.base_model  # keep the first `layers` transformer layers
    encoder.encoder.layer = encoder.encoder.layer[: cfg.layers]
    encoder.config.num_hidden_layers = cfg.layers
    args = CrossEncoderTrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        warmup_steps=0.1,
        seed=cfg.seed,
        data_seed=cfg.seed,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        logging_steps=10,
        report_to="none",
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=not sys.stderr.isatty(),
    )
    trainer = CrossEncoderTrainer(
        model=model,
        args=args,
        train_dataset=data,
        loss=BinaryCrossEntropyLoss(model),
        callbacks=[progress_and_budget(cfg.time_budget_min * 60.0 * cfg.threads, "train-reranker")],
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    resume = cfg.resume and any(checkpoints.glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if resume else None)
    model.save(str(cfg.out))
    state = trainer.state
    record = {
        "rows": len(data),
        "pairs": len(pairs),
        "queries_with_hard_negatives": sum(1 for v in hard.values() if v),
        "steps": state.global_step,
        "max_steps": state.max_steps,
        "finished": state.global_step >= state.max_steps,
        "seconds_this_run": round(time.perf_counter() - started, 1),
        "cpu_seconds_this_run": round(time.process_time() - cpu_started, 1),
        "resumed": bool(resume),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
    }
    (cfg.out / "juris_training.json").write_text(json.dumps(record, indent=2) + "\n")
    log.info("reranker saved to %s: %d of %d steps", cfg.out, state.global_step, state.max_steps)
    return cfg.out


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register `train-reranker` on the `python -m indexing` parser."""
    from indexing.tuning.command import add_training_parser

    return add_training_parser(
        subparsers,
        "train-reranker",
        "train a cross-encoder reranker on pairs mined from the corpus",
        RerankerTraining,
        train,
    )
