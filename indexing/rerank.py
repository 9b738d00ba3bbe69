"""Optional second-stage reranking by a local cross-encoder (`JURIS_RERANKER_DIR`).

No cross-encoder ships offline (ENVIRONMENT.md), so reranking is off unless an operator copies
a sentence-transformers `CrossEncoder` directory onto the machine and names it. When it is on,
the retriever reorders its top `depth` passages (and `search_documents` its top `depth`
documents, each by its best passage) by the cross-encoder's score; the rest keep their
first-stage order below them. With `weight` below 1 (`JURIS_RERANK_WEIGHT`) the new order is
that of `weight` × the cross-encoder's score plus (1 − `weight`) × the first stage's, each
rescaled to [0, 1] over the reordered results (`indexing.fusion.normalised_sum`): a small
reranker then refines the first stage instead of replacing it. A long query is scored window
by window (the same windows the dense side embeds) and a passage keeps its best window's
score. A passage is scored as it is embedded (citation, headings, text:
`indexing.chunking.embed_text`), which is also how `train-reranker` shows it.

    >>> reranker = load_reranker(Path("/models/ms-marco-MiniLM-L-6-v2"))
    >>> reranker.rerank(["is a company the State"], ["passage A", "passage B"], [2.0, 1.0])
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexing.fusion import normalised_sum

if TYPE_CHECKING:
    from indexing.settings import IndexSettings

log = logging.getLogger(__name__)

DEPTH = 30  # first-stage results reordered per query


class RerankerUnavailable(ValueError):
    """The configured reranker directory does not hold a loadable cross-encoder."""


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a cross-encoder; thread-safe.

    Args:
        model: a loaded `sentence_transformers.CrossEncoder`.
        depth: first-stage results reordered per query.
        weight: the cross-encoder's share of the new order (1: its order alone).
    """

    def __init__(self, model: object, depth: int = DEPTH, weight: float = 1.0) -> None:
        if depth < 1:
            raise ValueError("reranker depth must be at least 1")
        if not 0.0 < weight <= 1.0:
            raise ValueError("reranker weight must be in (0, 1]")
        self.model = model
        self.depth = depth
        self.weight = weight
        self._lock = threading.Lock()

    def scores(self, windows: Sequence[str], texts: Sequence[str]) -> list[float]:
        """Each text's best cross-encoder score over the query windows.

        Args:
            windows: the query, or a long query's windows.
            texts: the passages.

        Returns:
            One score per text, higher is more relevant.
        """
        if not texts or not windows:
            return [0.0] * len(texts)
        pairs = [(w, t) for t in texts for w in windows]
        with self._lock:
            raw = self.model.predict(pairs, show_progress_bar=False)  # type: ignore[attr-defined]
        return [float(s) for s in np.asarray(raw, dtype=np.float64).reshape(len(texts), -1).max(1)]

    def rerank(
        self, windows: Sequence[str], texts: Sequence[str], scores: Sequence[float]
    ) -> list[tuple[int, float]]:
        """`(input position, new score)` in the new order.

        Args:
            windows: the query windows.
            texts: first-stage results, best first.
            scores: their first-stage scores.

        Returns:
            The first `depth` reordered by the cross-encoder (blended with the first stage
            when `weight` < 1; ties keep input order) and scored above every first-stage
            score (top score + depth − place), so scores stay in rank order; the rest after
            them, unchanged.
        """
        head = list(texts[: self.depth])
        if not head:
            return []
        ce = self.scores(windows, head)
        if self.weight < 1.0:
            keys = [str(i) for i in range(len(head))]
            blended = normalised_sum(
                [
                    dict(zip(keys, ce, strict=True)),
                    dict(zip(keys, scores[: len(head)], strict=True)),
                ],
                [self.weight, 1.0 - self.weight],
            )
            ce = [blended[k] for k in keys]
        order = sorted(range(len(head)), key=lambda i: (-ce[i], i))
        top = max(scores)
        reranked = [(i, top + len(head) - place) for place, i in enumerate(order)]
        return reranked + [(i, scores[i]) for i in range(len(head), len(texts))]

    def rerank_scores(
        self,
        windows: Sequence[str],
        scores: dict[str, float],
        passage_of: Callable[[str], str],
    ) -> dict[str, float]:
        """Document scores with the top `depth` documents reordered by the cross-encoder.

        Args:
            windows: the query windows.
            scores: doc -> first-stage score.
            passage_of: doc -> the passage that represents it.

        Returns:
            doc -> score; every reranked document scores above every other document.
        """
        top = sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[: self.depth]
        texts = [passage_of(doc) for doc, _ in top]
        out = dict(scores)
        for i, score in self.rerank(windows, texts, [s for _, s in top]):
            out[top[i][0]] = score
        return out


def load_reranker(model_dir: Path, depth: int = DEPTH, weight: float = 1.0) -> CrossEncoderReranker:
    """The cross-encoder in `model_dir`, on CPU.

    Raises:
        RerankerUnavailable: the directory is missing or does not load as a cross-encoder
            (the message names the directory and the loader's reason).
    """
    if not Path(model_dir).is_dir():
        raise RerankerUnavailable(f"reranker directory {model_dir} does not exist")
    try:
        from sentence_transformers import CrossEncoder

        model = CrossEncoder(str(model_dir), device="cpu", local_files_only=True)
    except Exception as err:
        raise RerankerUnavailable(
            f"reranker directory {model_dir} does not hold a cross-encoder: {err}"
        ) from err
    log.info(
        "cross-encoder reranker loaded from %s (depth %d, weight %.2f)", model_dir, depth, weight
    )
    return CrossEncoderReranker(model, depth, weight)


def configured_reranker(settings: IndexSettings) -> CrossEncoderReranker | None:
    """The reranker `JURIS_RERANKER_DIR`, `JURIS_RERANK_DEPTH` and `JURIS_RERANK_WEIGHT`
    configure; None when unset.

    Raises:
        RerankerUnavailable: the directory is set but does not load.
    """
    if settings.reranker_dir is None:
        return None
    return load_reranker(settings.reranker_dir, settings.rerank_depth, settings.rerank_weight)
