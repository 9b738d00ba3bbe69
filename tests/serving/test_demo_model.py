"""The demo's model server: a bad model directory is said plainly, at once, and never hangs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from serving.lab.demo import ModelServer, _print_rendered

pytestmark = pytest.mark.unit


def test_a_missing_model_directory_is_reported_before_any_server_starts(tmp_path: Path) -> None:
    start = time.monotonic()
    server = ModelServer(tmp_path / "no-model", None, tmp_path / "vllm.log").start()
    assert server.wait() is None
    assert time.monotonic() - start < 10
    assert server.error is not None
    assert str(tmp_path / "no-model") in server.error and "base-model" in server.error
    assert not (tmp_path / "vllm.log").exists()  # nothing was started
    server.stop()


def test_streamed_text_holds_back_a_half_written_quote_marker(capsys) -> None:
    shown = _print_rendered("It provides: ##begin_qu", 0)
    assert capsys.readouterr().out == "It provides: "
    shown = _print_rendered("It provides: ##begin_quote##the fair use", shown)
    shown = _print_rendered("It provides: ##begin_quote##the fair use##end_quote## [1].", shown)
    assert capsys.readouterr().out == "“the fair use” [1]."


def test_the_demo_lists_each_source_once_with_its_worst_status_and_then_the_text_citations(
    capsys,
) -> None:
    """An answer cites `[1]` as often as it quotes it: the terminal shows the source once, as the
    web page does, with the worst status of its markers and the quotes checked, then the
    citations written in the text under their own heading."""
    from serving.lab.demo import print_answer

    def cited(n, kind, citation, status, text, quotes=(), message=""):
        return {"n": n, "kind": kind, "citation": citation, "status": status, "text": text,
                "quotes": list(quotes), "message": message}  # fmt: skip

    body = {
        "mode": "llm", "degraded": False, "model": "legal", "index_version": "juris_x",
        "answer": "Under 17 U.S.C. § 107 ... [1]. ... [1]. [2]. [3].", "answered": True,
        "verification": {"unsupported_claims": 0, "citations_by_status": {}},
        "citations": [
            cited(1, "legal", "17 U.S.C. § 107", "verified", "17 U.S.C. § 107"),
            cited(1, "source", "17 U.S.C. § 107", "verified", "[1]", ["the fair use", "(2)"]),
            cited(1, "source", "17 U.S.C. § 107", "misquoted", "[1]", ["fair dealing"],
                  "the quoted words are not in source [1]"),
            cited(2, "source", "17 U.S.C. § 504(c)(2)", "verified", "[2]"),
            cited(3, "source", "", "not_in_sources", "[3]", (), "no source [3] was given"),
            cited(None, "legal", "17 U.S.C. § 1201", "in_corpus", "17 U.S.C. § 1201", (),
                  "in the corpus, not among the sources"),
        ],
    }  # fmt: skip
    print_answer(body)
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines()]
    sources = lines.index("Sources cited:")
    assert lines[sources + 1 : sources + 4] == [
        "[1] 17 U.S.C. § 107  — misquoted, 3 quotes checked"
        " (the quoted words are not in source [1])",
        "[2] 17 U.S.C. § 504(c)(2)  — verified",
        "[3]  — not_in_sources (no source [3] was given)",
    ]
    assert lines[sources + 4 : sources + 7] == [
        "Citations written in the answer:",
        "17 U.S.C. § 107  — verified",
        "17 U.S.C. § 1201  — in_corpus (in the corpus, not among the sources)",
    ]


def test_the_demo_asks_once_the_index_tables_are_in(capsys) -> None:
    """The process's first question waits for the build's tables, and one asked while they
    are computed can outlast the gateway's index timeout (a 503): the demo waits for
    `/readyz` to say they are in, or asks all the same after `tables_s`."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from serving.lab.demo import wait_until_serving

    answers = iter([503, "computing", "computing", "ready"])

    class Readyz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state = next(answers, "ready")
            body = {"index": {"ok": False, "error": "opening"}} if state == 503 else {
                "index": {"ok": True, "tables": state}}  # fmt: skip
            self.send_response(503 if state == 503 else 200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Readyz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert wait_until_serving(base, timeout_s=30) is None
        assert next(answers, "all asked") == "all asked"  # it waited through "computing"
        out = capsys.readouterr().out
        assert "opening the index" in out and "preparing the index's tables" in out
        answers = iter(["computing"] * 1000)
        start = time.monotonic()
        assert wait_until_serving(base, timeout_s=30, tables_s=1.0) is None  # asked anyway
        assert time.monotonic() - start < 10
    finally:
        server.shutdown()
