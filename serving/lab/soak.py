"""The soak benchmark: a gateway under steady load while its dependencies change under it.

`python -m serving bench --only soak [--soak-duration 600] [--clients 16]` (part of
`make bench`): a gateway process (`python -m serving serve`) over its own copy of a GDPR
index, answering with vLLM (the tiny local model, started from `.venv-vllm`), takes
`clients` concurrent clients for `duration` seconds, each looping over a mix of
`/v1/ask` (JSON and streamed), `/v1/search` and `/v1/documents/{id}`. Meanwhile:

- at 30 % of the run, `python -m indexing sync --incoming DIR` adds a court ruling: a new
  build is written, recorded and swapped in under the gateway;
- at 50 %, vLLM is killed (SIGKILL) and started again on the same port (about a minute on
  a CPU): answers degrade to extractive, then come back from the model.

It passes when no request got a 5xx or a transport error, no request took longer than its
bound (an ask: the generation deadline `JURIS_VLLM_TOTAL_TIMEOUT_S` plus 10 s for retrieval,
verification and the extractive answer; a search or a document: the retrieval timeout), and
the gateway's resident memory grew by less than 5 % from the second tenth of the run to the
last. Results: `<out>/soak.json` and `<out>/soak.md`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

log = logging.getLogger(__name__)

QUESTIONS = (
    "When must a controller erase personal data without undue delay?",
    "What information must be given to the data subject when data are collected?",
    "Is processing lawful when it is necessary for a legitimate interest?",
    "Can the data subject obtain rectification of inaccurate personal data?",
    "What are the principles relating to processing of personal data?",
    "Does the data subject have a right of access to personal data?",
)
DOCUMENTS = ("gdpr:art5", "gdpr:art6", "gdpr:art15", "gdpr:art16", "gdpr:art17", "gdpr:recital39")
DEADLINE_S = 20.0  # the generation deadline the gateway runs with (JURIS_VLLM_TOTAL_TIMEOUT_S)
RETRIEVAL_TIMEOUT_S = 10.0
ASK_BOUND_S = DEADLINE_S + 10.0
OTHER_BOUND_S = RETRIEVAL_TIMEOUT_S + 1.0
MAX_RSS_GROWTH = 0.05


@dataclass
class Outcome:
    """One request: what, when (seconds into the run), status, latency, degraded or not."""

    kind: str
    at: float
    status: str
    seconds: float
    degraded: bool = False


@dataclass
class Timeline:
    """What happened around the load."""

    events: list[tuple[float, str]] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)

    def note(self, t0: float, what: str) -> None:
        at = round(time.monotonic() - t0, 1)
        self.events.append((at, what))
        print(f"soak: {at:7.1f} s  {what}", flush=True)


def soak_index(out: Path) -> Path:
    """A fresh copy of a GDPR index for this run (the base is built once, then reused)."""
    from indexing import build
    from indexing.settings import IndexSettings

    base = (out / "soak-index-base").resolve()
    settings = IndexSettings(qdrant_path=base)  # type: ignore[call-arg]
    if build.make_catalog(settings).current() is None:
        print(f"soak: building a GDPR index in {base}", flush=True)
        build.run_build(settings, sources=["gdpr"], progress=False)
    run = (out / "soak-index").resolve()
    shutil.rmtree(run, ignore_errors=True)
    subprocess.run(["cp", "-a", "--sparse=always", str(base), str(run)], check=True)
    return run


def incoming_ruling(out: Path, corpus: Path) -> Path:
    """A folder with one court ruling (a few pages of a bundled opinion) for the sync."""
    folder = (out / "soak-incoming").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    source = corpus / "opinions" / "text" / "opinion_text.txt"
    text = source.read_text(encoding="utf-8", errors="replace")[:6000]
    (folder / f"soak-ruling-{time.time_ns()}.txt").write_text(text, encoding="utf-8")
    return folder


async def _client(
    w: int, url: str, headers: dict[str, str], stop: float, t0: float, outcomes: list[Outcome]
) -> None:
    i = w
    async with httpx.AsyncClient(base_url=url, timeout=ASK_BOUND_S + 30, trust_env=False) as c:
        while time.monotonic() < stop:
            slot = i % 10
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            start = time.monotonic()
            degraded = False
            try:
                if slot < 2:
                    kind = "ask"
                    r = await c.post("/v1/ask", json={"question": question}, headers=headers)
                    if r.status_code == 200:
                        degraded = bool(r.json().get("degraded"))
                elif slot < 4:
                    kind = "ask_stream"
                    body = {"question": question, "stream": True}
                    async with c.stream("POST", "/v1/ask", json=body, headers=headers) as r:
                        text = (await r.aread()).decode("utf-8", "replace")
                    if r.status_code == 200:
                        degraded = "event: degraded" in text
                        if "event: error" in text or "event: done" not in text:
                            raise RuntimeError("stream ended with an error event")
                elif slot < 8:
                    kind = "search"
                    r = await c.post("/v1/search", json={"query": question}, headers=headers)
                else:
                    kind = "documents"
                    r = await c.get(f"/v1/documents/{DOCUMENTS[i % len(DOCUMENTS)]}",
                                    headers=headers)  # fmt: skip
                status = str(r.status_code)
            except (httpx.HTTPError, RuntimeError) as err:
                status = type(err).__name__
            outcomes.append(
                Outcome(kind, round(start - t0, 2), status, time.monotonic() - start, degraded)
            )


async def _sample_rss(pid: int, stop: float, t0: float, timeline: Timeline) -> None:
    proc = psutil.Process(pid)
    while time.monotonic() < stop:
        timeline.rss.append((time.monotonic() - t0, proc.memory_info().rss))
        await asyncio.sleep(2.0)


async def _index_version(url: str) -> str:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as c:
        r = await c.get(f"{url}/readyz")
        return str(r.json()["index"].get("index_version", ""))


async def _sync_then_watch(
    at: float, t0: float, url: str, env: dict[str, str], incoming: Path, out: Path,
    timeline: Timeline,
) -> dict[str, Any]:  # fmt: skip
    await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
    before = await _index_version(url)
    timeline.note(t0, f"sync starts (gateway on {before})")
    cmd = [sys.executable, "-m", "indexing", "sync", "--sources", "gdpr",
           "--incoming", str(incoming)]  # fmt: skip
    with (out / "soak-sync.log").open("wb") as fh:
        rc = await asyncio.to_thread(
            subprocess.call, cmd, env=env, stdout=fh, stderr=subprocess.STDOUT
        )
    timeline.note(t0, f"sync ended (exit {rc})")
    deadline = time.monotonic() + 60
    after = before
    while after == before and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        after = await _index_version(url)
    timeline.note(t0, f"gateway serves {after}")
    return {"exit": rc, "before": before, "after": after, "swapped": after != before}


async def _kill_and_restart(
    at: float, t0: float, spawned: list[Any], out: Path, timeline: Timeline
) -> None:
    from serving.lab.bench import tiny_model
    from serving.lab.vllm_process import start_vllm

    await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
    vllm = spawned[-1]
    port = int(vllm.url.rsplit(":", 1)[1])
    vllm.kill()
    timeline.note(t0, "vLLM killed")
    model_dir, adapter_dir = tiny_model()

    def restart() -> None:
        spawned.append(start_vllm(model_dir, adapter_dir, out / "vllm-soak-restart.log",
                                  port=port))  # fmt: skip

    await asyncio.to_thread(restart)
    timeline.note(t0, "vLLM answering again")


def _summary(outcomes: list[Outcome]) -> dict[str, Any]:
    by_kind: dict[str, Any] = {}
    for kind in sorted({o.kind for o in outcomes}):
        mine = [o for o in outcomes if o.kind == kind]
        secs = sorted(o.seconds for o in mine)
        bound = ASK_BOUND_S if kind.startswith("ask") else OTHER_BOUND_S
        by_kind[kind] = {
            "requests": len(mine),
            "statuses": dict(Counter(o.status for o in mine)),
            "degraded": sum(o.degraded for o in mine),
            "p50_ms": round(statistics.median(secs) * 1000, 1),
            "p99_ms": round(secs[min(len(secs) - 1, int(len(secs) * 0.99))] * 1000, 1),
            "max_ms": round(secs[-1] * 1000, 1),
            "bound_s": bound,
            "over_bound": sum(o.seconds > bound for o in mine),
        }
    return by_kind


def run_soak(out: Path, duration_s: float = 600.0, clients: int = 16) -> dict[str, Any]:
    """Run the soak benchmark (see the module docstring); writes `soak.json` and `soak.md`.

    Args:
        out: output folder.
        duration_s: seconds of load.
        clients: concurrent clients.

    Returns:
        The results, with `passed`.
    """
    from indexing.settings import IndexSettings
    from serving.auth import add_key
    from serving.lab.bench import tiny_model
    from serving.lab.server import gateway_process
    from serving.lab.vllm_process import start_vllm

    out.mkdir(parents=True, exist_ok=True)
    index = soak_index(out)
    corpus = IndexSettings().corpus()  # type: ignore[call-arg]
    incoming = incoming_ruling(out, corpus)
    keys_file = out / "soak_keys.json"
    keys_file.unlink(missing_ok=True)
    key = add_key(keys_file, "soak", rate_per_minute=1e9)
    model_dir, adapter_dir = tiny_model()
    print("soak: starting vLLM (tiny local model) …", flush=True)
    vllm = start_vllm(model_dir, adapter_dir, out / "vllm-soak.log")
    spawned = [vllm]  # every vLLM process started here, killed at the end
    env = {
        "JURIS_QDRANT_PATH": str(index), "JURIS_QDRANT_URL": "",
        "JURIS_VLLM_URL": vllm.url, "JURIS_VLLM_MODEL": "base",
        "JURIS_VLLM_MAX_TOKENS": "32", "JURIS_TOP_K": "3",
        "JURIS_PROMPT_MAX_CHARS": "1500", "JURIS_PROMPT_MAX_CHARS_PER_SOURCE": "500",
        "JURIS_VLLM_TOTAL_TIMEOUT_S": str(DEADLINE_S),
        "JURIS_RETRIEVAL_TIMEOUT_S": str(RETRIEVAL_TIMEOUT_S),
        "JURIS_API_KEYS_FILE": str(keys_file), "JURIS_RATE_LIMIT_BURST": "1000000",
    }  # fmt: skip
    timeline = Timeline()
    try:
        with gateway_process(env, out / "gateway-soak.log", want_status=("ready",)) as gateway:
            url = gateway.url
            headers = {"Authorization": f"Bearer {key}"}
            # warm-up: every path once, so the first measured requests pay no first-use costs
            asyncio.run(_warm(url, headers))
            outcomes: list[Outcome] = []

            async def run() -> dict[str, Any]:
                t0 = time.monotonic()
                stop = t0 + duration_s
                timeline.note(t0, f"load starts: {clients} clients for {duration_s:.0f} s")
                tasks = [_client(w, url, headers, stop, t0, outcomes) for w in range(clients)]
                results = await asyncio.gather(
                    _sync_then_watch(
                        0.3 * duration_s, t0, url, {**os.environ, **env}, incoming, out, timeline
                    ),
                    _kill_and_restart(0.5 * duration_s, t0, spawned, out, timeline),
                    _sample_rss(gateway.process.pid, stop, t0, timeline),
                    *tasks,
                )
                timeline.note(t0, "load ends")
                sync: dict[str, Any] = results[0]
                return sync

            sync = asyncio.run(run())
    finally:
        for process in spawned:
            process.kill()
    result = _result(outcomes, timeline, sync, duration_s, clients)
    (out / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "soak.md").write_text(soak_markdown(result))
    print(soak_markdown(result))
    return result


async def _warm(url: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120, trust_env=False) as c:
        await c.post("/v1/ask", json={"question": QUESTIONS[0]}, headers=headers)
        await c.post("/v1/search", json={"query": QUESTIONS[1]}, headers=headers)
        await c.get(f"/v1/documents/{DOCUMENTS[0]}", headers=headers)


def _result(
    outcomes: list[Outcome], timeline: Timeline, sync: dict[str, Any], duration_s: float,
    clients: int,
) -> dict[str, Any]:  # fmt: skip
    failures = Counter(o.status for o in outcomes if not o.status.isdigit() or int(o.status) >= 500)
    non_200 = Counter(o.status for o in outcomes if o.status != "200")
    by_kind = _summary(outcomes)
    rss = timeline.rss

    def median_in(lo: float, hi: float) -> int:
        window = [v for t, v in rss if lo * duration_s <= t <= hi * duration_s]
        return int(statistics.median(window)) if window else 0

    base, final = median_in(0.1, 0.2), median_in(0.9, 1.0)
    growth = (final - base) / base if base else float("nan")
    over = sum(k["over_bound"] for k in by_kind.values())
    result = {
        "duration_s": duration_s,
        "clients": clients,
        "requests": len(outcomes),
        "by_kind": by_kind,
        "failures_5xx_or_transport": dict(failures),
        "non_200": dict(non_200),
        "over_bound": over,
        "degraded_answers": sum(o.degraded for o in outcomes),
        "sync": sync,
        "rss_mib": {
            "baseline": round(base / 2**20, 1),
            "final": round(final / 2**20, 1),
            "max": round(max((v for _, v in rss), default=0) / 2**20, 1),
            "growth_pct": round(growth * 100, 2),
        },
        "events": timeline.events,
        "rss_samples_mib": [(round(t, 1), round(v / 2**20, 1)) for t, v in rss[::5]],
    }
    result["passed"] = bool(
        not failures and not over and sync.get("swapped") and growth < MAX_RSS_GROWTH
    )
    return result


def soak_markdown(result: dict[str, Any]) -> str:
    """The Markdown report of a soak run."""
    rss = result["rss_mib"]
    lines = [
        f"## Soak: {result['clients']} clients, {result['duration_s']:.0f} s, a sync swapping "
        "builds and vLLM killed and restarted",
        "",
        "| requests | kind | statuses | degraded | p50 ms | p99 ms | max ms | bound s | over |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, k in result["by_kind"].items():
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(k["statuses"].items()))
        lines.append(
            f"| {k['requests']} | {kind} | {statuses} | {k['degraded']} | {k['p50_ms']} | "
            f"{k['p99_ms']} | {k['max_ms']} | {k['bound_s']:g} | {k['over_bound']} |"
        )
    sync = result["sync"]
    lines += [
        "",
        f"- requests: {result['requests']}; 5xx or transport errors: "
        f"{sum(result['failures_5xx_or_transport'].values())}; over their bound: "
        f"{result['over_bound']}; degraded (extractive) answers: {result['degraded_answers']}",
        f"- sync: exit {sync.get('exit')}, gateway moved from `{sync.get('before')}` to "
        f"`{sync.get('after')}`",
        f"- gateway RSS: {rss['baseline']} MiB (second tenth) → {rss['final']} MiB (last "
        f"tenth), growth {rss['growth_pct']} % (max {rss['max']} MiB)",
        "- events: " + "; ".join(f"{t} s {what}" for t, what in result["events"]),
        f"- **{'passed' if result['passed'] else 'FAILED'}**",
        "",
    ]
    return "\n".join(lines)
