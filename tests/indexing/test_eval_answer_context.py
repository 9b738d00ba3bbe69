"""What an answer is given for a statement of facts (`indexing.eval.answer_context`), on the
real index slice."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.eval.answer_context import WAYS, answer_context
from indexing.eval.crossval import dev_queries
from indexing.retrieve import open_retriever

pytestmark = pytest.mark.slow


def test_a_statement_of_facts_gets_one_passage_per_document(index_slice, corpus_dir: Path):
    queries, qrels = dev_queries(corpus_dir)
    some = dict(list(sorted(queries.items()))[:2])
    retriever = open_retriever(index_slice)
    try:
        retriever.check()
        result = answer_context(retriever, some, qrels, top_k=4)
    finally:
        retriever.close()
    assert list(result) == list(WAYS)
    before, now = result.values()
    assert now["queries"] == before["queries"] == 2
    assert now["distinct_documents"] == 4  # the document ranking: one passage each
    assert before["distinct_documents"] <= 4
    for r in (before, now):
        assert r["queries_with_an_applied_statute"] <= min(r["applied_statutes"], r["queries"])
