"""Whether a cited pinpoint is a part of the document: judged on real corpus documents.

A model that writes `17 U.S.C. § 107(a)(1)` cites a subdivision § 107 does not have; the
verifier must not call that citation verified because a passage of § 107 was given.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.chunking import Chunker
from indexing.exact_citations import is_label_chain, pinpoint_in_document
from indexing.model import Chunk
from legal_corpus.adapters import make_adapter

pytestmark = pytest.mark.unit


def _chunks(corpus_dir: Path, source: str, doc_id: str) -> list[Chunk]:
    adapter = make_adapter(source)
    (unit, *_) = adapter.units_for(corpus_dir, doc_id)
    versions = [d for d in adapter.parse(unit) if d.doc_id == doc_id]
    assert versions, f"{doc_id} not in {unit}"
    return Chunker().chunk(versions[-1])  # the latest version


@pytest.fixture(scope="module")
def title_17(corpus_dir: Path) -> dict[str, list[Chunk]]:
    adapter = make_adapter("uscode")
    (unit,) = adapter.units_for(corpus_dir, "usc:17/107")
    latest: dict[str, object] = {}
    for doc in adapter.parse(unit):
        if doc.doc_id in ("usc:17/107", "usc:17/504"):
            latest[doc.doc_id] = doc
    return {k: Chunker().chunk(d) for k, d in latest.items()}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("doc_id", "pinpoint", "exists"),
    [
        ("usc:17/107", "(1)", True),  # the four factors
        ("usc:17/107", "(4)", True),
        ("usc:17/107", "(a)(1)", False),  # § 107 has no subsections
        ("usc:17/107", "(5)", False),
        ("usc:17/504", "(c)(2)", True),
        ("usc:17/504", "(c)", True),  # a parent of known parts
        ("usc:17/504", "(c)(2)(i)", True),  # below the structure, a label in the text
        ("usc:17/504", "(c)(2)(iii)", False),  # the text lists (i) and (ii) only
        ("usc:17/504", "(e)", False),
    ],
)
def test_us_code_pinpoints(title_17, doc_id, pinpoint, exists) -> None:
    assert pinpoint_in_document(title_17[doc_id], pinpoint) is exists


@pytest.mark.parametrize(
    ("source", "doc_id", "present", "absent"),
    [
        ("gdpr", "gdpr:art6", ["(1)(f)", "(4)(e)", "(2)"], ["(5)", "(1)(g)"]),
        ("federal_rules", "frcp:12", ["(b)(6)", "(a)(1)(A)(i)", "(h)(1)"], ["(b)(8)", "(j)"]),
        ("federal_rules", "fre:408", ["(a)(1)", "(b)"], ["(c)"]),
        ("federal_rules", "frap:4", ["(a)(1)(A)", "(a)(4)(A)(vi)"], ["(a)(9)"]),
    ],
)
def test_rules_and_regulation_pinpoints(corpus_dir, source, doc_id, present, absent) -> None:
    chunks = _chunks(corpus_dir, source, doc_id)
    assert [p for p in present if not pinpoint_in_document(chunks, p)] == []
    assert [p for p in absent if pinpoint_in_document(chunks, p)] == []


def test_pinpoints_that_are_not_label_chains_are_not_judged(title_17) -> None:
    assert not is_label_chain("¶ 12") and not is_label_chain("") and is_label_chain("(b)(6)")
    assert pinpoint_in_document(title_17["usc:17/107"], "¶ 12")
    assert pinpoint_in_document([], "(a)")  # nothing to judge by
