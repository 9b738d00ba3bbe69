"""End to end: RAFT rows -> LoRA on the tiny model (CPU) -> served by real vLLM -> verified.

The tiny model starts random; LoRA trains it on a small fixed set of RAFT rows (real Federal
Rules of Evidence text, the gateway's prompt and answer format) until it reproduces the format.
The adapter is then served by vLLM's CPU server with `--lora-modules legal=<dir>` beside the
base model, and both answer the same prompts; the gateway's verifier checks the answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serving.vllm_process import VLLM_PYTHON, start_vllm
from tests.training.conftest import evidence_chunks
from training.config import load_config
from training.evaluate import evaluate, vllm_generate
from training.lora import train_lora
from training.raft import RaftBuilder, RaftConfig, teacher_question_writer, write_jsonl
from training.retrieval import MemoryRetriever
from training.tiny_model import build_tiny_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
STEPS = 150


def _logits_differ(model_dir: Path, adapter_dir: Path, messages: list[dict[str, str]]) -> float:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                  return_dict=True)["input_ids"]  # fmt: skip
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    with torch.no_grad():
        before = base(ids).logits
        tuned = PeftModel.from_pretrained(base, str(adapter_dir))
        after = tuned(ids).logits
    return float((after - before).abs().max())


def test_lora_adapter_follows_the_format_and_verifies(tmp_path: Path, corpus_dir: Path) -> None:
    if not VLLM_PYTHON.is_file():
        pytest.skip(f"vLLM environment missing at {VLLM_PYTHON}")
    model_dir = build_tiny_model(tmp_path / "tiny")
    chunks = evidence_chunks(corpus_dir, n_rules=12)
    cfg = RaftConfig(
        k=1, p_oracle=0.75, eval_fraction=0.0, seed=0, max_quote_words=8,
        max_chars_per_source=160, questions_per_chunk=1,
    )  # fmt: skip
    oracles = [c for c in chunks if c.valid_to is None][:8]
    result = RaftBuilder(MemoryRetriever(chunks), cfg).build(oracles)
    rows = [r.to_json() for r in result.rows]
    assert sum(r["meta"]["oracle_kept"] for r in rows) >= 4
    train_file = tmp_path / "train.jsonl"
    write_jsonl(train_file, rows)

    out = tmp_path / "lora"
    overrides = [f"model={model_dir}", f"train_file={train_file}", f"output_dir={out}"]
    trained = train_lora(
        load_config(ROOT / "training/configs/tiny-cpu.yaml",
                    [*overrides, f"max_steps={STEPS}", f"save_steps={STEPS}"])
    )  # fmt: skip
    assert trained.steps == STEPS and trained.device == "cpu"
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    losses = [x["loss"] for x in log if "loss" in x]
    assert losses[-1] < losses[0]
    adapter = trained.adapter_dir
    conf = json.loads((adapter / "adapter_config.json").read_text())
    assert conf["r"] == 8 and not conf.get("modules_to_save")

    # resume: a longer run continues from the last checkpoint instead of starting over
    resumed = train_lora(
        load_config(ROOT / "training/configs/tiny-cpu.yaml",
                    [*overrides, f"max_steps={STEPS + 5}", f"save_steps={STEPS}"])
    )  # fmt: skip
    assert resumed.resumed_from and resumed.resumed_from.endswith(f"checkpoint-{STEPS}")
    assert resumed.steps == STEPS + 5

    prompt = [m for m in rows[0]["messages"] if m["role"] != "assistant"]
    assert _logits_differ(model_dir, adapter, prompt) > 1e-3

    server = start_vllm(model_dir, adapter, tmp_path / "vllm.log", timeout_s=400)
    try:
        report = evaluate(rows, vllm_generate(server.url, max_tokens=80), ["base", "legal"])
        print(json.dumps(report["models"]))  # the before/after figures, in the test log
        base, legal = report["models"]["base"], report["models"]["legal"]
        assert base["errors"] == 0 and legal["errors"] == 0
        answers = [e["answers"] for e in report["examples"]]
        assert all(a["base"]["answer"] != a["legal"]["answer"] for a in answers)
        # the base model's answers verify nowhere; the adapter's cite the oracle, verbatim
        assert base["cites_oracle"] == 0 and base["all_verified"] == 0
        assert legal["cites_oracle"] >= 0.6, report
        assert legal["all_verified"] >= 0.5, report
        assert legal["verbatim_quotes"] >= 0.5, report

        # teacher questions through the same OpenAI-compatible API (nonsense, real plumbing)
        teacher = teacher_question_writer(server.url, "base")
        taught = RaftBuilder(MemoryRetriever(chunks), cfg, teacher).build(oracles[:2])
        origins = {r.origin for r in taught.rows}
        assert "teacher" in origins or taught.dropped["teacher gave no usable question"] > 0
    finally:
        server.kill()
