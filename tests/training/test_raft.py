"""RAFT rows from real corpus text: oracle rate, hard negatives, verbatim quotes, split."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from indexing.model import Chunk, Passage
from legal_corpus.citations import parse_citations
from serving import answer_format as fmt
from serving.verify import Verifier
from training.raft import (
    ABSTAIN_ANSWER,
    RaftBuilder,
    RaftConfig,
    RaftResult,
    data_card,
    passages_of,
    template_questions,
)
from training.retrieval import MemoryRetriever

pytestmark = pytest.mark.unit


def _build(chunks: list[Chunk], **kw: object) -> tuple[RaftResult, MemoryRetriever]:
    retriever = MemoryRetriever(chunks)
    oracles = [c for c in chunks if c.valid_to is None]
    cfg = RaftConfig(**kw)  # type: ignore[arg-type]
    return RaftBuilder(retriever, cfg).build(oracles), retriever


@pytest.fixture(scope="module")
def built(fre_chunks: list[Chunk]) -> tuple[RaftResult, MemoryRetriever]:
    return _build(fre_chunks, k=2, p_oracle=0.7, seed=1, eval_fraction=0.3)


def test_oracle_kept_at_rate_p(built: tuple[RaftResult, MemoryRetriever]) -> None:
    result, _ = built
    rows = result.rows
    assert len(rows) >= 40
    rate = sum(r.oracle_kept for r in rows) / len(rows)
    assert abs(rate - 0.7) < 0.15, rate
    all_kept, _ = _build(
        [c for c in built[1].chunks], k=2, p_oracle=1.0, seed=1, questions_per_chunk=1
    )
    assert all(r.oracle_kept for r in all_kept.rows)


def test_distractors_are_hard_negatives(built: tuple[RaftResult, MemoryRetriever]) -> None:
    result, _ = built
    reasons: Counter[str] = Counter()
    for row in result.rows:
        passages = passages_of(row.to_json())
        oracle = next((p.chunk for p in passages if p.chunk.chunk_id == row.oracle_chunk_id), None)
        assert (oracle is not None) == row.oracle_kept
        distractors = [p.chunk for p in passages if p.chunk.chunk_id != row.oracle_chunk_id]
        assert len(distractors) >= 2
        texts = [fmt.normalize_ws(c.text) for c in distractors]
        assert len(set(texts)) == len(texts)
        if oracle is not None:
            assert fmt.normalize_ws(oracle.text) not in texts
        reasons.update(row.distractor_reasons)
        assert set(row.distractor_reasons) <= {"version", "neighbour", "topic"}
    # every kind of hard negative occurs: other versions, neighbours, same topic elsewhere
    assert reasons["version"] > 0 and reasons["neighbour"] > 0 and reasons["topic"] > 0


def test_version_distractor_is_the_other_text_of_the_same_rule(
    built: tuple[RaftResult, MemoryRetriever],
) -> None:
    result, _ = built
    rows = [r for r in result.rows if r.doc_id == "fre:702" and "version" in r.distractor_reasons]
    assert rows, "Fed. R. Evid. 702 (amended 2023-12-01) should get its older text as distractor"
    for row in rows:
        chunks = [p.chunk for p in passages_of(row.to_json())]
        versions = {c.version for c in chunks if c.doc_id == "fre:702"}
        assert len(versions) >= 2


def test_answers_verify_with_the_gateway_verifier(
    built: tuple[RaftResult, MemoryRetriever],
) -> None:
    result, retriever = built
    verifier = Verifier(retriever, parse_citations)
    for row in result.rows:
        answer = row.messages[-1]["content"]
        passages: list[Passage] = passages_of(row.to_json())
        # the prompt is the gateway's, numbering exactly these sources
        user = row.messages[1]["content"]
        for n, p in enumerate(passages, 1):
            assert f"[{n}] {p.chunk.citation}" in user
        if row.oracle_kept:
            report = verifier.verify(answer, passages)
            assert report.all_verified, (answer, report)
            assert any(c.n == row.oracle_n for c in report.citations)
            assert fmt.quotes(answer)
            for q in fmt.quotes(answer):
                assert fmt.normalize_ws(q.text) in fmt.normalize_ws(
                    passages[row.oracle_n - 1].chunk.text
                )  # type: ignore[operator]
        else:
            assert answer == ABSTAIN_ANSWER
            assert not fmt.markers(answer)


def test_split_by_document_dedup_and_seed(
    built: tuple[RaftResult, MemoryRetriever], fre_chunks: list[Chunk]
) -> None:
    result, _ = built
    train = {r.doc_id for r in result.split("train")}
    held = {r.doc_id for r in result.split("eval")}
    assert train and held and not train & held
    keys = [
        (r.messages[1]["content"].rsplit("Question:", 1)[1], r.oracle_chunk_id) for r in result.rows
    ]
    assert len(keys) == len(set(keys))
    again, _ = _build(fre_chunks, k=2, p_oracle=0.7, seed=1, eval_fraction=0.3)
    dump = [json.dumps(r.to_json(), sort_keys=True) for r in result.rows]
    assert dump == [json.dumps(r.to_json(), sort_keys=True) for r in again.rows]
    other, _ = _build(fre_chunks, k=2, p_oracle=0.7, seed=2, eval_fraction=0.3)
    assert dump != [json.dumps(r.to_json(), sort_keys=True) for r in other.rows]


def test_data_card_counts(built: tuple[RaftResult, MemoryRetriever]) -> None:
    result, _ = built
    card = data_card(result)
    assert card["P"] == 0.7 and card["k"] == 2
    assert card["train"]["rows"] + card["eval"]["rows"] == len(result.rows)
    assert card["train"]["by_source"] == {"fre": card["train"]["rows"]}
    assert card["dropped_total"] == sum(result.dropped.values())


def test_templates_use_legal_structure(fre_chunks: list[Chunk]) -> None:
    cfg = RaftConfig()
    origins: Counter[str] = Counter()
    for chunk in fre_chunks:
        for q in template_questions(chunk, cfg):
            origins[q.origin] += 1
            assert q.quote in fmt.normalize_ws(chunk.text)
    # Rule 101(b) and 1001 define terms ("record" means …, an "original" … means …)
    assert origins["template:defined-term"] > 0
    assert origins["template:heading"] > 0
