"""The locally built tiny model: deterministic, loadable, chat template with assistant mask."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.tiny_model import build_tiny_model

pytestmark = pytest.mark.unit

TEXTS = [
    "A witness who is qualified as an expert by knowledge, skill, experience, training, or "
    "education may testify in the form of an opinion or otherwise. " * 20
]


def test_build_is_deterministic_and_cached(tmp_path: Path) -> None:
    a = build_tiny_model(tmp_path / "a", texts=TEXTS, seed=3)
    b = build_tiny_model(tmp_path / "b", texts=TEXTS, seed=3)
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()
    mtime = (a / "model.safetensors").stat().st_mtime_ns
    build_tiny_model(a, texts=TEXTS, seed=3)  # same inputs: reused, not rewritten
    assert (a / "model.safetensors").stat().st_mtime_ns == mtime
    c = build_tiny_model(tmp_path / "c", texts=TEXTS, seed=4)
    assert (a / "model.safetensors").read_bytes() != (c / "model.safetensors").read_bytes()


def test_model_loads_and_template_masks_assistant(tmp_path: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    path = build_tiny_model(tmp_path / "m", texts=TEXTS)
    config = AutoConfig.from_pretrained(path)
    assert config.hidden_size // config.num_attention_heads == 64
    assert config.max_position_embeddings >= 2048
    tok = AutoTokenizer.from_pretrained(path)
    messages = [
        {"role": "system", "content": "Answer from the sources."},
        {"role": "user", "content": "What may an expert witness do?"},
        {"role": "assistant", "content": "##begin_quote##testify##end_quote## [1]"},
    ]
    enc = tok.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    mask = enc["assistant_masks"]
    trained = tok.decode([t for t, m in zip(enc["input_ids"], mask, strict=True) if m])
    assert trained == "##begin_quote##testify##end_quote## [1]<|end|>"
    # markers are single, non-special tokens so they survive vLLM's detokenisation
    ids = tok("##begin_quote##", add_special_tokens=False)["input_ids"]
    assert len(ids) == 1
    assert tok.decode(ids, skip_special_tokens=True) == "##begin_quote##"
