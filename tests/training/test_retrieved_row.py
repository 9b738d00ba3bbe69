"""RAFT rows over a retriever's own top-k passages (the gateway's prompt, token for token)."""

from __future__ import annotations

import pytest

from indexing.model import Chunk, SearchFilters
from legal_corpus.citations import parse_citations
from serving import answer_format as fmt
from serving.prompt import build_messages
from serving.verify import Verifier
from training.raft import ABSTAIN_ANSWER, passages_of, retrieved_row
from training.retrieval import MemoryRetriever

pytestmark = pytest.mark.unit

QUESTION = "What does Fed. R. Evid. 702 provide about testimony by expert witnesses?"


def test_row_is_the_gateway_prompt_and_its_answer_verifies(fre_chunks: list[Chunk]) -> None:
    retriever = MemoryRetriever(fre_chunks)
    passages = retriever.search(QUESTION, 3, SearchFilters())
    row = retrieved_row(QUESTION, passages, ["fre:702"], max_chars_per_source=240,
                        max_chars_total=800).to_json()  # fmt: skip
    prompt = build_messages(QUESTION, passages, max_chars_per_source=240, max_chars_total=800)
    assert row["messages"][:2] == list(prompt.messages)
    meta = row["meta"]
    assert meta["origin"] == "retrieved" and meta["oracle_kept"]
    assert meta["source_chunk_ids"] == [p.chunk.chunk_id for p in passages[: prompt.n_sources]]
    oracle = passages[meta["oracle_n"] - 1].chunk
    assert oracle.doc_id == "fre:702" and oracle.valid_to is None
    assert meta["distractor_reasons"] == ["retrieved"] * (prompt.n_sources - 1)
    answer = row["messages"][-1]["content"]
    report = Verifier(retriever, parse_citations).verify(answer, passages_of(row))
    assert report.all_verified, (answer, report)
    assert all(fmt.normalize_ws(q.text) in fmt.normalize_ws(oracle.text)
               for q in fmt.quotes(answer))  # fmt: skip


def test_row_abstains_when_no_answering_document_is_retrieved(fre_chunks: list[Chunk]) -> None:
    retriever = MemoryRetriever(fre_chunks)
    passages = retriever.search(QUESTION, 3, SearchFilters())
    row = retrieved_row(QUESTION, passages, ["gdpr:art17"], max_chars_per_source=240,
                        max_chars_total=800)  # fmt: skip
    assert not row.oracle_kept and row.oracle_n is None
    assert row.messages[-1]["content"] == ABSTAIN_ANSWER


def test_memory_retriever_one_passage_per_document(fre_chunks: list[Chunk]) -> None:
    retriever = MemoryRetriever(fre_chunks)
    every = retriever.search(QUESTION, 60, SearchFilters())
    grouped = retriever.search(QUESTION, 60, SearchFilters(), group_by_doc=True)
    assert len({p.chunk.doc_id for p in every}) < len(every)  # several passages of a rule
    docs = [p.chunk.doc_id for p in grouped]
    assert len(docs) == len(set(docs)) and grouped[0] == every[0]
