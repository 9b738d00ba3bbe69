"""What every source adapter is, and how a batch survives one bad file.

An adapter finds its *units* of work in a corpus directory (a file, or a group of files that
must be read together, such as the two editions of one US Code title) and turns each unit
into `LegalDocument`s, streaming. A unit that cannot be read raises `ParseError` naming the
file (and the element or line where known); `iter_documents` records it in an
`IngestReport`, skips the unit and goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from legal_corpus.model import LegalDocument


class ParseError(Exception):
    """A source file that could not be parsed.

    Args:
        path: the file.
        message: what is wrong.
        where: the element, line or page where known (`line 12`, `<section id=…>`).
    """

    def __init__(self, path: Path | str, message: str, where: str = "") -> None:
        self.path = str(path)
        self.message = message
        self.where = where
        loc = f" ({where})" if where else ""
        super().__init__(f"{self.path}{loc}: {message}")


@dataclass(frozen=True, slots=True)
class SourceUnit:
    """A piece of work for one adapter: one or more files read together.

    Args:
        source: the adapter's source name (`uscode`).
        key: a stable name of the unit inside its source (`t17`, `evidence/rule-702`).
        paths: the files the unit reads.
    """

    source: str
    key: str
    paths: tuple[Path, ...]

    def shard(self, count: int) -> int:
        """The shard (0 … count-1) this unit belongs to when work is split `count` ways."""
        digest = hashlib.sha1(f"{self.source}/{self.key}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % count


class SourceAdapter(Protocol):
    """One adapter per source format."""

    name: str

    def discover(self, corpus_dir: Path) -> list[SourceUnit]:
        """The units of this source present under `corpus_dir` (empty when absent)."""
        ...

    def parse(self, unit: SourceUnit) -> Iterator[LegalDocument]:
        """Parse one unit; raises `ParseError` naming the file when it cannot."""
        ...

    def units_for(self, corpus_dir: Path, doc_id: str) -> list[SourceUnit]:
        """The units that hold `doc_id`'s versions (a subset of `discover`)."""
        ...


@dataclass
class IngestReport:
    """What a batch parsed, per source, and which files it skipped and why."""

    documents: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    errors: list[ParseError] = field(default_factory=list)

    def count(self, doc: LegalDocument) -> None:
        self.documents[doc.source] = self.documents.get(doc.source, 0) + 1

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        total = sum(self.documents.values())
        lines = [f"parsed {total} document versions from {sum(self.units.values())} units"]
        for err in self.errors:
            lines.append(f"  skipped {err}")
        if self.errors:
            lines.append(f"{len(self.errors)} file(s) skipped")
        return "\n".join(lines)
