"""Fixtures of the gateway's unit tests: the real citation parser, the provisions slice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexing.model import Passage
from serving.app import create_app
from serving.auth import add_key
from serving.settings import GatewaySettings
from serving.verify import Verifier, default_citation_parser
from tests.serving.corpus_slice import SliceRetriever


@pytest.fixture(scope="session")
def parse_citations():
    """legal_corpus's citation parser (eyecite loaded once per session)."""
    return default_citation_parser()


@pytest.fixture
def retriever() -> SliceRetriever:
    return SliceRetriever()


@pytest.fixture
def verifier(retriever, parse_citations) -> Verifier:
    return Verifier(retriever, parse_citations)


@pytest.fixture
def passages(retriever) -> list[Passage]:
    """[1] 17 U.S.C. § 107 (intro), [2] § 107(1)."""
    by_cite = {c.citation: c for c in retriever.chunks}
    return [
        Passage(by_cite["17 U.S.C. § 107"], 2.0),
        Passage(by_cite["17 U.S.C. § 107(1)"], 1.0),
    ]


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    return tmp_path / "keys.json"


@pytest.fixture
def user_key(keys_file: Path) -> str:
    return add_key(keys_file, "alice")


@pytest.fixture
def admin_key(keys_file: Path) -> str:
    return add_key(keys_file, "root", admin=True)


def make_client(retriever, **overrides) -> TestClient:
    settings = GatewaySettings(_env_file=None, **overrides)  # type: ignore[call-arg]
    return TestClient(create_app(settings, retriever=retriever))


def gateway_client(retriever, keys_file: Path, tmp_path: Path, **overrides) -> TestClient:
    """A test client of the gateway over `retriever`: the keys of `keys_file`, an audit log
    under `tmp_path`, a rate limit no test reaches, and any other settings `overrides`."""
    return make_client(
        retriever,
        api_keys_file=keys_file,
        audit_log=tmp_path / "audit.jsonl",
        rate_limit_per_minute=600,
        rate_limit_burst=50,
        **overrides,
    )


@pytest.fixture
def client(retriever, keys_file, user_key, admin_key, tmp_path) -> Iterator[TestClient]:
    with gateway_client(retriever, keys_file, tmp_path) as c:
        yield c
