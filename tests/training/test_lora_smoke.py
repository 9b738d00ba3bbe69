"""A few LoRA steps on the tiny model: adapter for vLLM, merged model, loss logged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.config import load_config
from training.lora import train_lora
from training.raft import write_jsonl

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).resolve().parents[2] / "training" / "configs" / "tiny-cpu.yaml"


def test_few_steps_write_adapter_and_merged_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Answer from the sources."},
                {"role": "user", "content": f"Sources:\n\n[1] Fed. R. Evid. 702\nA witness {i}"},
                {"role": "assistant", "content": "##begin_quote##A witness##end_quote## [1]."},
            ]
        }
        for i in range(4)
    ]
    write_jsonl(tmp_path / "train.jsonl", rows)
    cfg = load_config(
        CONFIG,
        [
            f"model={tiny_model_dir}",
            f"train_file={tmp_path / 'train.jsonl'}",
            f"output_dir={tmp_path / 'out'}",
            "max_steps=3",
            "logging_steps=1",
            "merge=true",
        ],
    )
    result = train_lora(cfg)
    assert result.steps == 3 and result.final_loss is not None
    conf = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert conf["r"] == cfg.lora_r and conf["bias"] == "none"
    assert set(conf["target_modules"]) == set(cfg.target_modules)
    assert (result.adapter_dir / "adapter_model.safetensors").is_file()
    assert result.merged_dir is not None

    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(result.merged_dir)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    logged = (tmp_path / "out" / "train_log.jsonl").read_text().splitlines()
    assert sum("loss" in json.loads(x) for x in logged) >= 3
