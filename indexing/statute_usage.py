"""Which judgments apply which statutes: statute representations learned from the courts.

A statute's own words are a poor match for a client's facts: "Whoever commits murder shall
be punished with death, or imprisonment for life" shares nothing with a story about a
quarrel over land that ended with a blow. The judgments of the corpus that applied the
provision do share those words. So a fact pattern is matched against the judgments, and the
statutes those judgments applied are what it asks for (`indexing.fact_patterns`). This
module finds, once per build, which judgments apply which statutes.

A judgment applies a statute when it **quotes** it (at least `QUOTE_SHINGLES` of the
statute's distinctive 8-word runs appear in the judgment) or **refers** to it
(`Section 302 IPC`, `Art. 226 of the Constitution`, `u/s. 498A I.P.C.`). A reference names
a number and an act, never the statute document, and AILA's statutes carry neither (only a
title and the text), so each reference key (`section 302 ipc`) is matched to at most one
statute from three kinds of evidence, all read from the corpus:

- the keys a judgment mentions just before it quotes the statute (`QUOTE_BEFORE` chars);
- the statute's title phrase ("murder" for "Punishment for murder") within `PHRASE_NEAR`
  characters of a mention of the key ("convicted of murder under Section 302 IPC");
- how well the statute's text matches, in BM25 terms, the sentences around the key's
  mentions across the corpus (`context_rank`: 1 / its rank among the top `CONTEXT_TOP`).

Score = ln(1 + quotes) + ln(1 + phrases) / 2 + context; pairs are taken greedily, best
first, each key and each statute once, if the score reaches `MIN_SCORE`. Keys cited by
fewer than `MIN_JUDGMENTS` judgments are not matched (too little context to tell). Only
statutes and judgments of one jurisdiction are linked.

Measured on the AILA corpus (2,914 judgments, 197 statutes; eval/README.md, "Fact
patterns"): 171 statutes linked to 2,684 judgments; 124 of the 132 relevant (query,
statute) pairs of the 30 dev queries are linked statutes.

    >>> usage = StatuteUsage.mine(statutes, judgments)
    >>> usage.statutes_of("aila:C1550")      # frozenset({"aila:S2", "aila:S6"})
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from indexing.sparse import tokenize
from indexing.store import VectorStore

QUOTE_SHINGLES = 3
SHINGLE = 8
QUOTE_BEFORE = 400
PHRASE_NEAR = 150
CONTEXT_CHARS = 300
CONTEXT_MENTIONS = 300
CONTEXT_TOP = 10
MIN_JUDGMENTS = 3
MIN_SCORE = 1.0

RefKey = tuple[str, str, str]  # ("section", "302", "ipc")

_WORD = re.compile(r"[a-z0-9]+")
_NUM = r"(\d+[A-Z]?)(?:\s*\(\w{1,4}\))*"
_REF = re.compile(
    r"\b(Sections?|Secs?\.|Ss?\.|u/ss?\.?|Articles?|Arts?\.)\s*"
    + _NUM
    + r"((?:\s*(?:,|/|and|&|read with|r/w)\s*"
    + _NUM
    + r")*)"
)
_ACT = re.compile(
    r"\s*(?:of\s+(?:the\s+)?)?((?:[A-Z][A-Za-z]*\.?\s?){1,6}(?:Act|Code|Constitution|Rules|Order)?)"
)
_NOT_AN_ACT = frozenset({"the", "this", "that", "said", "act", "code"})
_TITLE_LEAD = re.compile(r"^(?:punishment|penalty)\s+(?:for|of)\s+")


def _act_key(name: str) -> str | None:
    """A short key for an act as a judgment names it: `IPC`, `I.P.C.` and `Indian Penal
    Code` all give `ipc`; `Constitution` gives `const`; None for "the Act" and the like."""
    words = name.split()
    if not words:
        return None
    if words[0].startswith("Constitution"):
        return "const"
    first = words[0].replace(".", "")
    if len(words) == 1 or (len(first) <= 4 and first.isupper()):
        key = first.lower()
        return None if key in _NOT_AN_ACT else key
    initials = "".join(w[0].lower() for w in words if w[0].isupper() and w.lower() != "of")
    return initials or None


def references(text: str) -> Iterator[tuple[RefKey, int]]:
    """The statute references of a judgment: `(key, offset)` for each number referred to.

    `Sections 147, 148 and 149 IPC` gives three keys; an article with no act named is an
    article of the Constitution; a section of an unnamed act ("Section 3 of the Act") is
    skipped, since it cannot be told apart from the third section of any other act.
    """
    for m in _REF.finditer(text):
        kind = "article" if m.group(1).lower().startswith("art") else "section"
        numbers = [m.group(2), *re.findall(r"(\d+[A-Z]?)", m.group(3) or "")]
        act_match = _ACT.match(text, m.end())
        act = _act_key(act_match.group(1)) if act_match else None
        if act is None and kind == "article":
            act = "const"
        if act is None:
            continue
        for number in numbers:
            yield (kind, number, act), m.start()


def _shingle_hashes(words: list[str], vocab: dict[str, int]) -> np.ndarray:
    """A 64-bit hash of every run of `SHINGLE` words (position i: words i … i+7)."""
    n = len(words) - SHINGLE + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), np.uint64, len(words))
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(SHINGLE):
            h = h * np.uint64(1_000_003) + ids[k : k + n] + np.uint64(1)
    return h


def title_phrase(title: str) -> str:
    """What a court calls the provision: its title less "Punishment for" and the like."""
    return _TITLE_LEAD.sub("", title.lower()).strip(" .")


@dataclass(frozen=True, slots=True)
class Statute:
    """A statute as the mining sees it: its id, title and text."""

    doc_id: str
    title: str
    text: str


class _Bm25:
    """BM25 over a few hundred pooled contexts, with the product's tokenizer."""

    def __init__(self, docs: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.tfs = [Counter(tokenize(d)) for d in docs]
        self.lens = [sum(tf.values()) for tf in self.tfs]
        self.avg = (sum(self.lens) / len(self.lens)) if self.lens else 1.0
        df: Counter[str] = Counter(t for tf in self.tfs for t in tf)
        n = len(docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.k1, self.b = k1, b

    def scores(self, query: str) -> list[float]:
        terms = [t for t in set(tokenize(query)) if t in self.idf]
        out = []
        for tf, n in zip(self.tfs, self.lens, strict=True):
            norm = self.k1 * (1 - self.b + self.b * n / self.avg)
            out.append(
                sum(self.idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in terms if t in tf)
            )
        return out


class StatuteUsage:
    """Links between judgments and the statutes they apply (see the module docstring).

    Args:
        links: judgment id -> the statute ids it applies.
        keys: statute id -> the reference key matched to it (statutes linked by quotes only
            have none).
    """

    def __init__(
        self, links: Mapping[str, Iterable[str]], keys: Mapping[str, RefKey] | None = None
    ) -> None:
        self.links: dict[str, frozenset[str]] = {
            j: frozenset(s) for j, s in sorted(links.items()) if s
        }
        self.keys: dict[str, RefKey] = dict(keys or {})
        self._applied_by: Counter[str] = Counter(s for ss in self.links.values() for s in ss)

    def statutes_of(self, judgment: str) -> frozenset[str]:
        """The statutes `judgment` applies (empty when none is known)."""
        return self.links.get(judgment, frozenset())

    def applied_by(self, statute: str) -> int:
        """How many judgments apply `statute`."""
        return self._applied_by.get(statute, 0)

    @classmethod
    def mine(
        cls, statutes: Iterable[Statute], judgments: Iterable[tuple[str, str]]
    ) -> StatuteUsage:
        """Find which judgments apply which statutes.

        Args:
            statutes: the statutes (one jurisdiction).
            judgments: `(doc_id, full text)` of the judgments of the same jurisdiction.

        Returns:
            The links.
        """
        stats = {s.doc_id: s for s in sorted(statutes, key=lambda s: s.doc_id)}
        texts = dict(sorted(judgments))
        if not stats or not texts:
            return cls({})
        quotes, quote_keys, mentions = _quotes_and_mentions(stats, texts)
        keys = _match_keys(stats, texts, quote_keys, mentions)
        links: dict[str, set[str]] = defaultdict(set)
        for statute, quoting in quotes.items():
            for judgment in quoting:
                links[judgment].add(statute)
        for statute, key in keys.items():
            for judgment, _ in mentions.get(key, ()):
                links[judgment].add(statute)
        return cls(links, keys)


def _quotes_and_mentions(
    stats: Mapping[str, Statute], texts: Mapping[str, str]
) -> tuple[
    dict[str, set[str]],
    dict[str, Counter[RefKey]],
    dict[RefKey, list[tuple[str, int]]],
]:
    """Which judgments quote each statute, the keys mentioned just before each quote, and
    every mention of every key (judgment, offset)."""
    vocab: dict[str, int] = {}
    owners: dict[int, set[str]] = defaultdict(set)
    for sid, statute in stats.items():
        for h in _shingle_hashes(_WORD.findall(statute.text.lower()), vocab).tolist():
            owners[h].add(sid)
    # a run of words several statutes share ("shall be punished with imprisonment of either
    # description for a term") tells them apart from nothing
    distinctive = {h: sorted(ss) for h, ss in owners.items() if len(ss) <= 2}
    known = np.array(sorted(distinctive), dtype=np.uint64)
    quotes: dict[str, set[str]] = defaultdict(set)
    quote_keys: dict[str, Counter[RefKey]] = defaultdict(Counter)
    mentions: dict[RefKey, list[tuple[str, int]]] = defaultdict(list)
    for jid, text in texts.items():
        refs = list(references(text))
        for key, offset in refs:
            mentions[key].append((jid, offset))
        lower = text.lower()
        hashes = _shingle_hashes(_WORD.findall(lower), vocab)
        slot = np.minimum(np.searchsorted(known, hashes), max(len(known) - 1, 0))
        where = np.flatnonzero(known[slot] == hashes) if len(known) else slot[:0]
        if len(where) < QUOTE_SHINGLES:
            continue
        hits: Counter[str] = Counter()
        first: dict[str, int] = {}
        for i in where.tolist():
            for sid in distinctive[int(hashes[i])]:
                hits[sid] += 1
                first.setdefault(sid, i)
        quoted = [sid for sid, n in hits.items() if n >= QUOTE_SHINGLES]
        if not quoted:
            continue
        starts = [m.start() for m in _WORD.finditer(lower)]
        for sid in quoted:
            quotes[sid].add(jid)
            start = starts[first[sid]]
            quote_keys[sid].update({k for k, o in refs if start - QUOTE_BEFORE <= o < start})
    return quotes, quote_keys, mentions


def _match_keys(
    stats: Mapping[str, Statute],
    texts: Mapping[str, str],
    quote_keys: Mapping[str, Counter[RefKey]],
    mentions: Mapping[RefKey, list[tuple[str, int]]],
) -> dict[str, RefKey]:
    """Each statute's reference key, from quotes, title phrases and contexts."""
    cited = {k: ms for k, ms in mentions.items() if len({j for j, _ in ms}) >= MIN_JUDGMENTS}
    keys = sorted(cited)
    if not keys:
        return {}
    windows = _Windows({j: t.lower() for j, t in texts.items()}, cited)
    contexts = []
    for key in keys:
        spans = [
            texts[j][max(0, o - CONTEXT_CHARS) : o + CONTEXT_CHARS]
            for j, o in cited[key][:CONTEXT_MENTIONS]
        ]
        contexts.append(" ".join(spans))
    bm25 = _Bm25(contexts)
    score: dict[tuple[str, RefKey], float] = defaultdict(float)
    for sid, statute in stats.items():
        ranked = sorted(
            zip(bm25.scores(f"{statute.title} {statute.text}"), keys, strict=True),
            key=lambda sk: (-sk[0], sk[1]),
        )
        for rank, (s, key) in enumerate(ranked[:CONTEXT_TOP], start=1):
            if s > 0:
                score[sid, key] += 1.0 / rank
        for key, n in quote_keys.get(sid, Counter()).items():
            if key in cited:
                score[sid, key] += math.log1p(n)
        for key, n in windows.counts(title_phrase(statute.title)).items():
            score[sid, key] += math.log1p(n) / 2
    matched: dict[str, RefKey] = {}
    taken: set[RefKey] = set()
    for (sid, key), s in sorted(score.items(), key=lambda kv: (-kv[1], kv[0])):
        if s < MIN_SCORE:
            break
        if sid in matched or key in taken:
            continue
        matched[sid] = key
        taken.add(key)
    return matched


class _Windows:
    """The text around every mention of every key, pooled into one string, so a title
    phrase is looked for in one scan rather than one per judgment."""

    def __init__(self, lower: Mapping[str, str], mentions: Mapping[RefKey, list[tuple[str, int]]]):
        parts: list[str] = []
        self.starts: list[int] = []
        self.owner: list[tuple[RefKey, str]] = []
        at = 0
        for key in sorted(mentions):
            for j, o in mentions[key]:
                window = lower[j][max(0, o - PHRASE_NEAR) : o + PHRASE_NEAR]
                parts.append(window)
                self.starts.append(at)
                self.owner.append((key, j))
                at += len(window) + 1
        self.text = "\n".join(parts)

    def counts(self, phrase: str) -> Counter[RefKey]:
        """For each key, the judgments with `phrase` within `PHRASE_NEAR` chars of a mention."""
        found: set[tuple[RefKey, str]] = set()
        if len(phrase) >= 4:
            at = self.text.find(phrase)
            while at >= 0:
                found.add(self.owner[bisect_right(self.starts, at) - 1])
                at = self.text.find(phrase, at + 1)
        return Counter(key for key, _ in found)


def statute_usage(store: VectorStore) -> StatuteUsage:
    """Which opinions of a build apply which of its statutes (per jurisdiction).

    Statutes and opinions are put back together from their chunks (`documents_of`); each
    jurisdiction's opinions are matched against its own statutes only.
    """
    from indexing.authority import documents_of

    statutes_meta, statute_texts = documents_of(store, "statute")
    opinions_meta, opinion_texts = documents_of(store, "opinion")
    links: dict[str, set[str]] = defaultdict(set)
    keys: dict[str, RefKey] = {}
    for place in sorted({str(p.get("jurisdiction") or "") for p in statutes_meta.values()}):
        statutes = [
            Statute(d, str(statutes_meta[d].get("title") or ""), text)
            for d, text in statute_texts
            if str(statutes_meta[d].get("jurisdiction") or "") == place
        ]
        judgments = [
            (d, text)
            for d, text in opinion_texts
            if str(opinions_meta[d].get("jurisdiction") or "") == place
        ]
        mined = StatuteUsage.mine(statutes, judgments)
        for judgment, applied in mined.links.items():
            links[judgment].update(applied)
        keys.update(mined.keys)
    return StatuteUsage(links, keys)
