"""The jobs' command lines are accepted by the indexing CLI they run (`python -m indexing …`)."""

from __future__ import annotations

import argparse

import pytest

from deploy.manifests import Manifest, containers_of

from .conftest import find

pytestmark = pytest.mark.unit


def _parser() -> argparse.ArgumentParser:
    cli = pytest.importorskip("indexing.cli")
    return cli.build_parser()


def _module_args(doc: Manifest, env: dict[str, str] | None = None) -> list[str]:
    (container,) = containers_of(doc)
    args = [*container.get("command", []), *container["args"]]
    assert args[:2] == ["-m", "indexing"], args
    out = []
    for arg in args[2:]:
        for name, value in (env or {}).items():
            arg = arg.replace(f"$({name})", value)
        out.append(arg)
    return out


@pytest.mark.parametrize("overlay", ["gpu", "cpu"])
def test_reindex_runs_sync(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    args = _module_args(find(rendered[overlay], "CronJob", "juris-reindex"))
    parsed = _parser().parse_args(args)
    assert parsed.command == "sync"
    assert not getattr(parsed, "dry_run", False)


def test_bulk_build_worker_args_parse(rendered: dict[str, list[Manifest]]) -> None:
    job = find(rendered["gpu/bulk-build"], "Job", "juris-bulk-build")
    args = _module_args(job, {"JOB_COMPLETION_INDEX": "3", "JURIS_BULK_SHARDS": "8"})
    parsed = _parser().parse_args(args)
    assert parsed.command == "build"
    assert "3/8" in args
    assert parsed.shard == (3, 8)
    assert not parsed.no_finalize  # the last worker to finish moves the alias
