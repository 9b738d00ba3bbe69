"""Model and adapter directories are checked before vLLM starts: path and fix in every message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from serving.model_dirs import ModelDirError, check_adapter, check_model_dir
from tests.support.tiny_vllm_model import build_random_adapter

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from training.tiny_model import build_tiny_model

    root = tmp_path_factory.mktemp("dirs")
    model = build_tiny_model(root / "model")
    return model, build_random_adapter(model, root / "adapter", rank=8)


def copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_a_complete_model_and_its_adapter_pass(tiny: tuple[Path, Path]) -> None:
    model, adapter = tiny
    card = check_model_dir(model)
    assert card.model_type == "llama" and card.hidden_size == 256
    assert check_adapter(adapter, card).max_lora_rank == 8


def test_missing_or_corrupt_model_directory(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    model, _ = tiny
    with pytest.raises(ModelDirError, match=r"does not exist: prepare it again .*base-model"):
        check_model_dir(tmp_path / "nowhere")
    broken = copy(model, tmp_path / "truncated")
    weights = next(broken.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelDirError, match=rf"{weights}.* is truncated"):
        check_model_dir(broken)
    garbage = copy(model, tmp_path / "garbage")
    next(garbage.glob("*.safetensors")).write_bytes(b"\x00" * 64)
    with pytest.raises(ModelDirError, match="not a readable safetensors file"):
        check_model_dir(garbage)
    no_config = copy(model, tmp_path / "noconfig")
    (no_config / "config.json").write_text("{not json")
    with pytest.raises(ModelDirError, match=r"config\.json is unreadable or not JSON"):
        check_model_dir(no_config)


def test_tokenizer_without_chat_template(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    model, _ = tiny
    bare = copy(model, tmp_path / "bare")
    (bare / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((bare / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirError, match=rf"{bare}: the tokenizer has no chat template"):
        check_model_dir(bare)


def test_adapter_of_another_base_model_or_rank(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    model, adapter = tiny
    card = check_model_dir(model)
    wrong_rank = copy(adapter, tmp_path / "rank")
    config = json.loads((wrong_rank / "adapter_config.json").read_text())
    (wrong_rank / "adapter_config.json").write_text(json.dumps({**config, "r": 4}))
    with pytest.raises(ModelDirError, match="has rank 8, its config says 4"):
        check_adapter(wrong_rank, card)
    with pytest.raises(ModelDirError, match="exceeds the largest served rank 4"):
        check_adapter(adapter, card, max_rank=4)
    other = copy(model, tmp_path / "other-model")
    cfg = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**cfg, "hidden_size": 512}))
    with pytest.raises(ModelDirError, match="belongs to another base model"):
        check_adapter(adapter, check_model_dir(other))
    stamped = copy(adapter, tmp_path / "stamped")
    (stamped / "juris_base_model.json").write_text(
        json.dumps({"model": "/models/other", "config_sha256": "0" * 64})
    )
    with pytest.raises(ModelDirError, match="was trained on /models/other"):
        check_adapter(stamped, card)
    with pytest.raises(ModelDirError, match=r"adapter directory .* does not exist"):
        check_adapter(tmp_path / "none", card)
