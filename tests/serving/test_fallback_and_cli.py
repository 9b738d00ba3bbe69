"""Fallback when vLLM cannot be reached (no server needed), and the keys command line."""

from __future__ import annotations

import json
import time

import pytest

from serving.__main__ import main
from serving.auth import check_hash, read_keys_file
from serving.lab.vllm_process import free_port
from tests.serving.conftest import make_client

pytestmark = pytest.mark.unit


def test_unreachable_vllm_degrades_to_extractive_quickly(retriever):
    dead = f"http://127.0.0.1:{free_port()}"
    with make_client(retriever, vllm_url=dead, vllm_connect_timeout_s=0.5, vllm_retries=1) as c:
        start = time.monotonic()
        r = c.post("/v1/ask", json={"question": "Is fair use an infringement of copyright?"})
        assert time.monotonic() - start < 10
        body = r.json()
        assert r.status_code == 200
        assert body["degraded"] is True and body["degraded_reason"] == "unreachable"
        assert body["mode"] == "extractive" and body["verification"]["all_verified"]
        r = c.post("/v1/ask", json={"question": "fair use", "stream": True})
        events = [b.split("\n")[0] for b in r.text.strip().split("\n\n")]
        assert events[0] == "event: degraded" and events[-2:] == ["event: citations", "event: done"]
        ready = c.get("/readyz").json()
        assert ready["status"] == "degraded" and ready["generator"]["error"] == "unreachable"
        assert 'juris_degraded_answers_total{reason="unreachable"} 2.0' in c.get("/metrics").text


def test_keys_cli_add_list_revoke(tmp_path, capsys):
    path = tmp_path / "keys.json"
    assert main(["keys", "--file", str(path), "add", "carol", "--admin", "--rate", "5"]) == 0
    key = capsys.readouterr().out.strip()
    (record,) = read_keys_file(path)
    assert check_hash(key, record.hash) and record.scopes == ("user", "admin")
    assert record.rate_per_minute == 5 and key not in path.read_text()
    with pytest.raises(ValueError, match="active key named 'carol'"):
        main(["keys", "--file", str(path), "add", "carol"])
    assert main(["keys", "--file", str(path), "revoke", "carol"]) == 0
    assert json.loads(path.read_text())["keys"][0]["revoked"] is True
    assert main(["keys", "--file", str(path), "list"]) == 0
    assert "carol" in capsys.readouterr().out


def test_bad_keys_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text('{"keys": [\n  {"name": "x",}\n]}')
    with pytest.raises(ValueError, match=r"keys.json: line 2"):
        read_keys_file(path)
    path.write_text('{"keys": [{"name": "x"}]}')
    with pytest.raises(ValueError, match=r"keys\[0\]"):
        read_keys_file(path)
