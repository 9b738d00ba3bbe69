"""Misbehaving model servers on real loopback sockets, for the fault-injection tests.

A real vLLM cannot be made to hang on purpose; these can. Each is a TCP server in a thread
that speaks just enough HTTP/1.1:

- `mode="hung"` accepts every connection, reads the request and never answers (a vLLM whose
  engine is wedged, or a load balancer holding the connection);
- `mode="trickle"` answers `GET /v1/models`, and answers a chat completion with a stream
  that sends one token every `interval_s` and never ends;
- `mode="say"` answers `GET /v1/models`, and answers a chat completion with a stream of
  `text`, word by word, then ends it as vLLM does (`data: [DONE]`): a model whose answer a
  test fixes, for what the gateway makes of an answer; with `refuse_grammar=True` a chat
  completion that asks for a structured-output grammar is refused with HTTP 400, as a vLLM
  whose structured-output backend cannot compile it refuses it.

Each answers `POST /tokenize` at once, as vLLM does while its engine is stuck (its API server
tokenizes in its own process), so a test's ask reaches the chat completion it is about; with
`drop_tokenize=n` the first n of those connections are closed unanswered instead (a pooled
keep-alive connection the server closed just as it was reused). An answer says
`connection: close`, as the connection is closed after it.

Each records, per request, when it arrived and when the gateway closed its connection, so a
test can assert that a departed client or a passed deadline really ends the request upstream.

    with FakeModelServer("hung") as server:
        settings = GatewaySettings(vllm_url=server.url, ...)
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    arrived: float
    closed: float | None = None  # when the peer closed the connection (monotonic)
    body: bytes = b""  # the request's body, once whole (`say`)


@dataclass
class FakeModelServer:
    """A model server that hangs or trickles (see the module docstring).

    Args:
        mode: `hung`, `trickle` or `say`.
        interval_s: seconds between tokens (`trickle`).
        text: the answer (`say`).
        drop_tokenize: `POST /tokenize` connections closed unanswered before one is answered.
        refuse_grammar: refuse a chat completion that asks for a grammar (`say`).
    """

    mode: str = "hung"
    interval_s: float = 0.2
    drop_tokenize: int = 0
    text: str = ""
    refuse_grammar: bool = False
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._dropped = 0

    def __enter__(self) -> FakeModelServer:
        accept = threading.Thread(target=self._accept, name="fake-vllm", daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)
        self._sock.close()

    def chat_requests(self) -> list[Seen]:
        """The chat completion requests seen so far."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def wait_for_chat(self, n: int = 1, timeout_s: float = 10.0) -> list[Seen]:
        """Wait until `n` chat requests arrived; returns them."""
        deadline = time.monotonic() + timeout_s
        while len(self.chat_requests()) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} chat requests did not arrive in {timeout_s} s")
            time.sleep(0.01)
        return self.chat_requests()[:n]

    # -- the server -----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        buf = b""
        seen: Seen | None = None
        try:
            while not self._stop.is_set():
                if seen is None and b"\r\n\r\n" in buf:
                    head = buf.split(b"\r\n", 1)[0].decode("latin-1").split()
                    seen = Seen(head[0], head[1] if len(head) > 1 else "", time.monotonic())
                    with self._lock:
                        self.requests.append(seen)
                    if self.mode == "trickle" and not seen.path.endswith("/tokenize"):
                        self._trickle(conn, seen)
                        return
                if (
                    seen is not None
                    and self.mode == "say"
                    and not seen.path.endswith("/tokenize")
                    and _complete(buf)
                ):
                    seen.body = buf.partition(b"\r\n\r\n")[2]
                    if seen.path.endswith("/models"):
                        self._respond(conn, seen, {"data": [{"id": "base"}]})
                    elif self.refuse_grammar and b'"grammar"' in seen.body:
                        self._respond(conn, seen, {"error": "grammar: unknown directive"}, 400)
                    else:
                        self._say(conn, seen)
                    return
                if seen is not None and seen.path.endswith("/tokenize") and _complete(buf):
                    with self._lock:
                        drop = self._dropped < self.drop_tokenize
                        self._dropped += drop
                    if not drop:
                        self._respond(conn, seen, {"count": len(buf) // 4, "max_model_len": 8192})
                    return
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                if not data:  # the gateway closed the connection
                    break
                buf += data
        except OSError:
            pass
        finally:
            if seen is not None:
                seen.closed = time.monotonic()
            conn.close()

    @staticmethod
    def _respond(conn: socket.socket, seen: Seen, payload: dict, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        reason = b"OK" if status == 200 else b"Bad Request"
        conn.sendall(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\nconnection: close\r\n"
            % (status, reason)
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        seen.closed = time.monotonic()

    def _say(self, conn: socket.socket, seen: Seen) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        words = self.text.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        events = [{"choices": [{"delta": {"content": p}}]} for p in pieces]
        events.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
        for event in [*(json.dumps(e) for e in events), "[DONE]"]:
            chunk = f"data: {event}\n\n".encode()
            conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.sendall(b"0\r\n\r\n")
        seen.closed = time.monotonic()

    def _trickle(self, conn: socket.socket, seen: Seen) -> None:
        if seen.path.endswith("/models"):
            self._respond(conn, seen, {"data": [{"id": "base"}]})
            return
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        event = {"choices": [{"delta": {"content": "word "}}]}
        chunk = f"data: {json.dumps(event)}\n\n".encode()
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while not self._stop.is_set():
            try:
                conn.sendall(frame)
            except OSError:  # the gateway closed the connection
                break
            # notice a close between tokens too
            conn.settimeout(self.interval_s)
            try:
                if conn.recv(65536) == b"":
                    break
            except TimeoutError:
                pass
            except OSError:
                break


def _complete(buf: bytes) -> bool:
    """Whether `buf` holds a whole request: its head and the body its content-length names
    (answering before the body is read would reset the connection on close)."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip() or 0)
    return True
