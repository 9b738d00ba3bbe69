"""Plain and citing questions, a lawyer's short answer, closed-book rows, a balanced sample."""

from __future__ import annotations

from collections import Counter

import pytest

from indexing.model import Chunk, Passage
from legal_corpus.citations import parse_citations
from serving import answer_format as fmt
from serving.prompt import CLOSED_BOOK_SYSTEM_PROMPT
from serving.verify import Verifier
from training.questions import body_of_law, subject, template_questions
from training.raft import (
    RaftBuilder,
    RaftConfig,
    closed_book_row,
    oracle_answer,
    pinpoint_citation,
    sample_oracles,
    split_of,
)
from training.retrieval import MemoryRetriever

pytestmark = pytest.mark.unit


def current(chunks: list[Chunk], doc_id: str) -> list[Chunk]:
    return [c for c in chunks if c.doc_id == doc_id and c.valid_to is None]


def test_plain_questions_name_the_subject_not_the_provision(fre_chunks: list[Chunk]) -> None:
    origins: Counter[str] = Counter()
    for chunk in (c for c in fre_chunks if c.valid_to is None):
        for q in template_questions(chunk, max_quote_words=25):
            origins[q.origin] += 1
            assert q.quote in fmt.normalize_ws(chunk.text)
            if not q.names_provision:
                assert chunk.doc_citation not in q.text
                assert "the Federal Rules of Evidence" in q.text
    assert origins["template:plain"] > 10 and origins["template:heading"] > 10
    rule_702 = current(fre_chunks, "fre:702")[0]
    assert body_of_law(rule_702) == "the Federal Rules of Evidence"
    assert subject(rule_702) == "Testimony by Expert Witnesses"


def test_answer_cites_the_first_pinpoint_and_quotes_verbatim(fre_chunks: list[Chunk]) -> None:
    chunk = next(c for c in current(fre_chunks, "fre:408") if c.pinpoint.startswith("(a)"))
    quote = " ".join(chunk.text.split()[:12])
    answer = oracle_answer(chunk, 2, quote, at_start=True)
    assert answer.startswith(f"{pinpoint_citation(chunk)} [2] governs this question (")
    assert pinpoint_citation(chunk) == "Fed. R. Evid. 408(a)"
    assert pinpoint_citation(chunk, at_start=False) == chunk.citation
    other = next(c for c in fre_chunks if c.doc_id != "fre:408" and c.valid_to is None)
    passages = [Passage(other, 0.0), Passage(chunk, 0.0)]
    report = Verifier(MemoryRetriever(fre_chunks), parse_citations).verify(answer, passages)
    assert report.all_verified, report
    assert {c.kind for c in report.citations} == {"source", "legal"}


def test_closed_book_rows_keep_the_answer_without_sources(fre_chunks: list[Chunk]) -> None:
    result = RaftBuilder(MemoryRetriever(fre_chunks), RaftConfig(k=2, seed=3)).build(
        [c for c in fre_chunks if c.valid_to is None][:30]
    )
    rows = [r.to_json() for r in result.rows]
    closed = [closed_book_row(r) for r in rows]
    for row, cb in zip(rows, closed, strict=True):
        if not row["meta"]["oracle_kept"]:
            assert cb is None
            continue
        assert cb is not None
        system, user, answer = (m["content"] for m in cb["messages"])
        assert system == CLOSED_BOOK_SYSTEM_PROMPT and "Sources:" not in user
        assert row["meta"]["question"] in user
        assert not fmt.markers(answer) and fmt.quotes(answer)
        words = fmt.CITE_PATTERN.sub("", row["messages"][-1]["content"]).replace(" .", ".")
        assert words.split() == answer.split()


def test_sample_takes_an_equal_share_per_source(fre_chunks: list[Chunk]) -> None:
    import dataclasses

    big = [dataclasses.replace(c, source="uscode") for c in fre_chunks]
    small = [
        dataclasses.replace(c, source="gdpr", chunk_id=c.chunk_id + "g") for c in fre_chunks[:7]
    ]
    picked = sample_oracles(big + small, 40, seed=1)
    by = Counter(c.source for c in picked)
    assert by == {"gdpr": 7, "uscode": 33}
    assert picked == sample_oracles(big + small, 40, seed=1)
    assert split_of("fre:702", 0, 0.0, held_out=("fre:702",)) == "eval"
