"""The real model's speed: `base` and the `legal` adapter, direct to vLLM and through the gateway.

One vLLM server (CPU build) serves SmolLM2-135M-Instruct as `base` and the trained adapter as
`legal`. For each, the same prompts go alternately straight to vLLM's streaming chat API and
through the gateway's `/v1/ask` (retrieval excluded: the gateway gets the passages already
retrieved, so both paths generate from one prompt). Greedy decoding gives both paths the same
tokens, so tokens per second compare directly. Reported: time to first token and tokens per
second per path, the adapter's cost as a ratio to `base` (vLLM's tracker reports up to
40–50% on GPUs), and the adapter's training time and peak memory from its `result.json`.

    python -m serving bench --only model --out var/bench
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from indexing.model import Passage, SearchFilters
from serving.grounding import structured_output
from serving.lab.bench import QUESTIONS, FixedRetriever, percentile, via_gateway
from serving.prompt import build_messages

MODEL_DIR = Path("var/models/smollm2-135m-instruct")
ADAPTER_DIR = Path("var/adapters/legal")
PER_SOURCE = 700  # the demo's prompt (six sources of 700 characters)


async def _direct(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, float]:
    start = time.perf_counter()
    first = None
    tokens = 0
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: {"):
                continue
            event = json.loads(line[6:])
            choices = event.get("choices") or [{}]
            if first is None and (choices[0].get("delta") or {}).get("content"):
                first = time.perf_counter() - start
            usage = event.get("usage") or {}
            tokens = usage.get("completion_tokens") or tokens
    total = time.perf_counter() - start
    return {"ttft": first or float("nan"), "total": total, "tokens": float(tokens)}


def _rate(tokens: float, total: float, ttft: float) -> float:
    """Decode tokens per second: tokens after the first, over the time after the first."""
    return (tokens - 1) / (total - ttft) if tokens > 1 and total > ttft else float("nan")


def _body(model: str, question: str, passages: list[Passage], max_tokens: int) -> dict[str, Any]:
    prompt = build_messages(question, passages, max_chars_per_source=PER_SOURCE)
    body: dict[str, Any] = {
        "model": model,
        "messages": list(prompt.messages),
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    # as the gateway asks, grounded by default
    asked = structured_output(passages, prompt, question=question)
    if asked is not None:
        body["structured_outputs"] = asked
    return body


async def _measure(
    vllm: str, gateway: str, headers: dict[str, str], cached: dict[str, list[Passage]],
    samples: int, max_tokens: int,
) -> dict[str, dict[str, list[float]]]:  # fmt: skip
    """Alternately direct and through the gateway, for `base` then `legal` (2 warm-up each)."""
    res: dict[str, dict[str, list[float]]] = {}
    async with httpx.AsyncClient(timeout=600, trust_env=False) as client:
        for model in ("base", "legal"):
            got: dict[str, list[float]] = {k: [] for k in ("d_ttft", "d_rate", "g_ttft", "g_rate")}
            for i in range(samples + 2):
                q = QUESTIONS[i % len(QUESTIONS)]
                d = await _direct(client, vllm, _body(model, q, cached[q], max_tokens))
                g_ttft, g_total, _ = await via_gateway(client, gateway, q, headers, model)
                if i < 2:
                    continue
                got["d_ttft"].append(d["ttft"])
                got["g_ttft"].append(g_ttft)
                got["d_rate"].append(_rate(d["tokens"], d["total"], d["ttft"]))
                got["g_rate"].append(_rate(d["tokens"], g_total, g_ttft))
            res[model] = got
    return res


def model_bench(out: Path, samples: int = 12, max_tokens: int = 96) -> dict[str, Any]:
    """Run the benchmark (see the module docstring).

    Raises:
        FileNotFoundError: the model or the adapter is missing (`make model`, `make adapter`).
    """
    from serving.app import create_app
    from serving.auth import add_key
    from serving.index_protocol import open_default_retriever
    from serving.lab.server import running_server
    from serving.lab.vllm_process import start_vllm
    from serving.settings import GatewaySettings

    adapter = ADAPTER_DIR / "adapter"
    for path, fix in ((MODEL_DIR, "make model"), (adapter, "make adapter")):
        if not path.is_dir():
            raise FileNotFoundError(f"{path} is missing: run `{fix}`")
    print("starting vLLM (SmolLM2-135M-Instruct + legal adapter) …", flush=True)
    proc = start_vllm(MODEL_DIR, {"legal": adapter}, out / "vllm-model-bench.log",
                      max_model_len=4096)  # fmt: skip
    inner = open_default_retriever()
    try:
        keys_file = out / "bench_keys.json"
        key = add_key(keys_file, f"model-bench-{time.time_ns()}", rate_per_minute=1e9)
        settings = GatewaySettings(  # type: ignore[call-arg]
            vllm_url=proc.url, api_keys_file=keys_file, vllm_max_tokens=max_tokens,
            prompt_max_chars_per_source=PER_SOURCE, rate_limit_per_minute=1e9,
            rate_limit_burst=10_000, vllm_total_timeout_s=300, vllm_first_token_timeout_s=300,
            repetition_stop_chars=0,  # tokens/s over whole answers, loops included
            set_aside_uncited=False,  # and uncited answers
        )  # fmt: skip
        cached: dict[str, list[Passage]] = {
            q: inner.search(q, settings.top_k, SearchFilters(), "hybrid") for q in QUESTIONS
        }
        app = create_app(settings, retriever=FixedRetriever(inner, cached))
        headers = {"Authorization": f"Bearer {key}"}
        with running_server(app) as gw:
            res = asyncio.run(_measure(proc.url, gw, headers, cached, samples, max_tokens))
    finally:
        close = getattr(inner, "close", None)
        if callable(close):
            close()
        proc.kill()
    rows = {}
    for model, got in res.items():
        rows[model] = {
            "direct_ttft_p50_s": round(percentile(got["d_ttft"], 50), 3),
            "gateway_ttft_p50_s": round(percentile(got["g_ttft"], 50), 3),
            "direct_tokens_per_s_p50": round(percentile(got["d_rate"], 50), 2),
            "gateway_tokens_per_s_p50": round(percentile(got["g_rate"], 50), 2),
        }
    base, legal = rows["base"], rows["legal"]
    result: dict[str, Any] = {
        "model_dir": str(MODEL_DIR),
        "adapter": str(adapter),
        "samples": samples,
        "max_tokens": max_tokens,
        "models": rows,
        "adapter_tokens_per_s_ratio": round(
            legal["direct_tokens_per_s_p50"] / base["direct_tokens_per_s_p50"], 3
        ),
        "adapter_ttft_ratio": round(legal["direct_ttft_p50_s"] / base["direct_ttft_p50_s"], 3),
        "gateway_tokens_per_s_ratio": {
            m: round(r["gateway_tokens_per_s_p50"] / r["direct_tokens_per_s_p50"], 3)
            for m, r in rows.items()
        },
    }
    trained = ADAPTER_DIR / "result.json"
    if trained.is_file():
        info = json.loads(trained.read_text())
        result["training"] = {k: info.get(k) for k in ("steps", "train_seconds", "peak_rss_mb",
                                                        "final_loss", "device")}  # fmt: skip
    return result


def model_markdown(result: dict[str, Any]) -> str:
    """The model part of `serving.md`."""
    lines = [
        "## The real model: base vs the `legal` adapter, direct vs through the gateway",
        "",
        f"SmolLM2-135M-Instruct on vLLM's CPU build (float32), greedy, ≤ {result['max_tokens']} "
        f"tokens, {result['samples']} prompts each (6 sources × {PER_SOURCE} characters); "
        "retrieval excluded.",
        "",
        "| model | TTFT direct | TTFT gateway | tokens/s direct | tokens/s gateway |",
        "|---|---:|---:|---:|---:|",
    ]
    for model, r in result["models"].items():
        lines.append(
            f"| {model} | {r['direct_ttft_p50_s']} s | {r['gateway_ttft_p50_s']} s | "
            f"{r['direct_tokens_per_s_p50']} | {r['gateway_tokens_per_s_p50']} |"
        )
    lines += [
        "",
        f"Adapter cost (legal / base, direct): tokens/s × {result['adapter_tokens_per_s_ratio']}, "
        f"time to first token × {result['adapter_ttft_ratio']}. Gateway / direct tokens/s: "
        + ", ".join(f"{m} × {v}" for m, v in result["gateway_tokens_per_s_ratio"].items())
        + ".",
    ]
    t = result.get("training")
    if t:
        lines += [
            "",
            f"Adapter training (`make adapter`): {t['steps']} steps in "
            f"{(t['train_seconds'] or 0) / 60:.1f} min on {t['device']}, peak memory "
            f"{t['peak_rss_mb']} MB, final loss {t['final_loss']}.",
        ]
    return "\n".join(lines) + "\n"
