"""While a build fills: `GET /v1/index/status` (API key required), `/readyz`'s fields, and the
note on search and ask results whose filters ask for a source not indexed yet. The status is
a real `BuildTracker`'s over the real corpus units, part-way through."""

from __future__ import annotations

import pytest

from indexing.status import BuildTracker
from legal_corpus.adapters import discover_units

ASK = {"question": "What is fair use of a copyrighted work?"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class _Doc:
    def __init__(self, source: str) -> None:
        from datetime import date

        from legal_corpus.model import Version

        self.source = source
        self.version = Version("x", date(2000, 1, 1), None)


@pytest.fixture
def filling(corpus_dir) -> dict:
    """US Code and GDPR in, the AILA judgments not yet (a build part-way through)."""
    units = discover_units(corpus_dir, ["uscode", "gdpr", "aila/casedocs"])
    tracker = BuildTracker(None, "juris_20261203T100000_000001", units, serving=True)
    for u in units:
        if u.source != "aila/casedocs":
            tracker.unit_read(u)
    for source, n in (("uscode", 50), ("gdpr", 20)):
        for _ in range(n):
            tracker.document_read(_Doc(source))
            tracker.documents_written(_Doc(source), 3)
    status = tracker.snapshot()
    status["current"] = status["build"]
    return status


@pytest.mark.unit
def test_status_endpoint_needs_a_key_and_says_what_is_pending(client, retriever, user_key, filling):
    retriever.index_status = lambda: filling
    assert client.get("/v1/index/status").status_code == 401
    body = client.get("/v1/index/status", headers=auth(user_key)).json()
    assert body["state"] == "filling" and body["serving"] is True
    assert body["sources_done"] == ["uscode", "gdpr"]
    assert body["sources_pending"] == ["aila/casedocs"]
    assert body["passages"] == 210 and body["passages_estimated"] > 210
    assert body["sources"]["aila/casedocs"]["state"] == "pending"


@pytest.mark.unit
def test_no_status_is_unknown(client, user_key):
    body = client.get("/v1/index/status", headers=auth(user_key)).json()
    assert body["state"] == "unknown" and body["current"] == "memory_slice_1"


@pytest.mark.unit
def test_readyz_says_the_index_is_filling(client, retriever, filling):
    retriever.index_status = lambda: filling
    body = client.get("/readyz").json()
    assert body["index"]["filling"] is True
    assert body["index"]["sources_pending"] == "aila/casedocs"
    assert body["index"]["sources_done"] == "uscode, gdpr"
    retriever.index_status = lambda: {**filling, "state": "complete"}
    assert client.get("/readyz").json()["index"]["filling"] is False


@pytest.mark.unit
def test_results_note_a_pending_source_their_filters_ask_for(client, retriever, user_key, filling):
    retriever.index_status = lambda: filling
    r = client.post("/v1/search", json={"query": "fair use"}, headers=auth(user_key)).json()
    assert r["index_note"]["pending_sources"] == ["aila/casedocs"]
    assert "not fully indexed yet: aila/casedocs" in r["index_note"]["message"]
    only_us = {"query": "fair use", "jurisdiction": "us"}
    assert (
        client.post("/v1/search", json=only_us, headers=auth(user_key)).json()["index_note"] is None
    )
    statutes = {**ASK, "kind": "statute"}
    assert (
        client.post("/v1/ask", json=statutes, headers=auth(user_key)).json()["index_note"] is None
    )
    opinions = {**ASK, "kind": "opinion"}
    note = client.post("/v1/ask", json=opinions, headers=auth(user_key)).json()["index_note"]
    assert note["pending_sources"] == ["aila/casedocs"]
    streamed = client.post("/v1/ask", json={**opinions, "stream": True}, headers=auth(user_key))
    assert '"index_note": {"pending_sources": ["aila/casedocs"]' in streamed.text


@pytest.mark.unit
def test_an_incomplete_build_that_searches_use_is_said_to_be_so(
    client, retriever, user_key, filling
):
    """A demo stopped while its build filled: searches stay on that build until one completes,
    and `/readyz` and every result whose filters reach a missing source say so."""
    stopped = {**filling, "state": "failed", "error": "BuildStopped: build … stopped after 210"}
    retriever.index_status = lambda: stopped
    index = client.get("/readyz").json()["index"]
    assert index["filling"] is False and index["incomplete"] is True
    assert index["sources_pending"] == "aila/casedocs" and index["passages"] == 210
    assert index["build_error"].startswith("BuildStopped")
    r = client.post("/v1/search", json={"query": "fair use"}, headers=auth(user_key)).json()
    assert r["index_note"]["pending_sources"] == ["aila/casedocs"]
    said = r["index_note"]["message"]
    assert "the build this index serves stopped before it was complete" in said
    # a failed build that searches do not use (the previous complete build serves): nothing missing
    retriever.index_status = lambda: {**stopped, "current": "juris_20261202T100000_000001"}
    index = client.get("/readyz").json()["index"]
    assert index["filling"] is False and "incomplete" not in index
    r = client.post("/v1/search", json={"query": "fair use"}, headers=auth(user_key)).json()
    assert r["index_note"] is None
