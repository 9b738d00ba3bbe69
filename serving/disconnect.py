"""Stopping work for a client that has gone.

A non-streaming answer is computed while nothing is sent, so the server does not notice a
client that disconnects; `unless_disconnected` watches the connection while the work runs and
cancels it when the client leaves (a generation in vLLM is then aborted: its request is
closed). Streamed answers need nothing of the kind: Starlette cancels the stream on
disconnect.

    >>> final = await unless_disconnected(request, pipeline.answer_prepared(prepared))
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

from fastapi import Request

T = TypeVar("T")

CLIENT_CLOSED = 499  # the status logged for a request whose client left (nginx's convention)


class ClientDisconnected(Exception):
    """The client went away before the answer was ready (its work was cancelled)."""


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def unless_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """The result of `work`, or `ClientDisconnected` once the client has gone (and `work` is
    cancelled).

    Call it after the request body has been read (FastAPI has read it before the endpoint
    runs); the next message of the connection is then its end.
    """
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done() or not watch.done():
            for t in (task, watch):
                if not t.done():
                    t.cancel()
            if not task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(asyncio.CancelledError):
                await watch
    if task.cancelled():
        raise ClientDisconnected("the client disconnected")
    return task.result()
