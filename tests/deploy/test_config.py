"""The ConfigMap and the containers' variables speak the settings classes' language: every
JURIS_* key is a real field, and the gateway and indexer settings build from them
(pydantic-settings ignores unknown variables, so a misspelt key would be silently without
effect)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.manifests import Manifest, containers_of

from .conftest import find

pytestmark = pytest.mark.unit


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
    docs = rendered[overlay]
    keys = {
        *_container_env(docs, "Deployment", "gateway"),
        *_container_env(docs, "CronJob", "juris-reindex"),
    }
    unknown = keys - fields
    assert not unknown, f"JURIS_* variables no settings class reads: {sorted(unknown)}"


def _container_env(docs: list[Manifest], kind: str, name: str) -> dict[str, str]:
    """The JURIS_* variables a workload's container sees: its ConfigMap, then its own `env`."""
    (container,) = containers_of(find(docs, kind, name))
    env = _env(docs)
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return {k: v for k, v in env.items() if k.startswith("JURIS_")}


@pytest.mark.parametrize(("overlay", "backend"), [("gpu", "vllm"), ("cpu", "extractive")])
def test_settings_build_from_the_configmap(
    rendered: dict[str, list[Manifest]],
    overlay: str,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    gateway_cls, index_cls = _settings_classes()
    env = _container_env(rendered[overlay], "Deployment", "gateway")
    # The Secret volume's file, at a path of this machine.
    assert env["JURIS_QDRANT_API_KEY_FILE"] == "/etc/juris/qdrant/api-key"
    (tmp_path / "api-key").write_text("read-only-key\n", encoding="utf-8")
    env["JURIS_QDRANT_API_KEY_FILE"] = str(tmp_path / "api-key")
    monkeypatch.delenv("JURIS_QDRANT_API_KEY", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    gateway = gateway_cls()  # production mode: refuses insecure settings
    assert gateway.environment == "production"
    assert gateway.generator_backend == backend
    assert gateway.host == "0.0.0.0" and gateway.port == 8000
    index = index_cls()
    assert index.qdrant_url == "http://qdrant:6333"
    assert index.qdrant_api_key == "read-only-key"
    assert index.collection == "juris"
    assert str(index.corpus()) == "/data/corpus"


@pytest.mark.parametrize(
    ("overlay", "kind", "name"),
    [("gpu", "CronJob", "juris-reindex"), ("gpu/bulk-build", "Job", "juris-bulk-build")],
)
def test_writers_read_the_key_file(
    rendered: dict[str, list[Manifest]], overlay: str, kind: str, name: str
) -> None:
    (container,) = containers_of(find(rendered[overlay], kind, name))
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["JURIS_QDRANT_API_KEY_FILE"] == "/etc/juris/qdrant/api-key"
    assert "JURIS_QDRANT_API_KEY" not in env
