"""Serving the gateway for the demo, the benchmarks and tests: an app with uvicorn in a
background thread (`running_server`), or `python -m serving serve` in a child process
(`gateway_process`, which the load and soak benchmarks measure from outside)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
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


@dataclass(frozen=True)
class GatewayProcess:
    """A gateway started by `gateway_process`: its URL and process (for its pid)."""

    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def gateway_process(
    env: Mapping[str, str],
    log_path: Path,
    want_status: tuple[str, ...] = ("ready", "degraded"),
    start_timeout_s: float = 180.0,
) -> Iterator[GatewayProcess]:
    """`python -m serving serve` in a child process until the block ends.

    Args:
        env: `JURIS_*` settings on top of this process's environment (the port is chosen here).
        log_path: the gateway's output.
        want_status: the `/readyz` statuses that count as started.
        start_timeout_s: how long to wait for them.

    Returns:
        A context manager yielding the started `GatewayProcess`.

    Raises:
        RuntimeError: the gateway exited or did not reach `want_status` in time.
    """
    port = free_port()
    full = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", **env,
            "JURIS_PORT": str(port), "JURIS_HOST": "127.0.0.1"}  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "serving", "serve", "--log-level", "warning"],
            env=full, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway did not start; see {log_path}")
                try:
                    r = httpx.get(f"{url}/readyz", timeout=5)
                    if r.status_code == 200 and r.json().get("status") in want_status:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            yield GatewayProcess(url, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
