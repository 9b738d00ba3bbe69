"""The vector store: one interface owning the collection schema, two implementations.

- `schema.py` — the schema, the payload codec, the neutral filter language and its one
  translation, the `VectorStore` / `Catalog` protocols;
- `edge.py` — `EdgeStore` / `EdgeCatalog`: Qdrant's embedded engine (`qdrant-edge-py`), one
  shard directory per build and a pointer file naming the current one;
- `server.py` — `ServerStore` / `ServerCatalog`: a Qdrant server through `qdrant-client`, one
  collection per build and the real collection alias.

`open_catalog` picks the engine the settings name. The contract suite
`tests/indexing/test_store_contract.py` runs against both.
"""

from __future__ import annotations

from pathlib import Path

from indexing.store.edge import EdgeCatalog, EdgeStore
from indexing.store.schema import (
    DENSE,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    OPEN_FROM,
    OPEN_TO,
    RRF_K,
    SPARSE,
    Catalog,
    Condition,
    FilterDialect,
    Hit,
    IndexPoint,
    Match,
    MatchAny,
    Range,
    SparsePart,
    SparseQuery,
    VectorStore,
    Where,
    as_of_conditions,
    chunk_payload,
    day_int,
    int_day,
    new_build_name,
    pages,
    payload_chunk,
    prune,
    sparse_parts,
)
from indexing.store.server import Replication, ServerCatalog, ServerStore

__all__ = [
    "DENSE",
    "INTEGER_FIELDS",
    "KEYWORD_FIELDS",
    "OPEN_FROM",
    "OPEN_TO",
    "RRF_K",
    "SPARSE",
    "Catalog",
    "Condition",
    "EdgeCatalog",
    "EdgeStore",
    "FilterDialect",
    "Hit",
    "IndexPoint",
    "Match",
    "MatchAny",
    "Range",
    "Replication",
    "ServerCatalog",
    "ServerStore",
    "SparsePart",
    "SparseQuery",
    "VectorStore",
    "Where",
    "as_of_conditions",
    "chunk_payload",
    "day_int",
    "int_day",
    "new_build_name",
    "open_catalog",
    "pages",
    "payload_chunk",
    "prune",
    "sparse_parts",
]


def open_catalog(
    qdrant_path: Path,
    qdrant_url: str | None,
    api_key: str | None,
    alias: str,
    exact_below: int = 20_000,
    replication: Replication | None = None,
) -> Catalog:
    """The catalog for the configured engine: server when a URL is set, else embedded.

    Args:
        qdrant_path: embedded index root.
        qdrant_url: Qdrant server URL (`http://qdrant:6333`), or None.
        api_key: server API key.
        alias: the alias / pointer name.
        exact_below: exact dense search below this many points.
        replication: shard number, replication and write consistency of new server collections.

    Returns:
        A `Catalog`.
    """
    if qdrant_url:
        from qdrant_client import QdrantClient

        client = QdrantClient(url=qdrant_url, api_key=api_key)
        return ServerCatalog(client, alias, exact_below, replication)
    return EdgeCatalog(qdrant_path, alias, exact_below)
