"""Cross-validation of the fact-pattern settings: folds, choices made without the fold,
components kept only when they hold across folds."""

from __future__ import annotations

import pytest

from indexing.eval.crossval import (
    ApTables,
    ComponentCheck,
    choose,
    completed_run,
    crossvalidate,
    key_of,
    make_folds,
)

pytestmark = pytest.mark.unit


def test_folds_deal_queries_round_robin_in_number_order() -> None:
    qids = [f"AILA_Q{n}" for n in range(1, 13)]
    folds = make_folds(reversed(qids), 5)
    assert folds[0] == ["AILA_Q1", "AILA_Q6", "AILA_Q11"]
    assert sorted(q for f in folds for q in f) == sorted(qids)
    with pytest.raises(ValueError):
        make_folds(qids, 1)


def test_completed_run_pads_below_the_scored_documents() -> None:
    run = completed_run({"B": 2.0}, ["A", "B", "C"], depth=100)
    assert list(run) == ["B", "C", "A"]  # trec_eval order: ties by id descending


def test_choice_is_made_without_the_fold_and_ties_go_to_the_first_setting() -> None:
    grid_a = {"opinion_terms": (100,), "opinion_chunks": (1,), "dense_share": (0.0, 0.5)}
    grid_a |= {"authority_weight": (0.0,), "precedent_weight": (0.0,)}
    grid_b = {"neighbours": (0, 10), "statute_text_weight": (0.0,), "statute_terms": (50,)}
    a0 = key_of({k: v[0] for k, v in grid_a.items()})
    a1 = key_of({**dict(a0), "dense_share": 0.5})
    text = {"opinion_terms": 100, "opinion_chunks": 1}
    b = {
        (d, n): key_of({**text, "dense_share": d, "neighbours": n, "statute_text_weight": 0.0,
                        "statute_terms": 50})
        for d in (0.0, 0.5) for n in (0, 10)
    }  # fmt: skip
    # dense helps Q1 and Q2 a lot and hurts Q3: chosen without Q3, not chosen without Q1
    prior = {a0: {"Q1": 0.1, "Q2": 0.1, "Q3": 0.5}, a1: {"Q1": 0.9, "Q2": 0.9, "Q3": 0.0}}
    statutes = {k: {"Q1": 0.2, "Q2": 0.2, "Q3": 0.2} for k in b.values()}
    tables = ApTables(prior, statutes)
    assert choose(tables, ["Q1", "Q2"], grid_a, grid_b) == (a1, b[0.5, 0])  # ties: first
    qrels = {"prior cases": {q: {"d": 1} for q in ("Q1", "Q2", "Q3")}}
    qrels["statutes"] = qrels["prior cases"]
    folds = crossvalidate(tables, [["Q1"], ["Q2"], ["Q3"]], qrels, grid_a, grid_b)
    assert [f.ap["prior cases"] for f in folds] == [{"Q1": 0.9}, {"Q2": 0.9}, {"Q3": 0.0}]


def test_a_component_that_loses_in_most_folds_is_not_kept() -> None:
    wins_on_average = ComponentCheck("x", "statutes", [0.9, 0.1, 0.1], [0.2, 0.2, 0.2])
    assert wins_on_average.wins == 1 and wins_on_average.losses == 2
    assert not wins_on_average.holds
    assert ComponentCheck("y", "statutes", [0.3, 0.3, 0.1], [0.2, 0.2, 0.2]).holds
