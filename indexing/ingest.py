"""The indexing pipeline: documents -> chunks -> dense + sparse vectors -> store.

Parsing, chunking and sparse weights run in a producer thread while the main thread embeds
and upserts, so the embedding model (the bottleneck) never waits for the parser.

    >>> indexer = Indexer(embedder, Chunker(model_token_counter(model_dir)), Bm25Encoder())
    >>> stats = indexer.run(iter_documents(corpus_dir, ["federal_rules"]), store)
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from indexing.chunking import Chunker, embed_text
from indexing.embeddings import Embedder
from indexing.model import Chunk
from indexing.sparse import Bm25Encoder, SparseVec
from indexing.store import IndexPoint, VectorStore
from legal_corpus.model import LegalDocument


@dataclass
class IndexStats:
    """What a pipeline run did."""

    documents: int = 0
    chunks: int = 0
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
    done: list[tuple[LegalDocument, int]]  # documents (and chunk counts) ending here


_END = object()


class Indexer:
    """Chunks, embeds and upserts documents.

    Args:
        embedder: dense embedder.
        chunker: legal-structure chunker.
        sparse: BM25 sparse encoder.
        batch_size: chunks per embed + upsert batch.
        stamp: payload fields stored with every point (the embedding model's identity,
            `indexing.model_record`).
    """

    def __init__(
        self,
        embedder: Embedder,
        chunker: Chunker,
        sparse: Bm25Encoder,
        batch_size: int = 64,
        stamp: dict[str, str] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.embedder = embedder
        self.chunker = chunker
        self.sparse = sparse
        self.batch_size = batch_size
        self.stamp = dict(stamp or {})

    def points(self, chunks: list[Chunk]) -> list[IndexPoint]:
        """Index points of one document version's chunks (embeds them)."""
        vecs = self.embedder.encode([embed_text(c) for c in chunks])
        return [
            IndexPoint(c, v, self.sparse.document(embed_text(c)), len(chunks), self.stamp)
            for c, v in zip(chunks, vecs, strict=True)
        ]

    def _produce(self, docs: Iterable[LegalDocument], out: queue.Queue[object]) -> None:
        try:
            buf = _Batch([], [], [], [], [])
            for doc in docs:
                chunks = self.chunker.chunk(doc)
                for c in chunks:
                    text = embed_text(c)
                    buf.chunks.append(c)
                    buf.texts.append(text)
                    buf.sparse.append(self.sparse.document(text))
                    buf.n_chunks.append(len(chunks))
                buf.done.append((doc, len(chunks)))
                if len(buf.chunks) >= self.batch_size:
                    out.put(buf)
                    buf = _Batch([], [], [], [], [])
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
        on_done: Callable[[LegalDocument], None] | None = None,
        total: int | None = None,
    ) -> IndexStats:
        """Index `docs` into `store`.

        Args:
            docs: document versions, streamed.
            store: the build to write.
            progress: show a progress bar (documents).
            on_done: called with each document once all its chunks are upserted.
            total: number of documents, for the progress bar, when known.

        Returns:
            Counts and timings.
        """
        from tqdm import tqdm

        stats = IndexStats()
        start = time.perf_counter()
        q: queue.Queue[object] = queue.Queue(maxsize=8)
        producer = threading.Thread(target=self._produce, args=(docs, q), daemon=True)
        producer.start()
        bar = tqdm(total=total, disable=not progress, desc="index", unit="doc")
        try:
            for batch in _drain(q):
                t0 = time.perf_counter()
                vecs = self.embedder.encode(batch.texts)
                t1 = time.perf_counter()
                store.upsert(
                    [
                        IndexPoint(c, v, s, n, self.stamp)
                        for c, v, s, n in zip(
                            batch.chunks, vecs, batch.sparse, batch.n_chunks, strict=True
                        )
                    ]
                )
                t2 = time.perf_counter()
                stats.embed_seconds += t1 - t0
                stats.upsert_seconds += t2 - t1
                stats.chunks += len(batch.chunks)
                for doc, n in batch.done:
                    stats.documents += 1
                    stats.versions[doc.version_key] = (doc.content_hash, n)
                    if on_done is not None:
                        on_done(doc)
                bar.update(len(batch.done))
                bar.set_postfix(chunks=stats.chunks)
        finally:
            bar.close()
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
