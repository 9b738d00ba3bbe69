"""Query reduction to the legally operative facts, measured (not used by the product).

A fact pattern tells a story: names, places, dates, who said what to whom. The facts that
engage a provision — the offence, the relationship, the remedy sought — are a few sentences
of it. `OperativeFacts` keeps the sentences richest in the law's own vocabulary: a term's
weight is how much more often it occurs in the statutes than in the judgments (the log ratio
of its smoothed relative frequencies, positive terms only: "dowry", "cruelty", "detention",
"writ"), a sentence's weight the mean over its terms, and the best `keep` share of the
sentences (at least `MIN_SENTENCES`) is kept in their original order.

`python -m indexing crossval --reduce-queries 0.5` measures it: every query is reduced
before the sweep, and the out-of-fold figures are compared fold by fold with the full
queries' (README, "Fact patterns").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from indexing.sparse import tokenize
from indexing.text import split_sentences

MIN_SENTENCES = 3


class OperativeFacts:
    """Sentence selection by legal vocabulary (see the module docstring).

    Args:
        statutes: the statute texts.
        judgments: the judgment texts (the background language).
        keep: the share of sentences kept.
    """

    def __init__(self, statutes: Iterable[str], judgments: Iterable[str], keep: float) -> None:
        if not 0 < keep <= 1:
            raise ValueError("keep must be in (0, 1]")
        law = Counter(t for text in statutes for t in tokenize(text))
        story = Counter(t for text in judgments for t in tokenize(text))
        n_law, n_story = sum(law.values()) or 1, sum(story.values()) or 1
        vocab = len(law.keys() | story.keys()) or 1
        self.weight = {
            t: w
            for t in law
            if (
                w := math.log(
                    ((law[t] + 1) / (n_law + vocab)) / ((story[t] + 1) / (n_story + vocab))
                )
            )
            > 0
        }
        self.keep = keep

    def score(self, sentence: str) -> float:
        """The mean legal weight of a sentence's terms."""
        terms = tokenize(sentence)
        return sum(self.weight.get(t, 0.0) for t in terms) / len(terms) if terms else 0.0

    def reduce(self, query: str) -> str:
        """The query's most operative sentences, in their order."""
        sentences = split_sentences(query)
        n = max(MIN_SENTENCES, math.ceil(self.keep * len(sentences)))
        if n >= len(sentences):
            return query
        best = sorted(range(len(sentences)), key=lambda i: (-self.score(sentences[i]), i))[:n]
        return " ".join(sentences[i] for i in sorted(best))
