"""The comparison's arithmetic: bootstrap intervals and per-answer counts, checked by hand."""

from __future__ import annotations

import pytest

from serving.verify import CheckedCitation
from training.lab.compare import Item, counts, spread
from training.lab.compare_report import bootstrap_ratio, summarise

pytestmark = pytest.mark.unit


def test_bootstrap_on_hand_checkable_numbers() -> None:
    assert bootstrap_ratio([(1, 1)] * 10) == (1.0, 1.0, 1.0)
    assert bootstrap_ratio([(0, 2)] * 5) == (0.0, 0.0, 0.0)
    assert bootstrap_ratio([(0, 0), (0, 0)]) == (None, None, None)
    # two questions, one right: every resample is 0, 1/2 or 1; the tails are 0 and 1
    assert bootstrap_ratio([(1, 1), (0, 1)], resamples=4000) == (0.5, 0.0, 1.0)
    # a ratio of sums: 3 of 4 citations verified, whatever the split across questions
    rate, lo, hi = bootstrap_ratio([(3, 3), (0, 1)] * 20, resamples=2000, seed=1)
    assert rate == 0.75 and lo is not None and hi is not None and lo < 0.75 < hi
    assert bootstrap_ratio([(3, 3), (0, 1)] * 20, seed=1) == bootstrap_ratio(
        [(3, 3), (0, 1)] * 20, seed=1
    )


def cite(
    kind: str, status: str, doc_id: str | None, quotes: tuple[str, ...] = ()
) -> CheckedCitation:
    return CheckedCitation(
        n=1 if kind == "source" else None, kind=kind, doc_id=doc_id, citation="", pinpoint="",
        anchor=None, quotes=quotes, status=status, text="", start=0,
    )  # fmt: skip


def test_counts_of_one_answer() -> None:
    item = Item("q1", "lawyers", "Is fair use an infringement?", frozenset({"usc:17/107"}))
    answer = (
        "17 U.S.C. § 107(a) [1] governs this question. It provides: "
        "##begin_quote##the fair use of a copyrighted work##end_quote## [1]. "
        "In 1972 the Supreme Court agreed with this view entirely."
    )
    cited = [
        cite("legal", "verified", "usc:17/107"),
        cite("source", "verified", "usc:17/107", ("the fair use of a copyrighted work",)),
        cite("legal", "unknown", None),
    ]
    got = counts(answer, cited, unsupported=1, item=item)
    assert got["governing_verified"] == 1 and got["governing_cited"] == 1
    assert (got["citations"], got["citations_verified"], got["citations_unknown"]) == (3, 2, 1)
    assert (got["quotes"], got["quotes_verbatim"]) == (1, 1)
    assert (got["sentences"], got["unsupported"]) == (3, 1)
    bad = counts(answer, [cite("source", "misquoted", "usc:17/107", ("x",))], 3, item)
    assert bad["quotes_verbatim"] == 0 and bad["governing_verified"] == 0
    row = {"meta": {"oracle_kept": False}}
    absent = Item("r1", "raft", "Q?", frozenset(), row)
    said = counts("The sources given do not answer this question.", [], 0, absent)
    assert said["no_oracle"] == 1 and said["abstained"] == 1 and said["has_oracle"] == 0


def test_an_answer_from_passages_citing_none_counts_as_uncited() -> None:
    """What the gateway sets aside (`serving.answering.uncited`): counted for answers written
    from passages; a closed-book answer has none to cite, and a decline is not uncited."""
    item = Item("q1", "lawyers", "Is fair use an infringement?", frozenset({"usc:17/107"}))
    named = "Fair use is governed by 17 U.S.C. § 107 in every case."
    legal_only = [cite("legal", "verified", "usc:17/107")]
    got = counts(named, legal_only, 1, item, sourced=True)
    assert (got["sourced"], got["uncited"]) == (1, 1)
    assert counts(named, legal_only, 1, item)["sourced"] == 0  # closed book
    assert counts(named, legal_only, 1, item)["uncited"] == 0
    cited = counts(
        "Fair use [1].", [cite("source", "verified", "usc:17/107")], 0, item, sourced=True
    )
    assert cited["uncited"] == 0
    declined = counts("The sources given do not answer this question.", [], 0, item, sourced=True)
    assert declined["uncited"] == 0


def test_summary_rates_are_ratios_of_sums() -> None:
    def rec(v: int, c: int) -> dict:
        keys = (
            "has_oracle", "no_oracle", "governing_verified", "governing_cited", "quotes",
            "quotes_verbatim", "sentences", "unsupported", "abstained", "citations_unknown",
        )  # fmt: skip
        base = dict.fromkeys(keys, 0)
        return {"counts": {**base, "citations": c, "citations_verified": v}, "latency_s": 1.0,
                "generation_s": 2.0, "completion_tokens": 40}  # fmt: skip

    s = summarise("raft-rag", "lawyers", [rec(3, 3), rec(0, 1), {"error": "x"}])
    assert s.rates["citation_precision"][0] == 0.75
    # recorded before answers citing no source were counted: no weight, no rate
    assert s.rates["uncited_rate"] == (None, None, None)
    assert s.answers == 2 and s.errors == 1 and s.tokens_per_s == 20.0
    assert s.rates["governing_verified"] == (None, None, None)


def test_a_limit_takes_questions_spread_through_the_file() -> None:
    items = [Item(f"q{i}", "raft", f"question {i}", frozenset(), None) for i in range(10)]
    assert [i.qid for i in spread(items, 4)] == ["q0", "q2", "q5", "q7"]
    assert spread(items, 0) == items and spread(items, 20) == items


def test_a_rerun_keeps_the_other_answers_and_refuses_what_does_not_match(tmp_path) -> None:
    import json

    from training.lab.compare import CompareConfig, CompareError, kept_records

    cfg = CompareConfig("http://x", "base", "ft", "legal", tmp_path, rerun=("base-rag",))
    items = [Item(f"q{i}", "raft", f"question {i}", frozenset(), None) for i in range(2)]
    with pytest.raises(CompareError, match="earlier answers"):
        kept_records(cfg, cfg.setups(), items)
    rows = [{"config": s.name, "qid": it.qid} for s in cfg.setups() for it in items]
    (tmp_path / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    kept = kept_records(cfg, cfg.setups(), items)
    assert len(kept) == 8 and all(r["config"] != "base-rag" for r in kept)
    with pytest.raises(CompareError, match="not for the same"):
        kept_records(cfg, cfg.setups(), [*items, Item("q9", "raft", "q", frozenset(), None)])
    bad = CompareConfig("http://x", "base", "ft", "legal", tmp_path, rerun=("nope",))
    with pytest.raises(CompareError, match="not one of"):
        kept_records(bad, bad.setups(), items)
