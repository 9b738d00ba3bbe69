"""What the gateway needs from retrieval, as a Protocol `indexing`'s Retriever satisfies.

The gateway never talks to Qdrant: it calls these methods (synchronous; the routes run them in
a worker thread) and receives `indexing.model` values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol, runtime_checkable

from indexing.model import Chunk, Passage, SearchFilters


@runtime_checkable
class RetrieverLike(Protocol):
    """The query side of the index (see `indexing.open_retriever`)."""

    @property
    def index_version(self) -> str:
        """The build (collection) answering queries."""
        ...

    def search(
        self,
        query: str,
        top_k: int,
        filters: SearchFilters,
        mode: str = "hybrid",
        group_by_doc: bool = False,
    ) -> list[Passage]:
        """Passages best matching `query`, best first (one per document if `group_by_doc`)."""
        ...

    def lookup(self, doc_id: str, pinpoint: str = "", as_of: date | None = None) -> list[Chunk]:
        """Chunks of `doc_id` at `pinpoint` (all of the document for an empty pinpoint)."""
        ...

    def document(self, doc_id: str, as_of: date | None = None) -> list[Chunk]:
        """Every chunk of the version of `doc_id` in force on `as_of` (or current), in order."""
        ...

    def versions(self, doc_id: str) -> Sequence[Any]:
        """The versions of `doc_id` (objects or mappings with label / valid_from / valid_to)."""
        ...

    def exists(self, doc_id: str) -> bool:
        """True when the index holds `doc_id`."""
        ...

    def check(self) -> Any:
        """Raise when the index cannot answer; may return details."""
        ...


def open_default_retriever() -> RetrieverLike:
    """The retriever `indexing` configures from its own `JURIS_*` settings.

    Returns:
        An open retriever (the caller closes it if it has `close`).
    """
    from indexing.retrieve import open_retriever
    from indexing.settings import IndexSettings

    retriever: RetrieverLike = open_retriever(IndexSettings())  # type: ignore[call-arg]
    return retriever
