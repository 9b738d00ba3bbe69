"""Incremental sync (the nightly reindex): add new document versions, replace changed ones,
retire vanished ones, ingest new rulings from an incoming folder.

    $ python -m indexing sync                       # the corpus against the current build
    $ python -m indexing sync --incoming drop/      # plus PDF/HTML/DOCX/TXT rulings in drop/
    $ python -m indexing sync --dry-run             # print the plan only

How it decides: the current build's manifest lists every source unit with a signature of its
files (path, size, mtime) and every document version with its content hash. Units whose
signature is unchanged are not even parsed; the others are parsed and their versions compared
by hash. A version no longer produced by any unit is *retired*: its points stay, their
`valid_to` is closed at the sync date (if still open) and `retired` set, so history remains
queryable with `as_of` (a new version of a provision already ends the old one's validity
through the dates the adapter gives it). Documents ingested from `--incoming` are never
retired by a later run that does not see them again.

Crash safety: on the embedded engine the sync writes a copy of the current build
(`sync.work.json` names it) and swaps the pointer at the end, so searches never see a half
applied sync; on a server it writes the aliased collection in place. Either way, before
writing a version it checks the points already there: a version whose points all carry the
new content hash, and as many of them as it has chunks, is left alone. The manifest is
written only after the points. A run killed at any point (SIGKILL included) and started again
resumes the same work build and ends with exactly the points of an uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from indexing.build import (
    make_catalog,
    make_embedder,
    make_indexer,
    parse_tracked,
    run_build,
    writer_lock,
)
from indexing.chunking import CHUNK_FORMAT
from indexing.embeddings import Embedder
from indexing.integrity import record_build, remove_record
from indexing.manifest import Manifest, manifest_path, sync_work_path, unit_id, unit_signature
from indexing.model_record import FIELD, build_sparse_format, check_build_model
from indexing.settings import IndexSettings
from indexing.store import (
    OPEN_TO,
    EdgeCatalog,
    MatchAny,
    VectorStore,
    Where,
    day_int,
    new_build_name,
    prune,
)
from legal_corpus.adapters import IngestReport, SourceUnit, discover_units, source_names
from legal_corpus.model import LegalDocument
from legal_corpus.progress import progress as progress_bar

log = logging.getLogger(__name__)

RULINGS = "opinions/rulings"
INCOMING_PREFIX = f"{RULINGS}/incoming/"


def incoming_units(folder: Path) -> list[SourceUnit]:
    """One rulings unit per file of `folder` (hidden files skipped), keyed `incoming/<name>`."""
    if not folder.is_dir():
        raise ValueError(f"incoming folder {folder} does not exist")
    return [
        SourceUnit(RULINGS, f"incoming/{p.name}", (p,))
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    ]


@dataclass
class SyncPlan:
    """What a sync will do."""

    add: list[LegalDocument] = field(default_factory=list)
    replace: list[LegalDocument] = field(default_factory=list)
    retire: list[str] = field(default_factory=list)
    unchanged: int = 0
    units_skipped: int = 0
    units_parsed: int = 0
    manifest: Manifest | None = None  # the manifest after the sync

    @property
    def empty(self) -> bool:
        return not (self.add or self.replace or self.retire)

    def describe(self) -> str:
        """The plan, one line per change, then a summary line."""
        lines = [f"add {d.version_key}" for d in self.add]
        lines += [f"replace {d.version_key}" for d in self.replace]
        lines += [f"retire {vk}" for vk in self.retire]
        lines.append(
            f"plan: {len(self.add)} to add, {len(self.replace)} to replace, "
            f"{len(self.retire)} to retire, {self.unchanged} unchanged "
            f"({self.units_skipped} units unchanged, {self.units_parsed} parsed)"
        )
        return "\n".join(lines)


def plan_sync(
    base: Manifest,
    units: list[SourceUnit],
    report: IngestReport,
    sources: list[str],
    progress: bool = False,
) -> SyncPlan:
    """Compare the source units with a build's manifest.

    Args:
        base: the manifest of the current build.
        units: the corpus units of the selected sources, plus any incoming units.
        report: collects parse errors (a unit that fails keeps its versions: nothing is
            retired because a file is unreadable today).
        sources: the sources synced (versions of other sources are left alone).
        progress: report the units compared (a bar on a terminal, log lines elsewhere).

    Returns:
        The plan, with the manifest the build will have after it.
    """
    plan = SyncPlan()
    after = Manifest(
        base.build, json.loads(json.dumps(base.units)), dict(base.versions), base.chunk_format
    )
    seen: set[str] = set()
    for unit in progress_bar(units, desc="compare", unit="unit", enabled=progress):
        uid, sig = unit_id(unit), unit_signature(unit)
        known = base.units.get(uid)
        if known and known["sig"] == sig and all(v in base.versions for v in known["versions"]):
            seen.update(known["versions"])
            plan.units_skipped += 1
            plan.unchanged += len(known["versions"])
            continue
        plan.units_parsed += 1
        errors_before = len(report.errors)
        produced: list[str] = []
        for doc in parse_tracked([unit], report):
            vk = doc.version_key
            produced.append(vk)
            old = base.versions.get(vk)
            if old is None or old.get("retired"):
                plan.add.append(doc)
            elif old["hash"] != doc.content_hash:
                plan.replace.append(doc)
            else:
                plan.unchanged += 1
        if len(report.errors) > errors_before and known:
            seen.update(known["versions"])  # unreadable today: keep what the index has
            continue
        seen.update(produced)
        after.units[uid] = {"sig": sig, "versions": produced}
    selected = set(sources)
    for vk, entry in base.versions.items():
        if entry.get("retired") or vk in seen:
            continue
        if entry.get("source") not in selected or str(entry.get("unit", "")).startswith(
            INCOMING_PREFIX
        ):
            continue
        plan.retire.append(vk)
    plan.manifest = after
    return plan


def _work_record(settings: IndexSettings) -> Path:
    return sync_work_path(settings.qdrant_path)


def _open_work_store(settings: IndexSettings, current: str) -> tuple[VectorStore, bool]:
    """The build the sync writes: a (resumed) copy on the embedded engine, else in place."""
    catalog = make_catalog(settings)
    if not isinstance(catalog, EdgeCatalog):
        return catalog.open(current), False
    record = _work_record(settings)
    if record.exists():
        data = json.loads(record.read_text())
        if data.get("base") == current and (catalog.builds_dir / data["work"]).is_dir():
            log.info("resuming sync in build %s", data["work"])
            return catalog.open(data["work"]), True
    work = new_build_name(settings.collection)
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps({"base": current, "work": work}))
    os.replace(tmp, record)
    return catalog.copy(current, work), True


@dataclass
class SyncResult:
    """What `run_sync` did."""

    plan: SyncPlan
    report: IngestReport
    build: str | None
    embedded_chunks: int = 0
    dry_run: bool = False


def run_sync(
    settings: IndexSettings,
    sources: list[str] | None = None,
    incoming: Path | None = None,
    dry_run: bool = False,
    embedder: Embedder | None = None,
    progress: bool = True,
    today: date | None = None,
) -> SyncResult:
    """Bring the index up to date with the corpus (and an incoming folder).

    Args:
        settings: index location, model, corpus.
        sources: sources to sync (default: all).
        incoming: a folder of new rulings (PDF, HTML, DOCX, TXT).
        dry_run: compute and return the plan, change nothing.
        embedder: an already loaded embedder.
        progress: show progress bars.
        today: the retirement date (default: today).

    Returns:
        The plan, the parse report (skipped files) and the build now current.
    """
    catalog = make_catalog(settings)
    current = catalog.current()
    report = IngestReport()
    names = source_names(sources)
    discovered = discover_units(settings.corpus(), names)
    units = list(discovered)
    if incoming is not None:
        units += incoming_units(Path(incoming))
    if current is None or not manifest_path(settings.qdrant_path, current).exists():
        if dry_run:
            return SyncResult(SyncPlan(), report, current, dry_run=True)
        log.info("no current build with a manifest: building from scratch")
        result = run_build(settings, units=units, embedder=embedder, progress=progress)
        return SyncResult(SyncPlan(), result.report, result.build, result.stats.chunks)

    with writer_lock(settings.qdrant_path):
        # with new rulings to read, the model loads (importing torch: seconds) while they are
        # parsed (importing unstructured for a PDF: seconds too)
        loading: dict[str, Embedder] = {}
        loader = threading.Thread(
            target=lambda: loading.setdefault("embedder", embedder or make_embedder(settings)),
            name="load-embedder",
        )
        if not dry_run and incoming is not None and len(units) > len(discovered):
            loader.start()
        base = Manifest.load(manifest_path(settings.qdrant_path, current))
        if base.chunk_format != CHUNK_FORMAT:
            log.warning(
                "build %s was embedded with chunk format %d, this release embeds format %d "
                "(indexing.chunking.CHUNK_FORMAT): the versions this sync adds or replaces get "
                "the new format, the others keep theirs until `python -m indexing build`",
                current,
                base.chunk_format,
                CHUNK_FORMAT,
            )
        plan = plan_sync(
            base, units, report, names + ([RULINGS] if incoming else []), progress=progress
        )
        if loader.is_alive():
            loader.join()  # not left loading at interpreter exit
        if dry_run:
            return SyncResult(plan, report, current, dry_run=True)
        if plan.empty:
            if plan.manifest is not None and plan.manifest.units != base.units:
                plan.manifest.save(manifest_path(settings.qdrant_path, current))
            return SyncResult(plan, report, current)
        assert plan.manifest is not None
        indexer = make_indexer(settings, loading.get("embedder") or embedder)
        store, copied = _open_work_store(settings, current)
        try:
            # new text embedded by another model than the build's would not be comparable
            check_build_model(store, indexer.stamp[FIELD], role="would embed new text")
            # nor would its sparse terms in another format: the build's own is kept
            sparse_format = build_sparse_format(store)
            if sparse_format != indexer.sparse.sparse_format:
                log.warning(
                    "build %s holds sparse terms of format %d, this release makes format %d "
                    "(indexing.sparse.SPARSE_FORMAT): the sync adds its versions in the "
                    "build's format; `python -m indexing build` moves the index to the new one",
                    current,
                    sparse_format,
                    indexer.sparse.sparse_format,
                )
            indexer.in_sparse_format(sparse_format)
            embedded = _apply(plan, store, indexer, today or date.today(), progress)
            store.flush()
            if copied:  # an embedded build: what readers check before serving it
                record_build(settings.qdrant_path, store)
            plan.manifest.build = store.name
            plan.manifest.save(manifest_path(settings.qdrant_path, store.name))
        finally:
            store.close()
        if copied:
            catalog.swap(store.name)
            _work_record(settings).unlink(missing_ok=True)
            for old in prune(catalog, settings.keep_builds):
                manifest_path(settings.qdrant_path, old).unlink(missing_ok=True)
                remove_record(settings.qdrant_path, old)
        return SyncResult(plan, report, store.name, embedded)


def _apply(plan: SyncPlan, store: VectorStore, indexer: object, today: date, progress: bool) -> int:
    from indexing.ingest import Indexer

    assert isinstance(indexer, Indexer)
    assert plan.manifest is not None
    changed = {d.version_key for d in [*plan.add, *plan.replace]}
    wanted = changed | set(plan.retire)
    fields = ["version_key", "content_hash", "n_chunks", "valid_to"]
    actual: dict[str, list[tuple[str, str, int, int]]] = {}
    # only the points of the versions this sync touches (a payload index on version_key)
    hits = (
        store.scroll(Where((MatchAny("version_key", tuple(sorted(wanted))),)), fields)
        if wanted
        else []
    )
    for hit in hits:
        vk = hit.payload.get("version_key", "")
        if vk in wanted:
            p = hit.payload
            actual.setdefault(vk, []).append(
                (hit.id, p.get("content_hash", ""), int(p.get("n_chunks", 0)), p["valid_to"])
            )
    todo: list[LegalDocument] = []
    stale: list[str] = []
    for doc in [*plan.add, *plan.replace]:
        chunks = indexer.chunker.chunk(doc)
        ids = {c.chunk_id for c in chunks}
        have = actual.get(doc.version_key, [])
        done = (
            len(have) == len(chunks)
            and {h[0] for h in have} == ids
            and all(h[1] == doc.content_hash and h[2] == len(chunks) for h in have)
        )
        if not done:
            todo.append(doc)
        stale.extend(h[0] for h in have if h[0] not in ids)
        plan.manifest.versions[doc.version_key] = {
            "hash": doc.content_hash,
            "n": len(chunks),
            "unit": _unit_of(plan.manifest, doc.version_key),
            "source": doc.source,
            "retired": False,
        }
    embedded = 0
    if todo:
        stats = indexer.run(
            iter(todo),
            store,
            progress=progress,
            total=len(todo),
            on_done=lambda d, n: log.info("indexed %s (%d passages)", d.version_key, n),
        )
        embedded = stats.chunks
    store.delete(stale)
    close_day = day_int(today, OPEN_TO)
    for vk in plan.retire:
        have = actual.get(vk, [])
        open_ids = [h[0] for h in have if h[3] == OPEN_TO]
        closed_ids = [h[0] for h in have if h[3] != OPEN_TO]
        store.set_payload(open_ids, {"valid_to": close_day, "retired": True})
        store.set_payload(closed_ids, {"retired": True})
        plan.manifest.versions[vk] = {**plan.manifest.versions[vk], "retired": True}
    return embedded


def _unit_of(manifest: Manifest, version_key: str) -> str:
    for uid, entry in manifest.units.items():
        if version_key in entry["versions"]:
            return uid
    return ""
