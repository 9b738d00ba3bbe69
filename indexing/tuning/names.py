"""`python -m indexing mine-lexicon`: the names of provisions, mined from the corpus.

    python -m indexing mine-lexicon --out var/lexicon.json
    JURIS_LEXICON_FILE=var/lexicon.json python -m indexing search "Miller Act payment bond"

Reads the provisions in force today (US Code, Federal Rules, GDPR), the US Code's notes (short
titles, "commonly known as" references) and the court opinions, and writes the lexicon of
`indexing.lexicon`: each popular name or alias with the provisions it is found next to.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from indexing.lexicon import Lexicon, mine_lexicon
from legal_corpus.citations import parse_citations

SOURCES = ("uscode", "federal_rules", "gdpr", "opinions/cap")


def _usc_title(doc_id: str) -> str | None:
    if not doc_id.startswith("usc:"):
        return None
    title = doc_id[4:].split("/", 1)[0]
    return title if title.isdigit() else None


def resolve(text: str, doc_id: str) -> list[str]:
    """The corpus documents `text` cites (a US Code text's `this title` resolved)."""
    try:
        cites = parse_citations(text, usc_title=_usc_title(doc_id))
    except ValueError:
        return []
    return [c.doc_id for c in cites if c.doc_id]


def build_lexicon(corpus: Path, day: date | None = None) -> Lexicon:
    """The lexicon of the corpus's provisions in force on `day` (default today)."""
    from legal_corpus.adapters import iter_documents

    headings: dict[str, str] = {}
    texts: list[tuple[str, str]] = []

    for doc in iter_documents(corpus, list(SOURCES)):
        if not doc.version.in_force(day or date.today()):
            continue
        if doc.kind != "opinion" and not doc.metadata.get("status"):  # repealed: no target
            headings[doc.doc_id] = doc.heading_path[-1] if doc.heading_path else doc.title
        for section in doc.walk():
            if section.text:
                texts.append((doc.doc_id, section.text))
        for note in doc.metadata.get("notes", ()) or ():
            body = str(note.get("text", "")) if isinstance(note, dict) else ""
            if body:
                texts.append((doc.doc_id, body))
    return mine_lexicon(texts, headings, resolve)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register `mine-lexicon` on the `python -m indexing` parser."""
    p = subparsers.add_parser(
        "mine-lexicon", help="mine the names of provisions for sparse query expansion"
    )
    p.add_argument("--out", type=Path, default=Path("var/lexicon.json"), help="lexicon file")
    p.add_argument("--corpus", help="corpus directory (default: JURIS_CORPUS_DIR)")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Execute `mine-lexicon`."""
    from indexing.settings import IndexSettings

    overrides: dict[str, Any] = {"corpus_dir": Path(args.corpus)} if args.corpus else {}
    settings = IndexSettings(**overrides)
    lexicon = build_lexicon(settings.corpus())
    lexicon.save(args.out)
    print(f"lexicon: {len(lexicon)} names -> {args.out}", file=sys.stderr)
    return 0
