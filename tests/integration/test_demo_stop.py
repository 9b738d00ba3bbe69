"""`make demo` stopped while the rest of the corpus is indexed behind the gateway: the build
stops after the batch it is writing and the process ends cleanly. It used to exit with the
build thread inside the embedding model, and the C++ runtime aborted it ("terminate called
without an active exception", `make: *** Aborted`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from serving.lab.vllm_process import free_port

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_a_demo_stopped_while_its_index_fills_stops_the_build_and_exits_cleanly(
    tmp_path: Path, corpus_dir: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "HF_HUB_OFFLINE": "1",
        "JURIS_CORPUS_DIR": str(corpus_dir),
        "JURIS_QDRANT_PATH": str(tmp_path / "qdrant"),
        "JURIS_EMBED_CACHE": str(tmp_path / "embed_cache"),  # empty: the model embeds
        "JURIS_API_KEYS_FILE": str(tmp_path / "keys.json"),
        "JURIS_PORT": str(free_port()),
    }
    demo = subprocess.Popen(
        [sys.executable, "-m", "serving", "demo", "--sources", "uscode"],
        cwd=tmp_path, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.extend(demo.stderr or []), daemon=True)
    drain.start()
    said: list[str] = []
    try:
        for line in demo.stdout or []:
            said.append(line)
            if line.startswith("first passages searchable"):
                demo.send_signal(signal.SIGTERM)  # as `kill` does; Ctrl-C takes the same path
                break
        out, _ = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    drain.join(10)
    said.append(out)
    stdout, stderr = "".join(said), "".join(errors)
    assert "first passages searchable" in stdout, stderr[-3000:]
    assert "terminate called" not in stderr
    assert demo.returncode == 130, stderr[-3000:]
    assert "stopping the index build" in stdout
    assert "stopped after" in stdout and "demo stopped before its answer" in stdout
