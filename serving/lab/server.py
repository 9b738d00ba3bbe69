"""Serving an app with uvicorn in a background thread (the demo, the benchmarks, tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from serving.lab.vllm_process import free_port


@contextmanager
def running_server(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 120.0
) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL.

    Args:
        app: the application (its lifespan runs in the server thread).
        host: address to bind.
        port: port (0: a free one).
        start_timeout_s: how long to wait for start-up.

    Returns:
        A context manager yielding `http://host:port`.

    Raises:
        RuntimeError: the server did not start (port taken, lifespan failed).
    """
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the gateway did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
