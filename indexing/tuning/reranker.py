"""`python -m indexing train-reranker`: a cross-encoder trained on the corpus's own pairs.

    python -m indexing train-reranker --out var/models/juris-reranker [--pairs FILE] [--resume]
    JURIS_RERANKER_DIR=var/models/juris-reranker JURIS_RERANK_DEPTH=10 python -m indexing search …

The reranker slot (`indexing.rerank`, `JURIS_RERANKER_DIR`) takes any sentence-transformers
`CrossEncoder`; none ships offline, so this trains one here, on the pairs `train-embedder`
mines (`indexing.tuning.pairs`). Each query gets its passage (label 1) and two that do not
answer it (label 0): another subdivision of the same provision where there is one (the
reranker must tell `Fed. R. App. P. 4(a)(1)(A)` from `4(c)`), and a passage of another pair.
The model starts from a copy of the bundled MiniLM (its encoder; the scoring head is new),
keeping its first `layers` layers (a reranker reads `depth` pairs per question, so its size
is its latency), and trains with binary cross-entropy through sentence-transformers'
`CrossEncoderTrainer`: seeded, checkpointed, resumable, stopped by a CPU-time budget like
`train-embedder`.
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
    layers: int = field(default=2, metadata={"help": "encoder layers kept (latency)"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the pairs"})
    batch_size: int = field(default=32, metadata={"help": "(query, passage) rows per batch"})
    learning_rate: float = field(default=5e-5, metadata={"help": "peak learning rate"})
    max_length: int = field(default=160, metadata={"help": "tokens per query + passage"})
    seed: int = field(default=7, metadata={"help": "seeds negatives, shuffling and the model"})
    save_steps: int = field(default=100, metadata={"help": "checkpoint every N steps"})
    time_budget_min: float = field(
        default=30.0, metadata={"help": "stop (and save) after these minutes of `threads` cores"}
    )
    threads: int = field(default=2, metadata={"help": "torch CPU threads"})
    resume: bool = field(default=False, metadata={"help": "continue from the last checkpoint"})

    def __post_init__(self) -> None:
        if self.layers < 1 or self.batch_size < 2 or self.epochs <= 0:
            raise ValueError("need layers >= 1, batch_size >= 2 and epochs > 0")


def labelled_rows(pairs: list[Any], seed: int) -> dict[str, list[Any]]:
    """(query, passage, label) rows: each pair's passage (1), a sibling subdivision of the
    same document where the pairs know one (0), and another pair's passage (0)."""
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
        other = rng.choice(pairs)
        if other.doc_id != p.doc_id:
            add(p.query, other.passage, 0.0)
    return rows


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
    data = Dataset.from_dict(labelled_rows(pairs, cfg.seed))
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
