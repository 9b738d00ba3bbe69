"""Source adapters: one per format, and the batch loop that runs them.

>>> from legal_corpus.adapters import iter_documents, IngestReport
>>> report = IngestReport()
>>> for doc in iter_documents(corpus_dir, sources=["federal_rules"], report=report):
...     print(doc.doc_id, doc.version.label)
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from legal_corpus.adapters.base import IngestReport, ParseError, SourceAdapter, SourceUnit
from legal_corpus.model import LegalDocument

log = logging.getLogger(__name__)

# source name -> "module:Class". Modules are imported only when their source is used, so a
# run over the rules never pays for importing `unstructured`.
ADAPTERS: dict[str, str] = {
    "uscode": "legal_corpus.adapters.uscode:UscodeAdapter",
    "federal_rules": "legal_corpus.adapters.federal_rules:FederalRulesAdapter",
    "gdpr": "legal_corpus.adapters.gdpr:GdprAdapter",
    "aila/casedocs": "legal_corpus.adapters.aila:AilaCaseAdapter",
    "aila/statutes": "legal_corpus.adapters.aila:AilaStatuteAdapter",
    "opinions/cap": "legal_corpus.adapters.cap_json:CapJsonAdapter",
    "opinions/rulings": "legal_corpus.adapters.rulings:RulingsAdapter",
}

# How each source is read, by revision: raise a source's number with any change to its adapter
# that changes the documents it makes from the same files. A build's manifest records it with
# each unit, so the next `python -m indexing sync` after an upgrade parses that source's units
# again (not only those whose files changed) and replaces exactly the versions whose content
# changed. Absent: revision 1.
READING_REVISIONS: dict[str, int] = {
    # 2: history notes and Part headings that end some files are not rule text; a list's
    # closing words are its section's; a label after a colon starts that list
    "federal_rules": 2,
}


def reading_revision(name: str) -> int:
    """The revision of how source `name` is read (`READING_REVISIONS`, default 1)."""
    return READING_REVISIONS.get(name, 1)


def source_names(selected: Iterable[str] | None = None) -> list[str]:
    """The adapter sources matching `selected` (a name or a prefix such as `aila`).

    Raises:
        ValueError: when a selector matches no source.
    """
    if not selected:
        return list(ADAPTERS)
    names: list[str] = []
    for sel in selected:
        sel = sel.strip().rstrip("/")
        matched = [n for n in ADAPTERS if n == sel or n.startswith(sel + "/")]
        if not matched:
            raise ValueError(f"unknown source {sel!r}; known sources: {', '.join(ADAPTERS)}")
        names.extend(m for m in matched if m not in names)
    return names


def make_adapter(name: str) -> SourceAdapter:
    """Build the adapter for source `name`."""
    module_name, _, cls_name = ADAPTERS[name].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    adapter: SourceAdapter = cls()
    return adapter


def discover_units(
    corpus_dir: Path,
    sources: Iterable[str] | None = None,
    shard: tuple[int, int] | None = None,
) -> list[SourceUnit]:
    """All units of the selected sources; with `shard=(i, n)` only those of shard i of n."""
    units: list[SourceUnit] = []
    for name in source_names(sources):
        units.extend(make_adapter(name).discover(corpus_dir))
    if shard is not None:
        index, count = shard
        if not 0 <= index < count:
            raise ValueError(f"shard index {index} must be in 0..{count - 1}")
        units = [u for u in units if u.shard(count) == index]
    return units


def parse_units(
    units: Iterable[SourceUnit],
    report: IngestReport | None = None,
    on_doc: Callable[[SourceUnit, LegalDocument], None] | None = None,
    doc_filter: Callable[[LegalDocument], bool] | None = None,
) -> Iterator[LegalDocument]:
    """Parse units one after another, streaming; a unit that fails is recorded and skipped.

    Args:
        units: the units to parse.
        report: collects counts and the files skipped.
        on_doc: told which unit each yielded document came from.
        doc_filter: keep only documents for which it returns True.
    """
    report = report if report is not None else IngestReport()
    adapters: dict[str, SourceAdapter] = {}
    for unit in units:
        report.units[unit.source] = report.units.get(unit.source, 0) + 1
        try:
            adapter = adapters.get(unit.source)
            if adapter is None:
                adapter = adapters[unit.source] = make_adapter(unit.source)
            for doc in adapter.parse(unit):
                if doc_filter is not None and not doc_filter(doc):
                    continue
                report.count(doc)
                if on_doc is not None:
                    on_doc(unit, doc)
                yield doc
        except ParseError as err:
            log.warning("skipped %s", err)
            report.errors.append(err)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, ImportError) as err:
            wrapped = ParseError(unit.paths[0] if unit.paths else unit.key, repr(err))
            log.warning("skipped %s", wrapped)
            report.errors.append(wrapped)


def iter_documents(
    corpus_dir: Path,
    sources: Iterable[str] | None = None,
    report: IngestReport | None = None,
    shard: tuple[int, int] | None = None,
) -> Iterator[LegalDocument]:
    """Every document version under `corpus_dir`, streamed, bad files recorded in `report`."""
    yield from parse_units(discover_units(corpus_dir, sources, shard), report)


__all__ = [
    "ADAPTERS",
    "IngestReport",
    "ParseError",
    "SourceAdapter",
    "SourceUnit",
    "discover_units",
    "iter_documents",
    "make_adapter",
    "parse_units",
    "source_names",
]
