"""The LoRA/QLoRA training configuration: a YAML file, then `key=value` overrides.

Every option is a dataclass field with `metadata={"help": …}`; contradictory options fail in
`__post_init__` (before any model is loaded) with a message naming the option. Checks that need
the model (a target module it lacks, a sequence longer than its context) run in
`check_against_model`, which reads only the model's `config.json`.

    >>> cfg = load_config(Path("training/configs/tiny-cpu.yaml"), ["max_steps=50", "lora_r=4"])
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Linear layer names per architecture family; `all-linear` is resolved by peft itself.
ARCH_LINEAR_MODULES: dict[str, tuple[str, ...]] = {
    "llama": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "qwen2": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "mistral": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "gemma": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
}


class ConfigError(ValueError):
    """A training option is invalid; the message names the option."""


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class TrainConfig:
    """Options of `python -m training lora` (YAML keys and `key=value` overrides)."""

    model: str = field(metadata=_help("base model directory (local; no hub downloads)"))
    train_file: str = field(metadata=_help("chat JSONL to train on (RAFT train split)"))
    output_dir: str = field(metadata=_help("where checkpoints and the adapter are written"))
    eval_file: str | None = field(default=None, metadata=_help("chat JSONL for eval loss"))
    lora_r: int = field(default=8, metadata=_help("LoRA rank (vLLM needs --max-lora-rank ≥ it)"))
    lora_alpha: int = field(default=16, metadata=_help("LoRA scaling numerator"))
    lora_dropout: float = field(default=0.05, metadata=_help("dropout on the LoRA input"))
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        metadata=_help("module names to adapt, or ['all-linear']"),
    )
    top_layers: int = field(
        default=0,
        metadata=_help(
            "adapt only the top N transformer layers (0: all); backpropagation then stops at "
            "the lowest adapted layer, which makes a CPU step about twice as fast at N = 1/3"
        ),
    )
    load_in_4bit: bool = field(default=False, metadata=_help("QLoRA: 4-bit NF4 base (GPU)"))
    load_in_8bit: bool = field(default=False, metadata=_help("8-bit base weights (GPU)"))
    bf16: bool = field(default=False, metadata=_help("bfloat16 compute"))
    gradient_checkpointing: bool = field(default=False, metadata=_help("recompute activations"))
    learning_rate: float = field(default=2e-4, metadata=_help("peak learning rate"))
    lr_scheduler_type: str = field(default="cosine", metadata=_help("transformers scheduler"))
    warmup_steps: int = field(default=0, metadata=_help("linear warm-up steps"))
    num_train_epochs: float = field(default=1.0, metadata=_help("epochs (unless max_steps)"))
    max_steps: int = field(default=-1, metadata=_help("stop after this many steps (-1: epochs)"))
    per_device_train_batch_size: int = field(default=4, metadata=_help("batch size per device"))
    gradient_accumulation_steps: int = field(default=1, metadata=_help("steps per update"))
    max_length: int = field(default=1024, metadata=_help("longest tokenised conversation"))
    pad_to_multiple_of: int | None = field(
        default=None,
        metadata=_help(
            "pad each batch to a multiple of this many tokens; on CPU a few distinct shapes "
            "keep oneDNN from preparing new kernels for every batch length"
        ),
    )
    logging_steps: int = field(default=10, metadata=_help("log loss every N steps"))
    save_steps: int = field(default=100, metadata=_help("checkpoint every N steps"))
    save_total_limit: int = field(default=2, metadata=_help("checkpoints kept"))
    resume: bool = field(default=True, metadata=_help("resume from the last checkpoint"))
    merge: bool = field(default=False, metadata=_help("also write a merged model"))
    adapter_name: str = field(default="legal", metadata=_help("name vLLM serves it under"))
    seed: int = field(default=0, metadata=_help("random seed"))
    use_cpu: bool = field(default=False, metadata=_help("train on CPU even if a GPU exists"))

    def __post_init__(self) -> None:
        if self.load_in_4bit and self.load_in_8bit:
            raise ConfigError("load_in_4bit and load_in_8bit are both set: choose one")
        if self.lora_r < 1:
            raise ConfigError(f"lora_r must be at least 1 (got {self.lora_r})")
        if self.lora_alpha < 1:
            raise ConfigError(f"lora_alpha must be at least 1 (got {self.lora_alpha})")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError(f"lora_dropout must be in [0, 1) (got {self.lora_dropout})")
        if not self.target_modules:
            raise ConfigError("target_modules is empty")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive (got {self.learning_rate})")
        if self.max_steps == 0 or (self.max_steps < 0 and self.num_train_epochs <= 0):
            raise ConfigError("max_steps is 0 (or num_train_epochs ≤ 0 with max_steps -1)")
        if self.per_device_train_batch_size < 1 or self.gradient_accumulation_steps < 1:
            raise ConfigError("per_device_train_batch_size and gradient_accumulation_steps ≥ 1")
        if self.top_layers < 0:
            raise ConfigError(f"top_layers must be 0 (all) or positive (got {self.top_layers})")
        if self.max_length < 16:
            raise ConfigError(f"max_length must be at least 16 (got {self.max_length})")
        if (self.load_in_4bit or self.load_in_8bit) and self.use_cpu:
            raise ConfigError("load_in_4bit/load_in_8bit need a GPU but use_cpu is set")
        if not self.adapter_name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"adapter_name {self.adapter_name!r}: letters, digits, - and _")


def _coerce(name: str, raw: str, current: Any, ftype: Any) -> Any:
    text = raw.strip()
    type_text = str(ftype)
    if "list" in type_text:
        if text.startswith("["):
            return yaml.safe_load(text)
        return [x.strip() for x in text.split(",") if x.strip()]
    if "bool" in type_text:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected true/false, got {raw!r}")
    try:
        if "int" in type_text and "float" not in type_text and "str" not in type_text:
            return int(text)
        if "float" in type_text:
            return float(text)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if "None" in type_text and text.lower() in ("none", "null", ""):
        return None
    return text


def load_config(path: Path | None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config and apply `key=value` overrides.

    Args:
        path: the YAML file (None: overrides only).
        overrides: `key=value` strings; lists as `a,b` or `[a, b]`.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: an unknown key, a value of the wrong type, or contradictory options.
    """
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    values: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of options")
        values.update(loaded)
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep:
            raise ConfigError(f"override {item!r}: expected key=value")
        if key not in fields:
            raise ConfigError(f"unknown option {key!r}")
        values[key] = _coerce(key, raw, values.get(key), fields[key].type)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(map(repr, unknown))}")
    missing = [n for n in ("model", "train_file", "output_dir") if n not in values]
    if missing:
        raise ConfigError(f"missing option(s): {', '.join(missing)}")
    if isinstance(values.get("target_modules"), str):
        values["target_modules"] = [values["target_modules"]]
    try:
        return TrainConfig(**values)
    except TypeError as err:
        raise ConfigError(str(err)) from None


def check_against_model(cfg: TrainConfig) -> dict[str, Any]:
    """Checks that need the base model's `config.json` (no weights are loaded).

    Args:
        cfg: the configuration.

    Returns:
        The model's config as a mapping.

    Raises:
        ConfigError: the model directory is missing, a target module is not in the model, or
            `max_length` exceeds the model's context.
    """
    config_path = Path(cfg.model) / "config.json"
    if not config_path.is_file():
        raise ConfigError(f"model: no config.json in {cfg.model}")
    model_cfg: dict[str, Any] = json.loads(config_path.read_text())
    model_type = str(model_cfg.get("model_type", ""))
    known = ARCH_LINEAR_MODULES.get(model_type)
    if known is not None and cfg.target_modules != ["all-linear"]:
        missing = [m for m in cfg.target_modules if m not in known]
        if missing:
            raise ConfigError(
                f"target_modules: {', '.join(missing)} not in the {model_type} model "
                f"(it has {', '.join(known)})"
            )
    layers = model_cfg.get("num_hidden_layers")
    if isinstance(layers, int) and cfg.top_layers > layers:
        raise ConfigError(f"top_layers {cfg.top_layers} exceeds the model's {layers} layers")
    context = model_cfg.get("max_position_embeddings")
    if isinstance(context, int) and cfg.max_length > context:
        raise ConfigError(f"max_length {cfg.max_length} exceeds the model's context {context}")
    return model_cfg


def top_layers(n: int, num_layers: int) -> list[int] | None:
    """peft's `layers_to_transform` for "the top `n` of `num_layers` layers" (None: all)."""
    if n <= 0 or n >= num_layers:
        return None
    return list(range(num_layers - n, num_layers))
