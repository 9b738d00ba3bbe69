"""The evaluation's metric plumbing on a run small enough to check by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from indexing.eval.metrics import (
    TrecFormatError,
    evaluate,
    per_query,
    read_qrels,
    read_queries,
    read_run,
    trec_order,
    write_run,
)

pytestmark = pytest.mark.unit

# Q1: ranking d2 (non-rel), d1 (rel), d5 (unjudged), d3 (rel), d4 (non-rel); R = 2, N = 2.
#   AP = (1/2 + 2/4) / 2 = 0.5;  P@10 = 2/10;  RR = 1/2;  R@100 = 1
#   bpref = mean over rel of (1 - judged non-rel above / min(R, N)) = ((1 - 1/2) + (1 - 1/2))/2
#         = 0.5 (the unjudged d5 does not count)
#   nDCG@10 = (1/log2(3) + 1/log2(5)) / (1 + 1/log2(3)) = 0.650921
# Q2: d1 (rel) and d5 (non-rel) tie at 0.5; trec_eval breaks ties by docid descending, so d5
#   comes first: AP = 1/2, RR = 1/2, P@10 = 0.1, bpref = 1 - 1/1 = 0, nDCG@10 = 1/log2(3).
# Q3: judged, but nothing relevant: left out of the averages (queries == 2).
QRELS = {
    "Q1": {"d1": 1, "d2": 0, "d3": 1, "d4": 0},
    "Q2": {"d1": 1, "d5": 0},
    "Q3": {"d2": 0},
}
RUN = {
    "Q1": {"d2": 0.9, "d1": 0.8, "d5": 0.7, "d3": 0.6, "d4": 0.5},
    "Q2": {"d1": 0.5, "d5": 0.5},
    "Q3": {"d2": 1.0},
}
NDCG_Q1 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
NDCG_Q2 = 1 / math.log2(3)


def test_measures_match_the_hand_computation() -> None:
    m = evaluate(QRELS, RUN)
    assert m["queries"] == 2
    assert m["map"] == pytest.approx(0.5)
    assert m["p@10"] == pytest.approx(0.15)
    assert m["recip_rank"] == pytest.approx(0.5)
    assert m["bpref"] == pytest.approx(0.25)
    assert m["ndcg@10"] == pytest.approx((NDCG_Q1 + NDCG_Q2) / 2, abs=1e-4)
    assert m["recall@100"] == pytest.approx(1.0)
    assert list(m) == ["map", "p@10", "ndcg@10", "bpref", "recip_rank", "recall@100", "queries"]


def test_per_query_values_and_tie_order() -> None:
    ap = per_query(QRELS, RUN, "map")
    assert ap == pytest.approx({"Q1": 0.5, "Q2": 0.5})
    assert [d for d, _ in trec_order(RUN["Q2"])] == ["d5", "d1"]


def test_no_judged_query_gives_zero_not_an_error() -> None:
    m = evaluate({"Q3": {"d2": 0}}, {"Q3": {"d2": 1.0}})
    assert m["queries"] == 0 and m["map"] == 0.0


def test_run_file_round_trip_keeps_the_evaluated_order(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "x.run"
    write_run(path, RUN, tag="juris test", depth=3)
    lines = path.read_text().splitlines()
    assert lines[0].split() == ["Q1", "Q0", "d2", "1", "0.900000", "juris_test"]
    assert [ln.split()[2] for ln in lines if ln.startswith("Q2")] == ["d5", "d1"]
    assert sum(ln.startswith("Q1") for ln in lines) == 3
    back = read_run(path)
    # cut at depth 3, Q1 keeps d2, d1, d5: AP = (1/2) / 2; Q2 unchanged: mean (0.25 + 0.5) / 2
    assert evaluate(QRELS, back)["map"] == pytest.approx(0.375)


def test_bad_files_name_file_and_line(tmp_path: Path) -> None:
    queries = tmp_path / "q.txt"
    queries.write_text("Q1||fine\nQ2 no separator\n")
    with pytest.raises(TrecFormatError, match=r"q\.txt:2"):
        read_queries(queries)
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("Q1 Q0 d1 1\nQ1 Q0 d2 yes\n")
    with pytest.raises(TrecFormatError, match=r"qrels\.txt:2: relevance 'yes'"):
        read_qrels(qrels)
