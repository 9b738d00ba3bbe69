"""The order a build indexes the corpus in: what most questions need first.

A first build of the whole bundled corpus takes about half an hour on two cores; a person
trying Juris, or a deployment coming up on an empty index, should not wait for the last
Indian judgment before asking about the US Code. So a build goes in tiers:

1. enacted law — statutes, rules, regulations (`uscode`, `federal_rules`, `gdpr`,
   `aila/statutes`): what a lawyer's question is usually about, and short;
2. court opinions (`opinions/rulings`, `opinions/cap`, then the 2,914 long AILA
   judgments, about 70 % of all passages).

Inside a tier, the versions in force today come before past versions (a question without
`as_of` searches today's law; the 2013 US Code edition and the 2005–2023 texts of a Federal
Rule wait until the tier's current law is in). A *hint* — the questions someone is about to
ask (the demo passes its sample question) — moves forward, inside its tier, the units whose
opening (a US Code title's name and table of contents, a rule's title, a judgment's first
lines: the first 8 KB of the unit's newest file) shares the hint's distinctive words. Nothing
is dropped or duplicated: the order changes, never the content.

    >>> ordered = order_units(discover_units(corpus), hint="fair use of a copyrighted work")
    >>> tiered = current_first(parse_units(ordered, report), tier_of_source)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from legal_corpus.adapters import SourceUnit
from legal_corpus.model import LegalDocument

#: sources in indexing order; a source not listed goes last, in the order it was given
TIERS: tuple[tuple[str, ...], ...] = (
    ("uscode", "federal_rules", "gdpr", "aila/statutes"),
    ("opinions/rulings", "opinions/cap", "aila/casedocs"),
)
OPENING_BYTES = 8192
_WORD = re.compile(r"[a-z]{6,}")
# words of six letters or more that say nothing about which law a question is about
_COMMON = frozenset(
    {
        "against", "before", "between", "section", "whether", "should", "without", "within",
        "unless", "rather", "person", "people", "another", "states", "united", "federal",
        "otherwise", "because", "during",
    }
)  # fmt: skip


def tier_of_source(source: str) -> int:
    """The tier a source belongs to (0: enacted law, 1: opinions, 2: anything else)."""
    for i, sources in enumerate(TIERS):
        if source in sources:
            return i
    return len(TIERS)


def _source_rank(source: str) -> int:
    flat = [s for tier in TIERS for s in tier]
    return flat.index(source) if source in flat else len(flat)


def hint_words(hint: str | Iterable[str] | None) -> frozenset[str]:
    """The distinctive words of a hint, cut to their first 7 letters (`copyrighted` and
    `COPYRIGHTS` meet at `copyrig`)."""
    if not hint:
        return frozenset()
    text = hint if isinstance(hint, str) else " ".join(hint)
    return frozenset(w[:7] for w in _WORD.findall(text.lower()) if w not in _COMMON)


def unit_opening(unit: SourceUnit, size: int = OPENING_BYTES) -> str:
    """The first `size` bytes of the unit's newest file, markup removed, lower-cased."""
    if not unit.paths:
        return ""
    path = Path(unit.paths[-1])
    try:
        with open(path, "rb") as fh:
            head = fh.read(size).decode("utf-8", errors="replace")
    except OSError:
        return ""
    return re.sub(r"<[^>]*>", " ", head).lower()


def hint_score(unit: SourceUnit, words: frozenset[str]) -> int:
    """How many of the hint's words the unit's opening holds."""
    if not words:
        return 0
    opening = unit_opening(unit)
    return sum(1 for w in words if w in opening)


def order_units(
    units: list[SourceUnit], hint: str | Iterable[str] | None = None
) -> list[SourceUnit]:
    """`units` in indexing order: by tier, then (inside a tier) units matching the hint
    first, most matched words first, then by source in `TIERS` order, then as given.

    Args:
        units: the units to index.
        hint: questions about to be asked (optional).

    Returns:
        The same units, reordered.
    """
    words = hint_words(hint)
    scores = {id(u): hint_score(u, words) for u in units} if words else {}
    position = {id(u): i for i, u in enumerate(units)}
    return sorted(
        units,
        key=lambda u: (
            tier_of_source(u.source),
            -scores.get(id(u), 0),
            _source_rank(u.source),
            position[id(u)],
        ),
    )


def hinted_units(units: list[SourceUnit], hint: str | Iterable[str] | None) -> list[SourceUnit]:
    """The units the hint moved forward (those whose opening holds at least one hint word)."""
    words = hint_words(hint)
    return [u for u in units if words and hint_score(u, words) > 0]


def current_first(
    docs: Iterable[LegalDocument], tier_of: Callable[[str], int] = tier_of_source
) -> Iterator[LegalDocument]:
    """`docs` with the past versions of each tier held back until that tier's documents in
    force today have all been yielded (a version is past when it has a `valid_to`).

    Args:
        docs: document versions in unit order (`order_units`).
        tier_of: the tier of a source.

    Yields:
        The same document versions, each once.
    """
    held: list[LegalDocument] = []
    tier: int | None = None
    for doc in docs:
        t = tier_of(doc.source)
        if tier is not None and t != tier:
            yield from held
            held.clear()
        tier = t
        if doc.version.valid_to is not None:
            held.append(doc)
        else:
            yield doc
    yield from held
