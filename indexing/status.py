"""Where a build stands, for people and for the gateway: `<JURIS_QDRANT_PATH>/<alias>.build.json`.

A build (`indexing.build.run_build`) rewrites this file every few seconds and at its end,
atomically (`os.replace`), so the gateway's `/readyz`, `GET /v1/index/status` and the web
page's banner can say what is searchable and what is not yet — from the same process (the
demo) or another (a gateway beside a CronJob's build, on a shared volume):

    {"build": "juris_20261124T101500Z", "state": "filling", "serving": true,
     "sources": {"uscode": {"state": "done", "documents": 13212, "passages": 28218, ...},
                 "aila/casedocs": {"state": "pending", ...}, ...},
     "passages": 41200, "passages_estimated": 128500, "rate_per_s": 41.3, "eta_s": 2112, ...}

`state` is `filling` while the build runs, then `complete` (it is the current build) or
`failed`. `serving` says whether searches already use this build (the demo serves the build
while it fills); otherwise searches use the previous build until the swap. Per source,
`state` is `pending` (nothing read yet), `indexing`, or `done` (every unit read and every
document version in the build). The total and the ETA are estimates: the passages of the
sources not read yet are guessed from their file sizes and what the others gave.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from legal_corpus.adapters import SourceUnit

WRITE_EVERY_S = 2.0
# plain-text bytes per passage, to guess the size of a source nothing has been read from yet
# (a passage holds at most 200 word pieces; shorter paragraphs make it about this on the
# bundled judgments); markup-heavy sources are re-estimated from what they gave once read
BYTES_PER_PASSAGE = 700


def status_path(root: Path, alias: str) -> Path:
    """The status file of builds of `alias` under the index root."""
    return Path(root) / f"{alias}.build.json"


def read_status(root: Path, alias: str) -> dict[str, Any] | None:
    """The last build's status (None when no build has written one, or it is unreadable)."""
    try:
        data = json.loads(status_path(root, alias).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def unit_bytes(unit: SourceUnit) -> int:
    """The size of a unit's files (at least 1)."""
    total = 0
    for p in unit.paths:
        with contextlib.suppress(OSError):
            total += os.path.getsize(p)
    return max(total, 1)


@dataclass
class _Source:
    units: int = 0
    bytes_total: int = 0
    units_read: int = 0
    bytes_read: int = 0
    documents_read: int = 0
    documents: int = 0  # versions in the build
    passages: int = 0

    def state(self) -> str:
        if self.units_read == 0 and self.documents == 0:
            return "pending"
        if self.units_read >= self.units and self.documents >= self.documents_read:
            return "done"
        return "indexing"


@dataclass
class BuildTracker:
    """Counts what a build has read and written, per source, and writes the status file.

    Thread-safe: the parser thread reports units and documents read, the main thread
    documents and passages written.

    Args:
        path: the status file (`status_path`); None: keep counts, write nothing.
        build: the build's name.
        units: every unit the build will read.
        clock: time source (tests pass a fake one).
    """

    path: Path | None
    build: str
    units: Iterable[SourceUnit]
    clock: Any = time.monotonic
    serving: bool = False
    sources: dict[str, _Source] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._current_read = 0
        self._current_written = 0
        self._hint_waiting: set[str] | None = None
        self._hint_mark: int | None = None
        self._start = self.clock()
        self._written = float("-inf")
        self.started_at = _now()
        self.state = "filling"
        self.error = ""
        for u in self.units:
            s = self.sources.setdefault(u.source, _Source())
            s.units += 1
            s.bytes_total += unit_bytes(u)
        # the last complete build's passages per source: the best guess for this one's
        before = read_status(self.path.parent, self.path.name.split(".")[0]) if self.path else None
        self._previous: dict[str, int] = {}
        if before and before.get("state") == "complete":
            for name, src in (before.get("sources") or {}).items():
                if name in self.sources and src.get("passages"):
                    self._previous[name] = int(src["passages"])
        self.write(force=True)

    # -- what the build reports ------------------------------------------------------------

    def unit_read(self, unit: SourceUnit) -> None:
        with self._lock:
            s = self.sources.setdefault(unit.source, _Source(units=1))
            s.units_read += 1
            s.bytes_read += unit_bytes(unit)
            if self._hint_waiting is not None:
                self._hint_waiting.discard(f"{unit.source}/{unit.key}")
                if not self._hint_waiting and self._hint_mark is None:
                    self._hint_mark = self._current_read

    def document_read(self, doc: Any) -> None:
        with self._lock:
            self.sources.setdefault(doc.source, _Source()).documents_read += 1
            if doc.version.valid_to is None:
                self._current_read += 1

    def documents_written(self, doc: Any, passages: int) -> None:
        with self._lock:
            s = self.sources.setdefault(doc.source, _Source())
            was = s.state()
            s.documents += 1
            s.passages += passages
            if doc.version.valid_to is None:
                self._current_written += 1
            finished = was != "done" and s.state() == "done"
        self.write(force=finished)  # a source becoming searchable in full is said at once

    def hinted(self, unit_keys: Iterable[str]) -> None:
        """Watch these units (`source/key`): `hint_searchable` turns True once they have
        been read and every version in force today read until then is in the build."""
        with self._lock:
            self._hint_waiting = set(unit_keys)
            if not self._hint_waiting:
                self._hint_mark = 0

    @property
    def hint_searchable(self) -> bool:
        with self._lock:
            return self._hint_mark is not None and self._current_written >= self._hint_mark

    def finish(self, state: str = "complete", error: str = "", serving: bool = True) -> None:
        self.state, self.error, self.serving = state, error, serving
        self.write(force=True)

    # -- what it says ----------------------------------------------------------------------

    def done_sources(self) -> list[str]:
        with self._lock:
            return [n for n, s in self.sources.items() if s.state() == "done"]

    def snapshot(self) -> dict[str, Any]:
        """The status as written to the file."""
        with self._lock:
            elapsed = max(self.clock() - self._start, 1e-9)
            passages = sum(s.passages for s in self.sources.values())
            read = [s for s in self.sources.values() if s.bytes_read]
            per_byte = (
                sum(s.passages for s in read) / sum(s.bytes_read for s in read) if read else 0.0
            )
            estimated = 0
            for name, s in self.sources.items():
                if s.state() == "done":
                    estimated += s.passages
                elif name in self._previous:  # what the last complete build held
                    estimated += max(s.passages, self._previous[name])
                elif s.bytes_read and s.passages:
                    estimated += max(s.passages, round(s.passages * s.bytes_total / s.bytes_read))
                else:
                    estimated += round(max(per_byte, 1 / BYTES_PER_PASSAGE) * s.bytes_total)
            estimated = max(estimated, passages)
            rate = passages / elapsed
            eta = (estimated - passages) / rate if rate > 0 and self.state == "filling" else None
            return {
                "build": self.build,
                "state": self.state,
                "serving": self.serving,
                "started_at": self.started_at,
                "updated_at": _now(),
                "elapsed_s": round(elapsed, 1),
                "passages": passages,
                "passages_estimated": estimated if self.state == "filling" else passages,
                "documents": sum(s.documents for s in self.sources.values()),
                "rate_per_s": round(rate, 2),
                "eta_s": None if eta is None else round(eta),
                "sources": {
                    name: {
                        "state": s.state() if self.state != "failed" else "failed",
                        "documents": s.documents,
                        "passages": s.passages,
                        "units": s.units,
                        "units_read": s.units_read,
                    }
                    for name, s in self.sources.items()
                },
                **({"error": self.error} if self.error else {}),
            }

    def write(self, force: bool = False) -> None:
        """Rewrite the status file (at most every `WRITE_EVERY_S` unless `force`)."""
        if self.path is None:
            return
        now = self.clock()
        if not force and now - self._written < WRITE_EVERY_S:
            return
        self._written = now
        data = self.snapshot()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.path)


def serves_its_build(status: dict[str, Any] | None) -> bool:
    """Whether searches use the build `status` describes (served early while it fills, or
    stopped so); `status` needs `current` (the retriever's `index_status` adds it)."""
    if not status:
        return False
    return bool(status.get("serving")) and status.get("current") == status.get("build")


def serving_incomplete(status: dict[str, Any] | None) -> bool:
    """Whether searches use a build that stopped or failed while it filled: one served early
    (the demo's), then stopped by Ctrl-C or an error. It holds only the sources it reached,
    until a build completes. `status` needs `current` (the retriever's `index_status` adds
    it); without it a failed build is taken to be one the previous build serves in place of.
    """
    return status is not None and serves_its_build(status) and status.get("state") == "failed"


def pending_sources(status: dict[str, Any] | None, asked: Iterable[str] | None = None) -> list[str]:
    """Sources of a filling build, or of an incomplete one searches use (`serving_incomplete`),
    that are not fully searchable (among `asked`, when given).

    Args:
        status: `read_status`'s result (None or a complete build: nothing pending).
        asked: the sources a search's filters ask for (None or empty: all of them).
    """
    if not status or not (status.get("state") == "filling" or serving_incomplete(status)):
        return []
    wanted = set(asked or ())
    return [
        name
        for name, s in (status.get("sources") or {}).items()
        if s.get("state") != "done" and (not wanted or name in wanted)
    ]


#: what each bundled source holds: (kind, jurisdiction), to tell which pending sources a
#: search's filters could draw from
SOURCE_FACETS: dict[str, tuple[str, str]] = {
    "uscode": ("statute", "us"),
    "federal_rules": ("rule", "us"),
    "gdpr": ("regulation", "eu"),
    "aila/statutes": ("statute", "in"),
    "aila/casedocs": ("opinion", "in"),
    "opinions/cap": ("opinion", "us"),
    "opinions/rulings": ("opinion", "us"),
}


def pending_for(
    status: dict[str, Any] | None,
    kind: str | None = None,
    jurisdiction: str | None = None,
    sources: Iterable[str] | None = None,
) -> list[str]:
    """Sources of a filling build, not searchable in full yet, that a search with these
    filters could return passages from (a source of unknown kind counts for any filter).

    Args:
        status: `read_status`'s result.
        kind: the search's kind filter.
        jurisdiction: its jurisdiction filter (`us` also covers `us-tn` and the like).
        sources: its source filter.
    """
    out = []
    for name in pending_sources(status, sources):
        facets = SOURCE_FACETS.get(name)
        if facets is not None:
            k, j = facets
            if kind and kind != k:
                continue
            if jurisdiction and not (j == jurisdiction or j.startswith(f"{jurisdiction}-")):
                continue
        out.append(name)
    return out


def pending_note(
    status: dict[str, Any] | None,
    kind: str | None = None,
    jurisdiction: str | None = None,
    sources: Iterable[str] | None = None,
) -> tuple[list[str], str] | None:
    """The sources a search with these filters could miss, and what to tell its reader: a
    build still filling, or an incomplete one that searches use; None when nothing is missing.
    """
    pending = pending_for(status, kind, jurisdiction, sources)
    if not pending or status is None:
        return None
    names = ", ".join(pending)
    passages = int(status.get("passages") or 0)
    if serving_incomplete(status):
        return pending, (
            f"not fully indexed: {names} — the build this index serves stopped before it was "
            f"complete ({passages:,} passages in); results from these sources are missing "
            "until a build completes (`python -m indexing build`)"
        )
    where = "this index" if serves_its_build(status) else "the build being prepared"
    return pending, (
        f"not fully indexed yet: {names} — {where} is still filling ({passages:,} of about "
        f"{int(status.get('passages_estimated') or 0):,} passages); results from these "
        "sources may be missing"
    )
