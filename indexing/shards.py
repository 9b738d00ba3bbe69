"""Sharded bulk builds: N workers fill ONE new build, and a final step makes it current.

    python -m indexing build --shard 0/4 [--build-name juris_20261124T020000_000000]
    ...
    python -m indexing build --shard 3/4       # the last one to finish finalizes
    python -m indexing build --finalize NAME   # or by hand, after `--no-finalize` workers

Worker i indexes only the source units of shard i of N (`discover_units(shard=(i, N))`, a
stable hash of the unit) into the build `NAME`, created idempotently by whichever worker comes
first, and never moves the alias. When its points are durable it writes its shard manifest
`<root>/manifests/<NAME>.shards/<i>-of-<N>.json`, which is also its "done" marker. Finalizing
checks that all N markers exist, merges them into the build's manifest (what `sync` reads),
optimizes, moves the alias / pointer in one step and prunes old builds. A worker that finds all
markers present after writing its own finalizes (unless `--no-finalize`); two workers finishing
together both try, the exclusive writer lock serializes them and the second finds the alias
already moved (finalizing is idempotent).

Without `--build-name` the workers agree on a name through `<root>/bulk/<alias>.pending`,
created atomically (`os.link`) by the first worker and removed by the finalize step; all
workers must share `<root>` (the `juris-index-state` volume in Kubernetes).

Engines: server mode (`JURIS_QDRANT_URL`) runs the workers in parallel, each holding the writer
lock shared (sync and builds, which take it exclusively, wait their turn). The embedded engine
opens a build from one process only, so its shard workers take the lock exclusively: run them
one at a time (a second concurrent worker exits 2, "another build or sync is running").
Re-running a shard is safe: point ids are deterministic, so it overwrites its own points.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from indexing.build import (
    DocFilter,
    index_units,
    make_catalog,
    make_indexer,
    writer_lock,
)
from indexing.embeddings import Embedder
from indexing.ingest import IndexStats
from indexing.integrity import record_build, remove_record
from indexing.manifest import Manifest, manifest_path, pending_path, shards_dir
from indexing.settings import IndexSettings
from indexing.store import Catalog, EdgeCatalog, new_build_name, prune
from legal_corpus.adapters import IngestReport, SourceUnit, discover_units

log = logging.getLogger(__name__)

_MARKER = re.compile(r"^(\d+)-of-(\d+)\.json$")


class IncompleteBuild(ValueError):
    """Finalizing a sharded build before every shard reported done."""


def parse_shard(value: str) -> tuple[int, int]:
    """`"3/8"` -> `(3, 8)`.

    Args:
        value: `i/N` with 0 <= i < N.

    Returns:
        The shard index and count.

    Raises:
        ValueError: not of that form.
    """
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not m:
        raise ValueError(f"--shard must be i/N (e.g. 3/8), not {value!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {value}: the index must be in 0..N-1 and N >= 1")
    return index, count


def claim_build_name(root: Path, alias: str, count: int) -> str:
    """The pending bulk build's name; the first worker makes one up and records it atomically.

    Args:
        root: the shared index state root.
        alias: the serving alias (build names start with `<alias>_`).
        count: the number of shards N, which must match the pending build's.

    Returns:
        The build name every worker of this bulk build uses.
    """
    path = pending_path(root, alias)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"build": new_build_name(alias), "shards": count}))
        try:
            os.link(tmp, path)  # atomic: fails if another worker got there first
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    data = json.loads(path.read_text())
    if int(data["shards"]) != count:
        raise ValueError(
            f"{path} names bulk build {data['build']} of {data['shards']} shards, not {count}: "
            "finish it, or delete that file to start a new bulk build"
        )
    return str(data["build"])


def shard_status(root: Path, build: str) -> tuple[int | None, set[int]]:
    """The shard count and the shards that reported done for `build`.

    Raises:
        ValueError: markers disagree on the shard count.
    """
    folder = shards_dir(root, build)
    counts: set[int] = set()
    done: set[int] = set()
    if folder.is_dir():
        for p in folder.iterdir():
            m = _MARKER.match(p.name)
            if m:
                done.add(int(m.group(1)))
                counts.add(int(m.group(2)))
    if len(counts) > 1:
        raise ValueError(f"shard manifests of {build} disagree on N: {sorted(counts)}")
    return (counts.pop() if counts else None), done


@dataclass
class ShardResult:
    """What `run_shard` did."""

    build: str
    shard: tuple[int, int]
    stats: IndexStats
    report: IngestReport
    finalized: FinalizeResult | None = None


@dataclass
class FinalizeResult:
    """What `finalize` did."""

    build: str
    shards: int
    points: int
    already: bool = False
    dropped: list[str] = field(default_factory=list)


def _check_name(settings: IndexSettings, name: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not name.startswith(f"{settings.collection}_"):
        raise ValueError(
            f"build name {name!r} must start with {settings.collection + '_'!r} "
            "and use only letters, digits, '_', '.', '-' (e.g. juris_20261124T020000_000000)"
        )


def run_shard(
    settings: IndexSettings,
    shard: tuple[int, int],
    build_name: str | None = None,
    sources: list[str] | None = None,
    units: list[SourceUnit] | None = None,
    doc_filter: DocFilter | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
    finalize_when_complete: bool = True,
    catalog: Catalog | None = None,
) -> ShardResult:
    """Index shard i of N into the shared build, without moving the alias.

    Args:
        settings: where the index lives, which model embeds.
        shard: `(i, N)`.
        build_name: the build all workers fill (default: claimed through the pending file).
        sources: adapter sources to index (default: all).
        units: take shard i of exactly these units instead of discovering them.
        doc_filter: index only the documents it accepts (used for test slices).
        embedder: an already loaded embedder.
        progress: show progress bars.
        finalize_when_complete: finalize if every shard is done once this one is.
        catalog: the catalog to write to (default: the configured one).

    Returns:
        The build name, counts, the parse report and, when this worker finalized, what that did.
    """
    index, count = shard
    root = settings.qdrant_path
    name = build_name or claim_build_name(root, settings.collection, count)
    _check_name(settings, name)
    catalog = catalog or make_catalog(settings)
    embedded = isinstance(catalog, EdgeCatalog)
    with writer_lock(root, shared=not embedded):
        if catalog.current() == name:
            raise ValueError(f"build {name} is already serving; a shard must go into a new build")
        indexer = make_indexer(settings, embedder)
        if units is None:
            todo = discover_units(settings.corpus(), sources, shard=(index, count))
        else:
            todo = [u for u in units if u.shard(count) == index]
        store = catalog.ensure(name, indexer.embedder.dim)
        try:
            manifest, report, stats = index_units(indexer, store, name, todo, doc_filter, progress)
            store.flush()
        finally:
            store.close()
        manifest.save(shards_dir(root, name) / f"{index}-of-{count}.json")
        log.info("build %s: shard %d/%d done, %d documents", name, index, count, stats.documents)
    result = ShardResult(name, shard, stats, report)
    if finalize_when_complete:
        total, done = shard_status(root, name)
        if total == count and done >= set(range(count)):
            result.finalized = finalize(settings, name, catalog=catalog, wait=True)
    return result


def finalize(
    settings: IndexSettings, name: str, catalog: Catalog | None = None, wait: bool = False
) -> FinalizeResult:
    """Make the sharded build `name` current once every shard reported done.

    Args:
        settings: where the index lives.
        name: the build the shards filled.
        catalog: the catalog (default: the configured one).
        wait: wait for the writer lock instead of failing when it is held.

    Returns:
        The build, its shard count and points, and the old builds dropped.

    Raises:
        IncompleteBuild: a shard has not reported done (nothing changes).
    """
    root = settings.qdrant_path
    catalog = catalog or make_catalog(settings)
    with writer_lock(root, wait=wait):
        if catalog.current() == name and manifest_path(root, name).exists():
            log.info("build %s is already current", name)
            store = catalog.open(name)
            try:
                points = store.count()
            finally:
                store.close()
            return FinalizeResult(name, 0, points, already=True)
        count, done = shard_status(root, name)
        if count is None:
            raise IncompleteBuild(f"no shard of build {name} reported done under {root}")
        missing = sorted(set(range(count)) - done)
        if missing:
            raise IncompleteBuild(
                f"build {name}: shards {', '.join(f'{i}/{count}' for i in missing)} "
                f"have not reported done ({len(done)} of {count} have)"
            )
        merged = Manifest(name)
        for i in range(count):
            part = Manifest.load(shards_dir(root, name) / f"{i}-of-{count}.json")
            merged.units.update(part.units)
            merged.versions.update(part.versions)
        store = catalog.open(name)
        try:
            store.optimize()
            points = store.count()
            if isinstance(catalog, EdgeCatalog):  # what readers check before serving it
                record_build(root, store)
        finally:
            store.close()
        merged.save(manifest_path(root, name))
        catalog.swap(name)
        dropped = prune(catalog, settings.keep_builds)
        for old in dropped:
            manifest_path(root, old).unlink(missing_ok=True)
            remove_record(root, old)
            shutil.rmtree(shards_dir(root, old), ignore_errors=True)
        shutil.rmtree(shards_dir(root, name), ignore_errors=True)
        pending = pending_path(root, settings.collection)
        try:
            if json.loads(pending.read_text()).get("build") == name:
                pending.unlink()
        except FileNotFoundError:
            pass
        log.info("build %s: %d shards, %d points, now current", name, count, points)
        return FinalizeResult(name, count, points, dropped=dropped)
