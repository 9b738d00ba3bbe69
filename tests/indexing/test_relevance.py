"""The relevance signal: a logistic fit over match features, its file, its model check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.eval.calibrate import choose_caution, choose_threshold
from indexing.relevance import (
    CALIBRATION_FILE,
    CalibrationMismatch,
    RelevanceModel,
    fit_logistic,
    load_relevance,
)

pytestmark = pytest.mark.unit

IDENTITY = "juris-embedder@0123456789ab/torch"


def test_fit_separates_answerable_from_unanswerable_questions():
    # answerable questions match their provision closely (high cosine, high BM25 per term)
    answerable = [(0.62, 3.1), (0.71, 2.4), (0.55, 4.0), (0.66, 1.9), (0.58, 2.8)]
    unanswerable = [(0.31, 0.4), (0.38, 1.1), (0.29, 0.2), (0.42, 0.9), (0.35, 0.7)]
    weights, bias = fit_logistic([*answerable, *unanswerable], [1] * 5 + [0] * 5)
    model = RelevanceModel(IDENTITY, weights, bias)
    assert all(model.probability(c, b) > 0.5 for c, b in answerable)
    assert all(model.probability(c, b) < 0.5 for c, b in unanswerable)
    assert weights[0] > 0 and weights[1] > 0  # both features point the same way


def test_fit_needs_both_labels():
    with pytest.raises(ValueError, match="both labels"):
        fit_logistic([(0.5, 1.0), (0.6, 2.0)], [1, 1])


def test_threshold_declines_at_most_the_allowed_share_of_answerable_questions():
    probabilities = [0.9, 0.8, 0.7, 0.6, 0.2, 0.1, 0.3, 0.05] + [0.95] * 12
    labels = [1, 1, 1, 1, 0, 0, 0, 0] + [1] * 12
    # 16 answerable, 5 % may be declined: none, so the threshold is the lowest answerable one
    t = choose_threshold(probabilities, labels, 0.05)
    assert t == 0.6
    assert sum(p < t for p, y in zip(probabilities, labels, strict=True) if y == 1) == 0
    # 25 %: four may be declined
    t = choose_threshold(probabilities, labels, 0.25)
    assert sum(p < t for p, y in zip(probabilities, labels, strict=True) if y == 1) == 4


def test_caution_marks_at_most_the_allowed_share_of_answerable_questions_let_through():
    # the threshold 0.5 lets through 10 answerable questions and 3 unanswerable ones
    probabilities = [0.55, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.52, 0.3]
    labels = [0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    cut = choose_caution(probabilities, labels, 0.5, 0.2)
    assert cut is not None
    through = [(p, y) for p, y in zip(probabilities, labels, strict=True) if p >= 0.5]
    assert sum(p < cut for p, y in through if y == 1) == 2  # 20 % of the 10 answerable
    assert sum(p < cut for p, y in through if y == 0) == 3  # every unanswerable one let through
    assert choose_caution(probabilities, labels, 0.5, 0.0) is None  # no caution asked
    # a cut no higher than the threshold marks nothing: no caution
    assert choose_caution([0.6, 0.7, 0.2], [1, 1, 0], 0.6, 0.1) is None


def test_an_answered_question_below_the_caution_is_a_weak_match(tmp_path: Path):
    model = RelevanceModel(IDENTITY, (10.0, 0.0), -5.0, 0.5, {}, 0.8)  # p = 0.5 at cosine 0.5
    strong, weak, declined = model.assess(0.7, 0.0), model.assess(0.55, 0.0), model.assess(0.4, 0.0)
    assert strong.answered and not strong.weak
    assert weak.answered and weak.weak and weak.probability is not None
    assert 0.5 <= weak.probability < 0.8
    assert not declined.answered and not declined.weak  # declined, not weak
    model.save(tmp_path / CALIBRATION_FILE)
    assert RelevanceModel.load(tmp_path / CALIBRATION_FILE).caution == 0.8
    # an earlier calibration without a caution never marks one
    assert not RelevanceModel(IDENTITY, (10.0, 0.0), -5.0, 0.5).assess(0.55, 0.0).weak
    with pytest.raises(ValueError, match="caution"):
        RelevanceModel(IDENTITY, (10.0, 0.0), -5.0, 0.5, {}, 0.4)


def test_assess_and_file_round_trip(tmp_path: Path):
    model = RelevanceModel(IDENTITY, (8.0, 0.5), -4.0, 0.4, {"questions": "dev"})
    yes, no = model.assess(0.7, 2.0), model.assess(0.2, 0.1)
    assert yes.answered and not no.answered
    assert yes.probability is not None and no.probability is not None
    assert yes.probability > 0.4 > no.probability
    path = tmp_path / "model" / CALIBRATION_FILE
    model.save(path)
    assert RelevanceModel.load(path) == model
    assert json.loads(path.read_text())["features"] == ["cosine", "bm25"]


def test_calibration_belongs_to_one_embedding_model(tmp_path: Path):
    RelevanceModel(IDENTITY, (8.0, 0.5), -4.0).save(tmp_path / CALIBRATION_FILE)
    # the same weights in another directory: the same model
    assert load_relevance(tmp_path, "copy@0123456789ab/torch") is not None
    with pytest.raises(CalibrationMismatch, match="fitted for embedding model"):
        load_relevance(tmp_path, "other@ffffffffffff/torch")
    with pytest.raises(CalibrationMismatch):
        load_relevance(tmp_path, "juris-embedder@0123456789ab/onnx-int8")


def test_no_calibration_means_no_abstention(tmp_path: Path):
    assert load_relevance(tmp_path, "nothing@000000000000/torch") is None


def test_a_broken_calibration_file_names_itself(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "features": ["cosine"]}')
    with pytest.raises(ValueError, match=r"bad\.json"):
        load_relevance(tmp_path, IDENTITY, bad)
