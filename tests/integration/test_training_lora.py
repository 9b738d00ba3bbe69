"""End to end: the gateway's own retrieval -> RAFT rows -> LoRA (CPU) -> vLLM -> the gateway.

The tiny model starts random. For a handful of questions, the rows are built from the SAME
retrieval the gateway performs (the real index slice, the gateway's `top_k` and prompt budgets),
so the prompt vLLM later receives from the gateway is exactly the one the adapter was trained
on; the other retrieved passages are hard negatives the index itself ranked high. LoRA trains
the model on these rows until it reproduces the answer format; the adapter is served by vLLM's
CPU server with `--lora-modules legal=<dir>` beside the base model, and a real gateway
(`/v1/ask`, `JURIS_VLLM_URL` = that server) answers each question with `model=legal` and with
`model=base`. The questions asked are the trained ones: a 2-layer random model can only
memorise the format, not generalise it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexing.model import SearchFilters
from serving.app import create_app
from serving.lab.vllm_process import VLLM_PYTHON, start_vllm
from serving.settings import GatewaySettings
from tests.integration.conftest import MODEL_TEST_RETRIEVAL_TIMEOUT_S, running_gateway
from tests.training.conftest import evidence_chunks
from training.config import load_config
from training.evaluate import evaluate, vllm_generate
from training.lora import train_lora
from training.raft import (
    RaftBuilder,
    RaftConfig,
    retrieved_row,
    teacher_question_writer,
    write_jsonl,
)
from training.retrieval import MemoryRetriever
from training.tiny_model import build_tiny_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "test-cache"  # the tiny model is shared with the session vLLM fixture
STEPS = 100

# question -> documents that answer it (all in the index slice)
QUESTIONS = {
    "What does Fed. R. Evid. 702 provide about testimony by expert witnesses?": ["fre:702"],
    # the index ranks Art. 5 (the accuracy principle) first: the oracle (Art. 16, the right
    # to rectification) is a later source, so the answer is not always [1]
    "Can a person get inaccurate personal data about them corrected?": ["gdpr:art16"],
    "What does GDPR Article 17 provide about the right to erasure?": ["gdpr:art17"],
    "Is the fair use of a copyrighted work for teaching an infringement of copyright?": [
        "usc:17/107"
    ],
}
# the gateway's retrieval and prompt budgets (fit the tiny model's 1024-token context)
TOP_K, PER_SOURCE, TOTAL = 3, 240, 800


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


def _gateway_settings(vllm_url: str, keys_file: Path) -> GatewaySettings:
    return GatewaySettings(
        _env_file=None,  # type: ignore[call-arg]
        vllm_url=vllm_url,
        api_keys_file=keys_file,
        top_k=TOP_K,
        prompt_max_chars_per_source=PER_SOURCE,
        prompt_max_chars=TOTAL,
        vllm_max_tokens=72,
        vllm_temperature=0.0,
        vllm_first_token_timeout_s=60,
        vllm_total_timeout_s=120,
        retrieval_timeout_s=MODEL_TEST_RETRIEVAL_TIMEOUT_S,
        # the tiny random model's base answers are loops of nonsense by design: this test is
        # about what the adapter changes, so they are not stopped (tests/serving/test_repetition
        # and test_faults check the stop)
        repetition_stop_chars=0,
        set_aside_uncited=False,  # nor set aside for citing nothing (tests/serving/test_uncited)
        # what the adapter learned is seen in what it writes free: under the grounded-answer
        # grammar the random base model's answers quote their sources verbatim too
        # (tests/integration/test_grounding_grammar.py checks the grammar)
        vllm_grounded_answers=False,
    )


def _quoted_verified(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's `[n]` citations that verify and carry a verbatim quote."""
    return [
        c for c in body["citations"]
        if c["kind"] == "source" and c["status"] == "verified" and c["quotes"]
    ]  # fmt: skip


def test_gateway_with_the_lora_adapter_answers_with_verified_quotes(
    tmp_path: Path, corpus_dir: Path, slice_retriever, gateway_keys
) -> None:
    if not VLLM_PYTHON.is_file():
        pytest.skip(f"vLLM environment missing at {VLLM_PYTHON}")
    model_dir = build_tiny_model(CACHE / "tiny_model")

    # RAFT rows over the gateway's own retrieval (Pipeline.search: top_k, no filters, hybrid)
    rows = []
    for question, oracle_ids in QUESTIONS.items():
        passages = slice_retriever.search(question, TOP_K, SearchFilters(), "hybrid")
        row = retrieved_row(
            question, passages, oracle_ids, max_chars_per_source=PER_SOURCE,
            max_chars_total=TOTAL,
        ).to_json()  # fmt: skip
        rows.append(row)
    for row in rows:
        meta = row["meta"]
        assert meta["oracle_kept"], row["messages"][1]["content"]
        assert len(meta["sources"]) == TOP_K
        others = [c for c in meta["source_chunk_ids"] if c != meta["oracle_chunk_id"]]
        assert len(others) == TOP_K - 1  # hard negatives: the index's other top passages
    assert len({r["meta"]["oracle_n"] for r in rows}) > 1  # the answer is not always [1]
    train_file = tmp_path / "train.jsonl"
    write_jsonl(train_file, rows)

    out = tmp_path / "lora"
    overrides = [
        f"model={model_dir}", f"train_file={train_file}", f"output_dir={out}",
        "max_length=768", "logging_steps=20",
    ]  # fmt: skip
    config = ROOT / "training/configs/tiny-cpu.yaml"
    trained = train_lora(
        load_config(config, [*overrides, f"max_steps={STEPS}", f"save_steps={STEPS}"])
    )
    assert trained.steps == STEPS and trained.device == "cpu"
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    losses = [x["loss"] for x in log if "loss" in x]
    assert losses[-1] < losses[0]
    adapter = trained.adapter_dir
    conf = json.loads((adapter / "adapter_config.json").read_text())
    assert conf["r"] == 8 and not conf.get("modules_to_save")

    # resume: a longer run continues from the last checkpoint instead of starting over
    resumed = train_lora(
        load_config(config, [*overrides, f"max_steps={STEPS + 2}", f"save_steps={STEPS}"])
    )
    assert resumed.resumed_from and resumed.resumed_from.endswith(f"checkpoint-{STEPS}")
    assert resumed.steps == STEPS + 2

    prompt = [m for m in rows[0]["messages"] if m["role"] != "assistant"]
    assert _logits_differ(model_dir, adapter, prompt) > 1e-3

    server = start_vllm(model_dir, adapter, tmp_path / "vllm.log", dtype="float32", timeout_s=400)
    try:
        # the real gateway over the index slice, JURIS_VLLM_URL = this server
        keys_file, user, _admin = gateway_keys
        app = create_app(_gateway_settings(server.url, keys_file), retriever=slice_retriever)
        answers: dict[str, dict[str, dict[str, Any]]] = {}
        with running_gateway(app) as url:
            headers = {"Authorization": f"Bearer {user}"}
            for question in QUESTIONS:
                for model in ("base", "legal"):
                    r = httpx.post(f"{url}/v1/ask", json={"question": question, "model": model},
                                   headers=headers, timeout=180)  # fmt: skip
                    assert r.status_code == 200, r.text
                    answers.setdefault(question, {})[model] = r.json()
        print(json.dumps({q: {m: b["answer_raw"] for m, b in a.items()}
                          for q, a in answers.items()}, indent=1))  # fmt: skip
        for row, by_model in zip(rows, answers.values(), strict=True):
            base, legal = by_model["base"], by_model["legal"]
            for body, model in ((base, "base"), (legal, "legal")):
                assert body["mode"] == "llm" and body["model"] == model and not body["degraded"]
                # the gateway showed vLLM the very passages the adapter was trained on
                assert [p["chunk_id"] for p in body["passages"]] == row["meta"]["source_chunk_ids"]
            assert base["answer_raw"] != legal["answer_raw"]
            assert not _quoted_verified(base), base["answer_raw"]
        verified = [q for q, a in answers.items() if _quoted_verified(a["legal"])]
        assert len(verified) >= 3, {q: a["legal"]["citations"] for q, a in answers.items()}
        for question in verified:
            legal = answers[question]["legal"]
            row = rows[list(QUESTIONS).index(question)]
            oracle = legal["passages"][row["meta"]["oracle_n"] - 1]
            assert any(c["n"] == row["meta"]["oracle_n"] for c in _quoted_verified(legal))
            for c in _quoted_verified(legal):
                assert all(" ".join(q.split()) in " ".join(oracle["text"].split())
                           for q in c["quotes"])  # fmt: skip
        assert sum(a["legal"]["verification"]["all_verified"] for a in answers.values()) >= 3
        assert not any(a["base"]["verification"]["all_verified"] and a["base"]["citations"]
                       for a in answers.values())  # fmt: skip

        # `python -m training eval`'s scoring (vLLM's API directly) on the same, trained rows
        report = evaluate(rows, vllm_generate(server.url, max_tokens=72), ["base", "legal"])
        print(json.dumps(report["models"]))  # the before/after figures, in the test log
        base_s, legal_s = report["models"]["base"], report["models"]["legal"]
        assert base_s["errors"] == 0 and legal_s["errors"] == 0
        assert base_s["cites_oracle"] == 0 and base_s["all_verified"] == 0
        assert legal_s["cites_oracle"] >= 0.6, report
        assert legal_s["all_verified"] >= 0.5, report
        assert legal_s["verbatim_quotes"] >= 0.5, report

        # teacher questions through the same OpenAI-compatible API (nonsense, real plumbing)
        chunks = evidence_chunks(corpus_dir, n_rules=12)
        cfg = RaftConfig(k=1, p_oracle=0.75, eval_fraction=0.0, seed=0, max_quote_words=8,
                         max_chars_per_source=160, questions_per_chunk=1)  # fmt: skip
        oracles = [c for c in chunks if c.valid_to is None][:2]
        teacher = teacher_question_writer(server.url, "base")
        taught = RaftBuilder(MemoryRetriever(chunks), cfg, teacher).build(oracles)
        origins = {r.origin for r in taught.rows}
        assert "teacher" in origins or taught.dropped["teacher gave no usable question"] > 0
    finally:
        server.kill()
