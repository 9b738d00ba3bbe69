"""Which body of law a question's words belong to.

A lawyer who asks "how long does a defendant have to answer a complaint after being served?"
uses the words of the Federal Rules of Civil Procedure, and the fused order still puts the
bankruptcy rule that copies Rule 12 first; one who asks what "kinds of inventions can be
patented" uses the words of Title 35, yet a space-law section that mentions patents comes
first. A provision is more likely to govern when its whole body of law — a US Code title, a
set of court rules, the GDPR, the opinions of one source — speaks the question's language,
not only the passage itself (the cluster hypothesis of retrieval; federated search picks
sources the same way).

`BodiesOfLaw` counts word stems per body over the passages of a build in force today, and
`typicality` scores how much more likely a question's words are in a body than in the
corpus as a whole: the mean log-likelihood ratio of the question's content stems under the
body's Dirichlet-smoothed unigram model (`SMOOTHING` pseudo-words of the corpus' own
distribution). The learned order (`indexing.learned_order`) reads it as one feature, fitted
with the others on the doctrine dev questions. The table is counted once per build, from
the passages' own text, in the background (`indexing.per_build`; about 13 s for the
whole bundled corpus, embedded), and an embedded build's table is kept beside it
(`<qdrant_path>/tables/<build>.bodies.json`, `cached_bodies`) so that the next process that
opens the build — a one-off `search`, a restarted gateway — reads it in a fraction of a
second instead.

    >>> bodies = BodiesOfLaw.from_passages(
    ...     [("frcp:12", "a defendant must serve an answer to the complaint"),
    ...      ("frbp:7012", "the trustee and the debtor in an adversary proceeding")])
    >>> scores = bodies.typicality("When must a defendant answer?", ["frcp:12", "frbp:7012"])
    >>> scores["frcp:12"] > 0 > scores["frbp:7012"]
    True
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from indexing import kept_tables
from indexing.learned_order import title_words
from indexing.store import VectorStore, Where

# pseudo-words of the corpus distribution each body's counts are smoothed with; chosen on
# the doctrine dev split by 5-fold cross-validation of the learned order over 2,000 to
# 200,000 (document MAP 50 / 1,000 deep: 0.813 / 0.834 at 5,000, 0.816 / 0.832 at 10,000,
# 0.813 / 0.831 at 20,000; eval/README.md, "The learned order")
SMOOTHING = 10_000.0
_WORD = re.compile(r"[a-z]{3,}")
# the format of a kept table (`BodiesOfLaw.save`)
FORMAT = 1


def body_of(doc_id: str) -> str:
    """A document's body of law: its scheme with its first path segment when it has one
    (`usc:17/507` → `usc:17`, a US Code title), else its scheme (`frcp:12` → `frcp`,
    `gdpr:art6` → `gdpr`, `aila:C12` → `aila`)."""
    scheme, _, rest = doc_id.partition(":")
    return f"{scheme}:{rest.split('/', 1)[0]}" if "/" in rest else scheme


def stems(text: str) -> list[str]:
    """Every word of three letters or more, cut to six (`indexing.learned_order.title_words`'
    crude stem), with repeats."""
    return [w[:6] for w in _WORD.findall(text.lower())]


@dataclass(frozen=True, slots=True)
class BodiesOfLaw:
    """Word-stem counts per body of law and over the corpus.

    Args:
        counts: body -> stem -> occurrences.
        totals: body -> occurrences of every stem.
        corpus: stem -> occurrences over every body.
        size: occurrences of every stem over every body.
    """

    counts: Mapping[str, Mapping[str, int]]
    totals: Mapping[str, int]
    corpus: Mapping[str, int]
    size: int

    @classmethod
    def from_counts(cls, counts: Mapping[str, Mapping[str, int]]) -> BodiesOfLaw:
        """The table of body -> stem -> occurrences."""
        corpus: Counter[str] = Counter()
        for words in counts.values():
            corpus.update(words)
        return cls(
            {body: dict(words) for body, words in counts.items()},
            {body: sum(words.values()) for body, words in counts.items()},
            dict(corpus),
            sum(corpus.values()),
        )

    @classmethod
    def from_passages(cls, passages: Iterable[tuple[str, str]]) -> BodiesOfLaw:
        """Count `(doc_id, text)` passages."""
        counts: dict[str, Counter[str]] = {}
        for doc_id, text in passages:
            counts.setdefault(body_of(doc_id), Counter()).update(stems(text))
        return cls.from_counts(counts)

    @classmethod
    def from_store(cls, store: VectorStore, where: Where) -> BodiesOfLaw:
        """Count the passages of a build that match `where` (those in force today)."""
        return cls.from_passages(
            (str(hit.payload.get("doc_id") or ""), str(hit.payload.get("text") or ""))
            for hit in store.scroll(where, fields=("doc_id", "text"))
        )

    def save(self, path: Path) -> None:
        """Write the counts as JSON, atomically (`indexing.kept_tables.save_json`)."""
        kept_tables.save_json(path, FORMAT, "counts", self.counts)

    @classmethod
    def load(cls, path: Path) -> BodiesOfLaw:
        """Read a table `save` wrote.

        Raises:
            OSError: it cannot be read.
            ValueError: it is not a table of this format (names the file).
        """
        return cls.from_counts(
            kept_tables.load_json(
                path,
                FORMAT,
                "counts",
                "bodies-of-law",
                lambda counts: {
                    str(body): {str(w): int(n) for w, n in words.items()}
                    for body, words in counts.items()
                },
            )
        )

    def typicality(self, question: str, doc_ids: Iterable[str]) -> dict[str, float]:
        """doc_id -> how typical the question's words are of the document's body of law:
        the mean over the question's content stems the corpus holds of
        log(P(stem | body) / P(stem | corpus)), the body's probability Dirichlet-smoothed
        with `SMOOTHING`; 0.0 for a body the table does not hold or a question without such
        stems (as likely there as anywhere)."""
        held = [w for w in title_words(question) if self.corpus.get(w)]
        by_body: dict[str, float] = {}
        out: dict[str, float] = {}
        for doc_id in doc_ids:
            body = body_of(doc_id)
            if body not in by_body:
                by_body[body] = self._ratio(held, body)
            out[doc_id] = by_body[body]
        return out

    def _ratio(self, held: list[str], body: str) -> float:
        counts = self.counts.get(body)
        if counts is None or not held:
            return 0.0
        total = self.totals[body] + SMOOTHING
        ratio = 0.0
        for w in held:
            share = self.corpus[w] / self.size
            ratio += math.log((counts.get(w, 0) + SMOOTHING * share) / total / share)
        return ratio / len(held)


def table_path(root: Path, build: str) -> Path:
    """Where an embedded build's table is kept: `<root>/tables/<build>.bodies.json`."""
    return kept_tables.table_path(root, build, "bodies")


def cached_bodies(store: VectorStore, where: Where, root: Path | None) -> BodiesOfLaw:
    """The table of `store`'s passages that match `where`, kept beside an embedded build
    (`indexing.kept_tables`; `root`: the embedded index's directory, None for a server's
    collection, counted every time)."""
    return kept_tables.kept_table(
        store,
        root,
        "bodies",
        lambda s: BodiesOfLaw.from_store(s, where),
        BodiesOfLaw.load,
        BodiesOfLaw.save,
    )
