"""The real instruct model for the tests where a model's behaviour matters.

SmolLM2-135M-Instruct is prepared from its package (`training.base_model`) once into
`var/test-cache/smollm2-135m-instruct`; a short `legal` LoRA adapter is trained on RAFT rows of
the Federal Rules of Evidence (a few minutes on 2 cores, cached by the rows and recipe it was
trained from); `real_vllm` serves both from vLLM's CPU build for the test session.

    def test_x(real_vllm):
        httpx.get(f"{real_vllm.url}/v1/models")     # base + legal
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.lab.vllm_process import VLLM_PYTHON, VllmProcess, start_vllm

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "test-cache"
RECIPE = ROOT / "training" / "configs" / "smollm2-135m-cpu.yaml"
START_TIMEOUT_S = float(os.environ.get("JURIS_TEST_VLLM_START_TIMEOUT", "400"))
# the short adapter: enough steps to move the model, few enough for the suite's time budget
QUICK_ROWS = 24
QUICK_STEPS = 12


def real_base_model() -> Path:
    """SmolLM2-135M-Instruct as a model directory (prepared once; skips when not installed)."""
    from training.base_model import BaseModelError, prepare_base_model

    try:
        return prepare_base_model(CACHE / "smollm2-135m-instruct")
    except BaseModelError as err:
        pytest.skip(f"the real base model cannot be prepared: {err}")


def quick_raft_rows(corpus_dir: Path) -> list[dict]:
    """RAFT rows (6 sources of 700 characters, the demo's prompt) over Federal Rules of Evidence."""
    from indexing.chunking import Chunker
    from legal_corpus.adapters import IngestReport, discover_units, parse_units
    from training.raft import RaftBuilder, RaftConfig
    from training.retrieval import MemoryRetriever

    units = [
        u for u in discover_units(corpus_dir, ["federal_rules"]) if u.key.startswith("evidence/")
    ]
    chunks = list(Chunker().iter_chunks(parse_units(units, IngestReport())))
    oracles = [c for c in chunks if c.valid_to is None]
    cfg = RaftConfig(k=5, p_oracle=0.8, seed=0, max_chars_per_source=700, max_quote_words=25)
    result = RaftBuilder(MemoryRetriever(chunks), cfg).build(oracles[: QUICK_ROWS * 2])
    return [r.to_json() for r in result.rows[:QUICK_ROWS]]


def quick_legal_adapter(model_dir: Path, corpus_dir: Path) -> Path:
    """A `legal` adapter trained briefly with the CPU recipe (cached by rows + recipe)."""
    from training.config import load_config
    from training.lora import train_lora
    from training.raft import write_jsonl

    rows = quick_raft_rows(corpus_dir)
    key = hashlib.sha256(
        json.dumps(rows, sort_keys=True).encode()
        + RECIPE.read_bytes()
        + (model_dir / "config.json").read_bytes()
        + f"{QUICK_STEPS}".encode()
    ).hexdigest()[:16]
    out = CACHE / f"smollm2-quick-legal-{key}"
    adapter = out / "adapter"
    if (adapter / "adapter_model.safetensors").is_file():
        return adapter
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    write_jsonl(out / "train.jsonl", rows)
    cfg = load_config(
        RECIPE,
        [
            f"model={model_dir}",
            f"train_file={out / 'train.jsonl'}",
            f"output_dir={out}",
            f"max_steps={QUICK_STEPS}",
            "per_device_train_batch_size=2",
            "gradient_accumulation_steps=1",
            "save_steps=1000",
            "warmup_steps=2",
        ],
    )
    return train_lora(cfg).adapter_dir


@pytest.fixture(scope="session")
def real_model_dir() -> Path:
    """The prepared SmolLM2-135M-Instruct directory."""
    return real_base_model()


@pytest.fixture(scope="session")
def real_vllm(real_model_dir: Path, corpus_dir: Path) -> Iterator[VllmProcess]:
    """vLLM on CPU serving SmolLM2-135M-Instruct as `base` and a trained adapter as `legal`."""
    if not VLLM_PYTHON.is_file():
        pytest.skip(f"vLLM environment missing at {VLLM_PYTHON} (run `make setup-vllm`)")
    adapter = quick_legal_adapter(real_model_dir, corpus_dir)
    server = start_vllm(
        real_model_dir, {"legal": adapter}, CACHE / "vllm-real.log", max_model_len=4096,
        timeout_s=START_TIMEOUT_S,
    )  # fmt: skip
    try:
        yield server
    finally:
        server.kill()
