"""The indexing pipeline: documents -> chunks -> dense + sparse vectors -> store.

Parsing, chunking and sparse weights run in a producer thread while the main thread embeds
and upserts, so the embedding model (the bottleneck) never waits for the parser.

What the model is asked to embed is kept small:

- **the same text is embedded once**: passages with identical embedded text (a provision
  unchanged between two US Code editions or two years of a Federal Rule; a repeated
  judgment) share one vector, within a batch and across the run (`_VectorMemo`), besides the
  on-disk cache across runs (`embeddings.CachedEmbedder`);
- **long opinions get dense vectors for their first passages only**
  (`dense_opinion_passages`, `JURIS_DENSE_OPINION_PASSAGES`): every passage keeps its sparse
  vector and its payload, so it is found by its words, cited, looked up and shown as before;
  only the dense ranking no longer reaches passage 13 of a 90-passage judgment. README,
  "Build speed", has the measurements behind it.

Progress: on a terminal a bar; elsewhere (`legal_corpus.progress`) one line at least every
30 s for the passages embedded and the passages upserted, with the total estimated from what
the build has read so far.

    >>> indexer = Indexer(embedder, Chunker(model_token_counter(model_dir)), Bm25Encoder())
    >>> stats = indexer.run(iter_documents(corpus_dir, ["federal_rules"]), store)
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexing.chunking import Chunker, embed_text
from indexing.embeddings import Embedder
from indexing.model import Chunk
from indexing.sparse import FIELD as SPARSE_FIELD
from indexing.sparse import Bm25Encoder, SparseVec
from indexing.store import IndexPoint, VectorStore
from legal_corpus.model import LegalDocument
from legal_corpus.progress import progress as progress_bar

OPINION = "opinion"


@dataclass
class IndexStats:
    """What a pipeline run did."""

    documents: int = 0
    chunks: int = 0
    embedded: int = 0  # texts the model (or the on-disk cache) was asked for
    cached: int = 0  # of those, the ones the on-disk cache held (none computed)
    reused: int = 0  # passages whose vector came from an identical text of this run
    sparse_only: int = 0  # passages of long opinions beyond the dense budget
    seconds: float = 0.0
    embed_seconds: float = 0.0
    upsert_seconds: float = 0.0
    versions: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (hash, n)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class _Batch:
    chunks: list[Chunk]
    texts: list[str]
    sparse: list[SparseVec]
    n_chunks: list[int]
    dense: list[bool]  # whether the chunk gets a dense vector
    done: list[tuple[LegalDocument, int]]  # documents (and chunk counts) ending here


_END = object()


class _VectorMemo:
    """Vectors of texts embedded earlier in this run, by sha256, the most recent `size` kept.

    The on-disk cache already holds them when it is on; the memo also covers a run without
    it (`JURIS_EMBED_CACHE=`) and saves the SQLite round trip for a repeat a few batches on.
    """

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._data: OrderedDict[bytes, np.ndarray] = OrderedDict()

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha256(text.encode()).digest()

    def get(self, key: bytes) -> np.ndarray | None:
        vec = self._data.get(key)
        if vec is not None:
            self._data.move_to_end(key)
        return vec

    def put(self, key: bytes, vec: np.ndarray) -> None:
        if self.size <= 0:
            return
        self._data[key] = vec
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)


class Indexer:
    """Chunks, embeds and upserts documents.

    Args:
        embedder: dense embedder.
        chunker: legal-structure chunker.
        sparse: BM25 sparse encoder.
        batch_size: chunks per embed + upsert batch.
        dense_opinion_passages: passages of a court opinion that get a dense vector, from its
            first (None: all). The others are indexed with their sparse vector only.
        dedup: embed each distinct text once per run (False: every passage, as before; kept
            for the benchmark that measures what it saves).
        stamp: payload fields stored with every point (the embedding model's identity,
            `indexing.model_record`, and the sparse format, `indexing.sparse.FIELD`).
    """

    def __init__(
        self,
        embedder: Embedder,
        chunker: Chunker,
        sparse: Bm25Encoder,
        batch_size: int = 64,
        dense_opinion_passages: int | None = None,
        dedup: bool = True,
        stamp: dict[str, Any] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if dense_opinion_passages is not None and dense_opinion_passages < 1:
            raise ValueError("dense_opinion_passages must be at least 1 (None: all)")
        self.embedder = embedder
        self.chunker = chunker
        self.sparse = sparse
        self.batch_size = batch_size
        self.stamp = dict(stamp or {})
        self.dense_opinion_passages = dense_opinion_passages
        self._memo = _VectorMemo(50_000 if dedup else 0)
        self.dedup = dedup
        self.produced = 0

    def in_sparse_format(self, sparse_format: int) -> None:
        """Encode (and stamp) the points this indexer makes in `sparse_format`: a sync adds
        points to a build in the build's own format (`indexing.sparse`)."""
        self.sparse = self.sparse.with_format(sparse_format)
        self.stamp[SPARSE_FIELD] = sparse_format

    def wants_dense(self, chunk: Chunk) -> bool:
        """Whether `chunk` gets a dense vector (see `dense_opinion_passages`)."""
        limit = self.dense_opinion_passages
        return limit is None or chunk.kind != OPINION or chunk.order < limit

    def points(self, chunks: list[Chunk]) -> list[IndexPoint]:
        """Index points of one document version's chunks (embeds them)."""
        texts = [embed_text(c) for c in chunks]
        dense = [self.wants_dense(c) for c in chunks]
        vecs = self._embed(texts, dense, IndexStats())
        return [
            IndexPoint(c, v, self.sparse.document(t), len(chunks), self.stamp)
            for c, v, t in zip(chunks, vecs, texts, strict=True)
        ]

    def _embed(self, texts: list[str], dense: list[bool], stats: IndexStats) -> list[Any]:
        """Vectors of `texts` where `dense` says so, each distinct text embedded once."""
        out: list[Any] = [None] * len(texts)
        todo: dict[bytes, list[int]] = {}
        order: list[str] = []
        for i, (text, want) in enumerate(zip(texts, dense, strict=True)):
            if not want:
                stats.sparse_only += 1
                continue
            key = _VectorMemo.key(text) if self.dedup else i.to_bytes(8, "big")
            known = self._memo.get(key)
            if known is not None:
                out[i] = known
                stats.reused += 1
                continue
            if key in todo:
                todo[key].append(i)
                stats.reused += 1
                continue
            todo[key] = [i]
            order.append(text)
        if order:
            computed = getattr(self.embedder, "computed", None)  # a `CachedEmbedder`'s count
            vecs = self.embedder.encode(order)
            stats.embedded += len(order)
            if computed is not None:
                stats.cached += len(order) - (self.embedder.computed - computed)  # type: ignore[attr-defined]
            for (key, where), vec in zip(todo.items(), vecs, strict=True):
                self._memo.put(key, vec)
                for i in where:
                    out[i] = vec
        return out

    def _produce(self, docs: Iterable[LegalDocument], out: queue.Queue[object]) -> None:
        try:
            buf = _Batch([], [], [], [], [], [])
            # a small first batch: the first passages become searchable sooner
            size = max(1, self.batch_size // 8)
            for doc in docs:
                chunks = self.chunker.chunk(doc)
                self.produced += len(chunks)
                for c in chunks:
                    text = embed_text(c)
                    buf.chunks.append(c)
                    buf.texts.append(text)
                    buf.sparse.append(self.sparse.document(text))
                    buf.n_chunks.append(len(chunks))
                    buf.dense.append(self.wants_dense(c))
                buf.done.append((doc, len(chunks)))
                if sum(buf.dense) >= size or len(buf.chunks) >= 4 * self.batch_size:
                    out.put(buf)
                    buf = _Batch([], [], [], [], [], [])
                    size = self.batch_size
            if buf.chunks or buf.done:
                out.put(buf)
            out.put(_END)
        except BaseException as err:  # handed to the consumer, which re-raises it
            out.put(err)

    def run(
        self,
        docs: Iterable[LegalDocument],
        store: VectorStore,
        progress: bool = True,
        on_done: Callable[[LegalDocument, int], None] | None = None,
        total: int | None = None,
        estimate: Callable[[int], int | None] | None = None,
        on_batch: Callable[[IndexStats], None] | None = None,
    ) -> IndexStats:
        """Index `docs` into `store`.

        Args:
            docs: document versions, streamed.
            store: the build to write.
            progress: show progress (a bar on a terminal, log lines elsewhere).
            on_done: called with each document and its passage count once all its chunks
                are upserted.
            total: number of passages in all, when known (progress lines).
            estimate: given the passages chunked so far, an estimate of the total (used when
                `total` is None; e.g. scaled by the share of the input read).
            on_batch: called after each upserted batch with the running counts.

        Returns:
            Counts and timings.
        """
        stats = IndexStats()
        start = time.perf_counter()
        self.produced = 0  # passages chunked by the producer so far (for `estimate`)
        q: queue.Queue[object] = queue.Queue(maxsize=8)
        producer = threading.Thread(target=self._produce, args=(docs, q), daemon=True)
        producer.start()
        embed_bar: Any = progress_bar(total=total, desc="embed", unit="passage", enabled=progress)
        upsert_bar: Any = progress_bar(total=total, desc="upsert", unit="point", enabled=progress)
        try:
            for batch in _drain(q):
                t0 = time.perf_counter()
                vecs = self._embed(batch.texts, batch.dense, stats)
                t1 = time.perf_counter()
                if total is None and estimate is not None:
                    guess = estimate(self.produced)
                    if guess:
                        embed_bar.total = upsert_bar.total = guess
                        embed_bar.estimated = upsert_bar.estimated = True
                embed_bar.set_postfix_str(
                    f"{stats.embedded - stats.cached:,} embedded, {stats.cached:,} from the "
                    f"cache, {stats.reused:,} repeated texts"
                )
                embed_bar.update(len(batch.chunks))
                store.upsert(
                    [
                        IndexPoint(c, v, s, n, self.stamp)
                        for c, v, s, n in zip(
                            batch.chunks, vecs, batch.sparse, batch.n_chunks, strict=True
                        )
                    ]
                )
                t2 = time.perf_counter()
                upsert_bar.update(len(batch.chunks))
                stats.embed_seconds += t1 - t0
                stats.upsert_seconds += t2 - t1
                stats.chunks += len(batch.chunks)
                for doc, n in batch.done:
                    stats.documents += 1
                    stats.versions[doc.version_key] = (doc.content_hash, n)
                    if on_done is not None:
                        on_done(doc, n)
                if on_batch is not None:
                    on_batch(stats)
            embed_bar.total = upsert_bar.total = stats.chunks  # the estimate, now exact
            embed_bar.estimated = upsert_bar.estimated = False
        finally:
            embed_bar.close()
            upsert_bar.close()
            producer.join(timeout=5)
        stats.seconds = time.perf_counter() - start
        return stats


def _drain(q: queue.Queue[object]) -> Iterator[_Batch]:
    while True:
        item = q.get()
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, _Batch)
        yield item
