"""Tables derived from a build, kept beside an embedded build so the next process reads them.

The learned order reads a few tables counted from a build's own passages (the bodies of law,
`indexing.bodies_of_law`; the cross-references, `indexing.cross_references`). Counting takes
seconds over the whole corpus; an embedded build's table is written once to
`<qdrant_path>/tables/<build>.<kind>.json`, so that a one-off `search` or a restarted gateway
reads it in a fraction of a second instead, and the tables of builds no longer kept are
removed when a new one is written. A table is a cache, never the only copy of anything: one
that cannot be read or written is counted again (logged).

    >>> bodies = kept_table(store, root, "bodies", count, BodiesOfLaw.load, BodiesOfLaw.save)
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from indexing.store import VectorStore

log = logging.getLogger(__name__)

T = TypeVar("T")


def table_path(root: Path, build: str, kind: str) -> Path:
    """Where an embedded build's table of `kind` is kept: `<root>/tables/<build>.<kind>.json`."""
    return Path(root) / "tables" / f"{build}.{kind}.json"


def save_json(path: Path, fmt: int, key: str, value: Any) -> None:
    """Write `{"format": fmt, key: value}` as JSON, atomically (a reader never sees half a
    table)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"format": fmt, key: value}))
    os.replace(tmp, path)


def load_json(path: Path, fmt: int, key: str, what: str, convert: Callable[[Any], T]) -> T:
    """`convert(value)` of a table `save_json` wrote.

    Raises:
        OSError: it cannot be read.
        ValueError: it is not a `what` table of format `fmt`, or `convert` fails on it (names
            the file).
    """
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or data.get("format") != fmt:
            raise ValueError(f"not a table of format {fmt}")
        return convert(data[key])
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise ValueError(f"{what} table {path} is not usable: {err}") from err


def kept_table(
    store: VectorStore,
    root: Path | None,
    kind: str,
    count: Callable[[VectorStore], T],
    load: Callable[[Path], T],
    save: Callable[[T, Path], None],
) -> T:
    """`store`'s table of `kind`: read from where an embedded build keeps it (`root`: the
    embedded index's directory; None: a server's collection, which a sync writes in place, is
    counted every time), else counted (`count`) and kept there (`save`), the tables of that
    kind of builds no longer under `root/builds` removed.

    `load` raises OSError or ValueError for a table it cannot use; it is then counted again.
    """
    if root is None:
        return count(store)
    path = table_path(root, store.name, kind)
    if path.is_file():
        try:
            return load(path)
        except (OSError, ValueError) as err:
            log.warning("%s; counting it again", err)
    table = count(store)
    try:
        save(table, path)
        suffix = f".{kind}.json"
        for other in path.parent.glob(f"*{suffix}"):
            build = other.name.removesuffix(suffix)
            if other != path and not (Path(root) / "builds" / build).is_dir():
                other.unlink(missing_ok=True)
    except OSError as err:
        log.warning("%s table %s not kept: %s", kind, path, err)
    return table
