"""`python -m serving demo`: index the corpus, serve the gateway, ask a sample question.

On a fresh machine with the embedded defaults (no GPU, no Qdrant server, no network):

1. builds the index with `indexing` (embedded engine under `JURIS_QDRANT_PATH`), or, when a
   build exists, re-uses it and embeds only what changed (indexing's sync);
2. creates a demo API key in `var/demo_api_keys.json` and prints it;
3. starts the gateway (web page at http://127.0.0.1:8000/);
4. asks a sample question through the HTTP API and prints the answer and its citations;
5. keeps serving until Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

SAMPLE_QUESTION = "When is the use of a copyrighted work a fair use rather than an infringement?"
DEMO_KEYS = Path("var/demo_api_keys.json")


def ensure_index(sources: list[str] | None) -> str:
    """The current index build, brought up to date with `indexing`'s sync.

    The first run builds the index; later runs re-use it and only embed what changed in the
    corpus (`python -m indexing sync`).

    Args:
        sources: adapter sources to index (None: all).

    Returns:
        The name of the build now current.
    """
    from indexing.settings import IndexSettings
    from indexing.sync import run_sync

    settings = IndexSettings()  # type: ignore[call-arg]
    print(f"syncing the index in {settings.qdrant_path} with {settings.corpus()} …", flush=True)
    result = run_sync(settings, sources=sources)
    skipped = len(result.report.errors)
    print(
        f"index build {result.build}: {result.embedded_chunks} passages embedded this run"
        + (f", {skipped} source files skipped (see the log)" if skipped else ""),
        flush=True,
    )
    return str(result.build)


def print_answer(body: dict) -> None:
    """The answer and its citations, for a terminal."""
    mode = body["mode"] + (f" (degraded: {body['degraded_reason']})" if body["degraded"] else "")
    print(f"\nAnswer [{mode}, model {body['model']}, index {body['index_version']}]:\n")
    print(body["answer"], "\n")
    for c in body["citations"]:
        where = f"[{c['n']}] " if c["n"] else ""
        print(f"  {where}{c['citation'] or c['text']}  — {c['status']}")
    v = body["verification"]
    print(f"\nunsupported claims: {v['unsupported_claims']}; by status: {v['citations_by_status']}")


def run_demo(sources: str | None = None, wait: bool = True) -> int:
    """Run the demo (see the module docstring).

    Args:
        sources: comma-separated adapter sources for a first build (default: all, or
            `JURIS_DEMO_SOURCES`).
        wait: keep serving until Ctrl-C.

    Returns:
        The process exit code.
    """
    from serving.app import create_app
    from serving.auth import add_key, read_keys_file, revoke_key
    from serving.lab.server import running_server
    from serving.settings import GatewaySettings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    chosen = sources or os.environ.get("JURIS_DEMO_SOURCES")
    ensure_index([s.strip() for s in chosen.split(",")] if chosen else None)

    keys_file = Path(os.environ.get("JURIS_API_KEYS_FILE") or DEMO_KEYS)
    if keys_file.exists() and any(k.name == "demo" for k in read_keys_file(keys_file)):
        revoke_key(keys_file, "demo")
    key = add_key(keys_file, "demo", admin=True)
    settings = GatewaySettings(api_keys_file=keys_file)  # type: ignore[call-arg]
    app = create_app(settings)
    with ExitStack() as stack:
        try:
            base = stack.enter_context(running_server(app, settings.host, settings.port))
        except RuntimeError as err:
            print(f"{err} (is the port taken? set JURIS_PORT)", flush=True)
            return 1
        print(f"\nJuris gateway on {base}/  (API docs: {base}/docs)")
        print(f"demo API key (admin): {key}\n")
        print(f"asking: {SAMPLE_QUESTION}")
        r = httpx.post(
            f"{base}/v1/ask",
            json={"question": SAMPLE_QUESTION},
            headers={"Authorization": f"Bearer {key}"},
            timeout=300,
        )
        if r.status_code != 200:
            print(f"ask failed: HTTP {r.status_code}: {r.text}")
            return 1
        print_answer(r.json())
        if wait:
            print(f"\nserving on {base}/ — Ctrl-C to stop", flush=True)
            try:
                while True:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
    return 0
