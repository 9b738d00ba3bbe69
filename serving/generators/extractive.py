"""The extractive backend: an answer composed from the retrieved passages, no model needed.

Of the passages, the four whose best clause matches the question best, discounted by their
retrieval rank, are quoted; governing provisions come first (statutes, regulations, rules, then
opinions); from each the sentences most relevant to the question are quoted verbatim with the
passage's pinpoint citation and its `[n]` — of a passage holding several subdivisions, the
innermost one whose words hold the sentences quoted (`Fed. R. Evid. 201(f)` rather than
`201(e)–(f)`) — so every claim is cited and every quote verifies. A sentence that defines a
term the question asks about ("'personal data' means …" for "What counts as personal data?")
counts that term's words twice, so a long definition is not passed over for a short list item
that merely mentions the term (`indexing.definitions`).

    >>> ExtractiveGenerator().compose("Is fair use an infringement?", passages)
    'Under 17 U.S.C. § 107: ##begin_quote##… the fair use of a copyrighted work …##end_quote## [1].'
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from indexing.definitions import asked_terms, defined_terms
from indexing.model import Passage
from indexing.text import CLAUSES, STOPWORDS, split_sentences
from serving import answer_format as fmt
from serving.subdivisions import narrowest_citation

KIND_ORDER = {"statute": 0, "regulation": 1, "rule": 2, "opinion": 3}
# The scorer's stopwords: the shared list with twelve words it keeps and six question words it
# drops. Scoring sentences with the shared list alone changes 75 of 318 measured answers, so
# the difference stays, stated here.
SCORING_STOPWORDS = (
    STOPWORDS
    - {"but", "each", "has", "have", "him", "nor", "own", "said", "same", "upon", "very", "whose"}
) | {"about", "might", "must", "over", "some", "why"}
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
NO_SOURCES = "No passage in the index answers this question; try other words or filters."
NOT_ADDRESSED = (
    "The indexed sources do not appear to address this question: no passage found for it "
    "matches it closely enough to answer from. The passages shown are the nearest ones in the "
    "index, for reference only; they are not an answer and may not govern the question."
)


def place_names(places: Sequence[str]) -> tuple[str, str]:
    """`places` (at least one) as a sentence names them, and the pronoun for them:
    ("Ontario", "it"), ("Texas, Ohio and Ontario", "them")."""
    if len(places) == 1:
        return places[0], "it"
    return ", ".join(places[:-1]) + f" and {places[-1]}", "them"


def not_held_statement(places: Sequence[str]) -> str:
    """ "The question names Ontario; the indexed sources hold no law of it." (`places`: at
    least one name)."""
    names, them = place_names(places)
    return f"The question names {names}; the indexed sources hold no law of {them}."


def terms(text: str) -> list[str]:
    """Lower-cased content words of `text` (stopwords dropped, crude plural folding)."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in SCORING_STOPWORDS or len(w) < 2:
            continue
        out.append(w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def quotable(text: str, max_chars: int = 600) -> list[str]:
    """The clauses of a passage (`indexing.text.CLAUSES`), verbatim; overlong ones cut at a word."""
    return [
        s[:max_chars].rsplit(" ", 1)[0] if len(s) > max_chars else s
        for s in split_sentences(text, CLAUSES)
    ]


@dataclass(frozen=True, slots=True)
class _Pick:
    n: int
    passage: Passage
    sentences: tuple[str, ...]
    score: float


class ExtractiveGenerator:
    """Composes cited answers from passages.

    Args:
        max_sources: how many passages the answer quotes at most.
        sentences_per_source: how many sentences it quotes from each.
    """

    name = "extractive"

    def __init__(self, max_sources: int = 4, sentences_per_source: int = 2) -> None:
        if max_sources < 1 or sentences_per_source < 1:
            raise ValueError("max_sources and sentences_per_source must be at least 1")
        self.max_sources = max_sources
        self.sentences_per_source = sentences_per_source

    def compose(self, question: str, passages: Sequence[Passage]) -> str:
        """The answer to `question` from `passages` (source n = passages[n-1]).

        Args:
            question: the question.
            passages: retrieved passages, best first.

        Returns:
            The answer in `serving.answer_format` (quotes and `[n]` markers).
        """
        if not passages:
            return NO_SOURCES
        q_terms = set(terms(question))
        candidates = [(n, p, quotable(p.chunk.text)) for n, p in enumerate(passages, 1)]
        df: Counter[str] = Counter()
        total = 0
        for _, _, sents in candidates:
            for s in sents:
                df.update(set(terms(s)))
                total += 1

        def weight(t: str) -> float:
            return math.log(1 + total / (1 + df[t]))

        picks = []
        for n, p, sents in candidates:
            scored = []
            for i, s in enumerate(sents):
                words = terms(s)
                if len(words) < 3:
                    continue
                overlap = sum(weight(t) for t in q_terms & set(words))
                asked = asked_terms(defined_terms(s), q_terms, terms)
                score = overlap / math.sqrt(len(words)) + sum(weight(t) for a in asked for t in a)
                scored.append((score, -i, s))
            if not scored:
                continue
            scored.sort(reverse=True)
            best = [s for _, _, s in scored[: self.sentences_per_source]]
            # keep the passage's own order so the quotes read naturally
            best.sort(key=lambda s: sents.index(s))
            picks.append(_Pick(n, p, tuple(best), scored[0][0]))
        if not picks:
            return NO_SOURCES
        relevant = [pk for pk in picks if pk.score > 0] or picks[:1]
        # the passages the question is most about, as their best clause matches it and as
        # retrieval ranked them (score / rank: the retrieval's order weighs what no word
        # overlap sees), then governing provisions first
        relevant = sorted(relevant, key=lambda pk: (-pk.score / pk.n, pk.n))[: self.max_sources]
        relevant.sort(key=lambda pk: (KIND_ORDER.get(pk.passage.chunk.kind, 9), pk.n))
        return " ".join(self._claim(pk) for pk in relevant)

    @staticmethod
    def _claim(pick: _Pick) -> str:
        c = pick.passage.chunk
        quoted = " … ".join(fmt.quote(s) for s in pick.sentences)
        if c.kind == "opinion":
            lead = f"In {c.title} ({c.citation})," if c.title else f"In {c.citation},"
            lead += " the court stated:"
        else:
            lead = f"Under {narrowest_citation(c, pick.sentences)}:"
        return f"{lead} {quoted} {fmt.cite(pick.n)}."

    @staticmethod
    def not_addressed(passages: Sequence[Passage], not_held: Sequence[str] = ()) -> str:
        """What is said instead of an answer when the retrieved passages do not appear to
        address the question (`indexing.relevance`): no quote, no citation, so nothing in it
        can verify and read as support; the passages go with it as the nearest ones. With
        `not_held`, the places the question names whose law the index holds none of
        (`indexing.places`), it says so first."""
        said = NOT_ADDRESSED if passages else NO_SOURCES
        if not not_held:
            return said
        return f"{not_held_statement(not_held)} {said}"

    async def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        addressed: bool = True,
        not_held: Sequence[str] = (),
    ) -> AsyncIterator[str]:
        """`compose`'s answer in word-sized pieces, as a model would stream it (with
        `addressed` False, `not_addressed`'s statement instead)."""
        answer = (
            self.compose(question, passages)
            if addressed
            else self.not_addressed(passages, not_held)
        )
        for piece in re.findall(r"\S+\s*", answer):
            yield piece
