"""LoRA / QLoRA fine-tuning with TRL's `SFTTrainer` and peft, exported for vLLM.

Loss is on assistant tokens only (the chat template's `{% generation %}` markers), the model's
own chat template formats every row, checkpoints go to `output_dir/checkpoint-N` and a rerun
resumes from the last one. The result is `output_dir/adapter` (peft format: what
`vllm ... --enable-lora --lora-modules legal=<output_dir>/adapter --max-lora-rank <r>` loads)
and, with `merge: true`, `output_dir/merged` (a full model with the adapter folded in).

    python -m training lora --config training/configs/tiny-cpu.yaml model=var/tiny-model \
        train_file=var/raft/train.jsonl output_dir=var/lora-tiny max_steps=200
"""

from __future__ import annotations

import hashlib
import json
import logging
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from serving.model_dirs import BASE_STAMP
from training.chat_template import ChatTemplateError, training_chat_template
from training.config import ConfigError, TrainConfig, check_against_model, top_layers
from training.jsonl import json_lines

log = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
MERGED_DIR = "merged"


@dataclass(frozen=True, slots=True)
class TrainResult:
    """Where the adapter went and how training ended."""

    adapter_dir: Path
    merged_dir: Path | None
    steps: int
    final_loss: float | None
    resumed_from: str | None
    device: str
    train_seconds: float = 0.0
    peak_rss_mb: float = 0.0


def read_chat_rows(path: Path) -> list[dict[str, Any]]:
    """The `messages` of each line of a chat JSONL file (other keys, e.g. `meta`, dropped).

    Args:
        path: the file (as written by `python -m training raft-data`).

    Returns:
        `[{"messages": [...]}, ...]`.

    Raises:
        ValueError: a line that is not JSON or has no messages, naming file and line.
    """
    rows = []
    for n, obj in json_lines(path):
        try:
            messages = [{"role": m["role"], "content": m["content"]} for m in obj["messages"]]
        except (KeyError, TypeError) as err:
            raise ValueError(f"{path}:{n}: not a chat row ({err})") from None
        rows.append({"messages": messages})
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def device_check(cfg: TrainConfig) -> str:
    """The device training will use; refuses quantised loading without a GPU, clearly.

    Args:
        cfg: the configuration.

    Returns:
        `cuda` or `cpu`.

    Raises:
        ConfigError: 4-bit / 8-bit requested where no CUDA GPU (or no bitsandbytes) exists.
    """
    import torch

    has_gpu = torch.cuda.is_available() and not cfg.use_cpu
    if cfg.load_in_4bit or cfg.load_in_8bit:
        option = "load_in_4bit (QLoRA)" if cfg.load_in_4bit else "load_in_8bit"
        if not has_gpu:
            raise ConfigError(
                f"{option} needs a CUDA GPU and this machine has none: bitsandbytes "
                "quantisation does not run on CPU. Set load_in_4bit=false load_in_8bit=false to "
                "train plain LoRA on CPU, or run on a GPU machine."
            )
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"{option} needs the bitsandbytes package (pip install bitsandbytes)"
            ) from None
    return "cuda" if has_gpu else "cpu"


class _ProgressLogger:
    """A plain progress line (step/total, rate, ETA) every 30 s when stderr is no terminal."""

    def make(self) -> Any:
        from transformers import TrainerCallback

        from legal_corpus.progress import LogProgress, is_terminal

        class Callback(TrainerCallback):  # type: ignore[misc]
            bar: LogProgress | None = None

            def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if not is_terminal():
                    self.bar = LogProgress(total=state.max_steps, desc="lora", unit="step")
                    self.bar.n = state.global_step

            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if self.bar is not None:
                    self.bar.update(state.global_step - self.bar.n)

            def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if self.bar is not None:
                    self.bar.close()

        return Callback()


class _LossLogger:
    """Writes every logged step (loss, learning rate) to the log and to `train_log.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def make(self) -> Any:
        from transformers import TrainerCallback

        path = self.path

        class Callback(TrainerCallback):  # type: ignore[misc]
            def on_log(
                self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any
            ) -> None:
                if not logs:
                    return
                record = {"step": state.global_step, **logs}
                log.info("step %d: %s", state.global_step, json.dumps(logs))
                with path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record) + "\n")

        return Callback()


def train_lora(cfg: TrainConfig) -> TrainResult:
    """Fine-tune `cfg.model` with LoRA (QLoRA when `load_in_4bit`) on `cfg.train_file`.

    Args:
        cfg: the validated configuration (`training.config.load_config`).

    Returns:
        Where the adapter (and merged model) were written and the final loss.

    Raises:
        ConfigError: options the model or machine cannot satisfy (before any training).
        ValueError: unreadable training data.
    """
    check_against_model(cfg)
    device = device_check(cfg)
    train_rows = read_chat_rows(Path(cfg.train_file))
    eval_rows = read_chat_rows(Path(cfg.eval_file)) if cfg.eval_file else None

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTConfig, SFTTrainer

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    tokenizer = AutoTokenizer.from_pretrained(cfg.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    try:
        tokenizer.chat_template = training_chat_template(tokenizer, cfg.model)
    except ChatTemplateError as err:
        raise ConfigError(f"model: {err}") from None

    model_kwargs: dict[str, Any] = {}
    if cfg.load_in_4bit or cfg.load_in_8bit:
        from transformers import BitsAndBytesConfig

        model_kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=cfg.load_in_4bit,
            load_in_8bit=cfg.load_in_8bit,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        model_kwargs["device_map"] = {"": 0}
    dtype = torch.bfloat16 if cfg.bf16 else torch.float32
    model = AutoModelForCausalLM.from_pretrained(cfg.model, dtype=dtype, **model_kwargs)
    if cfg.load_in_4bit or cfg.load_in_8bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=cfg.gradient_checkpointing
        )

    target: str | list[str] = (
        "all-linear" if cfg.target_modules == ["all-linear"] else list(cfg.target_modules)
    )
    peft_config = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=target,
        layers_to_transform=top_layers(cfg.top_layers, model.config.num_hidden_layers),
        bias="none",
        task_type="CAUSAL_LM",
    )
    # only passed when wanted: transformers 5 warns on the (renamed) option even when False
    extra: dict[str, Any] = {"gradient_checkpointing": True} if cfg.gradient_checkpointing else {}
    args = SFTConfig(
        **extra,
        output_dir=str(out),
        use_cpu=device == "cpu",
        report_to="none",
        assistant_only_loss=True,
        max_length=cfg.max_length,
        pad_to_multiple_of=cfg.pad_to_multiple_of,
        packing=False,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_steps,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        bf16=cfg.bf16,
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="steps" if eval_rows else "no",
        eval_steps=cfg.save_steps if eval_rows else None,
        seed=cfg.seed,
        dataloader_num_workers=0,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[_LossLogger(out / "train_log.jsonl").make(), _ProgressLogger().make()],
    )
    resume = get_last_checkpoint(str(out)) if cfg.resume else None
    if resume:
        log.info("resuming from %s", resume)
    started = time.monotonic()
    trainer.train(resume_from_checkpoint=resume)
    train_s = time.monotonic() - started

    adapter_dir = out / ADAPTER_DIR
    peft_model: Any = trainer.model
    peft_model.save_pretrained(str(adapter_dir))
    _check_adapter_for_vllm(adapter_dir, cfg)
    # which base model it belongs to: the vLLM launcher refuses it on any other
    (adapter_dir / BASE_STAMP).write_text(
        json.dumps(
            {
                "model": str(cfg.model),
                "config_sha256": hashlib.sha256(
                    (Path(cfg.model) / "config.json").read_bytes()
                ).hexdigest(),
            },
            indent=2,
        )
        + "\n"
    )
    merged_dir = None
    if cfg.merge:
        merged_dir = out / MERGED_DIR
        merged = peft_model.merge_and_unload()
        merged.save_pretrained(str(merged_dir))
        tokenizer.save_pretrained(str(merged_dir))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    result = TrainResult(
        adapter_dir=adapter_dir,
        merged_dir=merged_dir,
        steps=int(trainer.state.global_step),
        final_loss=float(losses[-1]) if losses else None,
        resumed_from=resume,
        device=device,
        train_seconds=round(train_s, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    (out / "result.json").write_text(
        json.dumps(
            {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()}, indent=2
        )
        + "\n"
    )
    return result


def _check_adapter_for_vllm(adapter_dir: Path, cfg: TrainConfig) -> None:
    """Fail loudly when the adapter's config holds what vLLM's LoRA loader rejects."""
    conf = json.loads((adapter_dir / "adapter_config.json").read_text())
    problems = []
    if conf.get("r") != cfg.lora_r:
        problems.append(f"r {conf.get('r')} != lora_r {cfg.lora_r}")
    if conf.get("bias", "none") != "none":
        problems.append("bias must be 'none'")
    if conf.get("use_dora"):
        problems.append("DoRA adapters are not served by vLLM")
    if conf.get("modules_to_save"):
        problems.append(f"modules_to_save {conf['modules_to_save']} are not served by vLLM")
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        problems.append("adapter_model.safetensors missing")
    if problems:
        raise ValueError(f"{adapter_dir}: adapter not servable by vLLM: {'; '.join(problems)}")
    log.info(
        "adapter ready: vllm ... --enable-lora --lora-modules %s=%s --max-lora-rank %d",
        cfg.adapter_name,
        adapter_dir,
        max(8, cfg.lora_r),
    )
