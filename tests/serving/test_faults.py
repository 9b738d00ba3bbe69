"""Faults and limits that need no server process: readiness bounds, the auth path's memory
and rate of failures, the keys file under rewrite, bodies, methods, the schema, headers and
the local `/docs` (the socket-level faults are in tests/integration/test_faults.py)."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from pathlib import Path

import pytest
import yaml

from serving.auth import FailureLimiter, KeyStore, add_key
from serving.errors import RateLimited, Unauthorized, scrub_paths
from serving.security_headers import CSP
from tests.serving.conftest import make_client
from tests.serving.corpus_slice import SliceRetriever

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
ASK = {"question": "Is fair use of a copyrighted work for teaching an infringement?"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class HangingRetriever(SliceRetriever):
    """The in-memory slice whose readiness check never answers (an index wedged in a lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.checks = 0

    def check(self) -> dict[str, object]:
        self.checks += 1
        self.release.wait(30)
        return super().check()


class PathLeakingRetriever(SliceRetriever):
    def search(self, *args, **kwargs):
        from indexing.retrieve import IndexUnavailable

        raise IndexUnavailable("failed to load segment /var/lib/juris/qdrant/builds/juris_1/x")


class WarmingRetriever(SliceRetriever):
    """The in-memory slice whose searches wait for per-build tables until `tables` is set,
    and which says it is warming meanwhile only when `says_warming` (a retriever can also be
    slow for other reasons: then the timeout is not a warm-up)."""

    def __init__(self, says_warming: bool = True) -> None:
        super().__init__()
        self.tables = threading.Event()
        self.says_warming = says_warming

    def warming(self) -> bool:
        return self.says_warming and not self.tables.is_set()

    def search(self, *args, **kwargs):
        self.tables.wait(30)
        return super().search(*args, **kwargs)


# -- readiness ------------------------------------------------------------------------------


def test_readiness_answers_within_its_bound_when_the_index_hangs():
    retriever = HangingRetriever()
    try:
        with make_client(retriever, ready_check_timeout_s=0.5) as c:
            for _ in range(3):
                start = time.monotonic()
                r = c.get("/readyz")
                assert time.monotonic() - start < 1.0
                assert r.status_code == 503 and r.json()["status"] == "unavailable"
                assert "did not answer" in r.json()["index"]["error"]
            assert retriever.checks == 1  # one stuck check, not one per probe
    finally:
        retriever.release.set()


def test_index_errors_reach_clients_without_server_paths():
    assert scrub_paths("at /var/lib/x/y.dat: bad") == "at <path>: bad"
    assert scrub_paths("GET http://vllm:8000/v1/models") == "GET http://vllm:8000/v1/models"
    with make_client(PathLeakingRetriever()) as c:
        r = c.post("/v1/search", json={"query": "fair use"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "index_unavailable"
        assert "/var/lib" not in r.text and "<path>" in r.text


def test_a_question_while_the_tables_compute_is_told_to_retry_and_then_answers():
    retriever = WarmingRetriever()
    try:
        with make_client(retriever, retrieval_timeout_s=0.3) as c:
            for path, body in (("/v1/search", {"query": "fair use"}), ("/v1/ask", ASK)):
                r = c.post(path, json=body)
                assert r.status_code == 503, r.text
                assert r.json()["error"]["code"] == "index_warming_up"
                assert "preparing the tables" in r.json()["error"]["message"]
                assert r.headers["Retry-After"] == "5"
            retriever.tables.set()  # the tables are in: the same question answers
            r = c.post("/v1/search", json={"query": "fair use"})
            assert r.status_code == 200 and r.json()["passages"]
            assert c.post("/v1/ask", json=ASK).status_code == 200
    finally:
        retriever.tables.set()


def test_the_demo_asks_again_while_the_index_warms_up(keys_file, user_key, capsys, monkeypatch):
    from serving.app import create_app
    from serving.lab import demo
    from serving.lab.server import running_server
    from serving.settings import GatewaySettings

    retriever = WarmingRetriever()
    waits: list[float] = []

    real_sleep = time.sleep

    def sleep(seconds: float) -> None:  # the demo waits `Retry-After`; the tables come in
        if seconds < 1:  # the server's own polling
            real_sleep(seconds)
            return
        waits.append(seconds)
        retriever.tables.set()

    monkeypatch.setattr(demo.time, "sleep", sleep)
    settings = GatewaySettings(  # type: ignore[call-arg]
        _env_file=None, api_keys_file=keys_file, retrieval_timeout_s=0.3
    )
    try:
        with running_server(create_app(settings, retriever=retriever)) as url:
            final = demo.stream_answer(url, user_key, ASK["question"], None)
    finally:
        retriever.tables.set()
    assert final is not None and final["citations"]
    assert waits == [5]
    out = capsys.readouterr().out
    assert "the index is still preparing its tables; asking again in 5 s" in out
    assert "ask failed" not in out


def test_a_slow_index_that_is_not_warming_is_unavailable_not_warming_up():
    retriever = WarmingRetriever(says_warming=False)
    try:
        with make_client(retriever, retrieval_timeout_s=0.3) as c:
            r = c.post("/v1/search", json={"query": "fair use"})
            assert r.status_code == 503 and r.json()["error"]["code"] == "index_unavailable"
            assert "did not answer within 0.3 s" in r.json()["error"]["message"]
            assert "Retry-After" not in r.headers
    finally:
        retriever.tables.set()


def test_probe_settings_in_deploy_match_the_readiness_bound():
    from serving.settings import GatewaySettings

    bound = GatewaySettings(_env_file=None).ready_check_timeout_s  # type: ignore[call-arg]
    docs = list(yaml.safe_load_all((ROOT / "deploy/k8s/base/gateway.yaml").read_text()))
    deployment = next(d for d in docs if d and d.get("kind") == "Deployment")
    (gateway,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "gateway"
    ]
    probe = gateway["readinessProbe"]
    assert probe["httpGet"]["path"] == "/readyz"
    assert probe["timeoutSeconds"] >= math.ceil(bound) + 1  # the answer comes well within
    assert probe["timeoutSeconds"] < probe["periodSeconds"]


# -- the auth path --------------------------------------------------------------------------


def test_failed_key_checks_are_limited_per_address_and_memory_stays_bounded(tmp_path):
    keys = tmp_path / "keys.json"
    good = add_key(keys, "alice")
    limiter = FailureLimiter(per_minute=1, burst=5, max_subjects=100)
    store = KeyStore(keys, failures=limiter)
    key_id = good.split("_")[1]
    outcomes = []
    for i in range(2000):
        wrong = f"jk_{key_id}_{i:06d}" if i % 2 else f"jk_{i:08x}_secret"
        try:
            store.authenticate(wrong, client=f"10.0.{i % 7}.1")
        except Unauthorized:
            outcomes.append(401)
        except RateLimited as err:
            outcomes.append(429)
            assert int(err.headers["Retry-After"]) >= 1
    assert outcomes.count(401) <= 7 * 5 and outcomes.count(429) >= 1900
    assert store.authenticate(good, client="10.0.0.1").name == "alice"  # never locked out
    assert len(store._verified) == 1 and len(limiter) <= 100
    # addresses beyond the bound evict the oldest buckets: memory stays bounded
    for i in range(500):
        limiter.fail([f"addr:192.168.{i // 250}.{i % 250}"])
    assert len(limiter) == 100


def test_the_keys_file_unreadable_keeps_the_last_good_keys(tmp_path, caplog):
    keys = tmp_path / "keys.json"
    good = add_key(keys, "alice")
    store = KeyStore(keys, min_check_interval_s=0)
    text = keys.read_text()
    for broken in ("", text[: len(text) // 2], "\xff\xfe not json"):
        keys.write_text(broken, encoding="latin-1")
        assert store.authenticate(good).name == "alice"
    keys.unlink()  # an editor's rename-and-write leaves it missing for a moment
    assert store.authenticate(good).name == "alice"
    assert sum("keeping the last good keys" in r.getMessage() for r in caplog.records) <= 4
    keys.write_text(text)
    second = add_key(keys, "bob")  # the file is good again: new keys count
    assert store.authenticate(second).name == "bob"


def test_keys_are_written_atomically_and_privately(tmp_path):
    keys = tmp_path / "keys.json"
    add_key(keys, "alice")
    add_key(keys, "bob", admin=True)
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temporary left behind
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    assert [k["name"] for k in json.loads(keys.read_text())["keys"]] == ["alice", "bob"]


# -- bodies, methods, schema -------------------------------------------------------------


def test_a_chunked_body_over_the_limit_is_413(client, user_key):
    def chunks():
        for _ in range(50):  # 200 KB, no Content-Length
            yield b" " * 4096

    r = client.post("/v1/ask", content=chunks(), headers={**auth(user_key),
                    "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_wrong_methods_are_405_with_allow_and_unknown_paths_404(client, user_key):
    r = client.get("/v1/ask", headers=auth(user_key))
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert r.json()["error"]["code"] == "method_not_allowed"
    r = client.delete("/v1/documents/usc:17/107", headers=auth(user_key))
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    r = client.post("/healthz")
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.get("/").status_code == 200  # the web page is still at /


def test_the_schema_declares_the_errors_and_the_enforced_question_length(retriever):
    with make_client(retriever, max_question_chars=1500) as c:
        schema = c.get("/openapi.json").json()
        too_long = c.post("/v1/ask", json={"question": "x" * 1501})
    props = schema["components"]["schemas"]
    assert props["AskRequest"]["properties"]["question"]["maxLength"] == 1500
    assert props["SearchRequest"]["properties"]["query"]["maxLength"] == 1500
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "question_too_long"
    ask = schema["paths"]["/v1/ask"]["post"]["responses"]
    for status in ("401", "408", "413", "422", "429", "503"):
        ref = ask[status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorResponse"), (status, ref)
    assert "Retry-After" in ask["429"]["headers"]
    assert "HTTPValidationError" not in json.dumps(schema)  # 422 has the gateway's error shape
    admin = schema["paths"]["/v1/admin/keys"]["get"]["responses"]
    assert {"401", "403", "429"} <= set(admin)


# -- headers and /docs ---------------------------------------------------------------------


def test_every_response_carries_the_security_headers(client, user_key):
    for r in (
        client.get("/"),
        client.get("/healthz"),
        client.post("/v1/ask", json=ASK),  # 401
        client.post("/v1/search", json={"query": "fair use"}, headers=auth(user_key)),
        client.get("/docs"),
    ):
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/").headers["Content-Security-Policy"] == CSP


def test_docs_are_served_from_local_assets_without_inline_script(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"https?://", page.text), "the docs page loads something remote"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        r = client.get(src)
        assert r.status_code == 200, src
        assert len(r.content) > 100
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert client.get("/docs/../serving/app.py").status_code == 404
    assert client.get("/redoc").status_code == 404  # it would load from a CDN


def test_docs_can_be_turned_off(retriever):
    with make_client(retriever, docs_enabled=False) as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/openapi.json").status_code == 200
