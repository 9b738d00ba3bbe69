"""Where RAFT finds hard negatives: the index's retriever, or an in-memory one over chunks.

RAFT needs three things from retrieval: `search` (the same topic in another source), `document`
(neighbouring provisions of the oracle's document) and `versions` (other versions of the same
provision). `indexing`'s Retriever has them; `MemoryRetriever` provides them over a list of
`Chunk`s (BM25 via `bm25s`) for building data without an index, e.g. from a corpus slice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from indexing.model import Chunk, Passage, SearchFilters


class PassageSource(Protocol):
    """The part of `indexing.retrieve.Retriever` RAFT uses (structural: any retriever fits)."""

    def search(
        self, query: str, top_k: int, filters: SearchFilters, mode: str = "hybrid"
    ) -> list[Passage]:
        """Passages best matching `query`, best first."""
        ...

    def document(self, doc_id: str, as_of: date | None = None) -> list[Chunk]:
        """The chunks of the version of `doc_id` in force on `as_of` (current when None)."""
        ...

    def versions(self, doc_id: str) -> Sequence[Any]:
        """The versions of `doc_id` (objects or mappings with label / valid_from / valid_to)."""
        ...


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of a document as `MemoryRetriever.versions` reports it."""

    label: str
    valid_from: date | None
    valid_to: date | None


_VERSION_FIELDS = ("label", "valid_from", "valid_to")


def version_field(version: Any, name: str) -> Any:
    """`name` of a version given as an object, a mapping or a `(label, from, to)` tuple."""
    if isinstance(version, dict):
        return version.get(name)
    if isinstance(version, tuple):
        i = _VERSION_FIELDS.index(name)
        return version[i] if i < len(version) else None
    return getattr(version, name, None)


def _in_force(chunk: Chunk, day: date | None) -> bool:
    if day is None:
        return chunk.valid_to is None
    if chunk.valid_from is not None and day < chunk.valid_from:
        return False
    return chunk.valid_to is None or day < chunk.valid_to


_TOKEN = re.compile(r"[a-z0-9]+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class MemoryRetriever:
    """BM25 search, documents and versions over chunks held in memory.

    Args:
        chunks: every chunk (all versions) of the documents to draw from.

    Example:
        >>> retriever = MemoryRetriever(Chunker().iter_chunks(docs))
        >>> retriever.search("expert witness", 5, SearchFilters())
    """

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        import bm25s

        self.chunks = list(chunks)
        if not self.chunks:
            raise ValueError("MemoryRetriever needs at least one chunk")
        self._by_doc: dict[str, list[Chunk]] = {}
        for chunk in self.chunks:
            self._by_doc.setdefault(chunk.doc_id, []).append(chunk)
        corpus = [_tokens(f"{c.citation} {c.title} {c.text}") for c in self.chunks]
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)

    @property
    def index_version(self) -> str:
        """A label for this in-memory index."""
        return f"memory:{len(self.chunks)}"

    def search(
        self,
        query: str,
        top_k: int,
        filters: SearchFilters,
        mode: str = "bm25",
        group_by_doc: bool = False,
    ) -> list[Passage]:
        """Chunks best matching `query` by BM25 (`mode` is accepted for compatibility).

        Args:
            query: free text.
            top_k: most passages returned.
            filters: as_of (current versions when None), jurisdiction, kind, sources, doc_ids.
            mode: ignored: this retriever is lexical only.
            group_by_doc: at most one passage (its best) per document.

        Returns:
            Passages, best first.
        """
        terms = _tokens(query)
        if not terms:
            return []
        scores = self._bm25.get_scores(terms)
        order = sorted(range(len(self.chunks)), key=lambda i: -float(scores[i]))
        out: list[Passage] = []
        docs: set[str] = set()
        for i in order:
            score = float(scores[i])
            if score <= 0 or len(out) >= top_k:
                break
            chunk = self.chunks[i]
            if group_by_doc and chunk.doc_id in docs:
                continue
            if self._matches(chunk, filters):
                out.append(Passage(chunk, score))
                docs.add(chunk.doc_id)
        return out

    @staticmethod
    def _matches(chunk: Chunk, f: SearchFilters) -> bool:
        if not _in_force(chunk, f.as_of):
            return False
        if f.jurisdiction and chunk.jurisdiction != f.jurisdiction:
            return False
        if f.kind and chunk.kind != f.kind:
            return False
        if f.sources and chunk.source not in f.sources:
            return False
        return not f.doc_ids or chunk.doc_id in f.doc_ids

    def document(self, doc_id: str, as_of: date | None = None) -> list[Chunk]:
        """The chunks of the version of `doc_id` in force on `as_of` (current when None)."""
        chunks = [c for c in self._by_doc.get(doc_id, []) if _in_force(c, as_of)]
        return sorted(chunks, key=lambda c: c.order)

    def versions(self, doc_id: str) -> list[VersionInfo]:
        """The versions of `doc_id`, oldest first."""
        seen: dict[str, VersionInfo] = {}
        for c in self._by_doc.get(doc_id, []):
            seen.setdefault(c.version, VersionInfo(c.version, c.valid_from, c.valid_to))
        return sorted(seen.values(), key=lambda v: (v.valid_from or date.min, v.label))

    def exists(self, doc_id: str) -> bool:
        """True when `doc_id` has chunks here."""
        return doc_id in self._by_doc

    def lookup(self, doc_id: str, pinpoint: str = "", as_of: date | None = None) -> list[Chunk]:
        """Chunks of `doc_id` at `pinpoint` (every chunk for an empty pinpoint)."""
        chunks = self.document(doc_id, as_of) or self._by_doc.get(doc_id, [])
        if not pinpoint:
            return list(chunks)
        return [
            c for c in chunks if c.pinpoint.startswith(pinpoint) or pinpoint.startswith(c.pinpoint)
        ]

    def check(self) -> str:
        """Always answers: the chunks are in memory."""
        return self.index_version
