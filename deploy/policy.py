"""Juris's own policy check of rendered manifests: the rules no standard tool knows.

checkov (`deploy.checkov`) checks what every workload must have: images pinned by digest,
CPU/memory requests and limits, non-root with a high uid, no privilege escalation, capabilities
dropped, the RuntimeDefault seccomp profile, a read-only root filesystem, probes, Secrets as
files. `check(manifests, profile)` returns every `Violation` of the rules specific to Juris, each
with a stable id (empty when the manifests comply):

- `cronjob-*` / `job-*`: no overlapping runs, bounded retries, deadlines;
- `netpol-*`: default deny, DNS egress, only the gateway reaches vLLM, only the gateway, the
  indexer jobs (label `juris.io/qdrant-writer=true`), the snapshot job and Qdrant's own peers
  reach Qdrant, and only the peers reach the p2p port 6335;
- `qdrant-*`: writers hold the full API key, the gateway the read-only one (as the file
  `JURIS_QDRANT_API_KEY_FILE` names), Qdrant gets both; the p2p port is on no Service but the
  headless one and nothing is exposed outside the cluster;
- `gateway-*`: replicas >= 2, `/readyz` and `/healthz` probes, HPA, PDB, Service, Ingress,
  keys file mounted from a Secret at `JURIS_API_KEYS_FILE`;
- profile `gpu`: vLLM with `nvidia.com/gpu` (one per pod), LoRA flags, `/health` readiness;
  Qdrant with 3 replicas, cluster mode, required anti-affinity, replication factor >= 2;
- profile `cpu`: no GPU anywhere, the extractive generator, one Qdrant replica;
- profile `bulk-build`: an Indexed Job whose workers each take shard `$(JOB_COMPLETION_INDEX)`.

vLLM's own argument parser checks the vLLM Deployment's arguments (`deploy.vllm_args`).

Example:
    >>> from deploy.manifests import render  # doctest: +SKIP
    >>> check(render(Path("deploy/k8s/overlays/gpu")), "gpu")  # doctest: +SKIP
    []
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from deploy.manifests import Manifest, containers_of, pod_spec

Profile = Literal["gpu", "cpu", "bulk-build"]

GATEWAY = {"app.kubernetes.io/name": "juris-gateway"}
VLLM = {"app.kubernetes.io/name": "juris-vllm"}
QDRANT = {"app.kubernetes.io/name": "juris-qdrant"}
SNAPSHOT = {"app.kubernetes.io/name": "juris-qdrant-snapshot"}
WRITER = {"juris.io/qdrant-writer": "true"}
QDRANT_KEYS = "qdrant-api-keys"  # the Secret: `api-key` (full), `read-only-api-key`
QDRANT_API_PORTS = {6333, 6334}
QDRANT_P2P_PORT = 6335
MAX_RETRIES = 6


@dataclass(frozen=True)
class Violation:
    """One broken rule: its stable id, the object (`Kind/name`) and what is wrong."""

    rule: str
    obj: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.obj}: {self.message}"


def check(manifests: Iterable[Manifest], profile: Profile) -> list[Violation]:
    """Every rule violation in a rendered overlay.

    Args:
        manifests: the rendered objects of one overlay.
        profile: which overlay this is: `gpu` (production), `cpu` (one node) or `bulk-build`.

    Returns:
        The violations, empty when the manifests comply.
    """
    docs = list(manifests)
    out = check_workloads(docs)
    if profile == "bulk-build":
        out.extend(_check_bulk_build(docs))
        return out
    out.extend(_check_network_policies(docs))
    out.extend(_check_qdrant_access(docs))
    out.extend(_check_gateway(docs))
    out.extend(_check_reindex(docs))
    if profile == "gpu":
        out.extend(_check_gpu(docs))
    else:
        out.extend(_check_cpu(docs))
    return out


def check_workloads(manifests: Iterable[Manifest]) -> list[Violation]:
    """The limits every Job and CronJob must keep (no overlapping runs, retries, deadlines).

    Args:
        manifests: any objects; only Jobs and CronJobs count.

    Returns:
        The violations, empty when every job complies.
    """
    out: list[Violation] = []
    for doc in manifests:
        if doc.get("kind") == "CronJob":
            out.extend(_check_cronjob(doc))
        elif doc.get("kind") == "Job":
            out.extend(_check_job(_name(doc), doc.get("spec") or {}))
    return out


# --- helpers ------------------------------------------------------------------------------


def _name(doc: Manifest) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def _find(docs: list[Manifest], kind: str, name: str) -> Manifest | None:
    return next(
        (d for d in docs if d.get("kind") == kind and d["metadata"].get("name") == name), None
    )


def _pod_labels(doc: Manifest) -> dict[str, str]:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    return dict(labels)


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels / matchExpressions) selects `labels`.

    Args:
        selector: a Kubernetes label selector; `{}` selects everything.
        labels: the labels of a pod.

    Returns:
        True when every requirement holds.
    """
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _env_value(docs: list[Manifest], container: dict[str, Any], name: str) -> str | None:
    """The value `name` takes in `container` (its env, else a ConfigMap it reads via envFrom)."""
    for env in container.get("env") or []:
        if env.get("name") == name and "value" in env:
            return str(env["value"])
    for source in container.get("envFrom") or []:
        ref = (source.get("configMapRef") or {}).get("name")
        cm = _find(docs, "ConfigMap", ref) if ref else None
        if cm and name in (cm.get("data") or {}):
            return str(cm["data"][name])
    return None


def _secret_keys_held(pod: dict[str, Any], container: dict[str, Any]) -> set[tuple[str, str]]:
    """The `(Secret, key)` pairs a container can read: mounted files and environment variables.

    A Secret volume without `items` mounts every key of the Secret: `(name, "*")`.
    """
    held = set()
    for env in container.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            held.add((ref["name"], ref["key"]))
    mounted = {m["name"] for m in container.get("volumeMounts") or []}
    for volume in pod.get("volumes") or []:
        secret = volume.get("secret")
        if not secret or volume["name"] not in mounted:
            continue
        items = secret.get("items")
        if not items:
            held.add((secret["secretName"], "*"))
        for item in items or []:
            held.add((secret["secretName"], item["key"]))
    return held


def _secret_key_at(pod: dict[str, Any], container: dict[str, Any], path: str) -> tuple[str, str]:
    """The `(Secret, key)` whose file the container sees at `path` (`("", "")` when none)."""
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        prefix = mount["mountPath"].rstrip("/") + "/"
        secret = volumes.get(mount["name"], {}).get("secret")
        if not secret or not path.startswith(prefix):
            continue
        rel = path[len(prefix) :]
        for item in secret.get("items") or [{"key": rel, "path": rel}]:
            if item["path"] == rel:
                return secret["secretName"], item["key"]
    return "", ""


def _probe_path(container: dict[str, Any], probe: str) -> str | None:
    return ((container.get(probe) or {}).get("httpGet") or {}).get("path")


# --- jobs ---------------------------------------------------------------------------------


def _check_cronjob(doc: Manifest) -> Iterator[Violation]:
    obj, spec = _name(doc), doc.get("spec") or {}
    if spec.get("concurrencyPolicy") != "Forbid":
        yield Violation("cronjob-concurrency", obj, "concurrencyPolicy must be Forbid")
    if not spec.get("startingDeadlineSeconds"):
        yield Violation("cronjob-deadline", obj, "no startingDeadlineSeconds")
    yield from _check_job(obj, (spec.get("jobTemplate") or {}).get("spec") or {})


def _check_job(obj: str, spec: dict[str, Any]) -> Iterator[Violation]:
    retries = spec.get("backoffLimitPerIndex", spec.get("backoffLimit"))
    if retries is None or int(retries) > MAX_RETRIES:
        yield Violation("job-retries", obj, f"retries must be set and <= {MAX_RETRIES}")
    if not spec.get("activeDeadlineSeconds"):
        yield Violation("job-deadline", obj, "no activeDeadlineSeconds")


# --- network policies ---------------------------------------------------------------------


def _rule_ports(rule: dict[str, Any]) -> set[int] | None:
    """The ports a rule opens (None: all ports)."""
    ports = rule.get("ports")
    if not ports:
        return None
    return {int(p["port"]) for p in ports if isinstance(p.get("port"), int)}


def _check_network_policies(docs: list[Manifest]) -> Iterator[Violation]:
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    deny = [
        p
        for p in policies
        if p["spec"].get("podSelector") == {}
        and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    if not deny:
        yield Violation("netpol-default-deny", "NetworkPolicy", "no default-deny policy")
    dns = any(
        p["spec"].get("podSelector") == {}
        and any(53 in (_rule_ports(r) or set()) for r in p["spec"].get("egress") or [])
        for p in policies
    )
    if not dns:
        yield Violation("netpol-dns", "NetworkPolicy", "no policy allows DNS egress")
    has_vllm = any(_pod_labels(d).get("app.kubernetes.io/name") == "juris-vllm" for d in docs)
    targets: list[tuple[str, dict[str, str], list[dict[str, str]], int | None]] = [
        ("netpol-qdrant", QDRANT, [GATEWAY, WRITER, SNAPSHOT, QDRANT], None),
        ("netpol-qdrant-p2p", QDRANT, [QDRANT], QDRANT_P2P_PORT),
    ]
    if has_vllm:
        targets.append(("netpol-vllm", VLLM, [GATEWAY], None))
    for rule_id, target, allowed, port in targets:
        granted: list[dict[str, str]] = []
        for pol in policies:
            if not selects(pol["spec"].get("podSelector"), target):
                continue
            for rule in pol["spec"].get("ingress") or []:
                ports = _rule_ports(rule)
                if port is not None and ports is not None and port not in ports:
                    continue
                peers = rule.get("from")
                if not peers:
                    yield Violation(rule_id, _name(pol), "an ingress rule allows every source")
                    continue
                for peer in peers:
                    sel = peer.get("podSelector")
                    labels = (sel or {}).get("matchLabels") or {}
                    if "ipBlock" in peer or "namespaceSelector" in peer or not sel:
                        yield Violation(rule_id, _name(pol), f"ingress from {peer} is too wide")
                    elif labels not in allowed or sel.get("matchExpressions"):
                        yield Violation(rule_id, _name(pol), f"ingress from {sel} not allowed")
                    else:
                        granted.append(labels)
        for source in allowed:
            if source not in granted:
                yield Violation(rule_id, "NetworkPolicy", f"no policy lets {source} reach {target}")


def _check_qdrant_access(docs: list[Manifest]) -> Iterator[Violation]:
    for doc in docs:
        labels = _pod_labels(doc)
        pod = pod_spec(doc) or {}
        for c in containers_of(doc):
            held = _secret_keys_held(pod, c)
            if not held & {(QDRANT_KEYS, "api-key"), (QDRANT_KEYS, "*")}:
                continue
            writer = selects({"matchLabels": WRITER}, labels) and doc["kind"] in ("Job", "CronJob")
            server_or_backup = selects({"matchLabels": QDRANT}, labels) or selects(
                {"matchLabels": SNAPSHOT}, labels
            )
            if not (writer or server_or_backup):
                yield Violation(
                    "qdrant-writers", _name(doc), "holds Qdrant's full API key but is no writer"
                )
        if selects({"matchLabels": QDRANT}, labels) and doc.get("kind") == "StatefulSet":
            for c in (pod.get("containers") or [])[:1]:
                held = _secret_keys_held(pod, c)
                for key in ("api-key", "read-only-api-key"):
                    if not held & {(QDRANT_KEYS, key), (QDRANT_KEYS, "*")}:
                        yield Violation(
                            "qdrant-keys", _name(doc), f"Qdrant does not get {QDRANT_KEYS}/{key}"
                        )
        if doc.get("kind") == "Service":
            ports = {p.get("port") for p in doc["spec"].get("ports") or []}
            headless = doc["spec"].get("clusterIP") == "None"
            if QDRANT_P2P_PORT in ports and not headless:
                yield Violation("qdrant-p2p", _name(doc), "exposes the p2p port 6335")
            if doc["spec"].get("type") in ("NodePort", "LoadBalancer") and (
                selects({"matchLabels": doc["spec"].get("selector") or {}}, QDRANT)
                or selects({"matchLabels": doc["spec"].get("selector") or {}}, VLLM)
            ):
                yield Violation("qdrant-p2p", _name(doc), "exposes Qdrant/vLLM outside the cluster")
    for ing in (d for d in docs if d.get("kind") == "Ingress"):
        for rule in ing["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                svc = path["backend"].get("service", {}).get("name")
                if svc != "gateway":
                    yield Violation("ingress-backend", _name(ing), f"routes to {svc!r}")


# --- the gateway --------------------------------------------------------------------------


def _check_gateway(docs: list[Manifest]) -> Iterator[Violation]:
    dep = _find(docs, "Deployment", "gateway")
    if dep is None:
        yield Violation("gateway", "Deployment/gateway", "missing")
        return
    obj = _name(dep)
    if int(dep["spec"].get("replicas", 1)) < 2:
        yield Violation("gateway-replicas", obj, "fewer than 2 replicas")
    labels = _pod_labels(dep)
    pod = pod_spec(dep) or {}
    c = (pod.get("containers") or [{}])[0]
    if _probe_path(c, "readinessProbe") != "/readyz":
        yield Violation("gateway-probes", obj, "readiness probe is not GET /readyz")
    if _probe_path(c, "livenessProbe") != "/healthz":
        yield Violation("gateway-probes", obj, "liveness probe is not GET /healthz")
    key_file = _env_value(docs, c, "JURIS_QDRANT_API_KEY_FILE") or ""
    if _secret_key_at(pod, c, key_file) != (QDRANT_KEYS, "read-only-api-key"):
        yield Violation(
            "qdrant-writers", obj, "JURIS_QDRANT_API_KEY_FILE must be Qdrant's read-only key"
        )
    keys_file = _env_value(docs, c, "JURIS_API_KEYS_FILE")
    if not keys_file or not _mounted_from_secret(pod, c, keys_file):
        yield Violation("gateway-keys", obj, f"JURIS_API_KEYS_FILE {keys_file!r} not from a Secret")
    hpa = [
        d
        for d in docs
        if d.get("kind") == "HorizontalPodAutoscaler"
        and d["spec"]["scaleTargetRef"].get("name") == "gateway"
    ]
    if not hpa:
        yield Violation("gateway-hpa", obj, "no HorizontalPodAutoscaler")
    elif int(hpa[0]["spec"].get("minReplicas", 1)) < 2:
        yield Violation("gateway-hpa", _name(hpa[0]), "minReplicas below 2")
    if not any(
        d.get("kind") == "PodDisruptionBudget" and selects(d["spec"].get("selector"), labels)
        for d in docs
    ):
        yield Violation("gateway-pdb", obj, "no PodDisruptionBudget selects the gateway")
    svc = _find(docs, "Service", "gateway")
    if svc is None or not selects({"matchLabels": svc["spec"].get("selector") or {}}, labels):
        yield Violation("gateway-service", obj, "no Service selects the gateway")
    if not any(d.get("kind") == "Ingress" for d in docs):
        yield Violation("gateway-ingress", obj, "no Ingress")


def _mounted_from_secret(pod: dict[str, Any], container: dict[str, Any], path: str) -> bool:
    secrets = {
        v["name"]
        for v in pod.get("volumes") or []
        if "secret" in v and v["secret"].get("secretName")
    }
    for mount in container.get("volumeMounts") or []:
        if mount["name"] in secrets and path.startswith(mount["mountPath"].rstrip("/") + "/"):
            return True
    return False


# --- reindex and bulk build ---------------------------------------------------------------


def _check_reindex(docs: list[Manifest]) -> Iterator[Violation]:
    for doc in docs:
        if doc.get("kind") != "CronJob":
            continue
        for c in containers_of(doc):
            args = [*c.get("command", []), *c.get("args", [])]
            if "indexing" in args and "sync" in args:
                if not selects({"matchLabels": WRITER}, _pod_labels(doc)):
                    yield Violation("reindex", _name(doc), "not labelled as a Qdrant writer")
                return
    yield Violation("reindex", "CronJob", "no CronJob runs `python -m indexing sync`")


def _check_bulk_build(docs: list[Manifest]) -> Iterator[Violation]:
    jobs = [d for d in docs if d.get("kind") == "Job"]
    if not jobs:
        yield Violation("bulk-build", "Job", "no Job")
    for job in jobs:
        obj, spec = _name(job), job["spec"]
        if spec.get("completionMode") != "Indexed":
            yield Violation("bulk-build", obj, "completionMode is not Indexed")
        if not selects({"matchLabels": WRITER}, _pod_labels(job)):
            yield Violation("bulk-build", obj, "not labelled as a Qdrant writer")
        for c in containers_of(job):
            args = " ".join([*c.get("command", []), *c.get("args", [])])
            if "--shard" not in args or "$(JOB_COMPLETION_INDEX)" not in args:
                yield Violation("bulk-build", obj, "workers do not take shard JOB_COMPLETION_INDEX")
            shards = _env_value(docs, c, "JURIS_BULK_SHARDS")
            if shards is None or int(shards) != int(spec.get("completions", 1)):
                yield Violation("bulk-build", obj, f"{shards} shards but {spec.get('completions')}")


# --- profiles -----------------------------------------------------------------------------


def _gpus(container: dict[str, Any], part: str) -> int:
    return int(((container.get("resources") or {}).get(part) or {}).get("nvidia.com/gpu", 0))


def _check_gpu(docs: list[Manifest]) -> Iterator[Violation]:
    vllm = _find(docs, "Deployment", "vllm")
    if vllm is None:
        yield Violation("vllm", "Deployment/vllm", "missing")
    else:
        obj = _name(vllm)
        c = (pod_spec(vllm) or {}).get("containers", [{}])[0]
        if c.get("image", "").split("@")[0].rsplit(":", 1)[0].split("/")[-2:] != [
            "vllm",
            "vllm-openai",
        ]:
            yield Violation("vllm-image", obj, "not the official vllm/vllm-openai image")
        if not (_gpus(c, "requests") == _gpus(c, "limits") == 1):
            yield Violation("vllm-gpu", obj, "must request and limit exactly one nvidia.com/gpu")
        args = " ".join(c.get("args", []))
        for flag in ("--enable-lora", "--lora-modules", "--max-loras", "--max-lora-rank"):
            if flag not in args:
                yield Violation("vllm-lora", obj, f"no {flag}")
        if _probe_path(c, "readinessProbe") != "/health":
            yield Violation("vllm-probes", obj, "readiness probe is not GET /health")
    sts = _find(docs, "StatefulSet", "qdrant")
    if sts is None:
        yield Violation("qdrant-cluster", "StatefulSet/qdrant", "missing")
        return
    obj = _name(sts)
    if int(sts["spec"].get("replicas", 1)) < 3:
        yield Violation("qdrant-cluster", obj, "fewer than 3 replicas")
    c = (pod_spec(sts) or {}).get("containers", [{}])[0]
    if _env_value(docs, c, "QDRANT__CLUSTER__ENABLED") != "true":
        yield Violation("qdrant-cluster", obj, "QDRANT__CLUSTER__ENABLED is not true")
    if not sts["spec"].get("volumeClaimTemplates"):
        yield Violation("qdrant-cluster", obj, "no volumeClaimTemplates")
    terms = (((pod_spec(sts) or {}).get("affinity") or {}).get("podAntiAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or []
    if not any(
        t.get("topologyKey") == "kubernetes.io/hostname"
        and selects(t.get("labelSelector"), _pod_labels(sts))
        for t in terms
    ):
        yield Violation("qdrant-anti-affinity", obj, "no required anti-affinity per node")
    cm = _find(docs, "ConfigMap", "juris-config") or {}
    if int((cm.get("data") or {}).get("JURIS_QDRANT_REPLICATION_FACTOR", "1")) < 2:
        yield Violation("qdrant-cluster", "ConfigMap/juris-config", "replication factor below 2")
    if not any(
        d.get("kind") == "PodDisruptionBudget" and selects(d["spec"].get("selector"), QDRANT)
        for d in docs
    ):
        yield Violation("qdrant-cluster", obj, "no PodDisruptionBudget")


def _check_cpu(docs: list[Manifest]) -> Iterator[Violation]:
    for doc in docs:
        for c in containers_of(doc):
            if _gpus(c, "requests") or _gpus(c, "limits"):
                yield Violation("cpu-no-gpu", _name(doc), "requests a GPU on the cpu overlay")
    dep = _find(docs, "Deployment", "gateway")
    if dep is not None:
        c = (pod_spec(dep) or {}).get("containers", [{}])[0]
        url = _env_value(docs, c, "JURIS_VLLM_URL")
        has_vllm = _find(docs, "Deployment", "vllm") is not None
        if url and not has_vllm:
            yield Violation("cpu-generator", _name(dep), f"JURIS_VLLM_URL {url!r} but no vLLM")
    sts = _find(docs, "StatefulSet", "qdrant")
    if sts is None or int(sts["spec"].get("replicas", 1)) != 1:
        yield Violation("cpu-qdrant", "StatefulSet/qdrant", "the cpu overlay runs one Qdrant")
