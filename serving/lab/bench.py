"""`python -m serving bench --out var/bench`: gateway overhead and load figures (JSON + Markdown).

1. **Retrieval** — latency of the real retriever for the benchmark questions (reported apart).
2. **Gateway overhead** — the same prompt, streamed directly from vLLM and through the gateway
   (`/v1/ask`, `stream: true`), alternated, in one run: time to first token and total latency,
   p50/p99, and the difference. Retrieval is excluded: the gateway gets the passages already
   retrieved (a retriever that returns them at once), so both paths generate from one prompt.
   vLLM is `JURIS_VLLM_URL` if set, else the tiny local model (built under `var/test-cache` by
   `python -m tests.support.tiny_vllm_model var/test-cache`, as `make bench` does) started
   from `.venv-vllm`.
3. **Load** — `/v1/search` and extractive `/v1/ask` under N concurrent clients (default 16) for a
   fixed duration each, against a gateway process (`python -m serving serve`) on loopback:
   throughput, p50/p99, errors.

The index is the configured one (`JURIS_QDRANT_PATH`) when it has a build, else a GDPR-only
index built under `<out>/serving-index` (incremental: re-used by the next run).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from indexing.model import Chunk, Passage, SearchFilters
from serving.grounding import structured_output
from serving.index_protocol import RetrieverLike
from serving.prompt import build_messages

log = logging.getLogger(__name__)

# Where the test support caches the tiny model and its random adapter (the vLLM served here when
# JURIS_VLLM_URL is unset).
TINY_MODEL_CACHE = Path("var/test-cache")

QUESTIONS = (
    "When must a controller erase personal data without undue delay?",
    "What information must be given to the data subject when data are collected?",
    "Is processing lawful when it is necessary for a legitimate interest?",
    "Can the data subject obtain rectification of inaccurate personal data?",
    "What are the principles relating to processing of personal data?",
    "When is the use of a copyrighted work a fair use?",
    "May an expert witness testify in the form of an opinion?",
    "What defenses may be raised by motion before pleading?",
)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / mean in milliseconds of values in seconds."""
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 2),
        "p99_ms": round(percentile(values, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(values) * 1000, 2) if values else float("nan"),
    }


class FixedRetriever:
    """Returns passages retrieved beforehand (so the overhead runs exclude retrieval)."""

    def __init__(self, inner: RetrieverLike, passages: dict[str, list[Passage]]) -> None:
        self.inner = inner
        self.passages = passages

    @property
    def index_version(self) -> str:
        return self.inner.index_version

    def search(
        self,
        query: str,
        top_k: int,
        filters: SearchFilters,
        mode: str = "hybrid",
        group_by_doc: bool = False,
    ) -> list[Passage]:
        return self.passages[query][:top_k]

    def lookup(self, doc_id: str, pinpoint: str = "", as_of: date | None = None) -> list[Chunk]:
        return self.inner.lookup(doc_id, pinpoint, as_of)

    def document(self, doc_id: str, as_of: date | None = None) -> list[Chunk]:
        return self.inner.document(doc_id, as_of)

    def versions(self, doc_id: str) -> Sequence[Any]:
        return self.inner.versions(doc_id)

    def exists(self, doc_id: str) -> bool:
        return self.inner.exists(doc_id)

    def check(self) -> Any:
        return self.inner.check()


def bench_index(out: Path) -> dict[str, str]:
    """Environment variables selecting the index the benchmark uses (built if needed)."""
    from indexing import build
    from indexing.settings import IndexSettings

    configured = IndexSettings()  # type: ignore[call-arg]
    if build.make_catalog(configured).current() is not None:
        return {"JURIS_QDRANT_PATH": str(configured.qdrant_path)}
    path = (out / "serving-index").resolve()
    settings = IndexSettings(qdrant_path=path)  # type: ignore[call-arg]
    if build.make_catalog(settings).current() is None:
        print(f"no index at {configured.qdrant_path}: building a GDPR index in {path}", flush=True)
        build.run_build(settings, sources=["gdpr"])
    return {"JURIS_QDRANT_PATH": str(path)}


async def _direct(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> tuple[float, float]:
    start = time.perf_counter()
    first = None
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: {"):
                continue
            choices = json.loads(line[6:]).get("choices") or [{}]
            if first is None and (choices[0].get("delta") or {}).get("content"):
                first = time.perf_counter() - start
    return first or float("nan"), time.perf_counter() - start


async def via_gateway(
    client: httpx.AsyncClient,
    url: str,
    question: str,
    headers: dict[str, str],
    model: str | None = None,
) -> tuple[float, float, float]:
    """Stream one answer through `/v1/ask`: (time to first token, total, verification) in s."""
    start = time.perf_counter()
    first = None
    verification = float("nan")
    body: dict[str, Any] = {"question": question, "stream": True}
    if model:
        body["model"] = model
    async with client.stream("POST", f"{url}/v1/ask", json=body, headers=headers) as r:
        r.raise_for_status()
        event = ""
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
                if event == "token" and first is None:
                    first = time.perf_counter() - start
                if event in ("degraded", "error"):
                    raise RuntimeError(f"gateway reported {event}")
            elif event == "citations" and line.startswith("data: "):
                verification = json.loads(line[6:])["timings"].get("verification_s", 0.0)
    return first or float("nan"), time.perf_counter() - start, verification


def tiny_model(cache: Path = TINY_MODEL_CACHE) -> tuple[Path, Path]:
    """The tiny local model and its `legal` adapter, as the test support caches them.

    Raises:
        FileNotFoundError: either is missing (the message says how to build both).
    """
    model_dir, adapter_dir = cache / "tiny_model", cache / "tiny_model_lora"
    if (
        not (model_dir / "config.json").is_file()
        or not (adapter_dir / "adapter_config.json").is_file()
    ):
        raise FileNotFoundError(
            f"JURIS_VLLM_URL is unset and no tiny model with its adapter is in {cache}: build them "
            f"with `python -m tests.support.tiny_vllm_model {cache}` (`make bench` does)"
        )
    return model_dir, adapter_dir


def overhead(out: Path, samples: int) -> dict[str, Any]:
    """Time to first token and total, direct vs. through the gateway (see module docstring)."""
    from serving.app import create_app
    from serving.auth import add_key
    from serving.index_protocol import open_default_retriever
    from serving.lab.server import running_server
    from serving.lab.vllm_process import start_vllm
    from serving.settings import GatewaySettings

    proc = None
    closers: list[Any] = []  # the embedded index allows one process: close it before `load`
    url = os.environ.get("JURIS_VLLM_URL", "")
    model = os.environ.get("JURIS_VLLM_MODEL", "base")
    if not url:
        model_dir, adapter_dir = tiny_model()
        print("starting vLLM (tiny local model) …", flush=True)
        proc = start_vllm(model_dir, adapter_dir, out / "vllm-bench.log", dtype="float32")
        url = proc.url
    try:
        keys_file = out / "bench_keys.json"
        key = add_key(keys_file, f"bench-{time.time_ns()}", rate_per_minute=1e9)
        settings = GatewaySettings(  # type: ignore[call-arg]
            vllm_url=url, vllm_model=model, api_keys_file=keys_file, top_k=3,
            vllm_max_tokens=32, prompt_max_chars=1500, prompt_max_chars_per_source=500,
            rate_limit_per_minute=1e9, rate_limit_burst=10_000,
        )  # fmt: skip
        inner = open_default_retriever()
        closers.append(getattr(inner, "close", lambda: None))
        retrieval: list[float] = []
        cached: dict[str, list[Passage]] = {}
        for _ in range(3):
            for q in QUESTIONS:
                t = time.perf_counter()
                cached[q] = inner.search(q, settings.top_k, SearchFilters(), "hybrid")
                retrieval.append(time.perf_counter() - t)
        app = create_app(settings, retriever=FixedRetriever(inner, cached))
        bodies = {}
        for q in QUESTIONS:
            prompt = build_messages(
                q, cached[q], max_chars_per_source=settings.prompt_max_chars_per_source,
                max_chars_total=settings.prompt_max_chars,
            )  # fmt: skip
            body: dict[str, Any] = {
                "model": model, "messages": list(prompt.messages),
                "max_tokens": settings.vllm_max_tokens, "temperature": 0.0, "stream": True,
                "stream_options": {"include_usage": True},
            }  # fmt: skip
            asked = structured_output(
                cached[q],
                prompt,
                settings.vllm_grounded_answers,
                settings.vllm_grounded_source,
                question=q,
            )
            if asked is not None:
                body["structured_outputs"] = asked
            bodies[q] = body
        headers = {"Authorization": f"Bearer {key}"}
        with running_server(app) as gw:

            async def run() -> dict[str, list[float]]:
                names = ("d_ttft", "d_total", "g_ttft", "g_total", "g_verify")
                res: dict[str, list[float]] = {k: [] for k in names}
                async with httpx.AsyncClient(timeout=120, trust_env=False) as client:
                    for i in range(samples + 4):
                        q = QUESTIONS[i % len(QUESTIONS)]
                        order = ("d", "g") if i % 2 == 0 else ("g", "d")
                        for path in order:
                            if path == "d":
                                ttft, total = await _direct(client, url, bodies[q])
                            else:
                                ttft, total, verify = await via_gateway(client, gw, q, headers)
                                if i >= 4:
                                    res["g_verify"].append(verify)
                            if i >= 4:  # warm-up
                                res[f"{path}_ttft"].append(ttft)
                                res[f"{path}_total"].append(total)
                return res

            res = asyncio.run(run())
        ttft_diff = [g - d for g, d in zip(res["g_ttft"], res["d_ttft"], strict=True)]
        total_diff = [g - d for g, d in zip(res["g_total"], res["d_total"], strict=True)]
        unverified_diff = [t - v for t, v in zip(total_diff, res["g_verify"], strict=True)]
        return {
            "vllm_url": url,
            "model": model,
            "max_tokens": settings.vllm_max_tokens,
            "samples": samples,
            "retrieval_excluded": summary_ms(retrieval),
            "direct_ttft": summary_ms(res["d_ttft"]),
            "gateway_ttft": summary_ms(res["g_ttft"]),
            "direct_total": summary_ms(res["d_total"]),
            "gateway_total": summary_ms(res["g_total"]),
            "added_ttft_p50_ms": round(
                (percentile(res["g_ttft"], 50) - percentile(res["d_ttft"], 50)) * 1000, 2
            ),
            "added_total_p50_ms": round(
                (percentile(res["g_total"], 50) - percentile(res["d_total"], 50)) * 1000, 2
            ),
            "paired_added_ttft": summary_ms(ttft_diff),
            "paired_added_total": summary_ms(total_diff),
            "verification": summary_ms(res["g_verify"]),
            "paired_added_total_excluding_verification": summary_ms(unverified_diff),
        }
    finally:
        for close in closers:
            close()
        if proc is not None:
            proc.kill()


async def _load_phase(
    url: str, path: str, make_body, headers: dict[str, str], clients: int, duration_s: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop = time.monotonic() + duration_s

    async def worker(w: int) -> None:
        i = w
        async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
            while time.monotonic() < stop:
                body = make_body(i)
                i += clients
                t = time.perf_counter()
                try:
                    r = await client.post(f"{url}{path}", json=body, headers=headers)
                    ok = r.status_code == 200
                    code = str(r.status_code)
                except httpx.HTTPError as err:
                    ok, code = False, type(err).__name__
                if ok:
                    latencies.append(time.perf_counter() - t)
                else:
                    errors[code] = errors.get(code, 0) + 1

    start = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    elapsed = time.monotonic() - start
    return {
        "path": path,
        "clients": clients,
        "duration_s": round(elapsed, 1),
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 2),
        **summary_ms(latencies),
        "errors": errors,
    }


def load(out: Path, index_env: dict[str, str], clients: int, duration_s: float) -> list[dict]:
    """`/v1/search` and extractive `/v1/ask` under `clients` concurrent clients."""
    from serving.auth import add_key
    from serving.lab.server import gateway_process

    keys_file = out / "bench_keys.json"
    key = add_key(keys_file, f"load-{time.time_ns()}", rate_per_minute=1e9)
    env = {
        **index_env,
        "JURIS_VLLM_URL": "", "JURIS_API_KEYS_FILE": str(keys_file),
        "JURIS_RATE_LIMIT_BURST": "100000",
    }  # fmt: skip
    with gateway_process(env, out / "gateway-load.log") as gateway:
        url = gateway.url
        headers = {"Authorization": f"Bearer {key}"}
        phases = []
        for path, make in (
            ("/v1/search", lambda i: {"query": QUESTIONS[i % len(QUESTIONS)], "top_k": 10}),
            ("/v1/ask", lambda i: {"question": QUESTIONS[i % len(QUESTIONS)]}),
        ):
            asyncio.run(_load_phase(url, path, make, headers, 2, 3))  # warm-up
            print(f"load: {path}, {clients} clients, {duration_s:.0f} s …", flush=True)
            phases.append(asyncio.run(_load_phase(url, path, make, headers, clients, duration_s)))
        return phases


def markdown(result: dict[str, Any]) -> str:
    """The Markdown report."""
    lines = [
        "# Gateway benchmark",
        "",
        f"{result['when']} on {result['machine']}",
        "",
    ]
    ov = result.get("overhead")
    if ov:
        lines += [
            f"## Gateway overhead (vLLM `{ov['model']}` at {ov['vllm_url']}, "
            f"{ov['max_tokens']} tokens, {ov['samples']} samples per path)",
            "",
            "| | p50 ms | p99 ms | mean ms |",
            "|---|---|---|---|",
        ]
        for name in ("direct_ttft", "gateway_ttft", "direct_total", "gateway_total",
                     "paired_added_ttft", "paired_added_total", "verification",
                     "paired_added_total_excluding_verification",
                     "retrieval_excluded"):  # fmt: skip
            s = ov[name]
            lines.append(
                f"| {name.replace('_', ' ')} | {s['p50_ms']} | {s['p99_ms']} | {s['mean_ms']} |"
            )
        lines += [
            "",
            f"Added by the gateway at p50: **{ov['added_ttft_p50_ms']} ms** to the first token, "
            f"**{ov['added_total_p50_ms']} ms** in total (target ≤ 15 ms); the total includes "
            "citation verification after the last token (its own line). Retrieval is excluded "
            "from both paths and reported on its own line. 'paired' rows are per-request "
            "differences of back-to-back direct/gateway calls.",
            "",
        ]
    elif result.get("overhead_skipped"):
        lines += [f"Gateway overhead: skipped ({result['overhead_skipped']}).", ""]
    lines += [
        "## Load (extractive backend, loopback)",
        "",
        "| endpoint | clients | seconds | requests | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in result.get("load", []):
        lines.append(
            f"| {p['path']} | {p['clients']} | {p['duration_s']} | {p['requests']} | "
            f"{p['throughput_rps']} | {p['p50_ms']} | {p['p99_ms']} | {sum(p['errors'].values())} |"
        )
    if result.get("model"):
        from serving.lab.model_bench import model_markdown

        lines += ["", model_markdown(result["model"])]
    elif result.get("model_skipped"):
        lines += ["", f"Real-model benchmark skipped: {result['model_skipped']}"]
    if result.get("soak"):
        from serving.lab.soak import soak_markdown

        lines += ["", soak_markdown(result["soak"])]
    return "\n".join(lines) + "\n"


def run_bench(
    out: Path, duration_s: float = 90.0, clients: int = 16, samples: int = 50,
    with_vllm: bool = True, parts: set[str] | None = None, soak_duration_s: float = 600.0,
) -> int:  # fmt: skip
    """Run the benchmarks and write `<out>/serving.json` and `<out>/serving.md`.

    Args:
        out: output folder.
        duration_s: seconds per load phase.
        clients: concurrent clients in the load phases.
        samples: overhead samples per path.
        with_vllm: include the vLLM overhead part.
        parts: which parts to run (`overhead`, `load`, `model`, `soak`; default: all).
        soak_duration_s: seconds of the soak part (`serving.lab.soak`).

    Returns:
        0 when every load request succeeded and the soak passed, else 1.
    """
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    parts = parts or {"overhead", "load", "model", "soak"}
    if parts == {"soak"}:
        from serving.lab.soak import run_soak

        return 0 if run_soak(out, soak_duration_s, clients)["passed"] else 1
    index_env = bench_index(out)
    os.environ.update(index_env)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "index": index_env,
    }
    if with_vllm and "overhead" in parts:
        try:
            result["overhead"] = overhead(out, samples)
        except (FileNotFoundError, RuntimeError) as err:
            log.error("overhead benchmark skipped: %s", err)
            result["overhead_skipped"] = str(err)[:500]
    if with_vllm and "model" in parts:
        from serving.lab.model_bench import model_bench

        try:
            result["model"] = model_bench(out)
        except (FileNotFoundError, RuntimeError) as err:
            log.error("real-model benchmark skipped: %s", err)
            result["model_skipped"] = str(err)[:500]
    result["load"] = load(out, index_env, clients, duration_s) if "load" in parts else []
    if "soak" in parts:
        from serving.lab.soak import run_soak

        result["soak"] = run_soak(out, soak_duration_s, clients)
    (out / "serving.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "serving.md").write_text(markdown(result))
    print(markdown(result))
    soak_ok = result.get("soak", {}).get("passed", True)
    return 0 if all(not p["errors"] for p in result["load"]) and soak_ok else 1
