"""A lexicon of the names lawyers use for provisions, mined from the corpus, for sparse
query expansion.

Lawyers name statutes by their popular names ("the Miller Act", "the Davis-Bacon Act",
"the Federal Employers' Liability Act") and provisions by aliases ("the right to be
forgotten"); the provision's own text rarely carries the name. The corpus does, next to the
provision: "the Act of August 24, 1935 (commonly known as the 'Miller Act') (40 U.S.C.
3131 et seq.)", "This Act may be cited as the 'CASE Act'", "Article 17 — Right to erasure
('right to be forgotten')". `mine_lexicon` collects such (name, provision) pairs
(`legal_corpus.citations` resolves the provision), and `Lexicon.expand` adds, to the sparse
query of a question naming one, the words of the named provision's heading at a reduced
weight, so the sparse ranking can find a provision its name never appears in.

    >>> lexicon = Lexicon.load(Path("var/lexicon.json"))
    >>> lexicon.expand("Who can sue on a Miller Act payment bond?")
    {'rights': 0.5, 'persons': 0.5, 'furnishing': 0.5, 'labor': 0.5, 'material': 0.5, ...}
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from indexing.sparse import Bm25Encoder, SparseVec, term_id, tokenize

# the weight of an expansion term (a query's own terms weigh 1.0)
EXPANSION_WEIGHT = 0.5
# provisions a name may point at (the ones it is found next to most often)
TARGETS = 2
FORMAT = 1
_QUOTED = r"[“\"‘']([^”\"’']{3,80}?)[”\"’']"
# "commonly known as the 'Miller Act'", "may be cited as the 'CASE Act'"
_ALIAS = re.compile(
    r"(?:known|referred to|cited|designated)\s+as\s+(?:the\s+)?" + _QUOTED, re.IGNORECASE
)
# "the Federal Arbitration Act (9 U.S.C. 1 et seq.)": a name and the provision in brackets
_NAMED_ACT = re.compile(
    r"(?:the\s+)?((?:[A-Z][\w’'\-.]*\s+){0,9}?(?:Act|Code|Convention)(?:\s+of\s+\d{4})?)"
    r"[”\"’']?\s*\(([^()]{0,40}?U\.S\.C\.[^()]{0,60})\)"
)
# the number before a heading's name: `§ 107. `, `Rule 803. `, `Article 17 — `
_LABEL = re.compile(r"^(?:§+\s*[\w.\-–]+\.?|Rule\s+[\w.\-]+\.|Article\s+\d+\w*\s*[—-])\s*")
# "Right to erasure ('right to be forgotten')": an alias in a heading
_HEADING_ALIAS = re.compile(r"\(\s*" + _QUOTED + r"\s*\)")


@dataclass(frozen=True, slots=True)
class Entry:
    """A name and the provisions it names, with the words their headings say."""

    name: str
    targets: tuple[str, ...]
    terms: tuple[str, ...]


class Lexicon:
    """Names -> expansion terms, matched on the query's own terms (`indexing.sparse`).

    Args:
        entries: the mined entries.
        weight: the weight of an expansion term.
    """

    def __init__(self, entries: Iterable[Entry], weight: float = EXPANSION_WEIGHT) -> None:
        if not 0 < weight <= 1:
            raise ValueError("the expansion weight must be in (0, 1]")
        self.weight = weight
        self.entries = list(entries)
        self._by_first: dict[str, list[tuple[tuple[str, ...], Entry]]] = defaultdict(list)
        for entry in self.entries:
            tokens = tuple(tokenize(entry.name))
            if tokens:
                self._by_first[tokens[0]].append((tokens, entry))

    def __len__(self) -> int:
        return len(self.entries)

    def named(self, query: str) -> list[Entry]:
        """The entries whose name occurs in `query` (as a run of its terms)."""
        tokens = tokenize(query)
        found: list[Entry] = []
        for i, tok in enumerate(tokens):
            for name, entry in self._by_first.get(tok, ()):
                if tuple(tokens[i : i + len(name)]) == name and entry not in found:
                    found.append(entry)
        return found

    def expand(self, query: str) -> dict[str, float]:
        """Terms to add to `query`'s sparse vector (those it lacks), with their weight."""
        own = set(tokenize(query))
        out: dict[str, float] = {}
        for entry in self.named(query):
            for term in entry.terms:
                if term not in own:
                    out[term] = self.weight
        return out

    def expand_vector(
        self, query: str, vec: SparseVec, encoder: Bm25Encoder | None = None
    ) -> SparseVec:
        """`vec` (the query's sparse vector) with `expand`'s terms added, as `encoder` (the
        build's sparse format; default: this release's) makes terms."""
        encoder = encoder or Bm25Encoder()
        extra: dict[int, float] = {}
        for t, w in self.expand(query).items():
            for term in encoder.stem([t]):
                extra[term_id(term)] = w
        if not extra:
            return vec
        merged = {**extra, **vec.as_dict()}
        items = sorted(merged.items())
        return SparseVec(tuple(i for i, _ in items), tuple(float(w) for _, w in items))

    def save(self, path: Path) -> None:
        """Write the lexicon as JSON (atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "format": FORMAT,
            "entries": [[e.name, list(e.targets), list(e.terms)] for e in self.entries],
        }
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, weight: float = EXPANSION_WEIGHT) -> Lexicon:
        """Read a lexicon written by `save`.

        Raises:
            ValueError: not a lexicon of this format (names the file).
        """
        try:
            data = json.loads(Path(path).read_text())
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')}")
            entries = [Entry(n, tuple(t), tuple(w)) for n, t, w in data["entries"]]
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise ValueError(f"lexicon {path} is not usable: {err}") from err
        return cls(entries, weight)


def heading_terms(heading: str, limit: int = 12) -> tuple[str, ...]:
    """The content terms of a provision's heading (numbers and its own label left out)."""
    name = re.sub(
        r"^(?:§+\s*[\w.\-–]+\.?|Rule\s+[\w.\-]+\.|Article\s+\d+\w*\s*[—-])\s*", "", heading
    )
    out: list[str] = []
    for tok in tokenize(name):
        if re.search("[a-z]{3}", tok) and tok not in out:
            out.append(tok)
    return tuple(out[:limit])


def mine_lexicon(
    texts: Iterable[tuple[str, str]],
    headings: Mapping[str, str],
    resolve: object,
) -> Lexicon:
    """Names next to the provisions they name.

    Args:
        texts: `(doc_id, text)` of every text to read (provisions, notes, opinions); a text's
            own document is the target of a name it gives itself (`may be cited as`) when it
            cites nothing in the same sentence.
        headings: doc_id -> heading of every provision that can be a target.
        resolve: `(sentence, doc_id) -> list of doc_ids` the sentence cites (only those in
            `headings` count).

    Returns:
        The lexicon: each name with its `TARGETS` most frequent provisions and their heading
        terms. Names shared by more provisions than that are kept with the most frequent.
        A provision whose heading many provisions share ("Definitions", "Administrator",
        "Purpose": where a title's short-title notes sit) is no target: its heading says
        nothing of what the name is about.
    """
    assert callable(resolve)
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    spelled: dict[str, str] = {}
    shared = Counter(_LABEL.sub("", h).strip(" .").lower() for h in headings.values())
    named = {d for d, h in headings.items() if shared[_LABEL.sub("", h).strip(" .").lower()] <= 3}

    def note(name: str, target: str, alias: bool = False) -> None:
        name = " ".join(name.split()).strip(" ,.;:")
        # a name of one term ("Act", "Code") would match nearly every question; an alias in
        # running text must be a proper name ("the 'Miller Act'", not "the 'station'")
        if len(tokenize(name)) < 2 or not re.search("[A-Za-z]{3}", name):
            return
        if alias and not re.search(r"\b[A-Z][a-z]", name):
            return
        if target not in named:
            return
        key = name.lower()
        spelled.setdefault(key, name)
        seen[key][target] += 1

    for doc_id, heading in headings.items():
        for m in _HEADING_ALIAS.finditer(heading):
            note(m.group(1), doc_id)
    for doc_id, text in texts:
        for sentence in re.split(r"(?<=[.;])\s+(?=[A-Z(])", text):
            aliases = [m.group(1) for m in _ALIAS.finditer(sentence)]
            acts = [(m.group(1), m.group(2)) for m in _NAMED_ACT.finditer(sentence)]
            if not aliases and not acts:
                continue
            for name, bracket in acts:
                for target in resolve(bracket, doc_id):
                    if target in headings:
                        note(name, target)
            if aliases:
                cited = [t for t in resolve(sentence, doc_id) if t in headings]
                targets = cited[:1] or ([doc_id] if doc_id in headings else [])
                for name in aliases:
                    for target in targets:
                        note(name, target, alias=True)
    entries: list[Entry] = []
    for key, counts in sorted(seen.items()):
        named_targets = tuple(t for t, _ in counts.most_common(TARGETS))
        terms: list[str] = []
        for target in named_targets:
            for term in heading_terms(headings[target]):
                if term not in terms:
                    terms.append(term)
        if terms:
            entries.append(Entry(spelled[key], named_targets, tuple(terms)))
    return Lexicon(entries)
