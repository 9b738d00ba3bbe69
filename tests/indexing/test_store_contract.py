"""One contract, two stores: the embedded engine (qdrant-edge-py) and the server client
(qdrant-client, pointed at its local mode, which speaks the server's API)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from indexing.authority import citation_graph
from indexing.model import Chunk, chunk_id
from indexing.sparse import Bm25Encoder, term_id
from indexing.store import (
    OPEN_TO,
    Catalog,
    EdgeCatalog,
    IndexPoint,
    Match,
    MatchAny,
    ServerCatalog,
    SparsePart,
    Where,
    as_of_conditions,
    new_build_name,
    payload_chunk,
    prune,
)

pytestmark = pytest.mark.unit

DIM = 16
# (doc_id, version, valid_from, valid_to, kind, jurisdiction, text) — real provisions.
ROWS = [
    ("fre:702", "2012", date(2011, 12, 1), date(2023, 12, 1), "rule", "us",
     "A witness who is qualified as an expert by knowledge, skill, experience, training, or "
     "education may testify in the form of an opinion or otherwise if"),
    ("fre:702", "2024", date(2023, 12, 1), None, "rule", "us",
     "if the proponent demonstrates to the court that it is more likely than not that"),
    ("usc:17/107", "Online@117-80", date(2021, 12, 27), None, "statute", "us",
     "the fair use of a copyrighted work, including such use by reproduction in copies"),
    ("usc:30/1811", "Online@113-31", date(2013, 8, 9), date(2021, 12, 27), "statute", "us",
     "Congress finds and declares that the availability of critical minerals"),
    ("gdpr:art17", "2018-05-23", None, None, "regulation", "eu",
     "The data subject shall have the right to obtain from the controller the erasure of "
     "personal data concerning him or her without undue delay"),
    ("aila:S2", "AILA 2019", None, None, "statute", "in",
     "Whoever commits murder shall be punished with death, or imprisonment for life"),
]  # fmt: skip


def _points() -> list[IndexPoint]:
    enc = Bm25Encoder()
    rng = np.random.default_rng(7)
    pts = []
    for i, (doc_id, ver, vf, vt, kind, jur, text) in enumerate(ROWS):
        chunk = Chunk(
            chunk_id=chunk_id(doc_id, ver, ""), doc_id=doc_id, version=ver,
            citation=doc_id.upper(), doc_citation=doc_id.upper(), pinpoint="", anchor="p-body",
            heading_path=("H",), text=text, order=0, source=doc_id.split(":")[0], kind=kind,
            jurisdiction=jur, title="T", valid_from=vf, valid_to=vt, content_hash=f"h{i}",
        )  # fmt: skip
        vec = rng.normal(size=DIM)
        pts.append(IndexPoint(chunk, vec / np.linalg.norm(vec), enc.document(text), 1))
    return pts


@pytest.fixture(params=["edge", "server"])
def catalog(request, tmp_path: Path) -> Catalog:
    if request.param == "edge":
        return EdgeCatalog(tmp_path / "qdrant", "juris")
    from qdrant_client import QdrantClient

    return ServerCatalog(QdrantClient(":memory:"), "juris")


@pytest.fixture()
def store(catalog):
    s = catalog.create(new_build_name("juris"), DIM)
    s.upsert(_points())
    s.flush()
    yield s
    s.close()


def test_roundtrip_payload_and_count(store):
    pts = _points()
    assert store.count() == len(pts)
    got = {
        h.id: payload_chunk(h.id, h.payload)
        for h in store.retrieve([p.chunk.chunk_id for p in pts])
    }
    for p in pts:
        assert got[p.chunk.chunk_id] == p.chunk


def test_dense_sparse_and_hybrid_queries(store):
    pts = _points()
    target = pts[2]
    dense = store.query([list(target.dense)], None, limit=3)
    assert dense[0].id == target.chunk.chunk_id and dense[0].score == pytest.approx(1.0, abs=1e-4)
    sparse = store.query([], Bm25Encoder().query("fair use copyrighted work"), limit=3)
    assert sparse[0].id == target.chunk.chunk_id
    hybrid = store.query(
        [list(pts[4].dense)], Bm25Encoder().query("fair use copyrighted"), limit=4, prefetch=6
    )
    top2 = {h.id for h in hybrid[:2]}
    assert top2 == {pts[4].chunk.chunk_id, target.chunk.chunk_id}
    assert store.query([], Bm25Encoder().query("the of"), limit=3) == []


def _rrf(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    """Qdrant's reciprocal rank fusion: Σ 1 / (k + rank), ranks counted from 0."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (k + rank)
    return fused


def test_long_query_windows_fuse_into_one_dense_ranking(store):
    pts = _points()
    windows = [list(pts[4].dense), list(pts[0].dense)]
    sv = Bm25Encoder().query("fair use copyrighted work")
    per_window = [[h.id for h in store.query([w], None, limit=6)] for w in windows]
    dense = _rrf(per_window)
    dense_ranking = sorted(dense, key=lambda pid: -dense[pid])
    sparse_ranking = [h.id for h in store.query([], sv, limit=6)]
    expected = _rrf([dense_ranking, sparse_ranking])
    got = store.query(windows, sv, limit=6, prefetch=6)
    assert {h.id: h.score for h in got} == pytest.approx(expected, abs=1e-5)
    # two windows count as one ranking: the sparse hit is not outvoted by the windows
    flat = _rrf([*per_window, sparse_ranking])
    assert sum(flat.values()) > sum(h.score for h in got)


def test_sparse_parts_rank_their_own_points_and_fuse_like_one_sparse_ranking(store):
    pts = _points()
    kind = {p.chunk.chunk_id: p.chunk.kind for p in pts}
    rules = Where((Match("kind", "rule"),))
    not_rules = Where(must_not=(Match("kind", "rule"),))
    narrow = Bm25Encoder().query("fair use copyrighted work erasure")
    broad = Bm25Encoder().query("expert witness testify opinion court fair use erasure")
    parts = (SparsePart(narrow, not_rules), SparsePart(broad, rules))
    alone = store.query([], parts, limit=6)
    assert alone and {kind[h.id] for h in alone} <= {"rule", "statute", "regulation"}
    narrow_ranking = [h.id for h in store.query([], narrow, not_rules, limit=6)]
    broad_ranking = [h.id for h in store.query([], broad, rules, limit=6)]
    assert {kind[i] for i in broad_ranking} == {"rule"}  # fre:702 matched with the broad terms
    assert "rule" not in {kind[i] for i in narrow_ranking}
    expected = _rrf([narrow_ranking, broad_ranking])
    assert {h.id: h.score for h in alone} == pytest.approx(expected, abs=1e-5)
    windows = [list(pts[4].dense), list(pts[0].dense)]
    per_window = [[h.id for h in store.query([w], None, limit=6)] for w in windows]
    dense = _rrf(per_window)
    dense_ranking = sorted(dense, key=lambda pid: -dense[pid])
    got = store.query(windows, parts, limit=6, prefetch=6)
    expected = _rrf([dense_ranking, narrow_ranking, broad_ranking])
    assert {h.id: h.score for h in got} == pytest.approx(expected, abs=1e-5)
    # the query's own filter still holds for every part
    eu = store.query([], parts, Where((Match("jurisdiction", "eu"),)), limit=6)
    assert [h.id for h in eu] == [p.chunk.chunk_id for p in pts if p.chunk.doc_id == "gdpr:art17"]


def test_term_counts_are_document_frequencies(store):
    expected: Counter[int] = Counter()
    for p in _points():
        expected.update(p.sparse.indices)
    counts = store.term_counts()
    assert counts == dict(expected)
    assert counts[term_id("court")] == 1 and counts[term_id("person")] == 1  # "personal", stemmed
    assert term_id("the") not in counts  # stopwords are never indexed


def test_the_citation_graph_is_read_from_the_opinions_of_a_build(store):
    # C76 (2003) names C92 (1996) before its neutral citation — text as in the AILA corpus
    opinions = [
        ("aila:C92", "Ranchhodji Chaturji Thakore v The Superintendent Engineer, "
         "Gujaratelectricity Board, Himma", date(1996, 10, 28), "1. Leave granted."),
        ("aila:C76", "Union of India and Others v Jaipal Singh", date(2003, 11, 3),
         "The High Court placed reliance upon the decision of this Court in Ranchhodji "
         "chaturji thakore v. Superintendent engineer, gujarat electricity board, "
         "Himmatnagar (Gujarat) and Anr. 1996 Indlaw SC 1409"),
    ]  # fmt: skip
    points = []
    for doc_id, title, decided, text in opinions:
        chunk = Chunk(
            chunk_id=chunk_id(doc_id, "AILA 2019", "¶ 1"), doc_id=doc_id, version="AILA 2019",
            citation=title, doc_citation=title, pinpoint="¶ 1", anchor="p-1", heading_path=(),
            text=text, order=1, source="aila/casedocs", kind="opinion", jurisdiction="in",
            title=title, valid_from=decided, decision_date=decided, content_hash=doc_id,
        )  # fmt: skip
        points.append(
            IndexPoint(chunk, np.ones(DIM) / np.sqrt(DIM), Bm25Encoder().document(text), 1)
        )
    store.upsert(points)
    graph = citation_graph(store)
    assert graph.links == {"aila:C76": frozenset({"aila:C92"})}
    assert graph.cited_by("aila:C92") == 1 and graph.cited_by("fre:702") == 0


def test_filters_as_of_and_fields(store):
    def ids(where):
        return {h.payload["doc_id"] + "@" + h.payload["version"] for h in store.scroll(where)}

    old = ids(Where(as_of_conditions(date(2023, 6, 1))))
    assert "fre:702@2012" in old and "fre:702@2024" not in old
    new = ids(Where(as_of_conditions(date(2024, 1, 1))))
    assert "fre:702@2024" in new and "fre:702@2012" not in new
    assert "usc:30/1811@Online@113-31" in ids(Where(as_of_conditions(date(2014, 1, 1))))
    assert "usc:30/1811@Online@113-31" not in new
    assert ids(Where((Match("jurisdiction", "eu"),))) == {"gdpr:art17@2018-05-23"}
    assert ids(Where((MatchAny("kind", ("regulation", "rule")),), (Match("version", "2012"),))) == {
        "fre:702@2024",
        "gdpr:art17@2018-05-23",
    }
    hits = store.query(
        [list(_points()[0].dense)], None, Where(as_of_conditions(date(2024, 1, 1))), limit=10
    )
    assert all(h.payload["version"] != "2012" for h in hits)
    assert store.count(Where((Match("doc_id", "fre:702"),))) == 2


def test_delete_and_set_payload(store):
    pts = _points()
    store.set_payload([pts[2].chunk.chunk_id], {"valid_to": 20250101, "retired": True})
    (hit,) = store.retrieve([pts[2].chunk.chunk_id])
    assert hit.payload["valid_to"] == 20250101 and hit.payload["retired"] is True
    assert hit.payload["text"] == pts[2].chunk.text  # merged, not replaced
    store.delete([pts[0].chunk.chunk_id, "00000000-0000-0000-0000-000000000000"])
    assert store.count() == len(pts) - 1
    assert {h.id for h in store.scroll(fields=["doc_id"])} == {p.chunk.chunk_id for p in pts[1:]}
    assert all(set(h.payload) == {"doc_id"} for h in store.scroll(fields=["doc_id"]))
    assert payload_chunk("x", {**hit.payload, "valid_to": OPEN_TO}).valid_to is None


def test_catalog_swap_copy_and_prune(catalog):
    assert catalog.current() is None
    first = catalog.create("juris_a", DIM)
    first.upsert(_points()[:2])
    first.flush()
    first.close()
    catalog.swap("juris_a")
    assert catalog.current() == "juris_a"
    token = catalog.changed_token()
    copy = catalog.copy("juris_a", "juris_b")
    assert copy.count() == 2
    copy.upsert(_points()[2:3])
    copy.close()
    catalog.swap("juris_b")
    assert catalog.current() == "juris_b" and catalog.changed_token() != token
    reopened = catalog.open("juris_a")
    assert reopened.count() == 2  # the copy did not touch the source
    reopened.close()
    catalog.create("juris_c", DIM).close()
    assert catalog.builds() == ["juris_a", "juris_b", "juris_c"]
    assert prune(catalog, keep=1, spare={"juris_a"}) == ["juris_c"]  # spared, not counted
    catalog.create("juris_c", DIM).close()
    assert prune(catalog, keep=2) == ["juris_a"]
    assert catalog.builds() == ["juris_b", "juris_c"] and catalog.current() == "juris_b"
    with pytest.raises(ValueError):
        catalog.drop("juris_b")
    with pytest.raises(ValueError):
        catalog.open("juris_missing")


def test_server_collections_carry_the_replication_settings(monkeypatch):
    from qdrant_client import QdrantClient

    from indexing.build import replication_of
    from indexing.settings import IndexSettings
    from indexing.store import Replication

    monkeypatch.setenv("JURIS_QDRANT_REPLICATION_FACTOR", "2")
    monkeypatch.setenv("JURIS_QDRANT_SHARD_NUMBER", "3")
    monkeypatch.setenv("JURIS_QDRANT_WRITE_CONSISTENCY_FACTOR", "2")
    assert replication_of(IndexSettings()) == Replication(3, 2, 2)
    catalog = ServerCatalog(
        QdrantClient(":memory:"), "juris", replication=replication_of(IndexSettings())
    )
    request = catalog.collection_request("juris_x", DIM)
    assert request["shard_number"] == 3
    assert request["replication_factor"] == 2
    assert request["write_consistency_factor"] == 2
    assert request["vectors_config"]["dense"].size == DIM
    # local mode accepts (and ignores) them: the same request creates a working collection
    store = catalog.create("juris_x", DIM)
    store.upsert(_points())
    assert store.count() == len(ROWS)
    monkeypatch.delenv("JURIS_QDRANT_REPLICATION_FACTOR")
    assert IndexSettings().qdrant_replication_factor == 1  # the default
    assert ServerCatalog(None).collection_request("c", DIM)["replication_factor"] == 1


@pytest.mark.parametrize("kind", ["edge", "server"])
def test_ensure_creates_once_then_opens(tmp_path, kind):
    from qdrant_client import QdrantClient

    catalog: Catalog
    if kind == "edge":
        catalog = EdgeCatalog(tmp_path / "qdrant", "juris")
    else:
        catalog = ServerCatalog(QdrantClient(":memory:"), "juris")
    first = catalog.ensure("juris_shared", DIM)
    first.upsert(_points()[:2])
    first.flush()
    first.close()
    again = catalog.ensure("juris_shared", DIM)
    try:
        assert again.count() == 2
    finally:
        again.close()
    assert catalog.builds() == ["juris_shared"]


def test_a_point_without_a_dense_vector_is_found_by_its_words_only(store):
    """Passages of a long opinion beyond its dense budget carry the sparse vector alone."""
    text = "the appellant was granted anticipatory bail by the sessions court"
    chunk = Chunk(
        chunk_id=chunk_id("aila:C9", "AILA 2019", "¶ 40"), doc_id="aila:C9", version="AILA 2019",
        citation="C9, ¶ 40", doc_citation="C9", pinpoint="¶ 40", anchor="p-40", heading_path=(),
        text=text, order=40, source="aila/casedocs", kind="opinion", jurisdiction="in",
        title="C9", content_hash="c9",
    )  # fmt: skip
    store.upsert([IndexPoint(chunk, None, Bm25Encoder().document(text), 41)])
    assert store.count() == len(ROWS) + 1
    sparse = Bm25Encoder().query("anticipatory bail")
    assert store.query([], sparse, limit=3)[0].id == chunk.chunk_id
    probe = np.ones(DIM) / np.sqrt(DIM)
    dense_ids = {h.id for h in store.query([probe], None, limit=len(ROWS) + 1)}
    assert chunk.chunk_id not in dense_ids and len(dense_ids) == len(ROWS)
    hybrid = store.query([probe], sparse, limit=3)
    assert chunk.chunk_id in {h.id for h in hybrid}
