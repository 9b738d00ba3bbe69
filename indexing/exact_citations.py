"""Exact citations: the provisions a query names, and the chunks that answer a pinpoint.

A query that names a provision (`17 U.S.C. § 107`, `Fed. R. Civ. P. 12(b)(6)`, `GDPR Art.
17`) gets that provision first (`indexing.retrieve.Retriever.search`); the citations are read
by the project's one citation parser, `legal_corpus.citations`.

    >>> cited_provisions("motion to dismiss under Rule 12(b)(6)")
    [CitedProvision(doc_id='frcp:12', pinpoint='(b)(6)')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


# where a merged chunk's pinpoint span (`(a)–(b)(4)`, chunking) divides its two ends: at the
# dash between labels, never inside one (`(a–1)` is one label of 45 U.S.C. § 354)
_SPAN_DASH = re.compile(r"(?:(?<=\))|^)–(?=\()")


def span_ends(pinpoint: str) -> list[str]:
    """The first and last pinpoint of a chunk's span (`(a)–(b)(4)` → `(a)`, `(b)(4)`); one
    pinpoint for a chunk at one (`(a–1)` stays whole)."""
    return _SPAN_DASH.split(pinpoint)


def pin_match(chunk: Chunk, wanted: str) -> int:
    """How well a chunk answers a requested pinpoint (0: not at all, 3: exactly)."""
    chunk_pin = chunk.pinpoint
    if chunk_pin == wanted or wanted in chunk.pinpoints:
        return 3
    first = span_ends(chunk_pin)[0]
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


_LABEL = re.compile(r"\([^()\s]+\)")


def _pins_of(chunk: Chunk) -> set[str]:
    """The pinpoints a chunk holds: its own (both ends of a range such as `(5)–(6)`) and those
    merged into it."""
    own = [p.strip() for p in span_ends(chunk.pinpoint)]
    return {fold_pinpoint(p) for p in (*own, *chunk.pinpoints) if p.strip()}


def fold_pinpoint(pin: str) -> str:
    """A pinpoint for comparison: no whitespace, lower case (`(b) (6)` → `(b)(6)`)."""
    return re.sub(r"\s+", "", pin).lower()


def is_label_chain(pinpoint: str) -> bool:
    """Whether a pinpoint is a chain of `(x)` labels (`(b)(6)`), the kind a document's
    structure can confirm or refute (a page or paragraph pinpoint is not)."""
    folded = fold_pinpoint(pinpoint)
    return bool(folded) and "".join(_LABEL.findall(folded)) == folded


def pinpoint_in_document(chunks: Iterable[Chunk], pinpoint: str) -> bool:
    """Whether `pinpoint` names a part of the document these chunks hold.

    A pinpoint exists when the document's structure has it or a part under it; below the
    deepest part the structure knows (a section the adapter keeps whole, such as 17 U.S.C.
    § 107 with its four factors in its text), each further label must stand in that part's
    text as a label (`(1)`, not the `(a)` of a cross-reference such as `106(a)`). So
    `17 U.S.C. § 107(1)` exists and `§ 107(a)(1)` does not. Letter case is not told apart
    (`(A)` and `(a)`), and a pinpoint that is not a chain of `(x)` labels below the known
    structure (`¶ 12` in an unstructured text) is not judged: True.

    Args:
        chunks: the document's chunks (any versions; their union is judged).
        pinpoint: the cited pinpoint, e.g. `(b)(6)`.

    Returns:
        False only when the document's structure and text show the pinpoint is not there.
    """
    want = fold_pinpoint(pinpoint)
    chunks = list(chunks)
    if not want or not chunks:
        return True
    held = [(_pins_of(c), c) for c in chunks]
    pins = set().union(*(p for p, _ in held))
    if any(p == want or p.startswith(want) for p in pins):
        return True
    parent = max((p for p in pins if want.startswith(p)), key=len, default="")
    rest = want[len(parent) :]
    labels = _LABEL.findall(rest)
    if "".join(labels) != rest:
        return True  # not a chain of labels: not judged
    under = [c for p, c in held if not parent or any(q.startswith(parent) for q in p)]
    text = " ".join(c.text for c in under).lower()
    return all(re.search(r"(?<!\w)" + re.escape(label), text) for label in labels)
