"""Versioned builds: write a whole new build, then move the alias / pointer to it in one step.

Searches keep using the previous build until the swap, and never see a half-built one;
builds beyond `JURIS_KEEP_BUILDS` are dropped, oldest first.

    $ python -m indexing build --sources federal_rules gdpr
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from indexing import model_record
from indexing.chunking import Chunker, model_token_counter
from indexing.embeddings import CachedEmbedder, Embedder, EmbeddingCache, load_embedder
from indexing.ingest import Indexer, IndexStats
from indexing.integrity import record_build, remove_record
from indexing.manifest import Manifest, manifest_path, unit_id, unit_signature
from indexing.settings import IndexSettings
from indexing.sparse import Bm25Encoder
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

log = logging.getLogger(__name__)

DocFilter = Callable[[LegalDocument], bool]


class BusyError(RuntimeError):
    """Another build or sync holds the index lock."""


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
    cache = EmbeddingCache(settings.embed_cache / "vectors.sqlite", inner.name)
    return CachedEmbedder(inner, cache)


def make_indexer(settings: IndexSettings, embedder: Embedder | None = None) -> Indexer:
    """An `Indexer` with the configured model's tokenizer sizing the chunks."""
    emb = embedder or make_embedder(settings)
    max_tokens = min(200, emb.max_tokens - 40)  # room for the embedded citation prefix
    chunker = Chunker(model_token_counter(settings.model_dir()), max_tokens=max_tokens)
    # Eight model batches per encode call: sentence-transformers sorts each call's texts by
    # length, so larger calls pad less (measured: 32 per call ran 1.5x slower than one call).
    stamp = {
        model_record.FIELD: model_record.model_identity(
            settings.model_dir(), settings.embed_backend
        )
    }
    return Indexer(emb, chunker, Bm25Encoder(), batch_size=settings.embed_batch * 8, stamp=stamp)


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
) -> tuple[Manifest, IngestReport, IndexStats]:
    """Parse, embed and upsert `units` into `store`, recording each version in a manifest.

    Args:
        indexer: chunks, embeds and upserts.
        store: the build being written.
        name: the build's name (the manifest's).
        units: the units to index.
        doc_filter: index only the documents it accepts.
        progress: show progress bars.

    Returns:
        The manifest of what was indexed, the parse report, and the indexing counts.
    """
    report = IngestReport()
    manifest = Manifest(name)
    sigs = {unit_id(u): unit_signature(u) for u in units}
    for u in units:
        manifest.units.setdefault(unit_id(u), {"sig": sigs[unit_id(u)], "versions": []})
    origin: dict[str, SourceUnit] = {}

    def note(unit: SourceUnit, doc: LegalDocument) -> None:
        origin[doc.version_key] = unit

    stats = indexer.run(parse_tracked(units, report, note, doc_filter), store, progress=progress)
    for vk, (h, n) in stats.versions.items():
        unit = origin[vk]
        manifest.record(unit_id(unit), sigs[unit_id(unit)], vk, h, n, unit.source)
    return manifest, report, stats


@dataclass
class BuildResult:
    """What `run_build` did."""

    build: str
    stats: IndexStats
    report: IngestReport
    dropped: list[str] = field(default_factory=list)
    points: int = 0


def run_build(
    settings: IndexSettings,
    sources: list[str] | None = None,
    units: list[SourceUnit] | None = None,
    doc_filter: DocFilter | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> BuildResult:
    """Build a new version of the index and make it current.

    Args:
        settings: where the index lives, which model embeds.
        sources: adapter sources to index (default: all).
        units: index exactly these units instead of discovering them.
        doc_filter: index only the documents it accepts (used for test slices).
        embedder: an already loaded embedder (default: the configured one).
        progress: show progress bars.

    Returns:
        The new build's name, counts, timings and the parse report.
    """
    with writer_lock(settings.qdrant_path):
        catalog = make_catalog(settings)
        indexer = make_indexer(settings, embedder)
        corpus = settings.corpus()
        todo = units if units is not None else discover_units(corpus, sources)
        name = new_build_name(settings.collection)
        store = catalog.create(name, indexer.embedder.dim)
        try:
            manifest, report, stats = index_units(indexer, store, name, todo, doc_filter, progress)
            store.flush()
            store.optimize()
            points = store.count()
            if isinstance(catalog, EdgeCatalog):  # what readers check before serving it
                record_build(settings.qdrant_path, store)
        finally:
            store.close()
        manifest.save(manifest_path(settings.qdrant_path, name))
        catalog.swap(name)
        dropped = prune(catalog, settings.keep_builds)
        for old in dropped:
            mp = manifest_path(settings.qdrant_path, old)
            if mp.exists():
                os.remove(mp)
            remove_record(settings.qdrant_path, old)
        log.info("build %s: %d documents, %d points", name, stats.documents, points)
        return BuildResult(name, stats, report, dropped, points)
