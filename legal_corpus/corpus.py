"""Where the corpus lives, and looking up one document's versions by id and date."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from legal_corpus.adapters import IngestReport, make_adapter, parse_units
from legal_corpus.model import LegalDocument

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# document id namespace -> adapter source
NAMESPACES: dict[str, str] = {
    "usc": "uscode",
    "frcp": "federal_rules",
    "frcrmp": "federal_rules",
    "fre": "federal_rules",
    "frap": "federal_rules",
    "frbp": "federal_rules",
    "gdpr": "gdpr",
    "cap": "opinions/cap",
    "ruling": "opinions/rulings",
}


def default_corpus_dir() -> Path:
    """`JURIS_CORPUS_DIR`, else the bundled corpus at `../shared/legal_corpus`."""
    env = os.environ.get("JURIS_CORPUS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return (PROJECT_ROOT.parent / "shared" / "legal_corpus").resolve()


def source_of(doc_id: str) -> str:
    """The adapter source that holds `doc_id` (`fre:702` -> `federal_rules`).

    Raises:
        ValueError: for an id with an unknown namespace.
    """
    ns, _, rest = doc_id.partition(":")
    if ns == "aila":
        return "aila/statutes" if rest.startswith("S") else "aila/casedocs"
    if ns not in NAMESPACES:
        raise ValueError(f"unknown document namespace in {doc_id!r}")
    return NAMESPACES[ns]


def parse_date(value: date | str) -> date:
    """A date from a `date` or an ISO `YYYY-MM-DD` string, with a clear error."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise ValueError(f"not an ISO date (YYYY-MM-DD): {value!r}") from err


def as_of(versions: Iterable[LegalDocument], day: date | str) -> LegalDocument | None:
    """The version in force on `day`, or None when none was."""
    when = parse_date(day)
    for doc in versions:
        if doc.version.in_force(when):
            return doc
    return None


def load_versions(
    doc_id: str, corpus_dir: Path | None = None, report: IngestReport | None = None
) -> list[LegalDocument]:
    """Every version of `doc_id` in the corpus, oldest first."""
    corpus = corpus_dir or default_corpus_dir()
    adapter = make_adapter(source_of(doc_id))
    units = adapter.units_for(corpus, doc_id)
    found = [d for d in parse_units(units, report) if d.doc_id == doc_id]
    return sorted(found, key=lambda d: (d.version.valid_from or date.min, d.version.label))
