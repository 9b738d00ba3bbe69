"""Which judgments of a corpus cite which: the precedent graph behind the authority prior.

A judgment cites another by its case name followed by a reference that carries a year:
`Maneka Gandhi v. Union of India … 1978 Indlaw SC 212`, `… AIR 1978 SC 597`,
`(1978) 1 SCC 248`, `Roe v. Wade, 410 U.S. 113 (1973)`. A reference resolves to the corpus
judgment decided that year whose title words (less the words that name no one: `v`,
`state`, `union`, `india`, …) are found in the 200 characters before it, weighted by how
rare each word is among the titles: the best candidate with at least `TITLE_SHARE` of its
title weight present. A reporter citation carries the year the volume was published, which
may follow the decision by one, so those also try the year before.

    >>> graph = CitationGraph([Judgment("aila:C1", "A v. B", 1978)], [("aila:C9", text)])
    >>> graph.cited_by("aila:C1")

The graph is built from pieces of text (whole judgments, or the chunks of an index), so it
can be rebuilt from whatever holds the corpus. On the 2,914 AILA judgments: 2,059 links from
948 citing judgments, 1,939 of them from the neutral references alone (the links of the
benchmark `indexing.eval.citing` builds).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

TITLE_SHARE = 0.6
CONTEXT_CHARS = 200
_WORD = re.compile(r"[a-z]+")
# words of a title that do not identify the judgment
TITLE_STOP = frozenset(
    {"v", "vs", "versus", "of", "the", "and", "state", "union", "india", "others", "ors"}
    | {"anr", "another", "in", "re", "united", "states", "people", "commonwealth"}
)
_Y = r"(1[89]\d\d|20\d\d)"
# (reference pattern, years before the one it names that the decision may have been in)
NEUTRAL = ((re.compile(rf"\b{_Y} Indlaw SC \d+"), 0),)
REPORTERS = (
    (re.compile(rf"\bAIR {_Y} SC \d+"), 1),
    (re.compile(rf"\({_Y}\) \d+ SCC \d+"), 1),
    # `410 U.S. 113 (1973)`, `4 Ill. 2d 1, 5 (Ill. 1954)`
    (
        re.compile(
            r"\b\d+ (?:[A-Z][\w.]*\s|\d[a-z]{1,2}\s){1,5}\d+(?:, \d+)?\s"
            rf"\((?:[^()\n]{{0,30}}\s)?{_Y}\)"
        ),
        1,
    ),
)


@dataclass(frozen=True, slots=True)
class Judgment:
    """A judgment as the graph knows it: its id, title and decision year (None: unknown)."""

    doc_id: str
    title: str
    year: int | None


class CitationGraph:
    """The citations between the judgments of a corpus.

    Args:
        judgments: every judgment that may be cited.
        texts: `(citing doc_id, text)` pieces; one judgment may come in several.
        reporters: also resolve reporter references (AIR, SCC, US reporters), not only the
            neutral `Indlaw SC` ones.
    """

    def __init__(
        self,
        judgments: Iterable[Judgment],
        texts: Iterable[tuple[str, str]],
        reporters: bool = True,
    ) -> None:
        self._patterns = NEUTRAL + REPORTERS if reporters else NEUTRAL
        self._titles: dict[str, frozenset[str]] = {}
        by_year: dict[int, list[str]] = defaultdict(list)
        df: Counter[str] = Counter()
        for j in judgments:
            if j.doc_id in self._titles:
                continue
            words = frozenset(_WORD.findall(j.title.lower())) - TITLE_STOP
            self._titles[j.doc_id] = words
            df.update(words)
            if j.year is not None:
                by_year[j.year].append(j.doc_id)
        n = max(len(self._titles), 1)
        self._idf = {w: math.log(n / (1 + c)) + 1 for w, c in df.items()}
        # sums in a fixed order: the same graph whatever the process's string hashing
        self._weight = {d: sum(self._idf[w] for w in sorted(ws)) for d, ws in self._titles.items()}
        # candidates in id order: a tie goes the same way whatever order the judgments came in
        self._by_year = {y: sorted(ds) for y, ds in by_year.items()}
        links: dict[str, set[str]] = defaultdict(set)
        for doc, text in texts:
            links[doc].update(self._resolve(doc, text))
        self.links: dict[str, frozenset[str]] = {d: frozenset(c) for d, c in links.items() if c}
        self._cited_by: Counter[str] = Counter(c for cited in self.links.values() for c in cited)

    def _resolve(self, doc: str, text: str) -> set[str]:
        found: set[str] = set()
        for pattern, slack in self._patterns:
            for ref in pattern.finditer(text):
                before = text[max(0, ref.start() - CONTEXT_CHARS) : ref.start()]
                hit = self._best(doc, int(ref.group(1)), slack, set(_WORD.findall(before.lower())))
                if hit is not None:
                    found.add(hit)
        return found

    def _best(self, doc: str, year: int, slack: int, context: set[str]) -> str | None:
        best, best_share = None, 0.0
        for y in range(year - slack, year + 1):
            for candidate in self._by_year.get(y, ()):
                words = self._titles[candidate]
                if candidate == doc or not words:
                    continue
                shared = sorted(words & context)
                share = sum(self._idf[w] for w in shared) / self._weight[candidate]
                if share > best_share:
                    best, best_share = candidate, share
        return best if best_share >= TITLE_SHARE else None

    def cited_by(self, doc_id: str, excluding: Iterable[str] = ()) -> int:
        """How many judgments cite `doc_id`, leaving out the citations of `excluding`."""
        if isinstance(excluding, str):
            excluding = (excluding,)
        n = self._cited_by.get(doc_id, 0)
        return n - sum(1 for e in set(excluding) if doc_id in self.links.get(e, ()))

    def counts(self) -> dict[str, int]:
        """doc_id -> number of judgments citing it (cited judgments only)."""
        return dict(self._cited_by)
