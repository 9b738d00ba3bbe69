"""The HTTP API over the provisions slice, extractive backend: auth, limits, errors, shapes."""

from __future__ import annotations

import json
import logging
import os
import time

import pytest

from serving.auth import add_key, hash_key, read_keys_file, revoke_key
from serving.settings import GatewaySettings
from tests.serving.conftest import make_client

pytestmark = pytest.mark.unit

ASK = {"question": "Is fair use of a copyrighted work for teaching an infringement?"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sse_events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_missing_wrong_and_revoked_keys_are_401(client, keys_file, user_key):
    r = client.post("/v1/ask", json=ASK)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = client.post("/v1/ask", json=ASK, headers=auth(user_key[:-2] + "xx"))
    assert r.status_code == 401 and r.json()["error"]["message"] == "invalid API key"
    r = client.post("/v1/ask", json=ASK, headers=auth("not-a-juris-key"))
    assert r.status_code == 401
    assert client.post("/v1/ask", json=ASK, headers={"X-API-Key": user_key}).status_code == 200
    assert revoke_key(keys_file, "alice") == 1
    os.utime(keys_file, ns=(time.time_ns(), time.time_ns() + 10**9))  # mtime surely changes
    time.sleep(0.6)  # the store looks at the file at most every 0.5 s
    r = client.post("/v1/ask", json=ASK, headers=auth(user_key))
    assert r.status_code == 401 and r.json()["error"]["message"] == "API key revoked"


def test_keys_file_stores_only_hashes(keys_file, user_key):
    text = keys_file.read_text()
    assert user_key not in text
    assert read_keys_file(keys_file)[0].hash == hash_key(user_key)
    assert oct(keys_file.stat().st_mode & 0o777) == "0o600"


def test_pbkdf2_hashed_key_authenticates(retriever, tmp_path):
    keys = tmp_path / "k.json"
    key = add_key(keys, "bob", scheme="pbkdf2_sha256")
    assert "pbkdf2_sha256$" in keys.read_text()
    with make_client(retriever, api_keys_file=keys) as c:
        assert (
            c.post("/v1/search", json={"query": "fair use"}, headers=auth(key)).status_code == 200
        )


def test_admin_scope(client, user_key, admin_key):
    r = client.get("/v1/admin/keys", headers=auth(user_key))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = client.get("/v1/admin/keys", headers=auth(admin_key))
    assert r.status_code == 200
    assert {k["name"] for k in r.json()} == {"alice", "root"}
    assert "hash" not in r.text


def test_rate_limit_is_429_with_retry_after(retriever, keys_file, user_key):
    with make_client(
        retriever, api_keys_file=keys_file, rate_limit_per_minute=1, rate_limit_burst=2
    ) as c:
        codes = [
            c.post("/v1/search", json={"query": "fair use"}, headers=auth(user_key)).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        r = c.post("/v1/search", json={"query": "fair use"}, headers=auth(user_key))
        assert r.json()["error"]["code"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1


def test_oversized_body_is_413_and_long_question_422(client, user_key):
    r = client.post(
        "/v1/ask", content=b'{"question": "' + b"a" * 70_000 + b'"}', headers=auth(user_key)
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    r = client.post("/v1/ask", json={"question": "why " * 600}, headers=auth(user_key))
    assert r.status_code == 422 and r.json()["error"]["code"] == "question_too_long"


def test_errors_are_json_with_stable_codes(client, user_key, retriever):
    r = client.get("/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.post("/v1/ask", json={"question": "x", "top_k": 0}, headers=auth(user_key))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert "top_k" in r.json()["error"]["message"]
    r = client.post("/v1/ask", content=b"{not json", headers=auth(user_key))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = client.get("/v1/documents/usc:99/1", headers=auth(user_key))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    retriever.fail = True
    r = client.post("/v1/search", json={"query": "fair use"}, headers=auth(user_key))
    assert r.status_code == 503 and r.json()["error"]["code"] == "index_unavailable"
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "unavailable"


def test_search_one_passage_per_document(client, user_key):
    q = {"query": "fair use of a copyrighted work, reproduction and distribution", "top_k": 10}
    every = client.post("/v1/search", json=q, headers=auth(user_key)).json()["passages"]
    grouped = client.post(
        "/v1/search", json={**q, "group_by_doc": True}, headers=auth(user_key)
    ).json()["passages"]
    docs = [p["doc_id"] for p in grouped]
    assert len(docs) == len(set(docs)) and set(docs) == {p["doc_id"] for p in every}
    assert len(every) > len(grouped)  # some document held several of the passages
    r = client.post("/v1/search", json={**q, "group_by_doc": "sometimes"}, headers=auth(user_key))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_ask_json_extractive(client, user_key):
    r = client.post("/v1/ask", json=ASK, headers=auth(user_key))
    assert r.status_code == 200
    body = r.json()
    assert body["mode"] == "extractive" and body["model"] == "extractive"
    assert body["index_version"] == "memory_slice_1"
    assert body["degraded"] is False
    assert body["verification"]["all_verified"] is True
    assert body["citations"][0]["kind"] == "legal"  # "Under 17 U.S.C. § 107: …"
    first = next(c for c in body["citations"] if c["kind"] == "source")
    assert first["status"] == "verified" and first["doc_id"] == "usc:17/107"
    assert first["quote"] and first["quote"] in body["passages"][first["n"] - 1]["text"]
    assert "“" in body["answer"] and "##begin_quote##" in body["answer_raw"]


def test_ask_stream_events(client, user_key):
    r = client.post("/v1/ask", json={**ASK, "stream": True}, headers=auth(user_key))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    kinds = [k for k, _ in events]
    assert kinds[-2:] == ["citations", "done"] and set(kinds[:-2]) == {"token"}
    streamed = "".join(d["text"] for k, d in events if k == "token")
    final = events[-2][1]
    assert streamed == final["answer_raw"]
    assert final["verification"]["all_verified"]


def test_filters_and_documents_as_of(client, user_key):
    q = {"query": "expert witness testify opinion", "as_of": "2015-01-01"}
    r = client.post("/v1/search", json=q, headers=auth(user_key))
    assert [p["version"] for p in r.json()["passages"]] == ["2011"]
    r = client.post("/v1/search", json={**q, "kind": "statute"}, headers=auth(user_key))
    assert r.json()["passages"] == []
    blank = {**q, "jurisdiction": "", "kind": ""}  # a form's unset filters
    assert client.post("/v1/search", json=blank, headers=auth(user_key)).status_code == 200
    r = client.get("/v1/documents/fre:702", params={"as_of": "2015-01-01"}, headers=auth(user_key))
    doc = r.json()
    assert doc["version"]["label"] == "2011" and len(doc["versions"]) == 2
    assert "more likely than not" not in doc["sections"][0]["text"]
    r = client.get("/v1/documents/fre:702", headers=auth(user_key))
    assert "more likely than not" in r.json()["sections"][0]["text"]
    r = client.get("/v1/documents/usc:17/107", headers=auth(user_key))
    assert [s["anchor"] for s in r.json()["sections"]] == ["p-body", "p-1"]


def test_chat_completions_openai_shape(client, user_key):
    body = {"model": "juris", "messages": [{"role": "user", "content": ASK["question"]}]}
    r = client.post("/v1/chat/completions", json=body, headers=auth(user_key))
    out = r.json()
    assert out["object"] == "chat.completion"
    assert out["choices"][0]["message"]["role"] == "assistant"
    assert "17 U.S.C. § 107" in out["choices"][0]["message"]["content"]
    assert out["sources"][0]["status"] == "verified"
    r = client.post("/v1/chat/completions", json={**body, "stream": True}, headers=auth(user_key))
    lines = [ln[6:] for ln in r.text.splitlines() if ln.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    last = json.loads(lines[-2])
    assert last["choices"][0]["finish_reason"] == "stop" and last["sources"]


def test_health_metrics_and_no_question_in_logs(client, user_key, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["generator"]["backend"] == "extractive"
    secret_q = "Is fair use a defence for my secret client Zanzibar?"
    client.post("/v1/ask", json={"question": secret_q}, headers=auth(user_key))
    assert "Zanzibar" not in caplog.text and user_key not in caplog.text
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["question"] == secret_q and audit[-1]["key"] == "alice"
    metrics = client.get("/metrics").text
    assert 'juris_http_request_duration_seconds_count{method="POST",route="/v1/ask"' in metrics
    assert 'juris_stage_duration_seconds_count{backend="hybrid",stage="retrieval"}' in metrics
    assert 'stage="verification"' in metrics
    assert 'juris_citations_total{kind="source",status="verified"}' in metrics
    assert "juris_errors_total" in metrics


def test_production_refuses_insecure_settings():
    with pytest.raises(ValueError, match="JURIS_API_KEYS_FILE"):
        GatewaySettings(_env_file=None, environment="production")  # type: ignore[call-arg]


def test_web_client_is_served_at_root_without_shadowing_the_api(retriever, tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>Juris</title>")
    with make_client(retriever, web_dir=web) as c:
        assert "<title>Juris</title>" in c.get("/").text
        assert c.get("/docs").status_code == 200
        assert c.get("/openapi.json").json()["info"]["title"] == "Juris gateway"
        r = c.get("/v1/unknown")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert c.get("/healthz").json() == {"status": "ok"}
