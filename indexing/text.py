"""Text conventions indexing, serving and training share: sentences and stopwords.

One way to split text into sentences, `sentence_spans` (and `split_sentences`, its trimmed
texts), applied with a `SentenceRule` that says where a sentence may end. The rules differ
because their readers do, and each is kept as it was measured:

- `PROSE` — legal running text, for chunking and query windows: a sentence ends at `.` `!`
  `?` `;` `:` (closing quotes and brackets stay with it) before a capital, a digit, `§` or an
  opening quote or bracket, never after a legal abbreviation (`U.S.C.`, `Fed.`, `v.`) or a
  single letter;
- `CLAUSES` — the units an answer quotes (the extractive backend, RAFT rows): sentences and
  `;` / `:` clauses before a capital, an opening bracket or a quote, no abbreviation check.

An answer's sentences (`serving.answer_format.sentences`) are the same procedure with the
answer format's own rule; the evaluation lab states its rules beside its code.

    >>> split_sentences("See 17 U.S.C. § 107. Fair use is not an infringement.")
    ['See 17 U.S.C. § 107.', 'Fair use is not an infringement.']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

# Abbreviations after which a full stop does not end a sentence in legal text.
LEGAL_ABBREVIATIONS = frozenset(
    {
        "u.s.c",
        "u.s",
        "fed",
        "r",
        "civ",
        "crim",
        "evid",
        "app",
        "bankr",
        "p",
        "v",
        "vs",
        "no",
        "nos",
        "art",
        "arts",
        "sec",
        "secs",
        "para",
        "paras",
        "cl",
        "ch",
        "cf",
        "e.g",
        "i.e",
        "etc",
        "inc",
        "co",
        "corp",
        "ltd",
        "mr",
        "mrs",
        "ms",
        "dr",
        "j",
        "jj",
        "st",
        "supp",
        "stat",
        "pub",
        "l",
        "id",
        "ibid",
        "ann",
        "rev",
        "ed",
        "cir",
        "dist",
        "ct",
        "s.ct",
        "f",
        "f.2d",
        "f.3d",
        "f.4th",
        "n",
        "pp",
        "vol",
        "seq",
        "al",
        "ex",
        "rel",
        "hon",
    }
)

# Words that carry no meaning for retrieval (the sparse vectors drop them).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "she",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "were",
        "which",
        "will",
        "with",
        "would",
        "shall",
        "may",
        "any",
        "all",
        "each",
        "other",
        "than",
        "not",
        "no",
        "nor",
        "so",
        "upon",
        "said",
        "under",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
        "how",
        "also",
        "been",
        "being",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "our",
        "we",
        "you",
        "your",
        "i",
        "me",
        "my",
        "him",
        "them",
        "us",
        "its",
        "own",
        "same",
        "very",
    ]
)


@dataclass(frozen=True, slots=True)
class SentenceRule:
    """Where one sentence ends and the next begins.

    Args:
        boundary: matches the gap between two sentences. The sentence ends where the group
            `end` ends (where the match ends when the pattern has no such group); the next
            begins where the match ends.
        abbreviation: given the text from the sentence's start through the boundary's full
            stop (the group `stop` when the pattern has one, only where it matched; else the
            sentence as `boundary` ends it), true when that text ends in an abbreviation, so
            the boundary is none. None: no abbreviation ends a sentence early.
    """

    boundary: re.Pattern[str]
    abbreviation: Callable[[str], bool] | None = None


def _legal_abbreviation(candidate: str) -> bool:
    last = candidate.rsplit(None, 1)[-1] if candidate.split() else ""
    word = last.rstrip(".!?;:\"'”’)").lower().lstrip('("“')
    return last.endswith(".") and (word in LEGAL_ABBREVIATIONS or len(word) == 1)


PROSE = SentenceRule(
    re.compile(r"(?<=[.!?;:])(?P<end>[\"'”’)]*)\s+(?=[\"“(\[]?[A-Z0-9§])"), _legal_abbreviation
)
CLAUSES = SentenceRule(re.compile(r"(?<=[.;:])(?P<end>)\s+(?=[A-Z(“\"])"))


def sentence_spans(
    text: str, rule: SentenceRule = PROSE, protected: Sequence[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """The sentences of `text` as offsets.

    Args:
        text: running text.
        rule: where a sentence may end.
        protected: `(start, end)` spans no boundary falls in (e.g. quotations).

    Returns:
        `(start, end)` of each sentence that is not blank, in order; the last one runs to the
        end of `text`.
    """
    has_end = "end" in rule.boundary.groupindex
    has_stop = "stop" in rule.boundary.groupindex
    spans: list[tuple[int, int]] = []
    start = 0
    for m in rule.boundary.finditer(text):
        if protected and any(a <= m.start() < b for a, b in protected):
            continue
        end = m.end("end") if has_end and m.start("end") >= 0 else m.end()
        if rule.abbreviation is not None:
            stop: int | None = end
            if has_stop:
                stop = m.end("stop") if m.start("stop") >= 0 else None
            if stop is not None and rule.abbreviation(text[start:stop]):
                continue
        if text[start:end].strip():
            spans.append((start, end))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def split_sentences(text: str, rule: SentenceRule = PROSE) -> list[str]:
    """The sentences of `text`, whitespace-trimmed, in order (see `sentence_spans`).

    Args:
        text: running text.
        rule: where a sentence may end (default: legal prose).

    Returns:
        The sentences; joining them with spaces gives the text back up to whitespace.
    """
    return [text[a:b].strip() for a, b in sentence_spans(text, rule)]


# a subdivision's label where a passage's line begins: `(1) `, `(1)(A) `
_LINE_LABEL = re.compile(r"^(?:\([^()\s]{1,8}\))+ ", re.M)


def without_line_labels(text: str) -> str:
    """`text` without the subdivision labels that begin its lines (`(1) the purpose …` ->
    `the purpose …`): what a passage printed as the law prints it reads without them."""
    return _LINE_LABEL.sub("", text)


def pack(pieces: Iterable[T], fits: Callable[[list[T], T], bool]) -> list[list[T]]:
    """Pieces in order, grouped greedily: a new group starts where the next piece does not fit.

    Passages and query windows are sentences packed up to a budget this way; `fits` says what
    the budget counts (tokens of the joined text, a sum of counts, words).

    Args:
        pieces: sentences, words, or anything else to group.
        fits: whether a piece may join the current group (never asked of an empty group: a
            piece that fits nowhere makes a group of its own).

    Returns:
        The groups, in order; none is empty.
    """
    groups: list[list[T]] = []
    group: list[T] = []
    for piece in pieces:
        if group and not fits(group, piece):
            groups.append(group)
            group = []
        group.append(piece)
    if group:
        groups.append(group)
    return groups
