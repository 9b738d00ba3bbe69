"""The offline kustomize renderer: each supported feature, and clear errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deploy.kustomize import KustomizeError, render, strategic_merge

pytestmark = pytest.mark.unit

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "example/web:1.0",
                        "args": ["--a"],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    },
                    {"name": "side", "image": "registry:5000/example/side:2.0"},
                ]
            },
        },
    },
}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}


def _write(path: Path, *docs: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")


def _kustomization(directory: Path, **fields: object) -> None:
    _write(directory / "kustomization.yaml", {"kind": "Kustomization", **fields})


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    _write(tmp_path / "base" / "app.yaml", DEPLOYMENT, SERVICE)
    _kustomization(tmp_path / "base", resources=["app.yaml"])
    return tmp_path / "base"


def test_overlay_namespace_replicas_images(tmp_path: Path, base: Path) -> None:
    overlay = tmp_path / "overlay"
    _write(overlay / "ns.yaml", NAMESPACE)
    _kustomization(
        overlay,
        namespace="demo",
        resources=["ns.yaml", "../base"],
        replicas=[{"name": "web", "count": 3}],
        images=[
            {"name": "example/web", "newName": "mirror/web", "newTag": "1.1"},
            {"name": "registry:5000/example/side", "digest": "sha256:" + "a" * 64},
        ],
    )
    docs = render(overlay)
    assert [(d["kind"], d["metadata"].get("namespace")) for d in docs] == [
        ("Namespace", None),
        ("Deployment", "demo"),
        ("Service", "demo"),
    ]
    dep = docs[1]
    assert dep["spec"]["replicas"] == 3
    web, side = dep["spec"]["template"]["spec"]["containers"]
    assert web["image"] == "mirror/web:1.1"
    assert side["image"] == "registry:5000/example/side@sha256:" + "a" * 64


def test_strategic_merge_by_name_and_delete(tmp_path: Path, base: Path) -> None:
    overlay = tmp_path / "overlay"
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "args": ["--b"],
                            "env": [{"name": "A", "value": "9"}, {"name": "B", "$patch": "delete"}],
                        },
                        {"name": "extra", "image": "example/extra:3"},
                    ]
                }
            }
        },
    }
    delete = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "$patch": "delete",
    }
    _write(overlay / "patch.yaml", patch, delete)
    _kustomization(overlay, resources=["../base"], patches=[{"path": "patch.yaml"}])
    (dep,) = render(overlay)
    containers = dep["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "side", "extra"]
    assert containers[0]["args"] == ["--b"]  # scalar lists are replaced
    assert containers[0]["env"] == [{"name": "A", "value": "9"}]
    assert containers[0]["image"] == "example/web:1.0"  # untouched fields stay
    assert "$patch" not in str(dep)


def test_json6902_patch(tmp_path: Path, base: Path) -> None:
    overlay = tmp_path / "overlay"
    ops = (
        "- op: replace\n  path: /spec/replicas\n  value: 5\n"
        "- op: remove\n  path: /spec/template/spec/containers/1\n"
        "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --c\n"
    )
    _kustomization(
        overlay,
        resources=["../base"],
        patches=[{"target": {"kind": "Deployment", "name": "web"}, "patch": ops}],
    )
    dep = render(overlay)[0]
    assert dep["spec"]["replicas"] == 5
    (web,) = dep["spec"]["template"]["spec"]["containers"]
    assert web["args"] == ["--a", "--c"]


def test_config_map_generator(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "start.sh").write_text("echo hi\n", encoding="utf-8")
    _kustomization(
        tmp_path,
        configMapGenerator=[
            {
                "name": "scripts",
                "files": ["run.sh=files/start.sh"],
                "literals": ["MODE=fast"],
                "options": {"disableNameSuffixHash": True},
            }
        ],
    )
    (cm,) = render(tmp_path)
    assert cm["metadata"]["name"] == "scripts"
    assert cm["data"] == {"run.sh": "echo hi\n", "MODE": "fast"}


def test_strategic_merge_null_removes_key() -> None:
    assert strategic_merge({"a": 1, "b": {"c": 2}}, {"a": None, "b": {"d": 3}}) == {
        "b": {"c": 2, "d": 3}
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"resources": ["app.yaml"], "commonLabels": {"a": "b"}}, "unsupported kustomization"),
        ({"resources": ["missing.yaml"]}, "resource 'missing.yaml' does not exist"),
        (
            {"resources": ["app.yaml"], "images": [{"name": "nowhere/x", "newTag": "1"}]},
            "no container uses image",
        ),
        (
            {"resources": ["app.yaml"], "replicas": [{"name": "nope", "count": 2}]},
            "no Deployment or StatefulSet named",
        ),
        (
            {
                "resources": ["app.yaml"],
                "patches": [{"patch": "kind: Service\nmetadata: {name: other}\n"}],
            },
            "patch target Service/other not found",
        ),
        (
            {"configMapGenerator": [{"name": "c", "literals": ["A=1"]}]},
            "only disableNameSuffixHash: true",
        ),
        ({"resources": ["app.yaml", "app.yaml"]}, "defined twice"),
    ],
)
def test_errors_name_the_file(tmp_path: Path, fields: dict, message: str) -> None:
    _write(tmp_path / "app.yaml", DEPLOYMENT, SERVICE)
    _kustomization(tmp_path, **fields)
    with pytest.raises(KustomizeError, match=message) as info:
        render(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: Service\nmetadata: [\n", encoding="utf-8")
    _kustomization(tmp_path, resources=["bad.yaml"])
    with pytest.raises(KustomizeError, match=r"bad\.yaml: invalid YAML: line 3, column 1: "):
        render(tmp_path)
