"""A build records the model that embedded it; queries from another model are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexing.model_record import (
    EmbeddingModelMismatch,
    build_model,
    build_sparse_format,
    check_build_model,
    model_identity,
    same_model,
)
from indexing.opener import IndexUnavailable
from indexing.retrieve import open_retriever
from indexing.sparse import SPARSE_FORMAT
from indexing.store import Hit

pytestmark = pytest.mark.unit


def _model_dir(root: Path, weights: bytes) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text('{"hidden_size": 384}')
    (root / "modules.json").write_text("[]")
    (root / "model.safetensors").write_bytes(weights)
    (root / "README.md").write_text("not part of the identity")
    return root


def test_identity_follows_the_weights_not_the_directory_name(tmp_path: Path):
    a = model_identity(_model_dir(tmp_path / "a", b"weights one"))
    copy = model_identity(_model_dir(tmp_path / "copy-of-a", b"weights one"))
    retrained = model_identity(_model_dir(tmp_path / "b", b"weights two"))
    assert a.startswith("a@") and a.endswith("/torch")
    assert same_model(a, copy) and not same_model(a, retrained)
    assert not same_model(a, model_identity(tmp_path / "a", "onnx-int8"))
    (tmp_path / "a" / "README.md").write_text("edited")
    assert model_identity(tmp_path / "a") == a


def test_the_build_records_its_model_and_a_mismatch_is_refused(index_slice):
    identity = model_identity(index_slice.model_dir(), index_slice.embed_backend)
    retriever = open_retriever(index_slice)
    try:
        store = retriever.current_store()
        assert build_model(store) == identity
        assert build_sparse_format(store) == SPARSE_FORMAT  # and how its terms are made
        check_build_model(store, identity)  # the same model: served
        with pytest.raises(EmbeddingModelMismatch, match=r"embedded with .* JURIS_EMBED_MODEL"):
            check_build_model(store, "juris-embedder@ffffffffffff/torch")
    finally:
        retriever.close()


def test_search_refuses_a_build_made_by_another_model(index_slice, tmp_path: Path):
    root = tmp_path / "qdrant"
    shutil.copytree(index_slice.qdrant_path, root)
    settings = index_slice.model_copy(update={"qdrant_path": root})
    retriever = open_retriever(settings)
    retriever.embed_model = "juris-embedder@ffffffffffff/torch"  # queries from another model
    try:
        with pytest.raises(IndexUnavailable, match="was embedded with"):
            retriever.search("fair use", top_k=3)
    finally:
        retriever.close()


class _Points:
    """A stand-in build: `scroll` yields the given payloads."""

    def __init__(self, *payloads: dict) -> None:
        self.payloads = payloads

    def scroll(self, where: object = None, fields: tuple[str, ...] = ()) -> list[Hit]:
        return [Hit(str(n), 0.0, dict(p)) for n, p in enumerate(self.payloads)]


def test_a_build_made_before_the_record_reads_as_sparse_format_1():
    assert build_sparse_format(_Points({"doc_id": "gdpr:art17"})) == 1  # words as written
    assert build_sparse_format(_Points({"sparse_format": 2})) == 2
    assert build_sparse_format(_Points()) == SPARSE_FORMAT  # empty: filled by this release
