"""Which embedding model a build was made with, and the check that queries use the same one
(and which sparse format its terms are in, `build_sparse_format`).

Dense vectors from two models are not comparable: a question embedded by the bundled MiniLM
and matched against passages embedded by a fine-tuned model (or the reverse) returns
confident nonsense. So every point a build writes carries, in its payload, the identity of
the model that embedded it (`embed_model`: the model directory's name, a digest of its
weights and configuration, and the backend), and a retriever refuses to serve a build whose
points name another model than the one it embeds queries with — with a message naming both.
The identity lives in the index itself, so the check holds on a Qdrant server whose gateway
never sees the indexer's files. A sync refuses to add points embedded by another model to a
build for the same reason.

    >>> identity = model_identity(settings.model_dir(), settings.embed_backend)
    'all-MiniLM-L6-v2@5f2a1c9e0b7d/torch'
    >>> check_build_model(store, identity)   # raises EmbeddingModelMismatch
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

from indexing.opener import IndexUnavailable
from indexing.sparse import FIELD as SPARSE_FIELD
from indexing.sparse import SPARSE_FORMAT
from indexing.store import VectorStore

log = logging.getLogger(__name__)

# the payload field holding the identity of the model that embedded a point
FIELD = "embed_model"
# files whose bytes define what a model directory computes (weights and configuration)
_DEFINING = (
    "config.json",
    "modules.json",
    "tokenizer.json",
    "tokenizer_config.json",  # `model_max_length`: the window texts are cut to
    "sentence_bert_config.json",
)
_WEIGHTS = (".safetensors", ".bin", ".onnx")


class EmbeddingModelMismatch(IndexUnavailable):
    """The build was embedded by another model than the one embedding the queries."""


def model_identity(model_dir: Path, backend: str = "torch") -> str:
    """`<directory name>@<12 hex digits>/<backend>`: the digest covers the weights and the
    configuration files, so a retrained model in the same directory is a different model.

    Args:
        model_dir: a sentence-transformers model directory.
        backend: `torch` or `onnx-int8` (their vectors differ slightly; build and query
            with the same one).
    """
    path = Path(model_dir).resolve()
    stamps = tuple(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(_defining_files(path))
    )
    return f"{path.name}@{_digest(path, stamps)}/{backend}"


def _defining_files(path: Path) -> list[Path]:
    files = [path / name for name in _DEFINING if (path / name).is_file()]
    files += [p for p in path.iterdir() if p.is_file() and p.suffix in _WEIGHTS]
    pooling = path / "1_Pooling" / "config.json"
    if pooling.is_file():
        files.append(pooling)
    return files


@lru_cache(maxsize=8)
def _digest(path: Path, stamps: tuple[tuple[str, int, int], ...]) -> str:
    """sha256 over the defining files (cached per process while their size and mtime hold)."""
    h = hashlib.sha256()
    for name, _, _ in stamps:
        h.update(Path(name).relative_to(path).as_posix().encode())
        with open(name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:12]


def same_model(a: str, b: str) -> bool:
    """Whether two identities name the same weights and backend (the directory's name may
    differ: a copied model is the same model)."""
    return a.partition("@")[2] == b.partition("@")[2]


def build_model(store: VectorStore) -> str | None:
    """The model identity a build's points record (None: a build made before the record)."""
    for hit in store.scroll(fields=(FIELD,)):
        value = hit.payload.get(FIELD)
        return str(value) if value else None
    return None


def build_sparse_format(store: VectorStore) -> int:
    """The sparse format a build's points were encoded in (`indexing.sparse.SPARSE_FORMAT`;
    1 for a build made before the record). Queries against it must be encoded the same way:
    `Bm25Encoder.with_format`."""
    for hit in store.scroll(fields=(SPARSE_FIELD,)):
        value = hit.payload.get(SPARSE_FIELD)
        return int(value) if value else 1
    return SPARSE_FORMAT


def check_build_model(store: VectorStore, identity: str, role: str = "embeds queries") -> None:
    """Refuse a build embedded by another model than `identity`.

    Args:
        store: the build.
        identity: `model_identity` of the model in use.
        role: what the model in use does (for the message).

    Raises:
        EmbeddingModelMismatch: the build's points name another model.
    """
    recorded = build_model(store)
    if recorded is None:
        log.warning(
            "index build %s does not record its embedding model (made before the record); "
            "assuming %s",
            store.name,
            identity,
        )
        return
    if not same_model(recorded, identity):
        raise EmbeddingModelMismatch(
            f"index build {store.name} was embedded with {recorded}, but this process "
            f"{role} with {identity}: set JURIS_EMBED_MODEL (and JURIS_EMBED_BACKEND) to the "
            "model the build was made with, or rebuild the index with this one"
        )
