"""The gateway over a real vLLM server (tiny model + LoRA adapter) and the index slice."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from serving.app import create_app
from serving.settings import GatewaySettings
from tests.integration.conftest import running_gateway

pytestmark = pytest.mark.integration

QUESTION = "Is the fair use of a copyrighted work for teaching an infringement of copyright?"
SOURCE_STATUSES = {"verified", "misquoted", "misattributed", "not_in_sources"}
LEGAL_STATUSES = {"verified", "in_corpus", "unknown"}


def llm_settings(vllm_url: str, keys_file, **overrides) -> GatewaySettings:
    """Gateway settings that fit the tiny model's 1024-token context."""
    values = dict(
        vllm_url=vllm_url,
        api_keys_file=keys_file,
        top_k=3,
        vllm_max_tokens=48,
        prompt_max_chars=1500,
        prompt_max_chars_per_source=500,
        vllm_first_token_timeout_s=60,
        vllm_total_timeout_s=120,
        # the random model's babble may repeat itself, depending on the passages retrieved;
        # these tests are about the plumbing, and the loop guard has its own
        # (tests/integration/test_faults.py, tests/serving/test_repetition.py)
        repetition_stop_chars=0,
        # nor does its babble cite its sources (the set-aside: tests/serving/test_uncited.py)
        set_aside_uncited=False,
    )
    values.update(overrides)
    return GatewaySettings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def llm_gateway(vllm_server, slice_retriever, gateway_keys) -> Iterator[tuple[str, dict, object]]:
    keys_file, user, _admin = gateway_keys
    app = create_app(llm_settings(vllm_server.url, keys_file), retriever=slice_retriever)
    with running_gateway(app) as url:
        yield url, {"Authorization": f"Bearer {user}"}, app


def ask(url: str, headers: dict, **body) -> dict:
    r = httpx.post(f"{url}/v1/ask", json={"question": QUESTION, **body}, headers=headers,
                   timeout=180)  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def test_json_answer_from_vllm_is_checked(llm_gateway):
    url, headers, _ = llm_gateway
    body = ask(url, headers)
    assert body["mode"] == "llm" and body["model"] == "base" and body["degraded"] is False
    assert body["answer_raw"].strip()
    assert 1 <= len(body["passages"]) <= 3
    assert body["index_version"]
    for c in body["citations"]:
        assert c["status"] in (SOURCE_STATUSES if c["kind"] == "source" else LEGAL_STATUSES)
        if c["status"] == "verified" and c["kind"] == "source":
            assert 1 <= c["n"] <= len(body["passages"])
    # the structured-output constraint keeps [n] within the sources given
    assert all(c["status"] != "not_in_sources" for c in body["citations"])
    v = body["verification"]
    assert v["unsupported_claims"] == len(v["unsupported"])
    assert v["all_verified"] == (
        not v["unsupported"] and all(c["status"] == "verified" for c in body["citations"])
    )


def test_streamed_answer_from_vllm(llm_gateway):
    url, headers, _ = llm_gateway
    events = []
    with httpx.stream("POST", f"{url}/v1/ask", json={"question": QUESTION, "stream": True},
                      headers=headers, timeout=180) as r:  # fmt: skip
        assert r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert kinds[-2:] == ["citations", "done"] and kinds.count("token") >= 2
    final = events[-2][1]
    assert final["mode"] == "llm" and final["degraded"] is False
    assert "".join(d["text"] for k, d in events if k == "token") == final["answer_raw"]


def test_model_name_selects_the_lora_adapter(llm_gateway):
    url, headers, _ = llm_gateway
    base = ask(url, headers, model="base")
    legal = ask(url, headers, model="legal")
    assert base["model"] == "base" and legal["model"] == "legal"
    assert legal["mode"] == "llm"
    # greedy decoding: the same prompt gives the same text, so a difference is the adapter's
    assert ask(url, headers, model="base")["answer_raw"] == base["answer_raw"]
    assert legal["answer_raw"] != base["answer_raw"]
    r = httpx.post(f"{url}/v1/ask", json={"question": QUESTION, "model": "nope"},
                   headers=headers, timeout=60)  # fmt: skip
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_model"


def test_openai_client_works_against_the_gateway(llm_gateway):
    openai = pytest.importorskip("openai")
    url, headers, _ = llm_gateway
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=headers["Authorization"][7:])
    reply = client.chat.completions.create(
        model="legal", messages=[{"role": "user", "content": QUESTION}]
    )
    assert reply.model == "legal" and reply.choices[0].message.content
    assert reply.model_extra is not None and "sources" in reply.model_extra
    pieces = list(client.chat.completions.create(
        model="base", messages=[{"role": "user", "content": QUESTION}], stream=True
    ))  # fmt: skip
    assert pieces[-1].choices[0].finish_reason == "stop"


def test_verification_statuses_against_the_index(llm_gateway, slice_retriever):
    _url, _, app = llm_gateway
    pipeline = app.state.pipeline
    from indexing.model import SearchFilters

    given = slice_retriever.search(QUESTION, 2, SearchFilters())
    assert given, "the slice answers the question"
    other = next(
        p.chunk for p in slice_retriever.search("expert witness testimony data erasure", 10,
                                                SearchFilters())
        if p.chunk.doc_id not in {g.chunk.doc_id for g in given}
    )  # fmt: skip
    quote = " ".join(given[0].chunk.text.split()[:8])
    answer = (
        f"It is settled that ##begin_quote##{quote}##end_quote## [1]. "
        f"The same is said in a source never given [5]. "
        f"Compare {other.doc_citation}, which also applies [1]. "
        "Claims may also arise under 42 U.S.C. § 1983 [2]."
    )
    report = pipeline.verifier.verify(answer, given)
    got = {(c.kind, c.text.strip()): c.status for c in report.citations}
    assert [c.status for c in report.citations if c.kind == "source"] == [
        "verified", "not_in_sources", "verified", "misattributed"
    ]  # fmt: skip
    assert got[("legal", other.doc_citation)] == "in_corpus"
    assert got[("legal", "42 U.S.C. § 1983")] == "unknown"
    # the sentence citing [5], and the one whose [2], right after § 1983, is other law
    assert len(report.unsupported) == 2


def test_readyz_and_metrics_see_the_generator(llm_gateway):
    url, _, _ = llm_gateway
    ready = httpx.get(f"{url}/readyz", timeout=30).json()
    assert ready["status"] == "ready"
    assert set(ready["generator"]["models"]) >= {"base", "legal"}
    metrics = httpx.get(f"{url}/metrics", timeout=30).text
    assert 'juris_stage_duration_seconds_count{backend="vllm",stage="generation"}' in metrics
    assert 'juris_generated_tokens_total{model="legal"}' in metrics


def test_search_and_documents_over_the_real_index(llm_gateway):
    url, headers, _ = llm_gateway
    r = httpx.post(f"{url}/v1/search", json={"query": "fair use of a copyrighted work"},
                   headers=headers, timeout=60)  # fmt: skip
    passages = r.json()["passages"]
    assert r.status_code == 200 and passages
    assert any(p["doc_id"] == "usc:17/107" for p in passages)
    doc = httpx.get(f"{url}/v1/documents/usc:17/107", headers=headers, timeout=60).json()
    assert doc["doc_id"] == "usc:17/107" and doc["sections"]
    assert all(s["anchor"].startswith("p-") for s in doc["sections"])
    old = httpx.get(f"{url}/v1/documents/fre:702", params={"as_of": "2015-06-01"},
                    headers=headers, timeout=60).json()  # fmt: skip
    new = httpx.get(f"{url}/v1/documents/fre:702", params={"as_of": "2024-06-01"},
                    headers=headers, timeout=60).json()  # fmt: skip
    assert old["version"] != new["version"] and len(new["versions"]) >= 2
    text_old = " ".join(s["text"] for s in old["sections"])
    text_new = " ".join(s["text"] for s in new["sections"])
    assert "more likely than not" in text_new and "more likely than not" not in text_old
