"""Fixtures of the integration tests: a real vLLM server, a gateway served by uvicorn.

`running_gateway(app)` serves an app on a free loopback port in a background thread (the web
client's tests use it too). The index is the real index slice (`tests/support/index_slice.py`)
when the indexing package provides it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from serving.auth import add_key
from serving.lab.server import running_server
from tests.support.real_model import real_model_dir, real_vllm  # noqa: F401  (session fixtures)
from tests.support.vllm_server import vllm_server  # noqa: F401  (session fixture)

try:  # the real index over a corpus slice, from the indexing package's test support
    from tests.support.index_slice import index_slice  # noqa: F401

    HAVE_INDEX_SLICE = True
except ImportError:  # pragma: no cover - until indexing's test support lands
    HAVE_INDEX_SLICE = False


# Gateways in front of a model answer within this (`JURIS_RETRIEVAL_TIMEOUT_S`) rather than the
# default 10 s: those tests check what the model writes, not the index's timing (checked in
# tests/serving/test_faults.py). A retrieval that takes 0.02-0.7 s on the index slice, beside
# vLLM writing on both cores, once ran past 10 s on a 2-core CI machine.
MODEL_TEST_RETRIEVAL_TIMEOUT_S = 60.0


def running_gateway(app: FastAPI):
    """Serve `app` with uvicorn on 127.0.0.1 in a thread; a context manager yielding its URL."""
    return running_server(app)


@pytest.fixture(scope="session")
def gateway_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A keys file with a user key and an admin key (generous rate limits)."""
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    user = add_key(path, "integration", rate_per_minute=100_000)
    admin = add_key(path, "integration-admin", admin=True, rate_per_minute=100_000)
    return path, user, admin


@pytest.fixture(scope="session")
def slice_retriever(request: pytest.FixtureRequest):
    """The retriever the integration gateways use: the real index slice when available."""
    if HAVE_INDEX_SLICE:
        return _retriever_from_slice(request.getfixturevalue("index_slice"))
    from tests.serving.corpus_slice import SliceRetriever

    return SliceRetriever()


def _retriever_from_slice(value: object):
    """A retriever from whatever `index_slice` yields (a retriever, or index settings)."""
    if hasattr(value, "search") and hasattr(value, "exists"):
        return value
    retriever = getattr(value, "retriever", None)
    if retriever is not None:
        return retriever
    from indexing.retrieve import open_retriever

    settings = getattr(value, "settings", value)
    return open_retriever(settings)  # type: ignore[arg-type]
