"""Versioned builds with a pointer swap, and the incremental sync: add, replace, retire,
idempotent, dry run, incoming rulings with a corrupt file, and SIGKILL then re-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from indexing.build import BuildStopped, make_catalog, run_build
from indexing.chunking import CHUNK_FORMAT
from indexing.cli import main
from indexing.manifest import Manifest, manifest_path
from indexing.model import SearchFilters
from indexing.retrieve import open_retriever
from indexing.settings import IndexSettings
from indexing.sync import run_sync

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE = PROJECT_ROOT / "var" / "embed_cache"


def _settings(root: Path, corpus: Path, **kw) -> IndexSettings:
    return IndexSettings(
        qdrant_path=root, corpus_dir=corpus, embed_cache=CACHE, keep_builds=2, **kw
    )


def _points(settings: IndexSettings) -> dict[str, dict]:
    catalog = make_catalog(settings)
    store = catalog.open(catalog.current())
    try:
        return {h.id: h.payload for h in store.scroll()}
    finally:
        store.close()


@pytest.mark.unit
def test_build_swaps_pointer_while_searches_keep_working(tmp_path, small_corpus):
    settings = _settings(tmp_path / "q", small_corpus)
    first = run_build(settings, progress=False)
    retriever = open_retriever(settings)
    assert retriever.index_version == first.build
    errors: list[Exception] = []
    seen: set[str] = set()
    stop = threading.Event()
    searching = threading.Event()
    done: list[int] = []

    def search_loop() -> None:
        while not stop.is_set():
            try:
                res = retriever.search("punishment for murder", top_k=3)
                assert res, "a search during the rebuild returned nothing"
                seen.add(retriever.index_version)
                done.append(1)
                searching.set()
                time.sleep(0.02)  # leave the CPU to the build being timed against
            except Exception as err:  # collected and asserted below
                errors.append(err)
                searching.set()

    t = threading.Thread(target=search_loop)
    t.start()
    assert searching.wait(60)
    try:
        second = run_build(settings, progress=False)
        time.sleep(0.5)
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    assert retriever.index_version == second.build != first.build
    assert first.build in seen and len(done) > 1
    third = run_build(settings, progress=False)
    catalog = make_catalog(settings)
    assert catalog.current() == third.build
    assert catalog.builds() == [second.build, third.build]  # keep_builds=2
    assert not (settings.qdrant_path / "builds" / first.build).exists()
    retriever.close()


@pytest.mark.unit
def test_sync_add_replace_retire_idempotent_and_dry_run(tmp_path, small_corpus, capsys):
    settings = _settings(tmp_path / "q", small_corpus)
    run_build(settings, progress=False)
    statutes = small_corpus / "aila" / "statutes"
    before = _points(settings)
    # nothing changed: no plan, no embedding, same build
    idle = run_sync(settings, progress=False)
    assert idle.plan.empty and idle.embedded_chunks == 0 and idle.plan.units_parsed == 0
    # change one, delete one, add one
    s2 = statutes / "S2.txt"
    s2.write_text(s2.read_text().rstrip("\n") + " This sentence was added by an amendment.\n")
    (statutes / "S3.txt").unlink()
    src = Path(os.environ.get("JURIS_CORPUS_DIR", PROJECT_ROOT.parent / "shared" / "legal_corpus"))
    (statutes / "S7.txt").write_text((src / "aila" / "statutes" / "S7.txt").read_text())
    dry = run_sync(settings, dry_run=True, progress=False)
    assert [d.doc_id for d in dry.plan.add] == ["aila:S7"]
    assert [d.doc_id for d in dry.plan.replace] == ["aila:S2"]
    assert dry.plan.retire == ["aila:S3@AILA 2019"]
    assert _points(settings) == before  # the dry run changed nothing
    done = run_sync(settings, progress=False, today=date(2026, 1, 15))
    after = _points(settings)
    by_doc: dict[str, list[dict]] = {}
    for p in after.values():
        by_doc.setdefault(p["doc_id"], []).append(p)
    assert "aila:S7" in by_doc
    assert any("added by an amendment" in p["text"] for p in by_doc["aila:S2"])
    assert all(p["retired"] and p["valid_to"] == 20260115 for p in by_doc["aila:S3"])
    assert done.embedded_chunks >= len(by_doc["aila:S7"])
    # retired: gone today, still there as of 2025
    retriever = open_retriever(settings)
    assert retriever.document("aila:S3", as_of=date(2026, 2, 1)) == []
    assert retriever.document("aila:S3", as_of=date(2025, 6, 1))
    hits = retriever.search("murder", top_k=10, filters=SearchFilters(as_of=date(2026, 2, 1)))
    assert all(p.chunk.doc_id != "aila:S3" for p in hits)
    retriever.close()
    # a second run finds nothing to do
    again = run_sync(settings, progress=False)
    assert again.plan.empty and again.embedded_chunks == 0
    assert _points(settings) == after


@pytest.mark.unit
def test_incoming_rulings_with_a_corrupt_file(tmp_path, small_corpus, corpus_dir, capsys):
    settings = _settings(tmp_path / "q", small_corpus)
    run_build(settings, progress=False)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    # a real opinion (its first pages) and a PDF that is not one
    lines = (corpus_dir / "opinions" / "text" / "opinion_text.txt").read_text().splitlines()
    (incoming / "ideal-electronic-1997.txt").write_text("\n".join(lines[:90]) + "\n")
    (incoming / "broken.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(2000))
    env = {"JURIS_QDRANT_PATH": str(settings.qdrant_path), "JURIS_EMBED_CACHE": str(CACHE)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        rc = main(["sync", "-q", "--corpus", str(small_corpus), "--incoming", str(incoming)])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    captured = capsys.readouterr()
    assert rc == 1
    assert "broken.pdf" in captured.err and "skipped" in captured.err
    assert "add ruling:ideal-electronic-1997" in captured.out
    ids = {p["doc_id"] for p in _points(settings).values()}
    assert "ruling:ideal-electronic-1997" in ids
    # the folder emptied afterwards: the ruling stays (incoming documents are not retired)
    for f in incoming.iterdir():
        f.unlink()
    assert run_sync(settings, progress=False).plan.retire == []


def _run_sync_subprocess(settings: IndexSettings, corpus: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        JURIS_QDRANT_PATH=str(settings.qdrant_path),
        JURIS_EMBED_CACHE=str(CACHE),
        JURIS_EMBED_BATCH="1",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "indexing", "sync", "-q", "--corpus", str(corpus)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_sigkill_mid_sync_then_rerun_gives_the_clean_result(tmp_path, corpus_dir, small_corpus):
    statutes = small_corpus / "aila" / "statutes"
    base = sorted(statutes.iterdir())
    killed = _settings(tmp_path / "killed", small_corpus)
    run_build(killed, progress=False)
    clean = _settings(tmp_path / "clean", small_corpus)
    run_build(clean, progress=False)
    # twelve new statutes and one changed: enough work to be killed in the middle of
    for n in range(20, 32):
        name = f"S{n}.txt"
        (statutes / name).write_text((corpus_dir / "aila" / "statutes" / name).read_text())
    base[0].write_text(base[0].read_text().rstrip("\n") + " Amended.\n")

    proc = _run_sync_subprocess(killed, small_corpus)
    assert proc.stderr is not None
    indexed = 0
    deadline = time.monotonic() + 240
    for line in proc.stderr:
        if "indexed aila:" in line:
            indexed += 1
            if indexed == 2:
                break
        assert time.monotonic() < deadline, "sync never reported progress"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert indexed == 2, "killed before any progress"
    assert (killed.qdrant_path / "sync.work.json").exists(), "killed after the sync ended"

    rerun = _run_sync_subprocess(killed, small_corpus)
    _out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    assert "resuming sync" in err
    run_sync(clean, progress=False)

    got, want = _points(killed), _points(clean)
    assert len(got) == len(want)
    assert got == want
    assert not (killed.qdrant_path / "sync.work.json").exists()
    assert json.loads((killed.qdrant_path / "juris.current").read_text())["build"]


def _ids(catalog, name: str) -> dict[str, dict]:
    store = catalog.open(name)
    try:
        return {h.id: h.payload for h in store.scroll()}
    finally:
        store.close()


@pytest.mark.unit
def test_two_shards_then_finalize_equal_a_one_shot_build(tmp_path, small_corpus):
    from indexing.shards import IncompleteBuild, finalize, run_shard

    settings = _settings(tmp_path / "q", small_corpus)
    one_shot = run_build(settings, progress=False)
    expected = _points(settings)
    catalog = make_catalog(settings)
    name = "juris_20261124T020000_000000"
    first = run_shard(settings, (0, 2), build_name=name, progress=False)
    assert first.finalized is None and catalog.current() == one_shot.build
    with pytest.raises(IncompleteBuild, match="shards 1/2 have not reported done"):
        finalize(settings, name)
    assert catalog.current() == one_shot.build
    second = run_shard(
        settings, (1, 2), build_name=name, progress=False, finalize_when_complete=False
    )
    assert first.stats.documents and second.stats.documents  # both shards hold documents
    assert first.stats.documents + second.stats.documents == one_shot.stats.documents
    assert catalog.current() == one_shot.build  # the alias never moves before finalize
    done = finalize(settings, name)
    assert catalog.current() == name and done.shards == 2 and done.points == one_shot.points
    assert _points(settings) == expected  # same ids, same payloads
    assert finalize(settings, name).already  # idempotent
    # the merged manifest is what sync reads: nothing to do afterwards
    idle = run_sync(settings, progress=False)
    assert idle.plan.empty and idle.embedded_chunks == 0


@pytest.mark.unit
def test_server_shards_share_one_collection_and_the_last_worker_finalizes(tmp_path, small_corpus):
    from qdrant_client import QdrantClient

    from indexing.shards import pending_path, run_shard
    from indexing.store import ServerCatalog

    edge = _settings(tmp_path / "edge", small_corpus)
    run_build(edge, progress=False)
    expected = _points(edge)
    settings = _settings(tmp_path / "state", small_corpus)
    catalog = ServerCatalog(QdrantClient(":memory:"), "juris")
    first = run_shard(settings, (1, 2), progress=False, catalog=catalog)  # no --build-name
    assert first.finalized is None and catalog.current() is None
    assert pending_path(settings.qdrant_path, "juris").exists()
    second = run_shard(settings, (0, 2), progress=False, catalog=catalog)
    assert second.build == first.build  # agreed through the pending file
    assert second.finalized is not None and not second.finalized.already
    assert catalog.current() == first.build
    assert _ids(catalog, first.build) == expected
    assert not pending_path(settings.qdrant_path, "juris").exists()


@pytest.mark.unit
def test_build_cli_shard_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(tmp_path / "q"))
    assert main(["build", "--finalize", "juris_20261124T020000_000000"]) == 2
    assert "no shard of build juris_20261124T020000_000000" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["build", "--shard", "2/2"])
    assert "index must be in 0..N-1" in capsys.readouterr().err
    assert main(["build", "--shard", "0/2", "--build-name", "other_1"]) == 2
    assert "must start with 'juris_'" in capsys.readouterr().err


@pytest.mark.unit
def test_a_build_of_an_older_chunk_format_is_named_by_sync(tmp_path, small_corpus, caplog):
    settings = _settings(tmp_path / "q", small_corpus)
    built = run_build(settings, progress=False)
    path = manifest_path(settings.qdrant_path, built.build)
    assert Manifest.load(path).chunk_format == CHUNK_FORMAT
    with caplog.at_level("WARNING", logger="indexing.sync"):
        run_sync(settings, progress=False)
    assert "chunk format" not in caplog.text
    # a manifest written before formats were recorded reads as format 1
    data = json.loads(path.read_text())
    del data["chunk_format"]
    path.write_text(json.dumps(data))
    assert Manifest.load(path).chunk_format == 1
    with caplog.at_level("WARNING", logger="indexing.sync"):
        idle = run_sync(settings, progress=False)
    assert idle.plan.empty  # nothing is rewritten behind the operator's back
    assert f"chunk format 1, this release embeds format {CHUNK_FORMAT}" in caplog.text
    assert "python -m indexing build" in caplog.text


@pytest.mark.unit
def test_a_build_of_the_earlier_sparse_format_is_queried_and_synced_in_its_own_terms(
    tmp_path, small_corpus, corpus_dir, monkeypatch, caplog
):
    """Format 1 (words as written) is what builds made before stemming hold: after an upgrade
    a retriever encodes questions the way the build it serves was encoded, a sync adds points
    in the build's format, and a new build moves the index to stemmed terms."""
    from indexing import build as build_module
    from indexing.model_record import build_sparse_format
    from indexing.sparse import SPARSE_FORMAT, term_id

    settings = _settings(tmp_path / "q", small_corpus)
    monkeypatch.setattr(build_module, "SPARSE_FORMAT", 1)  # a build of the earlier release
    run_build(settings, progress=False)
    monkeypatch.undo()
    assert {p["sparse_format"] for p in _points(settings).values()} == {1}

    def served() -> tuple[int, tuple[int, ...], list[str]]:
        retriever = open_retriever(settings)
        try:
            store = retriever.current_store()
            hits = retriever.search("punishment", top_k=3, mode="sparse")
            return (
                build_sparse_format(store),
                retriever.sparse_query("punishment", store).indices,
                [h.chunk.doc_id for h in hits],
            )
        finally:
            retriever.close()

    with caplog.at_level("WARNING"):
        fmt, terms, docs = served()
    assert (fmt, terms) == (1, (term_id("punishment"),))
    assert docs[:1] == ["aila:S2"]  # the word as written still finds the statute
    assert "holds sparse terms of format 1" in caplog.text
    # a sync keeps the build's format for what it adds
    (small_corpus / "aila" / "statutes" / "S7.txt").write_text(
        (corpus_dir / "aila" / "statutes" / "S7.txt").read_text()
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="indexing.sync"):
        synced = run_sync(settings, progress=False)
    assert [d.doc_id for d in synced.plan.add] == ["aila:S7"]
    assert {p["sparse_format"] for p in _points(settings).values()} == {1}
    assert "python -m indexing build" in caplog.text
    # a new build stems, and questions follow it
    run_build(settings, progress=False)
    assert {p["sparse_format"] for p in _points(settings).values()} == {SPARSE_FORMAT}
    fmt, terms, docs = served()
    assert (fmt, terms) == (SPARSE_FORMAT, (term_id("punish"),))
    assert docs[:1] == ["aila:S2"]


@pytest.mark.unit
def test_a_new_reading_of_a_source_is_parsed_again_by_sync(tmp_path, small_corpus, monkeypatch):
    """An upgrade that reads a source differently (`READING_REVISIONS`) makes the next sync
    parse that source's units although their files did not change, replace only versions
    whose content changed, and record the new reading so the run after parses nothing."""
    import legal_corpus.adapters as adapters

    settings = _settings(tmp_path / "q", small_corpus)
    run_build(settings, progress=False)
    statutes = adapters.discover_units(small_corpus, ["aila/statutes"])
    monkeypatch.setitem(adapters.READING_REVISIONS, "aila/statutes", 7)
    upgraded = run_sync(settings, progress=False)
    assert upgraded.plan.units_parsed == len(statutes) > 0
    assert upgraded.plan.empty and upgraded.embedded_chunks == 0  # same documents read
    again = run_sync(settings, progress=False)
    assert again.plan.units_parsed == 0


@pytest.mark.unit
def test_a_rebuild_reads_its_vectors_from_the_cache_and_says_so(tmp_path, small_corpus):
    """The progress line tells an operator what an interrupted or repeated build saved: texts
    the on-disk cache held are counted apart from the ones the model computed."""
    settings = IndexSettings(
        qdrant_path=tmp_path / "q", corpus_dir=small_corpus, embed_cache=tmp_path / "cache"
    )
    first = run_build(settings, progress=False)
    assert first.stats.embedded > 0 and first.stats.cached == 0  # an empty cache: all computed
    second = run_build(settings, progress=False)
    assert second.stats.embedded == first.stats.embedded
    assert second.stats.cached == second.stats.embedded  # nothing computed the second time


@pytest.mark.unit
def test_a_stopped_build_says_so_and_the_current_build_keeps_serving(tmp_path, small_corpus):
    settings = _settings(tmp_path / "q", small_corpus)
    first = run_build(settings, progress=False)
    stop = threading.Event()
    stop.set()
    with pytest.raises(BuildStopped, match="stopped after"):
        run_build(settings, progress=False, stop=stop)
    assert make_catalog(settings).current() == first.build
    retriever = open_retriever(settings)
    try:
        assert retriever.search("punishment for murder", top_k=3)
    finally:
        retriever.close()
    status = json.loads((tmp_path / "q" / "juris.build.json").read_text())
    assert status["state"] == "failed" and "BuildStopped" in status["error"]


@pytest.mark.unit
def test_an_interrupted_build_command_ends_with_a_line_not_a_traceback(
    tmp_path, small_corpus, monkeypatch, capsys
):
    """Ctrl-C during `python -m indexing build`: the build is marked failed in its status
    file, the current build stays, and the command says `interrupted` (exit 130)."""
    import indexing.build

    settings = _settings(tmp_path / "q", small_corpus)
    first = run_build(settings, progress=False)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(indexing.build, "index_units", interrupted)
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(tmp_path / "q"))
    monkeypatch.setenv("JURIS_CORPUS_DIR", str(small_corpus))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(CACHE))
    assert main(["build", "-q"]) == 130
    assert capsys.readouterr().err.strip().endswith("interrupted")
    assert make_catalog(settings).current() == first.build
    status = json.loads((tmp_path / "q" / "juris.build.json").read_text())
    assert status["state"] == "failed" and status["error"].startswith("KeyboardInterrupt")


@pytest.mark.unit
def test_status_says_whether_the_current_build_is_complete(
    tmp_path, small_aila, monkeypatch, capsys
):
    """`python -m indexing status` (what `make eval` asks before measuring through the index):
    exit 0 for a finished build, 1 for none or for one a demo served early and then stopped."""
    from tests.support.stops import AfterFirstBatch

    settings = _settings(tmp_path / "q", small_aila)
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(tmp_path / "q"))
    assert main(["status", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "current": None, "complete": False, "index_note": None
    }  # fmt: skip
    first = run_build(settings, progress=False)
    assert main(["status"]) == 0
    assert capsys.readouterr().out.strip() == f"current build: {first.build} — complete"
    with pytest.raises(BuildStopped):
        run_build(settings, progress=False, serve_early=True, stop=AfterFirstBatch())
    assert main(["status", "--json"]) == 1
    said = json.loads(capsys.readouterr().out)
    assert said["current"] != first.build and said["complete"] is False
    assert "stopped before it was complete" in said["index_note"]


@pytest.mark.unit
def test_builds_earlier_runs_left_unfinished_are_dropped_when_the_next_starts(
    tmp_path, small_corpus
):
    """Each interrupted first `make demo` leaves a partial build on disk: the next build drops
    those no search uses, and keeps what may still be resumed or is being served."""
    from indexing.manifest import pending_path, shards_dir, sync_work_path
    from indexing.store import new_build_name

    settings = _settings(tmp_path / "q", small_corpus)
    root = settings.qdrant_path
    first = run_build(settings, progress=False)
    stop = threading.Event()
    stop.set()
    stopped = []
    for _ in range(2):
        with pytest.raises(BuildStopped):
            run_build(settings, progress=False, stop=stop)
        status = json.loads((root / "juris.build.json").read_text())
        stopped.append(status["build"])
    catalog = make_catalog(settings)
    # the second run dropped what the first left; its own partial build stays until the next
    assert stopped[0] not in catalog.builds() and stopped[1] in catalog.builds()
    assert catalog.current() == first.build
    # builds that may be resumed: a sharded bulk build with a shard done, the one its workers
    # share (named by the pending file), and an interrupted sync's copy
    protected = {new_build_name("juris") for _ in range(3)}
    sharded, pending, sync_copy = sorted(protected)
    for name in protected:
        catalog.create(name, 384).close()
    shards_dir(root, sharded).mkdir(parents=True)
    (shards_dir(root, sharded) / "0-of-2.json").write_text("{}")
    pending_path(root, "juris").parent.mkdir(parents=True, exist_ok=True)
    pending_path(root, "juris").write_text(json.dumps({"build": pending, "shards": 2}))
    sync_work_path(root).write_text(json.dumps({"base": first.build, "work": sync_copy}))

    second = run_build(settings, progress=False)
    left = set(make_catalog(settings).builds())
    assert stopped[1] not in left and stopped[1] in second.dropped
    assert protected <= left and not protected & set(second.dropped)
    assert {first.build, second.build} <= left  # keep_builds=2: the previous one stays too
