"""Render a kustomization offline: the subset of kustomize that Juris's manifests use.

There is no `kubectl` or `kustomize` binary on the machines Juris is built on, so the tests render
the overlays with this module. It implements, with kustomize's semantics, exactly the fields the
manifests under `deploy/k8s/` use, and refuses any other field with an error naming the file:

- `resources`: YAML files (several documents each) and directories holding a kustomization;
- `namespace`: set on every namespaced object;
- `replicas`: `[{name, count}]` for Deployments and StatefulSets;
- `images`: `[{name, newName?, newTag?, digest?}]` on every container and init container;
- `configMapGenerator`: `files` and `literals`, only with `options.disableNameSuffixHash: true`
  (a hash suffix would need every reference rewritten; the pods are rolled by the operator);
- `patches`: `path` or inline `patch`, strategic merge (a partial object; lists of objects merge
  by `name`, `$patch: delete` removes an object or a list item) or JSON 6902 (a list of
  operations, with a `target` of kind and name).

Example:
    >>> docs = render(Path("deploy/k8s/overlays/gpu"))  # doctest: +SKIP
    >>> sorted({d["kind"] for d in docs})  # doctest: +SKIP
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

SUPPORTED_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "namespace",
        "replicas",
        "images",
        "configMapGenerator",
        "patches",
    }
)

# Kinds that live outside namespaces (the subset that can appear in these manifests).
CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
)

Manifest = dict[str, Any]


class KustomizeError(ValueError):
    """A kustomization or one of its files is invalid or uses an unsupported feature."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def find_kustomization(directory: Path) -> Path:
    """The kustomization file of `directory`.

    Args:
        directory: a folder expected to hold `kustomization.yaml`.

    Returns:
        The path of its kustomization file.

    Raises:
        KustomizeError: when there is none.
    """
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise KustomizeError(directory, "no kustomization.yaml in this directory")


def load_yaml_documents(path: Path) -> list[Manifest]:
    """Every non-empty YAML document of `path`, each required to be a Kubernetes object.

    Args:
        path: a YAML file.

    Returns:
        The objects in file order.

    Raises:
        KustomizeError: on a YAML error (with its line) or a document that is not an object.
    """
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except yaml.YAMLError as exc:
        raise KustomizeError(path, f"invalid YAML: {_yaml_problem(exc)}") from exc
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or "kind" not in doc or "metadata" not in doc:
            raise KustomizeError(path, f"document {i + 1} is not a Kubernetes object")
    return docs


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """`line L, column C: problem` for a YAML error (1-based, as editors count)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def render(directory: Path) -> list[Manifest]:
    """Render the kustomization in `directory` (and, recursively, the ones it includes).

    Args:
        directory: a folder with a kustomization file.

    Returns:
        The rendered objects, in resource order.

    Raises:
        KustomizeError: on any invalid or unsupported input, naming the file.
    """
    kfile = find_kustomization(directory)
    spec = yaml.safe_load(kfile.read_text(encoding="utf-8")) or {}
    if not isinstance(spec, dict):
        raise KustomizeError(kfile, "a kustomization must be a mapping")
    unknown = sorted(set(spec) - SUPPORTED_FIELDS)
    if unknown:
        raise KustomizeError(kfile, f"unsupported kustomization field(s): {', '.join(unknown)}")

    docs: list[Manifest] = []
    for entry in spec.get("resources", []):
        target = _inside(kfile, directory / entry)
        if target.is_dir():
            docs.extend(render(target))
        elif target.is_file():
            docs.extend(load_yaml_documents(target))
        else:
            raise KustomizeError(kfile, f"resource {entry!r} does not exist")
    docs.extend(_generate_config_maps(kfile, spec.get("configMapGenerator", [])))
    _check_unique(kfile, docs)

    for patch_spec in spec.get("patches", []):
        docs = _apply_patch_spec(kfile, directory, docs, patch_spec)
    for rep in spec.get("replicas", []):
        _set_replicas(kfile, docs, rep)
    for image in spec.get("images", []):
        _set_image(kfile, docs, image)
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = spec["namespace"]
    return docs


def _inside(kfile: Path, target: Path) -> Path:
    """`target`, refused when it leaves the repository's `deploy/k8s` tree of `kfile`."""
    resolved = target.resolve()
    root = kfile.parent.resolve()
    while root.name not in ("k8s", "") and root.parent != root:
        root = root.parent
    if root not in resolved.parents and resolved != root:
        raise KustomizeError(kfile, f"{target} is outside {root}")
    return resolved


def _check_unique(kfile: Path, docs: Iterable[Manifest]) -> None:
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        key = (doc["kind"], doc["metadata"].get("name", ""))
        if key in seen:
            raise KustomizeError(kfile, f"{key[0]}/{key[1]} is defined twice")
        seen.add(key)


def _generate_config_maps(kfile: Path, generators: list[dict[str, Any]]) -> list[Manifest]:
    out: list[Manifest] = []
    for gen in generators:
        name = gen.get("name")
        if not name:
            raise KustomizeError(kfile, "configMapGenerator entry without a name")
        options = gen.get("options", {})
        if options.get("disableNameSuffixHash") is not True:
            raise KustomizeError(
                kfile, f"configMapGenerator {name}: only disableNameSuffixHash: true is supported"
            )
        extra = set(gen) - {"name", "files", "literals", "options"}
        if extra or set(options) - {"disableNameSuffixHash", "labels"}:
            raise KustomizeError(kfile, f"configMapGenerator {name}: unsupported fields")
        data: dict[str, str] = {}
        for item in gen.get("files", []):
            key, _, rel = item.partition("=") if "=" in item else (Path(item).name, "", item)
            path = _inside(kfile, kfile.parent / rel)
            if not path.is_file():
                raise KustomizeError(kfile, f"configMapGenerator {name}: no file {rel!r}")
            data[key] = path.read_text(encoding="utf-8")
        for literal in gen.get("literals", []):
            key, sep, value = literal.partition("=")
            if not sep:
                raise KustomizeError(kfile, f"configMapGenerator {name}: bad literal {literal!r}")
            data[key] = value
        metadata: dict[str, Any] = {"name": name}
        if options.get("labels"):
            metadata["labels"] = dict(options["labels"])
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
    return out


def _apply_patch_spec(
    kfile: Path, directory: Path, docs: list[Manifest], patch_spec: dict[str, Any]
) -> list[Manifest]:
    if "path" in patch_spec:
        ppath = _inside(kfile, directory / patch_spec["path"])
        if not ppath.is_file():
            raise KustomizeError(kfile, f"patch file {patch_spec['path']!r} does not exist")
        text = ppath.read_text(encoding="utf-8")
        where = ppath
    elif "patch" in patch_spec:
        text, where = patch_spec["patch"], kfile
    else:
        raise KustomizeError(kfile, "a patch needs `path` or `patch`")
    try:
        parsed = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise KustomizeError(where, f"invalid YAML in patch: {_yaml_problem(exc)}") from exc
    parsed = [p for p in parsed if p is not None]
    target = patch_spec.get("target")
    if len(parsed) == 1 and isinstance(parsed[0], list):
        if not target:
            raise KustomizeError(where, "a JSON 6902 patch needs a target (kind and name)")
        doc = _find(where, docs, target.get("kind", ""), target.get("name", ""))
        for op in parsed[0]:
            _json6902(where, doc, op)
        return docs
    for patch in parsed:
        if not isinstance(patch, dict) or "kind" not in patch or "metadata" not in patch:
            raise KustomizeError(where, "a strategic-merge patch must be a Kubernetes object")
        name = patch["metadata"].get("name", "")
        doc = _find(where, docs, patch["kind"], name)
        if patch.get("$patch") == "delete":
            docs = [d for d in docs if d is not doc]
            continue
        merged = strategic_merge(doc, patch)
        docs = [merged if d is doc else d for d in docs]
    return docs


def _find(where: Path, docs: list[Manifest], kind: str, name: str) -> Manifest:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"].get("name") == name:
            return doc
    raise KustomizeError(where, f"patch target {kind}/{name} not found among the resources")


def strategic_merge(base: Any, patch: Any) -> Any:
    """Merge `patch` into a copy of `base` the way kustomize's strategic merge does here.

    Mappings merge key by key (a `null` value deletes the key); lists whose items are mappings
    with a `name` merge item by item on that name (an item with `$patch: delete` removes it, new
    names are appended); any other list, and any scalar, is replaced.

    Args:
        base: the original value.
        patch: the partial value to merge into it.

    Returns:
        A new merged value; `base` is not modified.
    """
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            if key == "$patch":
                continue
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = strategic_merge(out[key], value)
            else:
                out[key] = _strip_directives(copy.deepcopy(value))
        return out
    if _named_list(base) and _named_list(patch):
        merged = copy.deepcopy(base)
        for item in patch:
            index = next((i for i, b in enumerate(merged) if b["name"] == item["name"]), None)
            if item.get("$patch") == "delete":
                if index is not None:
                    merged.pop(index)
            elif index is None:
                merged.append(_strip_directives(copy.deepcopy(item)))
            else:
                merged[index] = strategic_merge(merged[index], item)
        return merged
    return _strip_directives(copy.deepcopy(patch))


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and "name" in v for v in value)
    )


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if k != "$patch"}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _json6902(where: Path, doc: Manifest, op: dict[str, Any]) -> None:
    kind = op.get("op")
    path = op.get("path", "")
    if not path.startswith("/"):
        raise KustomizeError(where, f"JSON 6902 path must start with '/': {path!r}")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
    parent: Any = doc
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent.get(part)
        if parent is None:
            raise KustomizeError(where, f"JSON 6902 path {path!r} does not exist")
    last = parts[-1]
    try:
        if kind in ("add", "replace"):
            value = copy.deepcopy(op["value"])
            if isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                elif kind == "add":
                    parent.insert(int(last), value)
                else:
                    parent[int(last)] = value
            else:
                if kind == "replace" and last not in parent:
                    raise KeyError(last)
                parent[last] = value
        elif kind == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            else:
                del parent[last]
        else:
            raise KustomizeError(where, f"unsupported JSON 6902 op {kind!r}")
    except (KeyError, IndexError, ValueError) as exc:
        raise KustomizeError(where, f"JSON 6902 {kind} {path!r} failed: {exc!r}") from exc


def pod_spec(doc: Manifest) -> dict[str, Any] | None:
    """The pod spec inside a workload object (Deployment, StatefulSet, Job, CronJob, Pod).

    Args:
        doc: a Kubernetes object.

    Returns:
        Its pod spec, or None for objects that run no pods.
    """
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return (spec.get("template") or {}).get("spec")
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        return (job.get("template") or {}).get("spec")
    return None


def containers_of(doc: Manifest) -> list[dict[str, Any]]:
    """Every container and init container of a workload object (empty for other objects)."""
    spec = pod_spec(doc)
    if spec is None:
        return []
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _set_replicas(kfile: Path, docs: list[Manifest], rep: dict[str, Any]) -> None:
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet") and doc["metadata"]["name"] == rep["name"]:
            doc["spec"]["replicas"] = int(rep["count"])
            return
    raise KustomizeError(kfile, f"replicas: no Deployment or StatefulSet named {rep['name']!r}")


def _set_image(kfile: Path, docs: list[Manifest], image: dict[str, Any]) -> None:
    name = image.get("name")
    if not name:
        raise KustomizeError(kfile, "images entry without a name")
    hits = 0
    for doc in docs:
        for container in containers_of(doc):
            ref = container.get("image", "")
            repo = _repository(ref)
            if repo != name:
                continue
            hits += 1
            new_repo = image.get("newName", repo)
            if "digest" in image:
                container["image"] = f"{new_repo}@{image['digest']}"
            elif "newTag" in image:
                container["image"] = f"{new_repo}:{image['newTag']}"
            else:
                container["image"] = new_repo + ref[len(repo) :]
    if hits == 0:
        raise KustomizeError(kfile, f"images: no container uses image {name!r}")


def _repository(ref: str) -> str:
    """The image reference without its tag or digest."""
    ref = ref.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[:colon] if colon > slash else ref
