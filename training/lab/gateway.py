"""A real gateway in this process, for measuring what served models answer through it.

Its retrieval, prompt, token budget and verifier are the product's; the waits are long (a CPU
model answers slowly under load), and the loop stop and the set-aside of uncited answers are
off, so that an answer is measured as the model wrote it. A key for it is written to a keys
file of its own and removed after. It is handed over once its index is open and the tables a
question reads are computed (`Retriever.settle`): before that a question may be refused with
`503 index_warming_up`, which a measurement would count as a failure.

    with measuring_gateway(retriever, vllm_url, out_dir, max_tokens=160) as (url, key):
        httpx.post(f"{url}/v1/ask", headers={"Authorization": f"Bearer {key}"}, json=...)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def measuring_gateway(
    retriever: Any, vllm_url: str, out: Path, max_tokens: int, **settings: Any
) -> Iterator[tuple[str, str]]:
    """Serve a gateway over `retriever` and `vllm_url` on loopback; yields its URL and a key.

    Args:
        retriever: the index it retrieves from.
        vllm_url: the model server.
        out: where its keys file is written (and removed after).
        max_tokens: the answers' token budget.
        settings: further `GatewaySettings` (top_k, prompt budgets, …).
    """
    from serving.app import create_app
    from serving.auth import add_key
    from serving.lab.demo import wait_until_serving
    from serving.lab.server import running_server
    from serving.settings import GatewaySettings

    out.mkdir(parents=True, exist_ok=True)
    keys = out / "measure_keys.json"
    keys.unlink(missing_ok=True)
    key = add_key(keys, "measure", rate_per_minute=1e9)
    config = GatewaySettings(  # type: ignore[call-arg]
        _env_file=None, vllm_url=vllm_url, api_keys_file=keys, vllm_max_tokens=max_tokens,
        vllm_first_token_timeout_s=600, vllm_read_timeout_s=120, vllm_total_timeout_s=900,
        vllm_retries=0, max_question_chars=20000,
        repetition_stop_chars=0,  # the model's own answer is measured, loops and all
        set_aside_uncited=False,  # and uncited
        **settings,
    )  # fmt: skip
    try:
        with running_server(create_app(config, retriever=retriever)) as url:
            # a whole-corpus build opens in the background: asked before, it answers 503
            not_open = wait_until_serving(url)
            if not_open is not None:
                raise RuntimeError(f"the index did not open: {not_open}")
            settle = getattr(retriever, "settle", None)
            if callable(settle) and not settle():
                raise RuntimeError("the index's per-build tables were not in after 10 minutes")
            yield url, key
    finally:
        keys.unlink(missing_ok=True)
