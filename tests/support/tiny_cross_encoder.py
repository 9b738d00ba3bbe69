"""A tiny, randomly initialised BERT cross-encoder built on the spot for reranker tests.

No cross-encoder weights ship offline; the tests check the reranking plumbing (which pairs are
scored, how scores reorder results), so any deterministic model with a real tokenizer serves.
The vocabulary is the words of the texts the test passes, so they do not all read as `[UNK]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_tiny_cross_encoder(out: Path, texts: Iterable[str], seed: int = 7) -> Path:
    """Write a BERT sequence-classification model (one label) and its tokenizer to `out`."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    words = sorted({w for t in texts for w in re.findall(r"[a-z0-9]+", t.lower())})
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join([*SPECIAL, *words]) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(out / "vocab.txt"), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(SPECIAL) + len(words),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=1,
        initializer_range=0.5,  # spread scores: ties would hide ordering mistakes
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
