"""BM25-style sparse vectors with a tokenizer that keeps legal tokens whole.

Stored as Qdrant sparse vectors with the IDF modifier, so the engine supplies the IDF over
the indexed collection and the project supplies the rest of BM25:

- document side: the term-frequency saturation `tf·(k1+1) / (tf + k1·(1 − b + b·len/avg_len))`;
- query side: 1.0 for each distinct query term (term presence).

A term is a token of `tokenize` — legal tokens (`12(b)(6)`, `u.s.c.`, `§`) kept whole — and,
in sparse format 2 (`SPARSE_FORMAT`), each plain word reduced to its Snowball English stem
(PyStemmer): "filed", "files" and "filing" meet at `file`, "objects" and "objection" at
`object`, so a plain-language question matches a provision's inflections (eval/README.md, "Stemmed
terms"). A build records the format its points were encoded in (`FIELD`, on every point); a
retriever encodes queries in the format of the build it serves and a sync adds points in the
format of the build it changes, so a build made by an earlier release keeps answering after
an upgrade until it is rebuilt.

Term ids are hashed (32-bit blake2b of the term, masked to 31 bits), not taken from a
vocabulary: a build and every later sync agree on ids without shared state, and a new word
in a new ruling needs no re-indexing. `avg_len` is a fixed constant rather than the corpus
mean for the same reason (a corpus statistic would change every document's weights on each
sync); 120 tokens is near the chunk mean of the bundled corpus.

    >>> tokenize("Fed. R. Civ. P. 12(b)(6) and 42 U.S.C. § 1983")
    ['fed.', 'r.', 'civ.', 'p.', '12(b)(6)', '12', '42', 'u.s.c.', '§', '1983']
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from indexing.text import STOPWORDS

# Order matters: the first alternative that matches at a position wins.
_TOKEN = re.compile(
    r"""
    §§?                                       # section sign(s)
    | ¶                                       # paragraph sign
    | \d+[A-Za-z]?(?:\([A-Za-z0-9]{1,6}\))+   # 12(b)(6), 107(a), 1983(c)
    | (?:[A-Za-z]{1,4}\.){2,}                 # U.S.C., U.S., e.g., i.e.
    | (?:[A-Z][a-z]{0,4}\.)                   # Fed. R. Civ. Evid. (capitalised abbreviation)
    | \d+(?:[.,:]\d+)*[A-Za-z]?               # 1983, 2000e, 10.5, 1,000
    | [A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]  # words (hyphenated kept)
    """,
    re.VERBOSE,
)

_PAREN = re.compile(r"^(\d+[A-Za-z]?)\(")
# Single-dot abbreviations kept with their dot (a capitalised word before a full stop is not).
_ABBREV = frozenset(
    [
        "fed.",
        "r.",
        "civ.",
        "crim.",
        "evid.",
        "app.",
        "bankr.",
        "p.",
        "art.",
        "arts.",
        "v.",
        "no.",
        "sec.",
        "stat.",
        "const.",
        "amend.",
        "supp.",
        "cir.",
        "ct.",
        "reg.",
        "ch.",
        "cl.",
        "para.",
        "pub.",
        "l.",
    ]
)
_ALIASES = {"usc": "u.s.c.", "cfr": "c.f.r."}
# How a build's sparse terms are made: 1, the tokens of `tokenize` as written; 2, its plain
# words stemmed (`Bm25Encoder.terms`). The payload field `FIELD` of every point records it;
# a point without it was made before the record, in format 1.
SPARSE_FORMAT = 2
SPARSE_FORMATS = (1, 2)
FIELD = "sparse_format"
# a plain word (letters, inner hyphens or apostrophes): what a stemmer may shorten; legal
# tokens (`12(b)(6)`, `u.s.c.`, `fed.`) and numbers are left as they are
_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]")


def tokenize(text: str) -> list[str]:
    """Lower-cased terms of `text`, legal tokens intact, stopwords dropped.

    A pinpointed number (`12(b)(6)`) also yields its base number (`12`) so that "Rule 12"
    and "Rule 12(b)(6)" share a term. Trailing apostrophes and possessive `'s` are removed.

    Args:
        text: any text.

    Returns:
        The terms in order (with repeats).
    """
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0).lower().replace("’", "'")
        if tok.endswith("'s"):
            tok = tok[:-2]
        tok = tok.strip("'-")
        if tok.endswith(".") and tok.count(".") == 1 and tok not in _ABBREV:
            tok = tok[:-1]
        tok = _ALIASES.get(tok, tok)
        if not tok or tok in STOPWORDS:
            continue
        out.append(tok)
        base = _PAREN.match(tok)
        if base:
            out.append(base.group(1))
    return out


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    """The Snowball English stemmer (made on first use, not at import)."""
    import Stemmer

    return Stemmer.Stemmer("english")


def stemmed(tokens: Iterable[str]) -> list[str]:
    """`tokens` with each plain word reduced to its Snowball English stem (`filed` ->
    `file`); legal tokens and numbers unchanged."""
    stem = _stemmer().stemWord
    return [stem(t) if _WORD.fullmatch(t) else t for t in tokens]


def term_id(term: str) -> int:
    """The sparse dimension of a term: a stable 31-bit hash."""
    digest = hashlib.blake2b(term.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


@dataclass(frozen=True, slots=True)
class SparseVec:
    """Indices (sorted, unique) and values of a sparse vector."""

    indices: tuple[int, ...]
    values: tuple[float, ...]

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.indices, self.values, strict=True))


def _from_counts(weights: dict[int, float]) -> SparseVec:
    items = sorted(weights.items())
    return SparseVec(tuple(i for i, _ in items), tuple(float(w) for _, w in items))


class Bm25Encoder:
    """Document and query sparse vectors (see module docstring).

    Args:
        k1: term-frequency saturation.
        b: length normalisation.
        avg_len: assumed mean document length in terms.
        sparse_format: how terms are made (`SPARSE_FORMAT`); a build's own format is
            `indexing.model_record.build_sparse_format`.
    """

    def __init__(
        self,
        k1: float = 1.2,
        b: float = 0.75,
        avg_len: float = 120.0,
        sparse_format: int = SPARSE_FORMAT,
    ) -> None:
        if k1 <= 0 or not 0 <= b <= 1 or avg_len <= 0:
            raise ValueError("need k1 > 0, 0 <= b <= 1 and avg_len > 0")
        if sparse_format not in SPARSE_FORMATS:
            raise ValueError(
                f"unknown sparse format {sparse_format!r} (this release knows "
                f"{', '.join(map(str, SPARSE_FORMATS))}): a build made by a newer release"
            )
        self.k1, self.b, self.avg_len = k1, b, avg_len
        self.sparse_format = sparse_format

    def with_format(self, sparse_format: int) -> Bm25Encoder:
        """This encoder for another build's format (itself when it is the same)."""
        if sparse_format == self.sparse_format:
            return self
        return Bm25Encoder(self.k1, self.b, self.avg_len, sparse_format)

    def terms(self, text: str) -> list[str]:
        """The terms of `text` in this encoder's format (with repeats, in order)."""
        return self.stem(tokenize(text))

    def stem(self, tokens: Iterable[str]) -> list[str]:
        """Tokens of `tokenize` as this format's terms (format 1: unchanged)."""
        return stemmed(tokens) if self.sparse_format >= 2 else list(tokens)

    def document(self, text: str) -> SparseVec:
        """BM25 term-frequency weights of a document's terms (IDF applied by the engine)."""
        terms = self.terms(text)
        if not terms:
            return SparseVec((), ())
        norm = self.k1 * (1 - self.b + self.b * len(terms) / self.avg_len)
        weights: dict[int, float] = {}
        for term, tf in Counter(terms).items():
            tid = term_id(term)
            weights[tid] = weights.get(tid, 0.0) + tf * (self.k1 + 1) / (tf + norm)
        return _from_counts(weights)

    def query(self, text: str) -> SparseVec:
        """1.0 for each distinct query term."""
        return _from_counts({term_id(t): 1.0 for t in set(self.terms(text))})
