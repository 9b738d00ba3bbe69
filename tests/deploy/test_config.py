"""The ConfigMap speaks the settings classes' language: every JURIS_* key is a real field, and
the gateway and indexer settings build from it (pydantic-settings ignores unknown variables, so a
misspelt key would otherwise be silently without effect)."""

from __future__ import annotations

import pytest

from deploy.manifests import Manifest

from .conftest import find

pytestmark = pytest.mark.unit

# Read by the indexer at collection creation once it supports them (deploy/README.md "Open items").
REQUESTED = {
    "JURIS_QDRANT_REPLICATION_FACTOR",
    "JURIS_QDRANT_SHARD_NUMBER",
    "JURIS_QDRANT_WRITE_CONSISTENCY_FACTOR",
}


def _env(docs: list[Manifest]) -> dict[str, str]:
    data = dict(find(docs, "ConfigMap", "juris-config")["data"])
    return {k: v for k, v in data.items() if k.startswith("JURIS_")}


def _settings_classes() -> list[type]:
    gateway = pytest.importorskip("serving.settings").GatewaySettings
    index = pytest.importorskip("indexing.settings").IndexSettings
    return [gateway, index]


@pytest.mark.parametrize("overlay", ["gpu", "cpu"])
def test_every_key_is_a_setting(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    fields = {f"JURIS_{name.upper()}" for cls in _settings_classes() for name in cls.model_fields}
    unknown = set(_env(rendered[overlay])) - fields - REQUESTED
    assert not unknown, f"ConfigMap keys no settings class reads: {sorted(unknown)}"


@pytest.mark.parametrize(("overlay", "backend"), [("gpu", "vllm"), ("cpu", "extractive")])
def test_settings_build_from_the_configmap(
    rendered: dict[str, list[Manifest]],
    overlay: str,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway_cls, index_cls = _settings_classes()
    for key, value in _env(rendered[overlay]).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("JURIS_QDRANT_API_KEY", "from-the-secret")
    gateway = gateway_cls()  # production mode: refuses insecure settings
    assert gateway.environment == "production"
    assert gateway.generator_backend == backend
    assert gateway.host == "0.0.0.0" and gateway.port == 8000
    index = index_cls()
    assert index.qdrant_url == "http://qdrant:6333"
    assert index.collection == "juris"
    assert str(index.corpus()) == "/data/corpus"
