"""Start a local vLLM server process (for the demo, the benchmarks and the integration tests).

Production runs vLLM as its own Deployment; on one machine without a GPU this starts vLLM's CPU
build from its own environment (`.venv-vllm`) with a local model directory and, optionally,
one LoRA adapter served as `legal`. `serving.generators.vllm` then talks to it over HTTP.

    >>> server = start_vllm(model_dir, adapter_dir, Path("var/vllm.log"))
    >>> server.url  # 'http://127.0.0.1:41234'
    >>> server.kill()
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from serving.model_dirs import check_adapter, check_model_dir

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class VllmProcess:
    """A running vLLM server: its URL, served names and process."""

    url: str
    base: str
    adapter: str | None
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the server and its children (its process group)."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def start_vllm(
    model_dir: Path,
    adapters: Path | Mapping[str, Path] | None,
    log_path: Path,
    *,
    python: Path = VLLM_PYTHON,
    max_model_len: int = 1024,
    dtype: str = "float32",
    timeout_s: float = 300.0,
    port: int | None = None,
) -> VllmProcess:
    """Start vLLM's OpenAI server on a free port and wait until `/v1/models` answers.

    The model directory and every adapter are checked first (`serving.model_dirs`): a
    missing or corrupt directory, an adapter of another base model or a tokenizer without a
    chat template stops here, naming the path and the fix, before any server starts.

    Args:
        model_dir: the model served as `base`.
        adapters: LoRA adapters by served name (a single path is served as `legal`).
        log_path: where the server's output goes.
        python: vLLM's interpreter.
        max_model_len: context length.
        dtype: vLLM's `--dtype`. float32 by default: vLLM's CPU bfloat16 path changes the
            greedy output of SmolLM2-135M from transformers' on the same weights ("L'Étoile,
            la Marseillaise" for "What is the capital of France?"); float32 matches it, at
            about half the tokens per second.
        timeout_s: how long to wait for the server.
        port: the port to serve on (default: a free one; a restart reuses the old one).

    Returns:
        The running server.

    Raises:
        FileNotFoundError: vLLM's environment is missing.
        ModelDirError: the model or an adapter cannot be served.
        RuntimeError: the server exits or does not come up in time (its log tail quoted).
    """
    if isinstance(adapters, Path):
        adapters = {"legal": adapters}
    adapters = dict(adapters or {})
    card = check_model_dir(model_dir)  # what the operator chose is checked first
    ranks = [check_adapter(path, card).max_lora_rank for path in adapters.values()]
    if not python.is_file():
        raise FileNotFoundError(f"vLLM environment missing at {python} (run `make setup-vllm`)")
    port = port or free_port()
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir), "--served-model-name", "base",
        "--max-model-len", str(max_model_len), "--enforce-eager", "--dtype", dtype,
        "--host", "127.0.0.1", "--port", str(port), "--disable-log-stats",
        # the grounded-answer grammar (`serving.grounding`) is llguidance's Lark
        "--structured-outputs-config.backend", "guidance",
    ]  # fmt: skip
    if adapters:
        modules = [f"{name}={path}" for name, path in adapters.items()]
        cmd += ["--enable-lora", "--lora-modules", *modules, "--max-lora-rank", str(max(ranks)),
                "--max-loras", str(len(adapters))]  # fmt: skip
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "DO_NOT_TRACK": "1",
        "VLLM_NO_USAGE_STATS": "1",
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=ROOT
        )
    server = VllmProcess(
        f"http://127.0.0.1:{port}", "base", next(iter(adapters), None), process, log_path
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{server.url}/v1/models", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1)
    server.kill()
    tail = log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"vLLM did not start in {timeout_s:.0f} s; log tail:\n{tail}")
