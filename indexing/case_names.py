"""Case names: a query that names a court opinion gets that opinion first.

A lawyer who types `Kartar Singh v. State of Punjab` wants that judgment, not the one whose
passages happen to repeat its party names most often (`State of Uttar Pradesh v Kartar
Singh`). A query of a few words with a `v` in it is compared with the titles of the build's
court opinions, both normalised the same way (`normalise`): lower case, words only, `vs.` and
`versus` as `v`, and the trailing `and another` / `and others` / `et al.` of each party
dropped, so `Shanti v. State of Haryana` names `Shanti and another v State of Haryana` but
not `Smt. Shanti and Another v State of Haryana`. A title names the query's case when the
normalised query is the title or begins with it (`Roe v. Wade, 410 U.S. 113 (1973)`); a title
inside a longer query names nothing (`Singh v State` inside `Kartar Singh v State …`).
The longest matching title wins; every opinion of that title is returned (a case decided
twice under one name), and the retriever puts them before the ranked results, as it does the
provisions a query cites (`indexing.exact_citations`).

    >>> names = CaseNames.from_titles({"aila:C1437": "Kartar Singh v State of Punjab"})
    >>> names.named("Kartar Singh v. State of Punjab")
    ['aila:C1437']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from indexing.store import Match, VectorStore, Where

# a query longer than this many words is a question or a fact pattern, not a case name
MAX_QUERY_WORDS = 24
_WORD = re.compile(r"[a-z0-9]+")
_VERSUS = frozenset({"v", "vs", "versus"})
# words that end a party's name without naming anyone (`and another`, `and ors.`, `et al.`)
_TRAILERS = (("and", "another"), ("and", "others"), ("and", "anr"), ("and", "ors"), ("et", "al"))
_TRAILER_WORDS = ("etc",)


def _party(words: list[str]) -> list[str]:
    """A party's words less the trailers that name no one."""
    changed = True
    while changed and words:
        changed = False
        for trailer in _TRAILERS:
            if tuple(words[-len(trailer) :]) == trailer:
                words = words[: -len(trailer)]
                changed = True
        if words and words[-1] in _TRAILER_WORDS:
            words = words[:-1]
            changed = True
    return words


def normalise(text: str) -> tuple[str, ...]:
    """A case name's words as titles and queries are compared (see the module docstring)."""
    parts: list[list[str]] = [[]]
    for w in _words(text):
        if w == "v":
            parts.append([])
        else:
            parts[-1].append(w)
    out: list[str] = []
    for i, part in enumerate(parts):
        if i:
            out.append("v")
        out.extend(_party(part))
    return tuple(out)


def _words(text: str) -> tuple[str, ...]:
    """A name's words as written (lower case, `vs.` and `versus` as `v`), trailers kept."""
    words = _WORD.findall(text.lower().replace("&", " and "))
    return tuple("v" if w in _VERSUS else w for w in words)


def looks_like_case_name(query: str) -> bool:
    """Whether a query could be a case name: a few words, a `v` between two parties."""
    words = normalise(query)
    if not words or len(words) > MAX_QUERY_WORDS or "v" not in words:
        return False
    at = words.index("v")
    return 0 < at < len(words) - 1


class CaseNames:
    """The court opinions of a build by normalised title.

    Args:
        by_name: normalised title -> the opinions of that title.
        words: each opinion's title as written (`_words`): of the opinions one name matches,
            those whose title the query begins with word for word come first (`Mohar Singh
            and Others v State of Rajasthan` before `Mohar Singh v State of Rajasthan`).
    """

    def __init__(
        self,
        by_name: Mapping[tuple[str, ...], Iterable[str]],
        words: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._by_name = {name: sorted(set(docs)) for name, docs in by_name.items() if name}
        self._lengths = sorted({len(name) for name in self._by_name}, reverse=True)
        self._words = dict(words or {})

    @classmethod
    def from_titles(cls, titles: Mapping[str, str]) -> CaseNames:
        """From `doc_id -> title` (titles that are no case name are left out)."""
        by_name: dict[tuple[str, ...], list[str]] = {}
        words: dict[str, tuple[str, ...]] = {}
        for doc, title in titles.items():
            if looks_like_case_name(title):
                by_name.setdefault(normalise(title), []).append(doc)
                words[doc] = _words(title)
        return cls(by_name, words)

    @classmethod
    def from_store(cls, store: VectorStore) -> CaseNames:
        """The titles of a build's court opinions (their first chunks only)."""
        titles: dict[str, str] = {}
        where = Where((Match("kind", "opinion"), Match("order", 0)))
        for hit in store.scroll(where, fields=("doc_id", "title")):
            title = str(hit.payload.get("title") or "")
            if title:
                titles.setdefault(str(hit.payload["doc_id"]), title)
        return cls.from_titles(titles)

    def __len__(self) -> int:
        return len(self._by_name)

    def named(self, query: str) -> list[str]:
        """The opinions a query names: those of the longest title the query is or begins with."""
        if not looks_like_case_name(query):
            return []
        words = normalise(query)
        written = _words(query)
        for n in self._lengths:
            docs = self._by_name.get(words[:n]) if n <= len(words) else None
            if docs:
                return sorted(docs, key=lambda d: (not self._as_written(d, written), d))
        return []

    def _as_written(self, doc: str, query: tuple[str, ...]) -> bool:
        title = self._words.get(doc, ())
        return bool(title) and query[: len(title)] == title
