"""Training pairs mined from real provisions: headings, questions, definitions, citations."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from indexing.chunking import Chunker, model_token_counter
from indexing.settings import default_embed_model
from indexing.tuning.pairs import (
    Pair,
    balanced,
    counts,
    heading_name,
    load_pairs,
    mine_pairs,
    save_pairs,
    sibling_negatives,
)
from legal_corpus.adapters import make_adapter
from legal_corpus.model import LegalDocument

pytestmark = pytest.mark.unit

TODAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def docs(corpus_dir: Path) -> list[LegalDocument]:
    out: list[LegalDocument] = []
    wanted = {
        "federal_rules": {
            "evidence/rule-801",
            "evidence/rule-803",
            "evidence/rule-902",
            "evidence/rule-408",
            "civil/rule-12",
            "civil/rule-26",
            "civil/rule-56",
        },
        "gdpr": None,
    }
    for source, keys in wanted.items():
        adapter = make_adapter(source)
        for unit in adapter.discover(corpus_dir):
            if keys is None or unit.key in keys:
                out.extend(adapter.parse(unit))
    return out


@pytest.fixture(scope="module")
def pairs(docs: list[LegalDocument]) -> list[Pair]:
    chunker = Chunker(model_token_counter(default_embed_model()), max_tokens=200)
    return mine_pairs(docs, chunker, seed=7, day=TODAY)


def test_heading_names():
    assert heading_name("§ 109. Limitations on exclusive rights: Effect of transfer") == (
        "Effect of transfer"
    )
    assert heading_name("Rule 408. Compromise Offers and Negotiations") == (
        "Compromise Offers and Negotiations"
    )
    assert heading_name("Article 17 — Right to erasure (‘right to be forgotten’)") == (
        "Right to erasure (‘right to be forgotten’)"
    )


def test_every_kind_is_mined(pairs: list[Pair]):
    found = counts(pairs)
    assert all(found[kind] > 0 for kind in ("heading", "question", "definition", "citation"))


def test_a_caption_is_paired_with_its_subdivision_without_the_caption(pairs: list[Pair]):
    hit = [p for p in pairs if p.kind == "heading" and p.query == "Excited Utterance"]
    assert len(hit) == 1 and hit[0].doc_id == "fre:803" and "(2)" in hit[0].pinpoint
    assert "Excited Utterance" not in hit[0].passage
    assert "startling event" in hit[0].passage
    asked = [p for p in pairs if p.kind == "question" and "excited utterance" in p.query]
    assert asked and asked[0].query.endswith(("?", "."))
    assert asked[0].passage.startswith("Fed. R. Evid. 803")  # the passage as indexed


def test_generic_headings_are_not_paired(docs: list[LegalDocument], pairs: list[Pair]):
    # "In General" heads subdivisions of several of these rules: with a threshold of one
    # document, a heading two documents share names nothing in particular
    chunker = Chunker(model_token_counter(default_embed_model()), max_tokens=200)
    strict = mine_pairs(docs, chunker, seed=7, day=TODAY, generic_docs=1)
    named = [p for p in strict if p.kind == "heading"]
    docs_of: dict[str, set[str]] = {}
    for p in named:
        docs_of.setdefault(p.query.lower(), set()).add(p.doc_id)
    assert named and all(len(d) == 1 for d in docs_of.values())
    assert len(named) < len([p for p in pairs if p.kind == "heading"])


def test_defined_terms_and_citing_sentences(pairs: list[Pair]):
    profiling = [p for p in pairs if p.kind == "definition" and "profiling" in p.query]
    assert profiling and profiling[0].doc_id == "gdpr:art4"
    # the Federal Rules' doubled quotes: ‘‘Hearsay’’ means …
    hearsay = [p for p in pairs if p.kind == "definition" and "hearsay" in p.query]
    assert hearsay and {p.doc_id for p in hearsay} == {"fre:801"}
    cites = [p for p in pairs if p.kind == "citation"]
    assert cites
    for p in cites:
        assert "12(b)(6)" not in p.query and "Rule 56" not in p.query  # citations masked
        assert 8 <= len(p.query.split()) <= 60


def test_mining_is_seeded_and_files_round_trip(docs, pairs, tmp_path: Path):
    chunker = Chunker(model_token_counter(default_embed_model()), max_tokens=200)
    assert mine_pairs(docs, chunker, seed=7, day=TODAY) == pairs
    save_pairs(pairs, tmp_path / "pairs.jsonl")
    assert load_pairs(tmp_path / "pairs.jsonl") == pairs


def test_each_pair_has_a_sibling_subdivision_as_its_negative(pairs: list[Pair]):
    assert all(p.negative and p.negative != p.passage for p in pairs)
    # Fed. R. Evid. 803(2)'s caption: its negative is another exception of Rule 803, not (2)
    hit = next(p for p in pairs if p.kind == "heading" and p.query == "Excited Utterance")
    assert hit.negative.startswith("Fed. R. Evid. 803")
    assert "startling event" not in hit.negative


def test_a_provision_of_one_passage_borrows_another_provisions_negative():
    import random

    from indexing.model import Chunk

    def chunk(doc_id: str, pinpoint: str, text: str) -> Chunk:
        cite = f"Fed. R. Evid. {doc_id.split(':')[1]}"
        return Chunk(f"{doc_id}{pinpoint}", doc_id, "2024", cite + pinpoint, cite, pinpoint,
                     "", (cite,), text, 0, "federal_rules", "rule", "US", cite,
                     pinpoints=(pinpoint,) if pinpoint else ())  # fmt: skip

    chunks = {
        "fre:408": [chunk("fre:408", "(a)", "compromise"), chunk("fre:408", "(b)", "exceptions")],
        "fre:409": [chunk("fre:409", "", "medical expenses")],
    }
    asked = [
        Pair("settlement", "compromise", "heading", "fre:408", "(a)"),
        Pair("medical bills", "medical expenses", "heading", "fre:409", ""),
    ]
    settled, paid = sibling_negatives(asked, chunks, random.Random(3))
    assert settled.negative.endswith("exceptions")  # (b), the only sibling not at (a)
    assert "408" in paid.negative  # no sibling: a passage of another provision


def test_balanced_sample_shares_the_cap_between_families():
    import random

    many = [Pair(f"q{i}", "p", "heading", f"usc:17/{i}", "") for i in range(100)]
    few = [Pair(f"r{i}", "p", "heading", f"fre:{i}", "") for i in range(10)]
    chosen = balanced([*many, *few], 40, random.Random(1))
    assert len(chosen) == 40
    assert sum(p.doc_id.startswith("fre:") for p in chosen) == 10  # all of the smaller family
