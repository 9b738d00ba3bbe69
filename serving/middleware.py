"""ASGI middleware: request body limits (size, time) and per-route latency metrics."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import error_body
from serving.metrics import Metrics


class _BodyFault(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class BodyLimitMiddleware:
    """Bounds request bodies: 413 over `max_bytes` (by Content-Length, or while reading a
    chunked body), 408 when the body has not arrived within `read_timeout_s`.

    Both answers close the connection, so a client that sends less than it announced (or
    nothing) cannot hold it. The app reading the body sees the fault as an exception (which
    FastAPI would report as a 400); whatever the app answers then is replaced by the 413/408.

    Args:
        app: the wrapped application.
        max_bytes: the largest body accepted.
        read_timeout_s: the longest time to receive the whole body (None: no limit).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout_s: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(scope, send, 413)
                    return
        deadline = None if self.read_timeout_s is None else time.monotonic() + self.read_timeout_s
        seen = 0
        body_done = False
        fault: _BodyFault | None = None
        started = False

        async def guarded_receive() -> Message:
            nonlocal seen, body_done, fault
            if body_done or deadline is None:
                message = await receive()  # after the body: waiting for a disconnect is fine
            else:
                try:
                    message = await asyncio.wait_for(receive(), deadline - time.monotonic())
                except TimeoutError:
                    fault = _BodyFault(408)
                    raise fault from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    fault = _BodyFault(413)
                    raise fault
                body_done = body_done or not message.get("more_body", False)
            else:
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if fault is not None:
                # the app answered the failed read (FastAPI: 400): answer 413/408 instead
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._reject(scope, send, fault.status)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except _BodyFault as err:
            if not started:
                await self._reject(scope, send, err.status)

    async def _reject(self, scope: Scope, send: Send, status: int) -> None:
        if status == 413:
            code, message = "payload_too_large", f"request body over {self.max_bytes} bytes"
        else:
            code = "request_timeout"
            message = f"request body not received within {self.read_timeout_s:g} s"
        state = getattr(scope.get("app"), "state", None)
        m = getattr(state, "metrics", None) if state is not None else None
        if m is not None:
            m.errors.labels(code=code).inc()
        body = json.dumps(error_body(code, message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class MetricsMiddleware:
    """Observes each request's latency (until its last byte) by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(
                route=path, method=scope.get("method", ""), status=str(status)
            ).observe(time.perf_counter() - start)


class StreamPacingMiddleware:
    """Lets the event loop run between the chunks of a streamed response.

    An SSE answer can be produced faster than the loop turns (the extractive fallback yields
    every token at once). When its client has reset the connection, the transport only learns
    it on a write, and the protocol is told on the next loop turn; chunks written before that
    each make asyncio log "socket.send() raised exception." — thousands of lines for a few
    dozen aborted streams. One `sleep(0)` after each chunk gives the loop that turn: the server
    then knows the client is gone, drops further chunks and cancels the stream.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def paced_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and message.get("more_body", False):
                await asyncio.sleep(0)

        await self.app(scope, receive, paced_send)
