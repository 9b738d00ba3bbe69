"""Dense embeddings: sentence-transformers on CPU, offline, batched, cached by content hash.

Two backends produce the same normalised 384-d vectors for MiniLM-class models:

- `torch`: `SentenceTransformer(model_dir)` (fp32);
- `onnx-int8`: the same transformer exported to ONNX from a *copy* of the model directory and
  quantised dynamically to int8 with onnxruntime (mean pooling and L2 normalisation done here,
  as the model's `1_Pooling` config says).

`EmbeddingCache` keeps vectors on disk keyed by (model, backend, sha256 of the text), so a
rebuild, a sync or an evaluation never re-embeds unchanged text.

    >>> embedder = load_embedder(settings.model_dir(), "torch")
    >>> vectors = embedder.encode(["Fair use of a copyrighted work ..."])
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Vectors of shape (len(texts), dim)."""
        ...


def _offline_env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class TorchEmbedder:
    """sentence-transformers on CPU (fp32).

    Args:
        model_dir: a local sentence-transformers model directory.
        batch_size: texts per forward pass.
    """

    def __init__(self, model_dir: Path, batch_size: int = 32) -> None:
        _offline_env()
        from sentence_transformers import SentenceTransformer

        self.model_dir = Path(model_dir)
        self.model: Any = SentenceTransformer(str(model_dir), device="cpu")
        self.batch_size = batch_size
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 384)
        self.max_tokens = int(self.model.max_seq_length or 256)
        self.name = f"{self.model_dir.name}:torch"
        self._lock = threading.Lock()
        # The model's own forward pass, without `encode`'s per-call set-up (resolving the
        # device over every parameter, switching modes: about a tenth of a query's
        # embedding), where that gives the same vectors: no default prompt, no truncation.
        self._direct = (
            hasattr(self.model, "preprocess")
            and getattr(self.model, "default_prompt_name", None) is None
            and getattr(self.model, "truncate_dim", None) is None
        )

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """L2-normalised vectors of `texts` (shape (n, dim), float32).

        The texts are sorted by length and run in model batches of `batch_size` (what
        sentence-transformers does inside one call, so padding is the same), taking the
        model's lock per batch rather than per call: a search's query embedding waits for
        one batch of a build running in the same process, not for all of its call.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            part = order[start : start + self.batch_size]
            with self._lock:
                vecs = self._batch([texts[i] for i in part])
            out[part] = np.asarray(vecs, dtype=np.float32)
        return out

    def _batch(self, texts: list[str]) -> Any:
        """One model batch, as `SentenceTransformer.encode` computes it: the same
        preprocessing (tokenizer, truncation, padding to the batch's longest), forward pass
        (transformer and pooling) and L2 normalisation."""
        if not self._direct:
            return self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        import torch

        if self.model.training:  # as `encode` does: no dropout, at load or after a switch
            self.model.eval()
        features = self.model.preprocess(texts)
        with torch.inference_mode():
            pooled = self.model(features)["sentence_embedding"]
        return torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()


def export_onnx_int8(model_dir: Path, out_dir: Path) -> Path:
    """Export a BERT-style sentence-transformers model to ONNX and quantise it to int8.

    Works on a copy of `model_dir` (never writes next to installed packages).

    Args:
        model_dir: the source model directory.
        out_dir: where the copy, `model.onnx` and `model.int8.onnx` go.

    Returns:
        The path of the int8 model.
    """
    out_dir = Path(out_dir)
    target = out_dir / "model.int8.onnx"
    if target.exists():
        return target
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    copy = out_dir / "model"
    if not copy.exists():
        shutil.copytree(model_dir, copy)
    bert = AutoModel.from_pretrained(str(copy)).eval()

    class _Encoder(torch.nn.Module):
        """Keyword call of the transformer, so the export does not depend on its arg order."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    model = _Encoder().eval()
    dummy = {
        "input_ids": torch.ones((1, 16), dtype=torch.long),
        "attention_mask": torch.ones((1, 16), dtype=torch.long),
        "token_type_ids": torch.zeros((1, 16), dtype=torch.long),
    }
    fp32 = out_dir / "model.onnx"
    axes = {0: "batch", 1: "seq"}
    torch.onnx.export(
        model,
        (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            "input_ids": axes,
            "attention_mask": axes,
            "token_type_ids": axes,
            "last_hidden_state": axes,
        },
        opset_version=17,
        dynamo=False,
    )
    tmp = out_dir / "model.int8.tmp.onnx"
    # Per-channel int8 weights on the MatMuls only: cosine to fp32 >= 0.986 on legal text
    # (per-tensor over all ops measured 0.91-0.97; see README, "ONNX int8").
    quantize_dynamic(
        str(fp32),
        str(tmp),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
    )
    os.replace(tmp, target)
    return target


class OnnxInt8Embedder:
    """The model exported to ONNX and dynamically quantised to int8 (onnxruntime, CPU).

    Args:
        model_dir: the source sentence-transformers model directory.
        cache_dir: where the exported models are kept (created on first use).
        batch_size: texts per run.
        max_tokens: truncation length (the model's window).
    """

    def __init__(
        self, model_dir: Path, cache_dir: Path, batch_size: int = 32, max_tokens: int = 256
    ) -> None:
        _offline_env()
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        path = export_onnx_int8(self.model_dir, Path(cache_dir) / self.model_dir.name)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(os.environ.get("JURIS_ORT_THREADS", "0") or 0)
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.dim = int(self.session.get_outputs()[0].shape[-1] or 384)
        self.name = f"{self.model_dir.name}:onnx-int8"
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """L2-normalised vectors of `texts` (shape (n, dim), float32)."""
        from tqdm import tqdm

        out: list[np.ndarray] = []
        # length-sorted batches pad less (as sentence-transformers does for torch)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = range(0, len(texts), self.batch_size)
        for start in tqdm(batches, disable=not progress, desc="embed", unit="batch"):
            enc = self.tokenizer.encode_batch(
                [texts[i] for i in order[start : start + self.batch_size]]
            )
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            with self._lock:
                hidden = self.session.run(None, feed)[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out.append(pooled.astype(np.float32))
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        result[order] = np.concatenate(out)
        return result


class EmbeddingCache:
    """Vectors on disk keyed by model name and sha256 of the text (SQLite, WAL).

    Args:
        path: the SQLite file (its directory is created).
        model: the embedder name the vectors belong to.
    """

    def __init__(self, path: Path, model: str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model = model
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vec (key BLOB PRIMARY KEY, dim INT, data BLOB)"
        )
        self._lock = threading.Lock()

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.model}\x1f{text}".encode()).digest()

    def get_many(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """Cached vectors of `texts` (None where absent)."""
        keys = [self._key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                q = f"SELECT key, data FROM vec WHERE key IN ({','.join('?' * len(part))})"
                for key, data in self._db.execute(q, part):
                    found[key] = np.frombuffer(data, dtype=np.float32)
        return [found.get(k) for k in keys]

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors of `texts`."""
        rows = [
            (self._key(t), int(v.shape[0]), np.asarray(v, np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?, ?)", rows)
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedEmbedder:
    """An embedder that looks vectors up in an `EmbeddingCache` before computing them."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self.computed = 0

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Vectors of `texts`: cached ones read, the others computed and stored."""
        cached = self.cache.get_many(texts)
        missing = [i for i, v in enumerate(cached) if v is None]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, v in enumerate(cached):
            if v is not None:
                out[i] = v
        if missing:
            fresh = self.inner.encode([texts[i] for i in missing], progress=progress)
            self.cache.put_many([texts[i] for i in missing], fresh)
            out[missing] = fresh
            self.computed += len(missing)
        return out


def load_embedder(
    model_dir: Path, backend: str = "torch", batch_size: int = 32, onnx_dir: Path | None = None
) -> Embedder:
    """The embedder for a model directory and backend, loaded once per process.

    Args:
        model_dir: local model directory.
        backend: `torch` or `onnx-int8`.
        batch_size: texts per batch.
        onnx_dir: where exported ONNX models are kept (default `var/onnx`).

    Returns:
        A shared, thread-safe embedder.
    """
    if backend == "torch":
        return _load(Path(model_dir), backend, batch_size, None)
    if backend == "onnx-int8":
        return _load(Path(model_dir), backend, batch_size, Path(onnx_dir or "var/onnx"))
    raise ValueError(f"unknown embedding backend {backend!r} (torch | onnx-int8)")


@lru_cache(maxsize=4)
def _load(model_dir: Path, backend: str, batch_size: int, onnx_dir: Path | None) -> Embedder:
    if backend == "torch":
        return TorchEmbedder(model_dir, batch_size)
    assert onnx_dir is not None
    return OnnxInt8Embedder(model_dir, onnx_dir, batch_size)
