"""`python -m indexing train-reranker` on a few pairs: hard negatives come from other
provisions, the rows label them, and the trained cross-encoder loads in the reranker slot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.cli import main
from indexing.rerank import load_reranker
from indexing.settings import IndexSettings
from indexing.tuning.pairs import save_pairs
from indexing.tuning.reranker import hard_negatives, labelled_rows
from tests.support.doctrine_pairs import (
    EXCITED_UTTERANCE,
    FAIR_USE,
    FORGOTTEN,
    MEDICAL_EXPENSES,
    PRESENT_SENSE,
    SETTLEMENT,
)

pytestmark = pytest.mark.slow

# two subdivisions of one rule, two neighbouring rules, two far-off provisions
PAIRS = [EXCITED_UTTERANCE, PRESENT_SENSE, SETTLEMENT, MEDICAL_EXPENSES, FORGOTTEN, FAIR_USE]


def test_hard_negatives_are_other_provisions_and_rows_label_them() -> None:
    hard = hard_negatives(PAIRS, IndexSettings().model_dir(), 2)
    doc = {p.passage: p.doc_id for p in PAIRS}
    assert set(hard) == {p.query for p in PAIRS}
    for p in PAIRS:
        assert hard[p.query], p.query
        assert len(hard[p.query]) <= 2
        assert all(doc[n] != p.doc_id for n in hard[p.query])  # never its own provision
    # the offer to compromise is closest to the offer to pay expenses, not to fair use
    assert hard[SETTLEMENT.query][0] == MEDICAL_EXPENSES.passage

    rows = labelled_rows(PAIRS, seed=7, hard=hard)
    triples = list(zip(rows["query"], rows["passage"], rows["label"], strict=True))
    for p in PAIRS:
        mine = [(t, label) for q, t, label in triples if q == p.query]
        assert (p.passage, 1.0) in mine
        assert all((n, 0.0) in mine for n in hard[p.query])
    # the sibling subdivision of Rule 803 is a negative of the other one
    assert (EXCITED_UTTERANCE.query, PRESENT_SENSE.passage, 0.0) in triples
    # without hard negatives: one random passage of another provision per query instead
    plain = labelled_rows(PAIRS, seed=7)
    assert sum(plain["label"]) == len(PAIRS) and len(plain["label"]) <= 3 * len(PAIRS)


def test_trains_a_cross_encoder_the_reranker_slot_loads(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    save_pairs(PAIRS, pairs)
    out = tmp_path / "reranker"
    args = ["train-reranker", "--out", str(out), "--pairs", str(pairs), "--batch-size", "8",
            "--hard-negatives", "2"]  # fmt: skip
    assert main(args) == 0
    record = json.loads((out / "juris_training.json").read_text())
    assert record["finished"] and record["pairs"] == len(PAIRS)
    assert record["queries_with_hard_negatives"] == len(PAIRS)
    reranker = load_reranker(out, depth=2)
    scores = reranker.scores([FAIR_USE.query], [FAIR_USE.passage, EXCITED_UTTERANCE.passage])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
