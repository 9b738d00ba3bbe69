"""`python -m serving demo`: index the corpus, serve the gateway, ask a sample question.

On a fresh machine with the embedded defaults (no GPU, no Qdrant server, no network):

1. with a model directory (`--model-dir`, `make demo` prepares SmolLM2-135M-Instruct), starts
   vLLM's CPU server in the background — the `legal` adapter beside `base` when one has been
   trained (`--adapter`, `make adapter`) — while the index is built;
2. on a first run, builds the index in a background thread, in priority order
   (`indexing.priority`: statutes, rules and regulations in force today first — the US Code
   title whose name matches the sample question before the others — then past versions, then
   court opinions), serving the build while it fills (`run_build(serve_early=True)`); when a
   complete build exists, re-uses it and embeds only what changed (indexing's sync);
3. creates a demo API key in `var/demo_api_keys.json` and prints it;
4. starts the gateway (web page at http://127.0.0.1:8000/) as soon as the first passages are
   searchable, in `llm` mode when vLLM came up; the page's banner and
   `GET /v1/index/status` say what is indexed and what is not yet;
5. once the sources the sample question points to are in, asks it through the HTTP API,
   prints the model's answer as it streams, then its citations and their verification;
6. keeps serving until Ctrl-C; the build goes on behind the gateway and, when complete,
   becomes the current build without a restart (one pointer swap). Ctrl-C or `kill` stops
   the build after the batch it is writing, then vLLM, and the process ends cleanly.

If vLLM cannot start, or dies, the demo says so and answers extractively: it never hangs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from serving import answer_format as fmt
from serving.answering import set_aside_because
from serving.generators.extractive import place_names

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


def has_complete_build() -> bool:
    """Whether the configured index has a current build with its manifest (a finished one)."""
    from indexing.build import has_complete_build as complete
    from indexing.settings import IndexSettings

    return complete(IndexSettings())  # type: ignore[call-arg]


class BackgroundBuild:
    """A first build in a background thread, searchable while it fills (see module doc).

    Args:
        sources: adapter sources (None: all).
        hint: the question about to be asked (its sources are indexed first).
    """

    def __init__(self, sources: list[str] | None, hint: str) -> None:
        self.t0 = time.monotonic()
        self.sources = sources
        self.hint = hint
        self.tracker: Any = None
        self.result: Any = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-build", daemon=True)

    def start(self) -> BackgroundBuild:
        self._thread.start()
        return self

    def _run(self) -> None:
        from indexing.build import BuildStopped, run_build
        from indexing.settings import IndexSettings

        def watch(tracker: Any) -> None:
            self.tracker = tracker
            self._ready.set()

        try:
            self.result = run_build(
                IndexSettings(),  # type: ignore[call-arg]
                sources=self.sources,
                hint=self.hint,
                serve_early=True,
                on_tracker=watch,
                stop=self._stop,
            )
            r = self.result
            print(
                f"\nindex build {r.build} complete and now current: {r.points:,} passages, "
                f"built in {r.seconds:.0f} s ({time.monotonic() - self.t0:.0f} s after the "
                "demo started)",
                flush=True,
            )
        except BuildStopped as err:
            self.error = err
            print(f"{err}; the next `make demo` reuses the passages embedded so far", flush=True)
        except BaseException as err:  # reported by the demo, which then stops
            self.error = err
            print(f"\nthe index build failed: {err}", flush=True)
        finally:
            self._ready.set()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait_for(self, what: str, timeout_s: float = 7200) -> bool:
        """Wait until the build is `serving` (first passages searchable) or `hinted` (the
        hint's sources searchable); True when it got there, False when the build ended or
        failed first."""
        self._ready.wait(timeout_s)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            t = self.tracker
            if t is not None and (t.serving if what == "serving" else t.hint_searchable):
                return True
            if self.done:
                return self.error is None
            time.sleep(0.2)
        return False

    def join(self) -> None:
        self._thread.join()

    def stop(self, timeout_s: float = 60) -> None:
        """Stop the build after the batch it is writing and wait for it: a process that
        exits while its build thread is inside the embedding model is aborted by the C++
        runtime ("terminate called without an active exception")."""
        if self.done:
            return
        print("stopping the index build …", flush=True)
        self._stop.set()
        self._thread.join(timeout_s)
        if not self.done:
            print(f"the index build did not stop within {timeout_s:.0f} s", flush=True)


class ModelServer:
    """vLLM started in a background thread, so the index builds while it loads (≈35 s).

    Args:
        model_dir: the base model directory.
        adapter: a LoRA adapter served as `legal` (None: `base` only).
        log_path: vLLM's log.
        timeout_s: longest wait for vLLM to answer.
    """

    def __init__(
        self, model_dir: Path, adapter: Path | None, log_path: Path, timeout_s: float = 300.0
    ) -> None:
        self.model_dir = model_dir
        self.adapter = adapter
        self.log_path = log_path
        self.timeout_s = timeout_s
        self.process: Any = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._start, name="vllm-start", daemon=True)

    def start(self) -> ModelServer:
        """Begin starting vLLM; returns at once."""
        self._thread.start()
        return self

    def _start(self) -> None:
        from serving.lab.vllm_process import start_vllm
        from serving.model_dirs import ModelDirError

        try:
            self.process = start_vllm(
                self.model_dir, self.adapter, self.log_path, max_model_len=4096,
                timeout_s=self.timeout_s,
            )  # fmt: skip
        except (ModelDirError, FileNotFoundError) as err:
            self.error = str(err)
        except RuntimeError as err:
            self.error = f"{str(err).splitlines()[0]} (see {self.log_path})"

    def wait(self) -> str | None:
        """Wait for the start to end; vLLM's URL, or None (the reason is in `error`)."""
        self._thread.join(self.timeout_s + 30)
        if self.process is None and self.error is None:
            self.error = f"vLLM did not start in {self.timeout_s:.0f} s (see {self.log_path})"
        return self.process.url if self.process is not None else None

    def stop(self) -> None:
        """Kill vLLM (if it started)."""
        if self.process is not None:
            self.process.kill()


def wait_until_serving(base: str, timeout_s: float = 600.0, tables_s: float = 120.0) -> str | None:
    """Wait until `GET /readyz` says the index is open (a complete build of the whole corpus
    takes seconds to open, longer on a busy machine) and its per-build tables are in (the
    process's first question waits for them, and past the gateway's index timeout it is
    answered 503; at most `tables_s`, then it is asked all the same); None when it is open,
    else the last reason."""
    deadline = time.monotonic() + timeout_s
    tables_deadline: float | None = None
    reason = "no answer"
    told = False
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{base}/readyz", timeout=10)
            if r.status_code == 200:
                if r.json().get("index", {}).get("tables") != "computing":
                    return None
                if tables_deadline is None:
                    print("preparing the index's tables …", flush=True)
                    tables_deadline = time.monotonic() + tables_s
                elif time.monotonic() > tables_deadline:
                    return None
            else:
                reason = str(r.json().get("index", {}).get("error") or r.text[:200])
        except (httpx.HTTPError, ValueError) as err:
            reason = repr(err)
        if tables_deadline is None and not told:
            print("opening the index …", flush=True)
            told = True
        time.sleep(0.5)
    return reason


WARMING_TRIES = 12  # `503 index_warming_up` answers before the demo gives up (about a minute)


def stream_answer(base: str, key: str, question: str, model: str | None) -> dict | None:
    """Ask through `POST /v1/ask` with `stream: true`, printing the answer as it is written.

    Returns:
        The final answer (the `citations` event), or None when the request failed.
    """
    body: dict[str, Any] = {"question": question, "stream": True}
    if model:
        body["model"] = model
    for attempt in range(1, WARMING_TRIES + 1):
        final, warming_s = _stream_answer(base, key, body)
        if warming_s is None:
            return final
        if attempt == WARMING_TRIES:
            print(f"ask failed: the index was still preparing its tables after {attempt} tries")
            return None
        print(f"the index is still preparing its tables; asking again in {warming_s} s")
        time.sleep(warming_s)
    return None


def _stream_answer(base: str, key: str, body: dict[str, Any]) -> tuple[dict | None, int | None]:
    """One `POST /v1/ask`: the final answer (None on failure), and the seconds to wait
    before asking again when the gateway answered `503 index_warming_up` (else None)."""
    final = None
    event = ""
    raw, shown = "", 0
    with httpx.stream("POST", f"{base}/v1/ask", json=body, timeout=httpx.Timeout(300, connect=10),
                      headers={"Authorization": f"Bearer {key}"}) as r:  # fmt: skip
        if r.status_code != 200:
            text = r.read().decode(errors="replace")
            if r.status_code == 503 and '"index_warming_up"' in text:
                return None, min(max(int(r.headers.get("Retry-After", "5")), 1), 30)
            print(f"ask failed: HTTP {r.status_code}: {text}")
            return None, None
        print("\n", flush=True)
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                if event == "token":
                    raw += data["text"]
                    shown = _print_rendered(raw, shown)
                elif event == "degraded":
                    why = set_aside_because(data["reason"])
                    print(f"\n[{why}; the passages are quoted instead]\n")
                elif event == "citations":
                    final = data
                elif event == "error":
                    print(f"\nask failed: {data}")
    print("\n", flush=True)
    return final, None


def _print_rendered(raw: str, shown: int) -> int:
    """Print what is new in the display form of `raw`, holding back a half-written quote
    marker (`##begin_qu…`); returns how much of the display form is now printed."""
    text = fmt.render(raw)
    end = len(text)
    partial = text.rfind("#", max(0, end - len(fmt.QUOTE_BEGIN)))
    if partial >= 0:
        end = text.find("#", max(0, end - len(fmt.QUOTE_BEGIN)))
    if end > shown:
        print(text[shown:end], end="", flush=True)
    return max(shown, end)


# Worst last, as the web page ranks a source's statuses (`render.js`, `SEVERITY`).
SEVERITY = ("verified", "in_corpus", "misquoted", "not_in_sources", "unknown")


def citation_lines(citations: list[dict]) -> list[str]:
    """The answer's citations as the web page lists them: one line per source number (the
    worst status among its `[n]` markers, with the quotes checked against it), then the
    citations written in the text — not one line per marker, which repeats a source as
    often as the answer cites it."""
    markers: dict[int | None, list[dict]] = {}
    for c in citations:
        if c["kind"] == "source":
            markers.setdefault(c["n"], []).append(c)
    lines = ["Sources cited:"] if markers else []
    for n, cs in sorted(markers.items(), key=lambda item: (item[0] is None, item[0] or 0)):
        status = max((c["status"] for c in cs), key=_severity)
        quotes = sum(len(c["quotes"]) for c in cs)
        checked = f", {quotes} quote{'s' if quotes != 1 else ''} checked" if quotes else ""
        messages = sorted({c["message"] for c in cs if c["message"]})
        why = f" ({'; '.join(messages)})" if messages else ""
        cited = cs[0]["citation"]
        head = f"[{n}] {cited}" if cited and n is not None else cited or cs[0]["text"]
        lines.append(f"  {head}  — {status}{checked}{why}")
    legal = [c for c in citations if c["kind"] != "source"]
    if legal:
        lines.append("Citations written in the answer:")
    for c in legal:
        why = f" ({c['message']})" if c["message"] else ""
        lines.append(f"  {c['text'] or c['citation']}  — {c['status']}{why}")
    return lines


def _severity(status: str) -> int:
    return SEVERITY.index(status) if status in SEVERITY else len(SEVERITY)


def print_answer(body: dict, streamed: bool = False) -> None:
    """The answer and its citations, for a terminal (`streamed`: the text was printed)."""
    mode = body["mode"] + (f" (degraded: {body['degraded_reason']})" if body["degraded"] else "")
    who = body["model"]
    if body.get("adapter"):
        who += f", LoRA adapter of {body.get('base_model')}"
    elif body.get("base_model"):
        who += f", {body['base_model']}"
    print(f"Answer [{mode}, model {who}, index {body['index_version']}]:\n")
    if not streamed or body["degraded"]:
        print(body["answer"], "\n")
    for line in citation_lines(body["citations"]):
        print(line)
    v = body["verification"]
    print(f"\nunsupported claims: {v['unsupported_claims']}; by status: {v['citations_by_status']}")
    if body.get("answered") is False:
        reason = not_answered_reason(body)
        print(f"NOT ANSWERED: {reason}; the passages are the nearest ones, not an answer")
    elif body.get("weak_match") and body.get("not_held"):
        names, them = place_names(body["not_held"])
        print(
            f"WEAK MATCH: the question names {names}, and the indexed sources hold no law of "
            f"{them}; the passages may not govern it: check them before relying on the answer"
        )
    elif body.get("weak_match"):
        print(
            f"WEAK MATCH: retrieval matched these passages to the question only weakly "
            f"(relevance {body['relevance']:.2f}); they may not govern it: check them before "
            "relying on the answer"
        )


def not_answered_reason(body: dict) -> str:
    """Why an answer was marked not answered, by who found so (`declined_by`)."""
    if body.get("declined_by") == "model":
        return "the model found that the passages it was given do not answer the question"
    places = body.get("not_held") or []
    if places:
        names, them = place_names(places)
        return f"the question names {names}, and the indexed sources hold no law of {them}"
    return "the indexed sources do not appear to address the question"


def run_demo(
    sources: str | None = None,
    wait: bool = True,
    model_dir: Path | None = None,
    adapter: Path | None = None,
) -> int:
    """Run the demo (see the module docstring).

    Args:
        sources: comma-separated adapter sources for a first build (default: all, or
            `JURIS_DEMO_SOURCES`).
        wait: keep serving until Ctrl-C.
        model_dir: the model vLLM serves (None: extractive answers only).
        adapter: the LoRA adapter served as `legal` (None: none).

    Returns:
        The process exit code.
    """
    try:
        with ExitStack() as stack:
            _stop_on_termination()
            model = None
            if model_dir is not None:
                print(f"starting vLLM on CPU with {model_dir}"
                      + (f" and the adapter {adapter} as `legal`" if adapter else "")
                      + " (≈ 35 s; in the background) …", flush=True)  # fmt: skip
                model = ModelServer(model_dir, adapter, Path("var/demo-vllm.log")).start()
                stack.callback(model.stop)
            return _serve_and_ask(sources, wait, model, stack)
    except KeyboardInterrupt:  # before the answer: what it started is stopped, then it ends
        print("demo stopped before its answer", flush=True)
        return 130


def _stop_on_termination() -> None:
    """`kill` or a closed terminal ends the demo as Ctrl-C does: the vLLM server it started
    is stopped, not left running without its parent."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


def _serve_and_ask(
    sources: str | None, wait: bool, model: ModelServer | None, stack: ExitStack
) -> int:
    from serving.app import create_app
    from serving.auth import add_key, read_keys_file, revoke_key
    from serving.lab.server import running_server
    from serving.settings import GatewaySettings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("JURIS_PROGRESS", "lines")  # no bars around the printed answer
    t0 = time.monotonic()
    chosen = sources or os.environ.get("JURIS_DEMO_SOURCES")
    selected = [s.strip() for s in chosen.split(",")] if chosen else None
    build: BackgroundBuild | None = None
    if has_complete_build():
        ensure_index(selected)
    else:
        print(
            "building the index in the background, statutes, rules and regulations first; "
            "the gateway starts as soon as the first passages are searchable …",
            flush=True,
        )
        build = BackgroundBuild(selected, SAMPLE_QUESTION).start()
        stack.callback(build.stop)  # Ctrl-C or `kill` while it fills: stopped, not aborted
        if not build.wait_for("serving"):
            print(f"the index build failed: {build.error}", flush=True)
            return 1
        print(f"first passages searchable after {time.monotonic() - t0:.0f} s", flush=True)

    keys_file = Path(os.environ.get("JURIS_API_KEYS_FILE") or DEMO_KEYS)
    if keys_file.exists() and any(k.name == "demo" for k in read_keys_file(keys_file)):
        revoke_key(keys_file, "demo")
    key = add_key(keys_file, "demo", admin=True)
    llm: dict[str, Any] = {}
    if model is not None:
        url = model.wait()
        if url is None:
            print(f"vLLM is not available: {model.error}\nanswering extractively.", flush=True)
        else:
            served = "legal" if model.adapter is not None else "base"
            # the model's prompt: six sources of 700 characters, as its adapter was trained on
            llm = {"vllm_url": url, "vllm_model": served, "prompt_max_chars_per_source": 700}
            print(f"vLLM serving {served} at {url}", flush=True)
    settings = GatewaySettings(api_keys_file=keys_file, **llm)  # type: ignore[call-arg]
    app = create_app(settings)
    try:
        base = stack.enter_context(running_server(app, settings.host, settings.port))
    except RuntimeError as err:
        print(f"{err} (is the port taken? set JURIS_PORT)", flush=True)
        return 1
    print(f"\nJuris gateway on {base}/  (API docs: {base}/docs)")
    print(f"demo API key (admin): {key}\n")
    if build is not None:
        print("waiting for the sources the sample question needs …", flush=True)
        if not build.wait_for("hinted"):
            print(f"the index build failed: {build.error}", flush=True)
            return 1
    if (not_ready := wait_until_serving(base)) is not None:
        print(f"the index could not be opened: {not_ready}", flush=True)
        return 1
    print(f"asking: {SAMPLE_QUESTION}  [{time.monotonic() - t0:.0f} s after start]")
    final = stream_answer(base, key, SAMPLE_QUESTION, None)
    if final is None:
        return 1
    print_answer(final, streamed=True)
    print(f"\nfirst answer {time.monotonic() - t0:.0f} s after the demo started", flush=True)
    if build is not None:
        if not build.done:
            print(
                f"the rest of the corpus is being indexed behind the gateway: see "
                f"{base}/v1/index/status (the web page shows a banner until it is complete)",
                flush=True,
            )
        if not wait:
            build.join()
    if wait:
        print(f"\nserving on {base}/ — Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0
