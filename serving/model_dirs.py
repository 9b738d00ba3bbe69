"""Checks of a model directory and a LoRA adapter before a vLLM server is started with them.

vLLM reports a missing tokenizer, a truncated weights file or an adapter trained for another
model only after a minute of start-up, deep in a traceback. These checks read the files'
headers (no weights are loaded) and stop at once with a message naming the path and the fix.

    >>> card = check_model_dir(Path("var/models/smollm2-135m-instruct"))
    >>> check_adapter(Path("var/adapters/legal/adapter"), Path("var/models/smollm2-135m-instruct"))
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What `--max-lora-rank` accepts; an adapter is served with the smallest one ≥ its rank.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
BASE_STAMP = "juris_base_model.json"  # written beside an adapter by `python -m training lora`
PREPARE = "python -m training base-model --out {path}"


class ModelDirError(ValueError):
    """A model or adapter directory vLLM could not serve; the message says where and how."""


@dataclass(frozen=True, slots=True)
class ModelCard:
    """What the checks read from a model directory."""

    path: Path
    model_type: str
    hidden_size: int | None
    intermediate_size: int | None
    num_layers: int | None
    context: int | None
    config_sha256: str


@dataclass(frozen=True, slots=True)
class AdapterCard:
    """What the checks read from an adapter directory."""

    path: Path
    rank: int
    max_lora_rank: int  # the `--max-lora-rank` to serve it with


def _json(path: Path, what: str, fix: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelDirError(f"{path} is missing ({what}): {fix}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelDirError(f"{path} is unreadable or not JSON ({err}): {fix}") from None
    if not isinstance(data, dict):
        raise ModelDirError(f"{path} is not a JSON object: {fix}")
    return data


def safetensors_shapes(path: Path, fix: str) -> dict[str, list[int]]:
    """The tensor shapes a safetensors file declares; checks the file holds all their bytes.

    Raises:
        ModelDirError: unreadable header, or a file shorter than its header says (truncated).
    """
    try:
        with path.open("rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            if not 2 <= size <= 100_000_000:
                raise ValueError(f"header length {size}")
            header = json.loads(fh.read(size))
    except (OSError, ValueError, struct.error) as err:
        raise ModelDirError(f"{path} is not a readable safetensors file ({err}): {fix}") from None
    end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"),
              default=0)  # fmt: skip
    if path.stat().st_size < 8 + size + end:
        raise ModelDirError(
            f"{path} is truncated ({path.stat().st_size} bytes, its header describes "
            f"{8 + size + end}): {fix}"
        )
    return {k: list(t["shape"]) for k, t in header.items() if k != "__metadata__"}


def check_model_dir(path: Path) -> ModelCard:
    """Check that vLLM can serve `path`: config, complete weights, tokenizer, chat template.

    Args:
        path: the model directory.

    Returns:
        What the directory holds.

    Raises:
        ModelDirError: the first problem found, with the path and the fix.
    """
    fix = f"prepare it again (`{PREPARE.format(path=path)}`) or copy a complete model there"
    if not path.is_dir():
        raise ModelDirError(f"model directory {path} does not exist: {fix}")
    config = _json(path / "config.json", "the model's configuration", fix)
    if "model_type" not in config:
        raise ModelDirError(f"{path / 'config.json'} names no model_type: {fix}")
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        raise ModelDirError(f"{path} holds no *.safetensors weights: {fix}")
    for file in weights:
        safetensors_shapes(file, fix)
    if not ((path / "tokenizer.json").is_file() or (path / "tokenizer.model").is_file()):
        raise ModelDirError(f"{path} holds no tokenizer (tokenizer.json): {fix}")
    template = (path / "chat_template.jinja").is_file()
    tok_config = path / "tokenizer_config.json"
    if not template and tok_config.is_file():
        template = bool(
            _json(tok_config, "the tokenizer's configuration", fix).get("chat_template")
        )
    if not template:
        raise ModelDirError(
            f"{path}: the tokenizer has no chat template, so vLLM's chat API cannot format a "
            f"conversation: add a chat_template.jinja file (for a ChatML model, the template of "
            "its instruct release) or serve an instruct model"
        )
    inner = config.get("text_config")
    text_cfg: dict[str, Any] = inner if isinstance(inner, dict) else config
    return ModelCard(
        path=path,
        model_type=str(config["model_type"]),
        hidden_size=text_cfg.get("hidden_size"),
        intermediate_size=text_cfg.get("intermediate_size"),
        num_layers=text_cfg.get("num_hidden_layers"),
        context=text_cfg.get("max_position_embeddings"),
        config_sha256=hashlib.sha256((path / "config.json").read_bytes()).hexdigest(),
    )


def check_adapter(adapter: Path, model: ModelCard, max_rank: int = 512) -> AdapterCard:
    """Check that `adapter` is a LoRA adapter vLLM can serve on `model`.

    Args:
        adapter: the adapter directory (peft format).
        model: the base model, as `check_model_dir` read it.
        max_rank: the largest rank allowed.

    Returns:
        Its rank and the `--max-lora-rank` to serve it with.

    Raises:
        ModelDirError: missing files, a rank above `max_rank`, features vLLM refuses, or
            weights shaped for another base model.
    """
    fix = f"train it again for {model.path} (`make adapter`)"
    if not adapter.is_dir():
        raise ModelDirError(f"adapter directory {adapter} does not exist: {fix}")
    config = _json(adapter / "adapter_config.json", "the adapter's configuration", fix)
    rank = config.get("r")
    if not isinstance(rank, int) or rank < 1:
        raise ModelDirError(f"{adapter / 'adapter_config.json'}: no LoRA rank `r`: {fix}")
    if rank > max_rank:
        raise ModelDirError(
            f"{adapter}: rank {rank} exceeds the largest served rank {max_rank}: train it with "
            f"lora_r ≤ {max_rank}"
        )
    refused = [k for k in ("use_dora", "modules_to_save", "layer_replication") if config.get(k)]
    if refused:
        raise ModelDirError(f"{adapter}: vLLM does not serve adapters with {refused}: {fix}")
    stamp = adapter / BASE_STAMP
    if stamp.is_file():
        trained_on = _json(stamp, "the base model it was trained on", fix)
        if trained_on.get("config_sha256") not in (None, model.config_sha256):
            raise ModelDirError(
                f"{adapter} was trained on {trained_on.get('model')}, not on {model.path} "
                f"(their configurations differ): {fix}"
            )
    shapes = safetensors_shapes(adapter / "adapter_model.safetensors", fix)
    sizes = {s for s in (model.hidden_size, model.intermediate_size) if s}
    for name, shape in shapes.items():
        if sizes and "lora_A" in name and len(shape) == 2 and shape[1] not in sizes:
            raise ModelDirError(
                f"{adapter}: {name} takes inputs of size {shape[1]}, which {model.path} "
                f"(hidden {model.hidden_size}, intermediate {model.intermediate_size}) never "
                f"produces: the adapter belongs to another base model; {fix}"
            )
        if "lora_A" in name and len(shape) == 2 and shape[0] != rank:
            raise ModelDirError(f"{adapter}: {name} has rank {shape[0]}, its config says {rank}")
    served_rank = next(r for r in VLLM_LORA_RANKS if r >= rank)
    return AdapterCard(path=adapter, rank=rank, max_lora_rank=served_rank)
