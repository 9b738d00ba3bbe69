"""vLLM accepts the Deployment's arguments: parsed by vLLM's own server argument parser
(`deploy.vllm_args`, with vLLM 0.32 from `.venv-vllm`)."""

from __future__ import annotations

import copy

import pytest

from deploy.manifests import Manifest, containers_of
from deploy.vllm_args import VLLM_PYTHON, parse_vllm_args, vllm_args_problems

from .conftest import find

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def parsed(rendered: dict[str, list[Manifest]]) -> tuple[list[dict], str]:
    """vLLM's verdict on the Deployment's args, and on the same args plus a removed flag."""
    if not VLLM_PYTHON.is_file():
        pytest.skip(f"vLLM environment missing at {VLLM_PYTHON} (make setup-vllm)")
    (container,) = containers_of(find(rendered["gpu"], "Deployment", "vllm"))
    assert container["command"] == ["vllm", "serve"]
    args = list(container["args"])
    return parse_vllm_args([args, [*args, "--disable-log-requests"]])


def test_vllm_parses_the_deployment_args(parsed: tuple[list[dict], str]) -> None:
    good = parsed[0][0]
    assert "exit" not in good, parsed[1][-2000:]
    assert good["model"] == "/models/base"
    assert good["served"] == ["base"]
    assert good["enable_lora"] is True
    assert good["lora"] == {"legal": "/models/adapters/legal"}
    assert good["max_loras"] >= 1 and good["max_lora_rank"] >= 8
    assert good["tp"] == 1 and good["port"] == 8000
    assert good["structured_backend"] == "guidance"  # the grounded-answer grammar's backend


def test_vllm_rejects_an_unknown_flag(parsed: tuple[list[dict], str]) -> None:
    assert parsed[0][1] == {"exit": 2}
    assert "unrecognized arguments: --disable-log-requests" in parsed[1]


def test_problems_name_the_refused_flag(
    rendered: dict[str, list[Manifest]], parsed: tuple[list[dict], str]
) -> None:
    docs = copy.deepcopy(rendered["gpu"])
    containers_of(find(docs, "Deployment", "vllm"))[0]["args"].append("--disable-log-requests")
    (problem,) = vllm_args_problems(docs)
    assert "--disable-log-requests" in problem
    assert vllm_args_problems(rendered["cpu"]) == []  # no vLLM on the cpu overlay
