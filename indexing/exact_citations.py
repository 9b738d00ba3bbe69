"""Exact citations: the provisions a query names, and the chunks that answer a pinpoint.

A query that names a provision (`17 U.S.C. § 107`, `Fed. R. Civ. P. 12(b)(6)`, `GDPR Art.
17`) gets that provision first (`indexing.retrieve.Retriever.search`); the citations are read
by the project's one citation parser, `legal_corpus.citations`.

    >>> cited_provisions("motion to dismiss under Rule 12(b)(6)")
    [CitedProvision(doc_id='frcp:12', pinpoint='(b)(6)')]
"""

from __future__ import annotations

from dataclasses import dataclass

from indexing.model import Chunk
from legal_corpus.citations import parse_citations


@dataclass(frozen=True, slots=True)
class CitedProvision:
    """A provision named in a query."""

    doc_id: str
    pinpoint: str


def cited_provisions(text: str) -> list[CitedProvision]:
    """Provisions a text names (citations with a document id), in order, without repeats.

    Args:
        text: a query.

    Returns:
        Document ids with pinpoints.
    """
    seen: set[str] = set()
    out: list[CitedProvision] = []
    for cit in parse_citations(text):
        if not cit.doc_id:
            continue
        c = CitedProvision(cit.doc_id, cit.pinpoint or "")
        key = f"{c.doc_id}{c.pinpoint}"
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def pin_match(chunk: Chunk, wanted: str) -> int:
    """How well a chunk answers a requested pinpoint (0: not at all, 3: exactly)."""
    chunk_pin = chunk.pinpoint
    if chunk_pin == wanted or wanted in chunk.pinpoints:
        return 3
    first = chunk_pin.split("–")[0]
    if any(p and wanted.startswith(p) for p in chunk.pinpoints):
        return 2
    if first == wanted or (first and wanted.startswith(first)):
        return 2  # the chunk is (or starts at) the requested provision or its parent
    if chunk_pin.startswith(wanted) or first.startswith(wanted):
        return 1  # a child of the requested provision
    return 0


def best_pinpoint(chunks: list[Chunk], pinpoint: str) -> list[Chunk]:
    """The chunks that answer `pinpoint` best: the exact one, else its parent or children,
    else all of them (all of them, too, for no pinpoint)."""
    if not pinpoint or not chunks:
        return chunks
    scored = [(pin_match(c, pinpoint), c) for c in chunks]
    best = max(s for s, _ in scored)
    if best == 0:
        return chunks
    return [c for s, c in scored if s == best]
