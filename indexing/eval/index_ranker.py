"""Rank AILA documents through a built index: the path a deployment answers with.

`python -m indexing eval --index` sends each query through `Retriever.search_documents` over
the index that `python -m indexing build` wrote (`JURIS_QDRANT_PATH` or `JURIS_QDRANT_URL`):
the query is cut into embedding windows, the product's sparse query vector is built, Qdrant
runs the fused hybrid query (or the dense / sparse one) restricted to the AILA source, and each
document scores by its best chunk. The in-memory rankers of `indexing.eval.rankers` are where
retrieval choices are explored quickly; this ranker measures what was shipped, over every
chunk the build embedded.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from indexing.model import SearchFilters

if TYPE_CHECKING:
    from indexing.retrieve import Retriever

# evaluation mode -> the retriever's query mode
QUERY_MODE = {"bm25": "sparse", "dense": "dense", "hybrid": "hybrid"}


class IndexRanker:
    """Document scores from the built index, for one AILA source.

    Args:
        retriever: an open retriever over the built index.
        source: the adapter source the documents come from (`aila/casedocs`, `aila/statutes`).
        depth: documents wanted per query.
        candidates: chunks retrieved per query before grouping them by document.
    """

    def __init__(
        self, retriever: Retriever, source: str, depth: int = 100, candidates: int = 1000
    ) -> None:
        self.retriever, self.source = retriever, source
        self.depth, self.candidates = depth, candidates
        self.prefix = source.partition("/")[0]  # `aila/casedocs` documents are `aila:C123`

    def rank(self, mode: str, query: str, uncounted: Collection[str] = ()) -> dict[str, float]:
        """`{doc_id: score}` with ids as the qrels write them (`C123`, not `aila:C123`).

        `uncounted` (qrels ids): judgments whose citations count for nothing
        (`Retriever.search_documents`).

        Raises:
            ValueError: for a mode the index does not answer (`bm25s` is the library baseline).
        """
        if mode not in QUERY_MODE:
            wanted = ", ".join(QUERY_MODE)
            raise ValueError(f"mode {mode!r} does not query the index; use one of {wanted}")
        found = self.retriever.search_documents(
            query,
            top_k=self.depth,
            filters=SearchFilters(sources=(self.source,)),
            mode=QUERY_MODE[mode],
            candidates=self.candidates,
            uncounted={f"{self.prefix}:{doc}" for doc in uncounted},
        )
        return {doc_id.partition(":")[2] or doc_id: score for doc_id, score, _ in found}
