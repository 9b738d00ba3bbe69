"""The precedent graph: references resolved by year and title words, counts, leave-one-out."""

from __future__ import annotations

from pathlib import Path

import pytest

from legal_corpus.citation_graph import CitationGraph, Judgment

pytestmark = pytest.mark.unit

JUDGMENTS = [
    Judgment("in:1", "Maneka Gandhi v Union of India", 1978),
    Judgment("in:2", "Ram Prasad v State of Bihar", 1990),
    Judgment("in:3", "Ram Prasad v State of Bihar", 1995),
    Judgment("us:roe", "Roe v. Wade", 1973),
    Judgment("in:9", "Kesavan v Union of India", 2001),
]


def test_neutral_references_resolve_by_year_and_title_words():
    graph = CitationGraph(
        JUDGMENTS,
        [
            ("in:9", "As held in Maneka Gandhi v. Union of India 1978 Indlaw SC 212, liberty."),
            # the year picks the 1990 judgment of two with the same title
            ("in:9", "Ram Prasad v. State of Bihar 1990 Indlaw SC 12 applies."),
            # nobody of that name decided that year; a year without the judgment
            ("in:9", "In Unknown Party v. Somebody 1990 Indlaw SC 99 it was not."),
            ("in:9", "Ram Prasad v. State of Bihar 1988 Indlaw SC 5."),
            # a judgment never cites itself
            ("in:9", "Kesavan v. Union of India 2001 Indlaw SC 1"),
        ],
    )
    assert graph.links == {"in:9": frozenset({"in:1", "in:2"})}
    assert graph.counts() == {"in:1": 1, "in:2": 1}


def test_reporter_references_allow_the_year_after_the_decision():
    texts = [
        ("in:9", "Maneka Gandhi v. Union of India, AIR 1979 SC 597, was followed."),
        ("in:2", "The Court relied on Maneka Gandhi v. Union of India (1978) 1 SCC 248."),
        ("in:1", "Compare Roe v. Wade, 410 U.S. 113, 153 (1973)."),
        # the reporter's year may follow the decision by one, not precede it
        ("in:3", "Ram Prasad v. State of Bihar, AIR 1989 SC 1."),
    ]
    graph = CitationGraph(JUDGMENTS, texts)
    assert graph.links == {
        "in:9": frozenset({"in:1"}),
        "in:2": frozenset({"in:1"}),
        "in:1": frozenset({"us:roe"}),
    }
    assert CitationGraph(JUDGMENTS, texts, reporters=False).links == {}


def test_cited_by_counts_citing_judgments_once_and_leaves_one_out():
    graph = CitationGraph(
        JUDGMENTS,
        [
            ("in:9", "Maneka Gandhi v. Union of India 1978 Indlaw SC 212."),
            ("in:9", "again: Maneka Gandhi v. Union of India 1978 Indlaw SC 212"),  # 2nd chunk
            ("in:3", "Maneka Gandhi v. Union of India 1978 Indlaw SC 212."),
        ],
    )
    assert graph.cited_by("in:1") == 2
    assert graph.cited_by("in:1", excluding="in:9") == 1
    assert graph.cited_by("in:1", excluding="in:2") == 2  # in:2 does not cite it
    assert graph.cited_by("in:2") == 0


def test_real_judgments_of_the_corpus(corpus_dir: Path):
    folder = corpus_dir / "aila" / "casedocs"
    texts = {d: (folder / f"{d}.txt").read_text(encoding="utf-8") for d in ("C76", "C92", "C1")}
    judgments = [
        Judgment(d, t.splitlines()[0], int(t.splitlines()[3].split()[-1])) for d, t in texts.items()
    ]
    graph = CitationGraph(judgments, texts.items())
    # C76 names "Ranchhodji chaturji thakore v. Superintendent engineer, gujarat electricity
    # board … 1996 Indlaw SC 1409", the judgment C92 of 28 October 1996
    assert graph.links == {"C76": frozenset({"C92"})}
