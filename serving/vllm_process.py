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
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
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
    adapter_dir: Path | None,
    log_path: Path,
    *,
    python: Path = VLLM_PYTHON,
    max_model_len: int = 1024,
    timeout_s: float = 300.0,
    port: int | None = None,
) -> VllmProcess:
    """Start vLLM's OpenAI server on a free port and wait until `/v1/models` answers.

    Args:
        model_dir: the model served as `base`.
        adapter_dir: a LoRA adapter served as `legal` (None: no adapter).
        log_path: where the server's output goes.
        python: vLLM's interpreter.
        max_model_len: context length.
        timeout_s: how long to wait for the server.
        port: the port to serve on (default: a free one; a restart reuses the old one).

    Returns:
        The running server.

    Raises:
        FileNotFoundError: vLLM's environment is missing.
        RuntimeError: the server exits or does not come up in time (its log tail quoted).
    """
    if not python.is_file():
        raise FileNotFoundError(f"vLLM environment missing at {python} (run `make setup-vllm`)")
    port = port or free_port()
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir), "--served-model-name", "base",
        "--max-model-len", str(max_model_len), "--enforce-eager", "--dtype", "float32",
        "--host", "127.0.0.1", "--port", str(port), "--disable-log-stats",
    ]  # fmt: skip
    if adapter_dir is not None:
        cmd += ["--enable-lora", "--lora-modules", f"legal={adapter_dir}", "--max-lora-rank", "8"]
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
        f"http://127.0.0.1:{port}", "base", "legal" if adapter_dir else None, process, log_path
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


def build_random_adapter(model_dir: Path, out_dir: Path, rank: int = 8, seed: int = 0) -> Path:
    """A LoRA adapter for `model_dir` with random (non-zero) weights, saved for vLLM.

    An untrained adapter whose B matrices are not zero: served as `legal`, it answers
    differently from `base`, which proves that the model name selects the adapter. A trained
    adapter (`python -m training train`) replaces it in real use.

    Args:
        model_dir: the base model.
        out_dir: where to save the adapter (reused while the base model is unchanged).
        rank: LoRA rank (vLLM is started with `--max-lora-rank 8`).
        seed: seeds the adapter weights.

    Returns:
        `out_dir`.
    """
    import hashlib
    import shutil

    base_id = hashlib.sha256(
        b"".join(
            (model_dir / name).read_bytes()
            for name in ("config.json", "tokenizer.json", "juris_tiny_model.json")
            if (model_dir / name).is_file()
        )
        + f"|{rank}|{seed}".encode()
    ).hexdigest()
    stamp = out_dir / "juris_base_model.sha256"
    fresh = (out_dir / "adapter_config.json").is_file() and stamp.is_file()
    if fresh and stamp.read_text().strip() == base_id:
        return out_dir
    shutil.rmtree(out_dir, ignore_errors=True)

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    get_peft_model(base, config).save_pretrained(str(tmp))
    (tmp / stamp.name).write_text(base_id + "\n")
    tmp.rename(out_dir)
    return out_dir


def tiny_model_and_adapter(cache: Path) -> tuple[Path, Path]:
    """The tiny test model (`training.tiny_model`) and a random adapter, cached in `cache`."""
    from training.tiny_model import build_tiny_model

    model_dir = build_tiny_model(cache / "tiny_model")
    return model_dir, build_random_adapter(model_dir, cache / "tiny_model_lora")
