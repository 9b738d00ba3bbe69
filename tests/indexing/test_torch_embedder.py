"""The torch embedder's own batches give exactly the vectors `SentenceTransformer.encode`
gives (the index's vectors and a query's must agree), for short, long (truncated) and mixed
batches."""

from __future__ import annotations

import numpy as np
import pytest

from indexing.embeddings import TorchEmbedder
from indexing.settings import IndexSettings

pytestmark = pytest.mark.unit

TEXTS = [
    "Can evidence of a settlement offer be used to prove liability?",
    "fair use",
    "(a) Evidence of the following is not admissible—on behalf of any party—either to prove or "
    "disprove the validity or amount of a disputed claim or to impeach by a prior inconsistent "
    "statement or a contradiction: " * 12,  # past the model's window: truncated
    "§ 107 — Limitations on exclusive rights: Fair use",
]


def test_batches_are_sentence_transformers_encode_exactly() -> None:
    embedder = TorchEmbedder(IndexSettings().model_dir(), batch_size=3)
    assert embedder._direct  # the bundled model has no default prompt and no truncation
    reference = embedder.model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    mixed = embedder.encode(TEXTS)  # sorted by length, batches of 3 and 1
    one_by_one = np.vstack([embedder.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(mixed, reference, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(
        one_by_one,
        np.vstack([embedder.model.encode([t], normalize_embeddings=True) for t in TEXTS]),
    )
    assert np.allclose(np.linalg.norm(mixed, axis=1), 1.0, atol=1e-5)


def test_a_model_left_in_training_mode_still_embeds_without_dropout() -> None:
    embedder = TorchEmbedder(IndexSettings().model_dir())
    first = embedder.encode(TEXTS[:2])
    embedder.model.train()  # e.g. by code that fine-tunes the shared model
    np.testing.assert_array_equal(embedder.encode(TEXTS[:2]), first)
