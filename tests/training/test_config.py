"""Training configuration: YAML + overrides, contradictory options fail naming the option."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.config import ConfigError, check_against_model, load_config
from training.lora import device_check

pytestmark = pytest.mark.unit

TINY_YAML = Path(__file__).resolve().parents[2] / "training" / "configs" / "tiny-cpu.yaml"
GPU_YAML = Path(__file__).resolve().parents[2] / "training" / "configs" / "qwen2.5-7b-gpu.yaml"


def test_yaml_and_overrides() -> None:
    cfg = load_config(TINY_YAML, ["max_steps=7", "lora_r=4", "target_modules=q_proj,v_proj"])
    assert cfg.max_steps == 7 and cfg.lora_r == 4
    assert cfg.target_modules == ["q_proj", "v_proj"]
    assert cfg.use_cpu is True
    gpu = load_config(GPU_YAML)
    assert gpu.load_in_4bit and gpu.gradient_checkpointing and gpu.bf16


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        (
            ["load_in_4bit=true", "load_in_8bit=true", "use_cpu=false"],
            "load_in_4bit and load_in_8bit",
        ),
        (["lora_r=0"], "lora_r"),
        (["max_steps=0"], "max_steps"),
        (["learning_rate=-1"], "learning_rate"),
        (["lora_dropout=1.5"], "lora_dropout"),
        (["no_such_option=1"], "no_such_option"),
        (["lora_r=eight"], "lora_r"),
        (["merge=perhaps"], "merge"),
        (["load_in_4bit=true"], "use_cpu"),
    ],
)
def test_contradictory_options_name_the_option(overrides: list[str], option: str) -> None:
    with pytest.raises(ConfigError, match=option):
        load_config(TINY_YAML, overrides)


def test_target_module_the_model_lacks(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"model_type": "llama", "max_position_embeddings": 2048})
    )
    cfg = load_config(TINY_YAML, [f"model={tmp_path}", "target_modules=q_proj,c_attn"])
    with pytest.raises(ConfigError, match="target_modules: c_attn"):
        check_against_model(cfg)
    long = load_config(TINY_YAML, [f"model={tmp_path}", "max_length=4096"])
    with pytest.raises(ConfigError, match="max_length 4096"):
        check_against_model(long)
    missing = load_config(TINY_YAML, [f"model={tmp_path / 'nope'}"])
    with pytest.raises(ConfigError, match=r"model: no config\.json"):
        check_against_model(missing)


def test_qlora_without_gpu_says_so() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    cfg = load_config(TINY_YAML, ["load_in_4bit=true", "use_cpu=false"])
    with pytest.raises(ConfigError, match="needs a CUDA GPU and this machine has none"):
        device_check(cfg)
