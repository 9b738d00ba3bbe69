"""`python -m indexing train-embedder` end to end on a few pairs: it trains (with each pair's
hard negative), saves a model the index can load with the base model's window, records the
run, and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.cli import main
from indexing.model_record import model_identity, same_model
from indexing.settings import IndexSettings
from indexing.tuning.embedder import merge_with_base
from indexing.tuning.pairs import save_pairs
from tests.support.doctrine_pairs import PAIRS, WITH_NEGATIVES

pytestmark = pytest.mark.slow


def test_trains_saves_with_the_base_window_and_resumes(tmp_path: Path):
    pairs = tmp_path / "pairs.jsonl"
    save_pairs(WITH_NEGATIVES * 2, pairs)
    out = tmp_path / "embedder"
    args = ["train-embedder", "--out", str(out), "--pairs", str(pairs), "--batch-size", "4",
            "--save-steps", "1", "--bf16", "no"]  # fmt: skip
    assert main(args) == 0
    record = json.loads((out / "juris_training.json").read_text())
    assert record["finished"] and record["steps"] == 2 and record["pairs"] == 8

    import torch
    from sentence_transformers import SentenceTransformer

    base_dir = IndexSettings().model_dir()
    trained = SentenceTransformer(str(out), device="cpu")
    base = SentenceTransformer(str(base_dir), device="cpu")
    # trained on 128-token windows, served with the base's: passages keep their size
    assert trained.max_seq_length == base.max_seq_length
    assert not same_model(model_identity(out), model_identity(base_dir))

    # weight-space averaging with the base model (`--base-weight`): halfway, tensor by tensor
    name, before = next(
        (k, v.clone()) for k, v in trained.state_dict().items() if v.is_floating_point()
    )
    merge_with_base(trained, base, 0.5)
    halfway = (before + base.state_dict()[name]) / 2
    assert torch.allclose(trained.state_dict()[name], halfway, atol=1e-6)
    assert not torch.allclose(before, base.state_dict()[name])  # training moved it

    # a finished run resumed from its checkpoints trains nothing more and keeps the model
    assert main([*args, "--resume"]) == 0
    again = json.loads((out / "juris_training.json").read_text())
    assert again["resumed"] and again["steps"] == 2


def test_refuses_to_overwrite_an_earlier_run(tmp_path: Path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    save_pairs(PAIRS, pairs)
    out = tmp_path / "embedder"
    (out / "work" / "checkpoints" / "checkpoint-1").mkdir(parents=True)
    assert main(["train-embedder", "--out", str(out), "--pairs", str(pairs)]) == 2
    assert "--resume" in capsys.readouterr().err


def test_pairs_without_negatives_are_refused_unless_in_batch_only(tmp_path: Path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    save_pairs(PAIRS, pairs)  # a file mined before pairs carried a negative
    out = tmp_path / "embedder"
    assert main(["train-embedder", "--out", str(out), "--pairs", str(pairs)]) == 2
    err = capsys.readouterr().err
    assert str(pairs) in err and "--in-batch-only" in err
    assert not (out / "model.safetensors").exists()
