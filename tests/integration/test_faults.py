"""Fault injection against a real gateway (uvicorn on loopback): each fault that once took a
working gateway out of service, made on purpose, and the bound the gateway must keep.

- a model server that accepts connections and never answers, or streams forever;
- clients that leave (cancelling their generation), that send less body than announced,
  that send an oversized chunked body, that abort streams abruptly;
- an index whose segment files are corrupted, whose segments are deleted, whose build
  pointer holds garbage;
- a keys file rewritten in place under load, and a flood of wrong keys.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from indexing.retrieve import open_retriever
from indexing.settings import IndexSettings
from serving.app import create_app
from serving.auth import add_key
from serving.errors import GeneratorError
from serving.generators.vllm import VllmConfig, VllmGenerator, make_http_client
from serving.settings import GatewaySettings
from tests.integration.conftest import running_gateway
from tests.serving.corpus_slice import SliceRetriever
from tests.support.fake_vllm import FakeModelServer

pytestmark = pytest.mark.integration

QUESTION = "Is fair use of a copyrighted work for teaching an infringement?"


def _settings(keys: Path | None, **values) -> GatewaySettings:
    return GatewaySettings(_env_file=None, api_keys_file=keys, **values)  # type: ignore[call-arg]


@pytest.fixture
def key(tmp_path) -> tuple[Path, str, dict[str, str]]:
    path = tmp_path / "keys.json"
    k = add_key(path, "faults", rate_per_minute=1_000_000)
    return path, k, {"Authorization": f"Bearer {k}"}


def _raw_request(port: int, request: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request)
    return s


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _post(path: str, body: bytes, headers: dict[str, str], length: int | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _timed_ask(url: str, headers: dict[str, str]) -> tuple[httpx.Response, float]:
    """A JSON ask of QUESTION and the seconds it took."""
    start = time.monotonic()
    r = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, headers=headers, timeout=30)
    return r, time.monotonic() - start


def _abort(s: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed or killed client does."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


# -- the model server ---------------------------------------------------------------------


def test_hung_model_server_costs_an_ask_its_deadline_and_readiness_stays_fast(key):
    keys, _, headers = key
    with FakeModelServer("hung") as hung:
        settings = _settings(keys, vllm_url=hung.url, vllm_total_timeout_s=3.0, vllm_retries=1)
        app = create_app(settings, retriever=SliceRetriever())
        with running_gateway(app) as url, httpx.Client(base_url=url, timeout=30) as c:
            asks: list[tuple[float, httpx.Response]] = []

            def timed(body: dict) -> tuple[float, httpx.Response]:
                start = time.monotonic()
                r = c.post("/v1/ask", json=body, headers=headers)
                return time.monotonic() - start, r

            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                futures = [
                    pool.submit(timed, {"question": QUESTION}),
                    pool.submit(timed, {"question": QUESTION, "stream": True}),
                ]
                # readiness while asks wait on the hung server: fast, and honest
                hung.wait_for_chat(1)
                for _ in range(5):
                    start = time.monotonic()
                    r = c.get("/readyz")
                    assert time.monotonic() - start < 1.0
                    assert r.status_code == 200 and r.json()["status"] == "degraded"
                    assert r.json()["generator"]["error"] == "timeout"
                asks = [f.result() for f in futures]
            for took, r in asks:
                assert r.status_code == 200
                assert 2.9 < took < 3.0 + 2.0, took  # the deadline, then the extractive answer
            body = asks[0][1].json()
            assert body["degraded"] is True and body["degraded_reason"] == "timeout"
            assert body["mode"] == "extractive" and body["verification"]["all_verified"]
            assert "event: degraded" in asks[1][1].text and "event: done" in asks[1][1].text
        # the gateway closed its side of every hung request at the deadline
        assert all(r.closed is not None for r in hung.chat_requests())


def _count(server: FakeModelServer) -> int:
    """`VllmGenerator.count_tokens` of one message against `server`, on a fresh client."""

    async def main() -> int:
        config = VllmConfig(server.url, connect_timeout_s=1.0)
        async with make_http_client(config) as client:
            return await VllmGenerator(client, config).count_tokens(
                [{"role": "user", "content": QUESTION}], "base"
            )

    return asyncio.run(main())


def test_a_token_count_whose_connection_breaks_unanswered_is_sent_once_more():
    # a pooled keep-alive connection the server closed as it was reused breaks before any
    # answer; counting changes nothing, so the count is asked again on a fresh connection
    with FakeModelServer("hung", drop_tokenize=1) as server:
        assert _count(server) > 0
        tokenize = [r for r in server.requests if r.path.endswith("/tokenize")]
        assert len(tokenize) == 2
    # once only: a server that keeps breaking is unreachable, promptly
    with FakeModelServer("hung", drop_tokenize=2) as server:
        start = time.monotonic()
        with pytest.raises(GeneratorError) as err:
            _count(server)
        assert err.value.reason == "unreachable" and "/tokenize" in str(err.value)
        assert time.monotonic() - start < 2.0
        assert sum(r.path.endswith("/tokenize") for r in server.requests) == 2


def test_a_slow_model_server_costs_an_ask_its_deadline_too(key):
    keys, _, headers = key
    assert GatewaySettings(_env_file=None).vllm_total_timeout_s <= 20  # type: ignore[call-arg]
    with FakeModelServer("trickle", interval_s=0.5) as slow:  # a token every 0.5 s, forever
        settings = _settings(keys, vllm_url=slow.url, vllm_total_timeout_s=2.0)
        app = create_app(settings, retriever=SliceRetriever())
        with running_gateway(app) as url:
            r, took = _timed_ask(url, headers)
        assert r.status_code == 200 and r.json()["degraded_reason"] == "timeout"
        assert 1.9 < took < 2.0 + 2.0, took
        (seen,) = slow.chat_requests()
        assert seen.closed is not None  # the generation was stopped at the deadline


def test_a_generation_cut_at_its_deadline_is_logged_as_that_not_as_a_stall():
    async def main() -> None:
        config = VllmConfig(slow.url, total_timeout_s=1.0)
        async with make_http_client(config) as client:
            messages = [{"role": "user", "content": QUESTION}]
            async for _ in VllmGenerator(client, config).stream(
                messages, model="base", max_tokens=1000
            ):
                pass

    with FakeModelServer("trickle", interval_s=0.2) as slow, pytest.raises(GeneratorError) as err:
        asyncio.run(main())
    assert err.value.reason == "timeout"
    assert "exceeded its deadline (1 s)" in str(err.value)  # it was "no output for 0.1 s"


def test_a_model_server_refusing_the_grounded_grammar_is_asked_with_the_regex(key, caplog):
    # a vLLM started without the llguidance backend cannot compile the grounded-answer grammar
    keys, _, headers = key
    text = "Fair use is not an infringement of copyright [1]."
    with FakeModelServer("say", text=text, refuse_grammar=True) as model:
        app = create_app(_settings(keys, vllm_url=model.url), retriever=SliceRetriever())
        with running_gateway(app) as url, caplog.at_level(logging.WARNING):
            first, _ = _timed_ask(url, headers)
            second, _ = _timed_ask(url, headers)
        asked = [json.loads(r.body)["structured_outputs"] for r in model.chat_requests()]
    assert [first.status_code, second.status_code] == [200, 200]
    for r in (first, second):
        assert r.json()["mode"] == "llm" and r.json()["answer_raw"] == text, r.json()
    # refused once, then the [n] regex, and the gateway stays on it
    assert [next(iter(a)) for a in asked] == ["grammar", "regex", "regex"], asked
    warned = [m for m in caplog.messages if "rejected the grounded-answer grammar" in m]
    assert len(warned) == 1


def test_a_model_that_loops_is_stopped_and_answered_extractively(key):
    keys, _, headers = key
    with FakeModelServer("trickle", interval_s=0.01) as model:  # "word word word …", forever
        settings = _settings(keys, vllm_url=model.url, vllm_total_timeout_s=30.0)
        app = create_app(settings, retriever=SliceRetriever())
        with running_gateway(app) as url:
            r, took = _timed_ask(url, headers)
            body = r.json()
            assert r.status_code == 200 and body["degraded_reason"] == "repetition", body
            assert body["mode"] == "extractive" and body["verification"]["all_verified"]
            assert took < 10, took  # stopped at the loop, not at the 30 s deadline
            (seen,) = model.wait_for_chat(1)
            deadline = time.monotonic() + 5
            while seen.closed is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert seen.closed is not None, "the looping generation was not stopped upstream"
            streamed = httpx.post(f"{url}/v1/ask", json={"question": QUESTION, "stream": True},
                                  headers=headers, timeout=30).text  # fmt: skip
            assert "event: token" in streamed and '"reason": "repetition"' in streamed
            assert streamed.index("event: degraded") < streamed.index("event: citations")
            ready = httpx.get(f"{url}/readyz", timeout=10).json()
            assert ready["generator"]["ok"] is True  # the model misbehaved; the server is up


def test_a_departed_client_cancels_its_generation(key):
    keys, _, headers = key
    with FakeModelServer("trickle", interval_s=0.1) as model:
        settings = _settings(keys, vllm_url=model.url, vllm_total_timeout_s=60.0)
        app = create_app(settings, retriever=SliceRetriever())
        with running_gateway(app) as url:
            port = _port(url)
            # JSON answer: nothing is sent until it is done, the client leaves meanwhile
            body = json.dumps({"question": QUESTION}).encode()
            s = _raw_request(port, _post("/v1/ask", body, headers))
            (seen,) = model.wait_for_chat(1)
            time.sleep(0.3)
            _abort(s)
            deadline = time.monotonic() + 5
            while seen.closed is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert seen.closed is not None, "the generation went on after the client left"
            assert seen.closed - seen.arrived < 3.0
            # streamed answer: the client reads a few tokens, then leaves
            body = json.dumps({"question": QUESTION, "stream": True}).encode()
            s = _raw_request(port, _post("/v1/ask", body, headers))
            received = b""
            while received.count(b"event: token") < 2:
                received += s.recv(65536)
            _abort(s)
            second = model.wait_for_chat(2)[1]
            deadline = time.monotonic() + 5
            while second.closed is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert second.closed is not None, "the stream's generation outlived its client"


def test_aborted_streams_log_no_asyncio_warnings(key, caplog):
    keys, _, headers = key
    caplog.set_level(logging.WARNING)
    app = create_app(_settings(keys), retriever=SliceRetriever())
    with running_gateway(app) as url:
        port = _port(url)
        body = json.dumps({"question": QUESTION, "stream": True, "top_k": 20}).encode()
        for _ in range(30):
            s = _raw_request(port, _post("/v1/ask", body, headers))
            s.recv(16)
            _abort(s)
        time.sleep(0.5)
        assert httpx.get(f"{url}/healthz").status_code == 200
    noisy = [r for r in caplog.records if r.name.startswith(("asyncio", "uvicorn.error"))]
    assert not noisy, [r.getMessage() for r in noisy[:5]]


# -- clients that misbehave ----------------------------------------------------------------


def test_short_and_oversized_bodies_do_not_hold_connections(key):
    keys, _, headers = key
    settings = _settings(keys, body_read_timeout_s=1.0, max_body_bytes=64 * 1024)
    app = create_app(settings, retriever=SliceRetriever())
    with running_gateway(app) as url:
        port = _port(url)
        # 50 clients announce 1000 bytes, send 10, and wait: each gets 408 and is closed
        start = time.monotonic()
        socks = [
            _raw_request(port, _post("/v1/ask", b'{"questio', {}, length=1000)) for _ in range(50)
        ]
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200  # still serving
        for s in socks:
            s.settimeout(5)
            data = b""
            while chunk := s.recv(65536):
                data += chunk  # until the gateway closes the connection
            assert data.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in data
            s.close()
        assert time.monotonic() - start < 5

        # an oversized chunked body (no Content-Length) is 413, not 400
        def chunks():
            for _ in range(50):
                yield b" " * 4096

        r = httpx.post(f"{url}/v1/ask", content=chunks(), headers={**headers,
                       "Content-Type": "application/json"})  # fmt: skip
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_a_flood_of_wrong_keys_is_rate_limited_and_leaves_memory_bounded(key):
    keys, good, headers = key
    # one failure a minute refills: the budget is the burst, however slow the machine
    settings = _settings(keys, auth_failures_per_minute=1, auth_failure_burst=10)
    app = create_app(settings, retriever=SliceRetriever())
    key_id = good.split("_")[1]
    with running_gateway(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        codes: dict[int, int] = {}
        for i in range(400):
            wrong = f"jk_{key_id}_{os.urandom(8).hex()}" if i % 2 else f"jk_{i:08x}_x"
            r = c.post("/v1/search", json={"query": "fair use"}, headers={"X-API-Key": wrong})
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
            if r.status_code == 429:
                assert int(r.headers["Retry-After"]) >= 1
                assert r.json()["error"]["code"] == "rate_limited"
        assert codes.get(401, 0) <= 11 and codes[429] >= 389 and set(codes) == {401, 429}
        # the right key still works, from the same address, during the flood
        assert c.post("/v1/search", json={"query": "fair use"}, headers=headers).status_code == 200
        store = app.state.keys
        assert len(store._verified) <= 1  # only successes are cached
        assert len(store.failures) <= 2  # one address, one known key id


def test_keys_file_rewritten_in_place_under_load_loses_no_request(key):
    keys, _, headers = key
    app = create_app(_settings(keys), retriever=SliceRetriever())
    text = keys.read_text()
    stop = threading.Event()

    def rewrite() -> None:  # an editor or `cat > file` that writes in place, in pieces
        while not stop.is_set():
            with open(keys, "w") as fh:
                fh.write(text[: len(text) // 2])
                fh.flush()
                time.sleep(0.02)
                fh.write(text[len(text) // 2 :])
            time.sleep(0.02)

    with running_gateway(app) as url:
        writer = threading.Thread(target=rewrite)
        writer.start()
        try:
            with httpx.Client(base_url=url, timeout=10) as c:
                statuses = []
                end = time.monotonic() + 4
                while time.monotonic() < end:
                    r = c.post("/v1/search", json={"query": "fair use"}, headers=headers)
                    statuses.append(r.status_code)
        finally:
            stop.set()
            writer.join()
    assert len(statuses) > 20 and set(statuses) == {200}, sorted(set(statuses))


# -- the index ------------------------------------------------------------------------------


@pytest.fixture
def index_copy(index_slice, tmp_path) -> IndexSettings:
    """A private copy of the index slice, to break."""
    dst = tmp_path / "index"
    subprocess.run(
        ["cp", "-a", "--sparse=always", str(index_slice.qdrant_path), str(dst)], check=True
    )
    return index_slice.model_copy(update={"qdrant_path": dst})


def _build_dir(settings: IndexSettings) -> Path:
    (build,) = (settings.qdrant_path / "builds").iterdir()
    return build


def _corrupt_segments(build: Path) -> None:
    """16 KB of noise at the start of every segment file."""
    for f in (build / "segments").rglob("*"):
        if f.is_file():
            with open(f, "r+b") as fh:
                fh.write(os.urandom(16 * 1024))


def _gateway_over(settings: IndexSettings, keys: Path):
    retriever = open_retriever(settings)
    return retriever, create_app(_settings(keys), retriever=retriever)


@pytest.mark.parametrize("fault", ["corrupt_segments", "deleted_segments", "garbage_pointer"])
def test_an_unreadable_index_fails_fast_with_a_reason_and_one_log_line(
    fault, index_copy, key, caplog
):
    keys, _, headers = key
    build = _build_dir(index_copy)
    if fault == "corrupt_segments":
        _corrupt_segments(build)
        reason = "cannot be opened"
    elif fault == "deleted_segments":
        shutil.rmtree(build / "segments")
        shutil.rmtree(build / "wal")
        reason = "points where its build recorded"
    else:
        (index_copy.qdrant_path / "juris.current").write_text("\x00garbage{")
        reason = "pointer cannot be read"
    caplog.set_level(logging.INFO)
    retriever, app = _gateway_over(index_copy, keys)
    try:
        with running_gateway(app) as url:

            def search(_: int) -> tuple[float, httpx.Response]:
                start = time.monotonic()
                r = httpx.post(f"{url}/v1/search", json={"query": "fair use"}, headers=headers,
                               timeout=30)  # fmt: skip
                return time.monotonic() - start, r

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                results = list(pool.map(search, range(48)))
            for took, r in results:
                assert took < 2.0, took
                assert r.status_code == 503, r.text
                error = r.json()["error"]
                assert error["code"] == "index_unavailable"
                assert str(index_copy.qdrant_path) not in error["message"]
                assert "/tmp" not in error["message"] and "/builds/" not in error["message"]
            assert reason in results[0][1].json()["error"]["message"]
            start = time.monotonic()
            ready = httpx.get(f"{url}/readyz", timeout=5)
            assert time.monotonic() - start < 1.0
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
            assert reason in ready.json()["index"]["error"]
            assert "/tmp" not in ready.text
            r = httpx.get(f"{url}/v1/documents/fre:702", headers=headers, timeout=10)
            assert r.status_code == 503 and "/tmp" not in r.text
    finally:
        retriever.close()
    causes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(causes) == 1, [r.getMessage() for r in causes]
