"""Cross-references: which documents the enacted law's passages cite, read from the real index
slice, kept beside an embedded build, and carried to the learned order's candidates."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from indexing.cross_references import CrossReferences, cached_cross_references, passage_cites
from indexing.kept_tables import table_path

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def refs(retriever) -> CrossReferences:
    return CrossReferences.from_store(retriever.current_store())


def test_a_passage_cites_in_the_context_of_its_own_body_of_law():
    # GDPR Art. 17(1)(b): a bare "Article 6(1)" is the GDPR's own
    erasure = (
        "the data subject withdraws consent on which the processing is based according to "
        "point (a) of Article 6(1), or point (a) of Article 9(2), and where there is no other "
        "legal ground for the processing"
    )
    assert passage_cites("gdpr:art17", erasure) == ("gdpr:art6", "gdpr:art9")
    # 35 U.S.C. § 111: "this title" is title 35; a section citing itself is left out
    spec = "a specification as prescribed by section 112 of this title; section 111 applies"
    assert passage_cites("usc:35/111", spec) == ("usc:35/112",)
    # a bare rule inside the Civil Rules is a Civil Rule
    assert passage_cites("frcp:26", "a subpoena under Rule 45, and Rule 26(b)") == ("frcp:45",)
    # court opinions are not read here
    assert passage_cites("aila:C1", "convicted under Section 302 IPC") == ()


def test_the_slice_holds_the_gdprs_and_the_us_codes_own_cross_references(retriever, refs):
    store = retriever.current_store()
    docs = {h.id: h.payload["doc_id"] for h in store.scroll(fields=("doc_id", "kind"))}
    citing = {docs[id_] for id_ in refs.cites}
    assert "gdpr:art17" in citing  # Art. 17(1)(b) cites Art. 6(1)
    assert any("gdpr:art6" in refs.of(id_) for id_ in refs.cites if docs[id_] == "gdpr:art17")
    assert any(d.startswith("usc:17/") for d in citing)  # § 106: "sections 107 through 122"
    assert not any(d.startswith(("aila:", "cap:")) for d in citing)  # opinions are not read
    assert all(doc not in refs.of(id_) for id_, doc in docs.items())  # never its own document
    assert refs.of("no-such-point") == ()


def test_an_embedded_builds_table_is_kept_and_read_again(
    retriever, refs, tmp_path: Path, monkeypatch, caplog
):
    store = retriever.current_store()
    root = tmp_path / "qdrant"
    (root / "builds" / store.name).mkdir(parents=True)
    assert cached_cross_references(store, root) == refs
    path = table_path(root, store.name, "xrefs")
    assert path.is_file()

    def no_count(*_args, **_kwargs):
        raise AssertionError("counted again")

    monkeypatch.setattr(CrossReferences, "from_store", no_count)
    assert cached_cross_references(store, root) == refs  # read, not counted
    monkeypatch.undo()
    path.write_text(json.dumps({"format": 99, "cites": {}}))
    with caplog.at_level(logging.WARNING, logger="indexing.kept_tables"):
        assert cached_cross_references(store, root) == refs
    assert "cross-references table" in caplog.text and "not usable" in caplog.text
    assert CrossReferences.load(path) == refs  # written again


def test_a_questions_candidates_carry_what_they_cite(retriever):
    candidates, _ = retriever.question_candidates(
        "Can I make a company erase my personal data after I withdraw my consent?", 100
    )
    art17 = [c for c in candidates if c.doc_id == "gdpr:art17"]
    assert art17 and any("gdpr:art6" in c.cites for c in art17)
    assert all(c.doc_id not in c.cites for c in candidates)
