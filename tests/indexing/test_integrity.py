"""Build integrity records and the background opener, on copies of the real index slice."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import subprocess
import threading
import time
from pathlib import Path

import pytest

from indexing.build import make_catalog
from indexing.integrity import digest_points, load_record, record_path
from indexing.opener import BuildOpener
from indexing.retrieve import IndexUnavailable, open_retriever
from indexing.settings import IndexSettings
from indexing.store import EdgeCatalog

pytestmark = pytest.mark.unit


@pytest.fixture
def index_copy(index_slice, tmp_path) -> IndexSettings:
    dst = tmp_path / "index"
    subprocess.run(
        ["cp", "-a", "--sparse=always", str(index_slice.qdrant_path), str(dst)], check=True
    )
    return index_slice.model_copy(update={"qdrant_path": dst})


def _build(settings: IndexSettings) -> str:
    name = make_catalog(settings).current()
    assert name is not None
    return name


def test_a_build_records_its_points_and_digest(index_copy):
    name = _build(index_copy)
    record = load_record(index_copy.qdrant_path, name)
    assert record is not None and record.build == name and record.points > 100
    store = make_catalog(index_copy).open(name)
    try:
        assert digest_points(store) == (record.points, record.digest)
    finally:
        store.close()
    retriever = open_retriever(index_copy)
    try:
        assert retriever.search("fair use", 3)  # the record matches: served
    finally:
        retriever.close()


def test_a_build_changed_behind_its_record_is_not_served(index_copy, caplog):
    name = _build(index_copy)
    store = make_catalog(index_copy).open(name)
    try:
        (one,) = [h.id for h, _ in zip(store.scroll(fields=("doc_id",)), range(1), strict=False)]
        store.set_payload([one], {"content_hash": "tampered"})
        store.flush()
    finally:
        store.close()
    caplog.set_level(logging.ERROR)
    retriever = open_retriever(index_copy)
    try:

        def call(_: int) -> str:
            start = time.monotonic()
            with pytest.raises(IndexUnavailable) as err:
                retriever.search("fair use", 3)
            assert time.monotonic() - start < 2.0
            return str(err.value)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            messages = set(pool.map(call, range(32)))
        assert messages == {
            f"index build {name} does not match the checksum its build recorded; it is not served"
        }
    finally:
        retriever.close()
    assert len([r for r in caplog.records if "not served" in r.getMessage()]) == 1


def test_an_unreadable_record_is_a_reason_not_a_crash(index_copy):
    name = _build(index_copy)
    record_path(index_copy.qdrant_path, name).write_text("{not json")
    retriever = open_retriever(index_copy)
    try:
        with pytest.raises(IndexUnavailable, match=r"integrity record .* cannot be read"):
            retriever.check()
    finally:
        retriever.close()


def test_a_swap_keeps_the_old_build_until_the_new_one_is_verified(index_copy):
    catalog = make_catalog(index_copy)
    assert isinstance(catalog, EdgeCatalog)
    first = _build(index_copy)
    gate = threading.Event()
    verified: list[str] = []

    def slow_verify(store) -> None:
        if verified:  # the first build opens at once, the second waits for the gate
            assert gate.wait(30)
        verified.append(store.name)

    opener = BuildOpener(catalog, verify=slow_verify, wait_s=0.2, retire_after_s=0.3)
    try:
        assert opener.store().name == first
        second = f"{first}_b"
        catalog.copy(first, second).close()
        catalog.swap(second)
        start = time.monotonic()
        assert opener.store().name == first  # the new build is still being verified
        assert opener.store(wait_for_new=False).name == first
        assert time.monotonic() - start < 1.0
        gate.set()
        deadline = time.monotonic() + 10
        while opener.store().name != second:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert verified == [first, second]
        assert [r.name for r, _ in opener._retired] == [first]
        time.sleep(0.3)
        assert opener.store().name == second
        assert opener._retired == []  # the replaced build is closed: its memory is given back
    finally:
        gate.set()
        opener.close()


def test_a_failed_build_is_retried_in_the_background_and_served_once_repaired(index_copy):
    pointer = index_copy.qdrant_path / "juris.current"
    good = pointer.read_text()
    pointer.write_text("garbage")
    catalog = make_catalog(index_copy)
    opener = BuildOpener(catalog, wait_s=1.0, retry_s=0.2)
    try:
        with pytest.raises(IndexUnavailable, match="pointer cannot be read"):
            opener.store()
        start = time.monotonic()
        with pytest.raises(IndexUnavailable, match="pointer cannot be read"):
            opener.store()  # remembered: no new attempt, no wait
        assert time.monotonic() - start < 0.1
        pointer.write_text(good)  # repaired (and the pointer changed): served again
        assert opener.store().name == json.loads(good)["build"]
    finally:
        opener.close()


def test_old_builds_without_a_record_are_still_served(index_copy):
    name = _build(index_copy)
    record_path(index_copy.qdrant_path, name).unlink()
    retriever = open_retriever(index_copy)
    try:
        assert retriever.index_version == name and retriever.search("fair use", 3)
    finally:
        retriever.close()


def test_prune_removes_the_records_of_dropped_builds(index_copy):
    from indexing.build import run_build
    from tests.support.index_slice import slice_units

    units, doc_filter = slice_units(index_copy.corpus())
    units = [u for u in units if u.source == "gdpr"]
    first = _build(index_copy)
    for _ in range(2):  # keep_builds=2: the first build goes
        run_build(index_copy, units=units, doc_filter=doc_filter, progress=False)
    records = sorted(p.stem for p in Path(index_copy.qdrant_path, "integrity").iterdir())
    assert first not in records and len(records) == 2


def test_serving_version_never_waits_for_an_open(index_copy):
    retriever = open_retriever(index_copy)
    retriever.fail_fast(30.0)
    gate = threading.Event()
    verify = retriever._opener.verify
    assert verify is not None
    retriever._opener.verify = lambda store: (gate.wait(30), verify(store))
    try:
        start = time.monotonic()
        with pytest.raises(IndexUnavailable, match="still opening"):
            retriever.serving_version  # noqa: B018  (read on an event loop: must not block)
        assert time.monotonic() - start < 0.5
        gate.set()
        assert retriever.index_version == _build(index_copy)  # this one may wait
        assert retriever.serving_version == retriever.index_version
    finally:
        gate.set()
        retriever.close()
