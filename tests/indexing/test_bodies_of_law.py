"""Bodies of law: which one a question's words belong to, counted over the real index slice,
kept beside an embedded build, read by the learned order."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from indexing.bodies_of_law import BodiesOfLaw, body_of, cached_bodies, stems, table_path
from indexing.retrieve import filter_conditions

pytestmark = pytest.mark.unit

CIVIL = "How long does a defendant have to answer a complaint after being served?"
PRIVACY = "Can a data subject make a controller erase personal data?"


@pytest.fixture(scope="module")
def bodies(retriever) -> BodiesOfLaw:
    return BodiesOfLaw.from_store(retriever.current_store(), filter_conditions(None))


def test_a_documents_body_of_law_is_its_title_or_its_set_of_rules():
    assert body_of("usc:17/507") == "usc:17"
    assert body_of("usc:5A/pl95-452/s8G") == "usc:5A"
    assert body_of("frcp:12") == "frcp"
    assert body_of("gdpr:recital47") == "gdpr"
    assert body_of("aila:C12") == "aila"
    assert stems("Registration of the copyrighted work") == ["regist", "the", "copyri", "work"]


def test_the_slice_counts_each_body_over_its_passages(bodies):
    assert {"fre", "frcp", "gdpr", "usc:17", "aila"} <= set(bodies.counts)
    assert bodies.size == sum(bodies.totals.values()) == sum(bodies.corpus.values())
    assert bodies.counts["gdpr"]["contro"] > bodies.counts["frcp"].get("contro", 0)


def test_a_question_is_typical_of_the_body_whose_language_it_speaks(bodies):
    docs = ["frcp:12", "gdpr:art17", "usc:17/106", "unknown:1"]
    civil = bodies.typicality(CIVIL, docs)
    privacy = bodies.typicality(PRIVACY, docs)
    assert civil["frcp:12"] > civil["gdpr:art17"] and civil["frcp:12"] > civil["usc:17/106"]
    assert privacy["gdpr:art17"] > privacy["frcp:12"] and privacy["gdpr:art17"] > 0
    # every passage of one body scores alike; a body the build does not hold, as anywhere
    assert bodies.typicality(PRIVACY, ["gdpr:art5"])["gdpr:art5"] == privacy["gdpr:art17"]
    assert civil["unknown:1"] == 0.0
    assert bodies.typicality("Is it?", ["frcp:12"]) == {"frcp:12": 0.0}


def test_an_embedded_builds_table_is_kept_read_again_and_pruned(
    retriever, bodies, tmp_path: Path, monkeypatch, caplog
):
    store = retriever.current_store()
    where = filter_conditions(None)
    root = tmp_path / "qdrant"
    (root / "builds" / store.name).mkdir(parents=True)
    gone = table_path(root, "juris_dropped")
    gone.parent.mkdir(parents=True)
    gone.write_text("{}")
    first = cached_bodies(store, where, root)
    assert first == bodies
    assert table_path(root, store.name).is_file()
    assert not gone.exists()  # its build is no longer there

    def no_count(*_args, **_kwargs):
        raise AssertionError("counted again")

    monkeypatch.setattr(BodiesOfLaw, "from_store", no_count)
    assert cached_bodies(store, where, root) == bodies  # read, not counted
    monkeypatch.undo()

    table_path(root, store.name).write_text(json.dumps({"format": 99, "counts": {}}))
    with caplog.at_level(logging.WARNING, logger="indexing.kept_tables"):
        assert cached_bodies(store, where, root) == bodies
    assert "not usable" in caplog.text and "format 1" in caplog.text
    assert BodiesOfLaw.load(table_path(root, store.name)) == bodies  # written again
    # a server's collection (no root) is counted, nothing written
    assert cached_bodies(store, where, None) == bodies


def test_the_learned_order_reads_each_passages_body_of_law(retriever, bodies):
    candidates, _ = retriever.question_candidates(CIVIL, 50)
    expected = bodies.typicality(CIVIL, [c.doc_id for c in candidates])
    assert {c.doc_id: c.body for c in candidates} == expected
    assert len({c.body for c in candidates}) > 1
