"""RAFT hard negatives drawn from the real index (embedded Qdrant over the corpus slice)."""

from __future__ import annotations

import pytest

from indexing.model import Chunk
from legal_corpus.citations import parse_citations
from serving.verify import Verifier
from tests.support.index_slice import index_slice  # noqa: F401  (session fixture)
from training.raft import RaftBuilder, RaftConfig, passages_of

pytestmark = pytest.mark.slow


def test_rows_from_the_index_slice(index_slice) -> None:  # noqa: F811
    from indexing.retrieve import open_retriever

    retriever = open_retriever(index_slice)
    oracles: list[Chunk] = []
    for doc_id in ("fre:702", "frcp:12", "usc:17/107", "gdpr:art17"):
        oracles.extend(retriever.document(doc_id)[:3])
    assert oracles, "the index slice holds none of the expected documents"
    result = RaftBuilder(retriever, RaftConfig(k=3, p_oracle=1.0, seed=0)).build(oracles)
    assert result.rows
    verifier = Verifier(retriever, parse_citations)
    reasons = set()
    for row in result.rows:
        passages = passages_of(row.to_json())
        assert len(passages) == 4
        assert len({p.chunk.chunk_id for p in passages}) == 4
        reasons.update(row.distractor_reasons)
        report = verifier.verify(row.messages[-1]["content"], passages)
        assert report.all_verified, (row.messages[-1]["content"], report)
    # Fed. R. Evid. 702's older version, neighbouring subdivisions, other sources on the topic
    assert {"version", "neighbour", "topic"} <= reasons
