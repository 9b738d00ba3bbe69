"""Versioned builds: write a whole new build, then move the alias / pointer to it in one step.

Searches keep using the previous build until the swap, and never see a half-built one;
builds beyond `JURIS_KEEP_BUILDS` are dropped, oldest first. A build an earlier run left
unfinished (stopped, failed) and no search uses is dropped when the next build starts.

    $ python -m indexing build --sources federal_rules gdpr
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from indexing import model_record
from indexing.chunking import Chunker, model_token_counter
from indexing.embeddings import CachedEmbedder, Embedder, EmbeddingCache, load_embedder
from indexing.ingest import Indexer, IndexStats
from indexing.integrity import record_build, remove_record
from indexing.manifest import (
    Manifest,
    manifest_path,
    pending_path,
    shards_dir,
    sync_work_path,
    unit_id,
    unit_signature,
)
from indexing.priority import current_first, hinted_units, order_units, tier_of_source
from indexing.settings import IndexSettings
from indexing.sparse import FIELD as SPARSE_FIELD
from indexing.sparse import SPARSE_FORMAT, Bm25Encoder
from indexing.status import BuildTracker, status_path, unit_bytes
from indexing.store import (
    Catalog,
    EdgeCatalog,
    Replication,
    VectorStore,
    new_build_name,
    open_catalog,
    prune,
)
from legal_corpus.adapters import IngestReport, SourceUnit, discover_units, parse_units
from legal_corpus.model import LegalDocument
from legal_corpus.progress import progress as progress_bar

log = logging.getLogger(__name__)

DocFilter = Callable[[LegalDocument], bool]


class BusyError(RuntimeError):
    """Another build or sync holds the index lock."""


class BuildStopped(RuntimeError):
    """A build was asked to stop (`run_build(stop=…)`) before it was complete."""


@contextmanager
def writer_lock(root: Path, shared: bool = False, wait: bool = False) -> Iterator[None]:
    """One writer (build or sync) at a time per index root (an `flock` on `root/.lock`).

    Args:
        root: the index root (`JURIS_QDRANT_PATH`).
        shared: a shared lock, held together by the parallel workers of a sharded bulk build
            (server mode), which keeps out any exclusive writer (sync, build, finalize).
        wait: block until the lock is free instead of raising `BusyError`.
    """
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fh, mode if wait else mode | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise BusyError(f"another build or sync is running on {root}") from err
        yield


def has_complete_build(settings: IndexSettings) -> bool:
    """Whether the index's current build is a finished one (its manifest is written last): not
    none, not one still filling, not one a demo served early and then stopped."""
    current = make_catalog(settings).current()
    return current is not None and manifest_path(settings.qdrant_path, current).exists()


def make_catalog(settings: IndexSettings) -> Catalog:
    """The catalog for the configured engine (server when `JURIS_QDRANT_URL` is set)."""
    return open_catalog(
        settings.qdrant_path,
        settings.qdrant_url,
        settings.qdrant_api_key,
        settings.collection,
        settings.exact_below,
        replication_of(settings),
    )


def replication_of(settings: IndexSettings) -> Replication:
    """The replication settings of new server collections (`JURIS_QDRANT_SHARD_NUMBER`, ...)."""
    return Replication(
        shard_number=settings.qdrant_shard_number,
        replication_factor=settings.qdrant_replication_factor,
        write_consistency_factor=settings.qdrant_write_consistency_factor,
    )


def make_embedder(settings: IndexSettings, cached: bool = True) -> Embedder:
    """The configured embedder (shared per process), behind the on-disk cache when set."""
    inner = load_embedder(
        settings.model_dir(),
        settings.embed_backend,
        settings.embed_batch,
        settings.qdrant_path.parent / "onnx",
    )
    if not cached or settings.embed_cache is None:
        return inner
    # keyed by the model's identity (a digest of its weights), not its directory's name: a
    # model retrained in the same directory must not be served the old model's vectors
    identity = model_record.model_identity(settings.model_dir(), settings.embed_backend)
    cache = EmbeddingCache(settings.embed_cache / "vectors.sqlite", identity)
    return CachedEmbedder(inner, cache)


def make_indexer(settings: IndexSettings, embedder: Embedder | None = None) -> Indexer:
    """An `Indexer` with the configured model's tokenizer sizing the chunks."""
    emb = embedder or make_embedder(settings)
    max_tokens = min(200, emb.max_tokens - 40)  # room for the embedded citation prefix
    chunker = Chunker(model_token_counter(settings.model_dir()), max_tokens=max_tokens)
    # Eight model batches per encode call: sentence-transformers sorts each call's texts by
    # length, so larger calls pad less (measured: 32 per call ran 1.5x slower than one call).
    stamp: dict[str, str | int] = {
        model_record.FIELD: model_record.model_identity(
            settings.model_dir(), settings.embed_backend
        ),
        SPARSE_FIELD: SPARSE_FORMAT,
    }
    return Indexer(
        emb,
        chunker,
        Bm25Encoder(sparse_format=SPARSE_FORMAT),
        batch_size=settings.embed_batch * 8,
        dense_opinion_passages=settings.dense_opinion_passages or None,
        stamp=stamp,
    )


def parse_tracked(
    units: list[SourceUnit],
    report: IngestReport,
    on_doc: Callable[[SourceUnit, LegalDocument], None] | None = None,
    doc_filter: DocFilter | None = None,
) -> Iterator[LegalDocument]:
    """Documents of `units`, a failing unit recorded in `report` and skipped.

    Args:
        units: the units to parse.
        report: collects counts and errors.
        on_doc: told which unit each yielded document came from.
        doc_filter: keep only documents for which it returns True.
    """
    return parse_units(units, report, on_doc, doc_filter)


def index_units(
    indexer: Indexer,
    store: VectorStore,
    name: str,
    units: list[SourceUnit],
    doc_filter: DocFilter | None = None,
    progress: bool = True,
    tracker: BuildTracker | None = None,
    on_batch: Callable[[IndexStats], None] | None = None,
) -> tuple[Manifest, IngestReport, IndexStats]:
    """Parse, embed and upsert `units` into `store`, recording each version in a manifest.

    Units are indexed in the order given; within each tier (`indexing.priority`) the versions
    in force today go first and past versions after (`current_first`).

    Args:
        indexer: chunks, embeds and upserts.
        store: the build being written.
        name: the build's name (the manifest's).
        units: the units to index, in the order to index them (`order_units`).
        doc_filter: index only the documents it accepts.
        progress: show progress (a bar on a terminal, log lines elsewhere).
        tracker: counts per source for the status file (optional).
        on_batch: called after each upserted batch with the running counts.

    Returns:
        The manifest of what was indexed, the parse report, and the indexing counts.
    """
    report = IngestReport()
    manifest = Manifest(name)
    sigs = {unit_id(u): unit_signature(u) for u in units}
    for u in units:
        manifest.units.setdefault(unit_id(u), {"sig": sigs[unit_id(u)], "versions": []})
    origin: dict[str, SourceUnit] = {}
    total_bytes = sum(unit_bytes(u) for u in units) or 1
    read = {"bytes": 0, "passages": 0}

    def note(unit: SourceUnit, doc: LegalDocument) -> None:
        origin[doc.version_key] = unit
        if tracker is not None:
            tracker.document_read(doc)

    def parsed() -> Iterator[LegalDocument]:
        # counted in kB of source files: units range from a 2 kB statute to a 4 MB title
        kb = -(-total_bytes // 1024)
        bar = progress_bar(total=kb, desc="parse", unit="kB", enabled=progress)
        shown = 0
        try:
            for unit in units:
                yield from parse_tracked([unit], report, note, doc_filter)
                read["bytes"] += unit_bytes(unit)
                if tracker is not None:
                    tracker.unit_read(unit)
                now = min(kb, -(-read["bytes"] // 1024))
                bar.update(now - shown)
                shown = now
        finally:
            bar.close()

    def estimate(chunked: int) -> int | None:
        # passages in all, scaled from the share of the input bytes read so far
        share = read["bytes"] / total_bytes
        return max(chunked, round(chunked / share)) if share > 0.02 else None

    def doc_done(doc: LegalDocument, passages: int) -> None:
        if tracker is not None:
            tracker.documents_written(doc, passages)

    stats = indexer.run(
        current_first(parsed()),
        store,
        progress=progress,
        estimate=estimate,
        on_done=doc_done,
        on_batch=on_batch,
    )
    for vk, (h, n) in stats.versions.items():
        unit = origin[vk]
        manifest.record(unit_id(unit), sigs[unit_id(unit)], vk, h, n, unit.source)
    return manifest, report, stats


def resumable_builds(root: Path, alias: str, builds: Iterable[str]) -> set[str]:
    """The builds another job may still resume, which no build command drops: the one a bulk
    sharded build's workers share (named by its pending file), any with a shard done
    (`indexing.shards`), and the copy an interrupted embedded sync resumes (`indexing.sync`).
    All of `builds` when a record naming one cannot be read (then nothing is dropped)."""
    builds = list(builds)
    spare = {name for name in builds if shards_dir(root, name).exists()}
    for record, key in ((pending_path(root, alias), "build"), (sync_work_path(root), "work")):
        if record.exists():
            try:
                spare.add(str(json.loads(record.read_text())[key]))
            except (OSError, ValueError, KeyError, TypeError) as err:
                log.warning("%s cannot be read (%s): no build is dropped", record, err)
                return set(builds)
    return spare


def drop_unfinished(catalog: Catalog, root: Path, spare: Collection[str]) -> list[str]:
    """Drop the embedded builds earlier runs left unfinished, before a new one is written.

    A build stopped or failed before its manifest was written (an interrupted first `make
    demo`, a crash) is kept until the next build. Never dropped: the current one, even if
    unfinished (it is what searches use until a build completes), and those in `spare`
    (`resumable_builds`). Embedded store only, under the writer lock: then nothing else is
    writing one. A Qdrant server's builds are left to `prune`, since a shard worker
    elsewhere may be filling one.

    Returns:
        The names dropped (their integrity records removed too).
    """
    if not isinstance(catalog, EdgeCatalog):
        return []
    current = catalog.current()
    dropped = [
        name
        for name in catalog.builds()
        if name != current and name not in spare and not manifest_path(root, name).exists()
    ]
    for name in dropped:
        catalog.drop(name)
        remove_record(root, name)
    if dropped:
        log.info("dropped %d unfinished build(s) of earlier runs: %s", len(dropped),
                 ", ".join(dropped))  # fmt: skip
    return dropped


@dataclass
class BuildResult:
    """What `run_build` did."""

    build: str
    stats: IndexStats
    report: IngestReport
    dropped: list[str] = field(default_factory=list)
    points: int = 0
    seconds: float = 0.0  # from the lock taken to the swap, optimisation included


def run_build(
    settings: IndexSettings,
    sources: list[str] | None = None,
    units: list[SourceUnit] | None = None,
    doc_filter: DocFilter | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
    hint: str | list[str] | None = None,
    serve_early: bool = False,
    on_tracker: Callable[[BuildTracker], None] | None = None,
    stop: threading.Event | None = None,
) -> BuildResult:
    """Build a new version of the index and make it current.

    The units are indexed in priority order (`indexing.priority`: enacted law, today's
    versions first, then court opinions; units matching `hint` first within their tier), and
    the build's progress is written to the status file (`indexing.status`).

    With `serve_early` (the demo: searches and the build in one process), the pointer moves to
    the build as soon as its first passages are written, so searches answer from what is
    already in while the rest is indexed; at the end the filled build is copied, the copy
    optimised (HNSW) and made current in one pointer swap, while searches go on against the
    filling build. On a Qdrant server the alias moves the same way.

    Args:
        settings: where the index lives, which model embeds.
        sources: adapter sources to index (default: all).
        units: index exactly these units instead of discovering them.
        doc_filter: index only the documents it accepts (used for test slices).
        embedder: an already loaded embedder (default: the configured one).
        progress: show progress (a bar on a terminal, log lines elsewhere).
        hint: questions about to be asked: matching units go first within their tier.
        serve_early: make the build current while it fills (see above).
        on_tracker: called with the build's `BuildTracker` once it exists (the demo watches
            it to know when its question can be answered).
        stop: when set, the build stops after the batch it is writing and raises
            `BuildStopped` (its status says so; the vectors it embedded stay in the on-disk
            cache for the next build). A build already copying or optimising finishes.

    Returns:
        The new build's name, counts, timings and the parse report.
    """
    t0 = time.perf_counter()
    with writer_lock(settings.qdrant_path):
        catalog = make_catalog(settings)
        root = settings.qdrant_path
        spare = resumable_builds(root, settings.collection, catalog.builds())
        unfinished = drop_unfinished(catalog, root, spare)
        indexer = make_indexer(settings, embedder)
        corpus = settings.corpus()
        todo = units if units is not None else discover_units(corpus, sources)
        todo = order_units(todo, hint)
        name = new_build_name(settings.collection)
        tracker = BuildTracker(status_path(settings.qdrant_path, settings.collection), name, todo)
        if hint:
            # the question is answerable once its units of the first tier it reaches are in
            # (a judgment sharing its words comes with the opinions, much later)
            matched = hinted_units(todo, hint)
            first = min((tier_of_source(u.source) for u in matched), default=0)
            tracker.hinted(
                f"{u.source}/{u.key}" for u in matched if tier_of_source(u.source) == first
            )
        if on_tracker is not None:
            on_tracker(tracker)
        store = catalog.create(name, indexer.embedder.dim)
        final = name

        def publish(stats: IndexStats) -> None:
            if stop is not None and stop.is_set():
                raise BuildStopped(f"build {name} stopped after {stats.chunks:,} passages")
            tracker.write()  # at most every few seconds
            if serve_early and not tracker.serving and stats.chunks:
                catalog.swap(name)
                tracker.serving = True
                tracker.write(force=True)
                log.info("build %s: searchable while it fills (%d passages in)", name, stats.chunks)

        try:
            try:
                manifest, report, stats = index_units(
                    indexer, store, name, todo, doc_filter, progress, tracker, publish
                )
                store.flush()
                if tracker.serving:
                    # searches go on against the filling build while its copy is optimised
                    final = new_build_name(settings.collection)
                    out = catalog.copy(name, final)
                    store.close()
                    store = out
                    manifest.build = final
                log.info("build %s: optimising (HNSW) …", final)
                store.optimize()
                points = store.count()
                if isinstance(catalog, EdgeCatalog):  # what readers check before serving it
                    record_build(settings.qdrant_path, store)
            finally:
                store.close()
        except BaseException as err:
            tracker.finish("failed", f"{type(err).__name__}: {err}"[:300], tracker.serving)
            raise
        manifest.save(manifest_path(settings.qdrant_path, final))
        catalog.swap(final)
        tracker.build = final
        # the filling build stays open for searches in this process until they follow the
        # pointer: it is kept beside the copy, and the next build drops it
        dropped = prune(catalog, settings.keep_builds + (1 if final != name else 0), spare)
        for old in dropped:
            mp = manifest_path(settings.qdrant_path, old)
            if mp.exists():
                os.remove(mp)
            remove_record(settings.qdrant_path, old)
        tracker.finish("complete")
        seconds = time.perf_counter() - t0
        log.info(
            "build %s: %d documents, %d points in %.0f s", final, stats.documents, points, seconds
        )
        return BuildResult(final, stats, report, unfinished + dropped, points, seconds)
