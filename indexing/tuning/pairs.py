"""Training pairs mined from the corpus: (what a lawyer might type, the passage that answers).

Four kinds, each a query and the chunk the index holds for it (`Pair.passage` is the chunk's
text as the index embeds it, `indexing.chunking.embed_text`):

- `heading`: a section heading or subdivision caption ("Excited Utterance", "Relation Back
  of Amendments", "Works Made for Hire") and the chunk it heads, *with that heading taken
  out of the passage*: the model must connect the name with the words of the text;
- `question`: the same heading turned into a question by a seeded template ("What are the
  rules on relation back of amendments?"), and the chunk as indexed;
- `definition`: a defined term (`the term “commerce” means`, `‘profiling’ means`) and the
  chunk that defines it;
- `citation`: a sentence that cites a provision of the corpus, the citation itself removed
  ("the court may award a reasonable attorney's fee to the prevailing party as part of the
  costs"), and the cited provision's chunk at the cited pinpoint.

Each pair also carries a hard negative (`Pair.negative`, `sibling_negatives`): another
passage of the same provision, at a subdivision that neither holds nor sits inside the pair's
own. A lawyer's misses are mostly a neighbour of the governing text (Fed. R. App. P. 4(c)
before 4(a)(1)(A)); a negative from the same provision teaches the model what tells the
siblings apart, which in-batch negatives (passages of other provisions) rarely do. A pair
whose provision has no such passage gets a passage of another provision.

Headings shared by many documents ("In General", "Definitions", "Effective date") name no
doctrine and are left out: a heading is kept only if at most `GENERIC_DOCS` documents carry
it — a threshold on the corpus's own counts, not a hand list. Only versions in force on the
day given are mined (the index answers with those by default).

    >>> pairs = mine_pairs(iter_documents(corpus, ["federal_rules"]), chunker, seed=7)
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path

from indexing.chunking import Chunker, embed_text
from indexing.definitions import CLOSE_QUOTE, NOT_QUOTE, OPEN_QUOTE
from indexing.exact_citations import best_pinpoint
from indexing.model import Chunk
from indexing.text import split_sentences
from legal_corpus.citations import parse_citations
from legal_corpus.model import LegalDocument

KINDS = ("heading", "question", "definition", "citation")
# a heading carried by more documents than this names no particular provision
GENERIC_DOCS = 12
# sources whose documents are mined (the statutory sources answer; opinions only cite)
STATUTORY = ("uscode", "federal_rules", "gdpr", "aila/statutes")
RULE_FAMILY = {
    "frcp": "civil",
    "frcrmp": "criminal",
    "fre": "evidence",
    "frap": "appellate",
    "frbp": "bankruptcy",
}
QUESTION_TEMPLATES = (
    "What are the rules on {h}?",
    "What does the law say about {h}?",
    "When does {h} apply?",
    "What is required for {h}?",
    "How does {h} work?",
    "What is the rule for {h}?",
    "Where is {h} governed?",
    "Explain {h}.",
)
DEFINITION_TEMPLATES = ("{t}", "What does {t} mean?", "definition of {t}", "What counts as {t}?")
# `the term “X” means`, `‘X’ means`, `A “computer program” is a set of ...`
# (the quote marks as `indexing.definitions` reads them: the Federal Rules' ‘‘X’’ too)
_DEFINED = re.compile(
    rf"(?:^|[\s(])(?:[Tt]he terms? |[Aa]n? )?{OPEN_QUOTE}({NOT_QUOTE}{{2,60}}){CLOSE_QUOTE}"
    rf"(?:,? and {OPEN_QUOTE}{NOT_QUOTE}{{2,60}}{CLOSE_QUOTE})?\s+"
    r"(?:means|mean|includes|include|has the meaning|refers to|is|are)\b"
)
# `§ 107. `, `Rule 803. `, `Article 17 — `: the number before a heading's name
_NUMBER = re.compile(r"^(?:§+\s*[\w.\-–]+\.?\s*|Rule\s+[\w.\-]+\.\s*|Article\s+\d+\w*\s*[—-]\s*)")


@dataclass(frozen=True, slots=True)
class Pair:
    """A query and the passage (as the index embeds it) that answers it."""

    query: str
    passage: str
    kind: str
    doc_id: str
    pinpoint: str
    negative: str = ""  # a passage that does not answer it ("": none mined, pairs of old files)


def heading_name(heading: str) -> str:
    """The name in a heading: `§ 109. Limitations on exclusive rights: Effect of transfer`
    -> `Effect of transfer`; `Rule 803. Exceptions …` -> `Exceptions …`; `Article 17 — Right
    to erasure (‘right to be forgotten’)` -> `Right to erasure (‘right to be forgotten’)`."""
    name = _NUMBER.sub("", heading.strip()).strip(" .")
    if ": " in name and name.lower().startswith("limitations on exclusive rights"):
        name = name.split(": ", 1)[1]
    return name.strip(" .")


def _phrase(name: str) -> str:
    """A title-case heading as a phrase inside a sentence (acronyms kept)."""
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in name.split())


def _names_something(name: str) -> bool:
    """Whether a heading is a name at all: not a bare number (`Recital 136`, `Rule 5`), and
    two words or more, or one long word (`Interpleader`)."""
    if re.fullmatch(r"(?:Recital|Article|Rule|Section|Part|Title|Chapter)\s+[\w.\-]+", name):
        return False
    words = re.findall(r"[A-Za-z]{2,}", name)
    return len(words) >= 2 or (len(words) == 1 and len(words[0]) >= 8)


def _stripped(chunk: Chunk, heading: str) -> Chunk:
    """The chunk without `heading` in its heading path or captions."""
    return replace(
        chunk,
        heading_path=tuple(h for h in chunk.heading_path if h != heading),
        captions=tuple(c for c in chunk.captions if c != heading),
        title=chunk.title if chunk.title != heading else "",
    )


def _chunk_headings(chunk: Chunk, doc_heading: str) -> list[str]:
    """The headings that name this chunk in particular: its captions and its own (innermost)
    heading, and the document's heading for a document's first chunk."""
    own = [*chunk.captions]
    if chunk.heading_path and chunk.heading_path[-1] != doc_heading:
        own.append(chunk.heading_path[-1])
    if chunk.order == 0 and doc_heading:
        own.append(doc_heading)
    return own


def in_force(docs: Iterable[LegalDocument], day: date) -> Iterator[LegalDocument]:
    """The versions in force on `day`."""
    return (d for d in docs if d.version.in_force(day))


class _Miner:
    def __init__(self, chunker: Chunker, rng: random.Random) -> None:
        self.chunker = chunker
        self.rng = rng
        self.chunks: dict[str, list[Chunk]] = {}
        self.doc_heading: dict[str, str] = {}
        self.citing: list[tuple[str, str, str]] = []  # (doc_id, family/title hint, text)

    def add(self, doc: LegalDocument) -> None:
        if doc.source in STATUTORY:
            chunks = self.chunker.chunk(doc)
            self.chunks[doc.doc_id] = chunks
            self.doc_heading[doc.doc_id] = doc.heading_path[-1] if doc.heading_path else doc.title
        prefix = doc.doc_id.split(":", 1)[0]
        hint = RULE_FAMILY.get(prefix, "")
        if prefix == "usc":
            title = doc.doc_id.split(":", 1)[1].split("/", 1)[0]
            hint = f"usc:{title}" if title.isdigit() else ""
        for section in doc.walk():
            if section.text and any(ch.isdigit() for ch in section.text):
                self.citing.append((doc.doc_id, hint, section.text))

    def headings(self, generic_docs: int) -> tuple[list[Pair], list[Pair]]:
        named: dict[str, list[tuple[str, Chunk, str]]] = defaultdict(list)
        for doc_id, chunks in self.chunks.items():
            doc_heading = self.doc_heading[doc_id]
            seen: set[str] = set()
            for chunk in chunks:
                for heading in _chunk_headings(chunk, doc_heading):
                    name = heading_name(heading)
                    if not _names_something(name) or name.lower() in seen:
                        continue
                    seen.add(name.lower())
                    named[name.lower()].append((heading, chunk, name))
        plain: list[Pair] = []
        asked: list[Pair] = []
        for entries in named.values():
            if len({chunk.doc_id for _, chunk, _ in entries}) > generic_docs:
                continue
            for heading, chunk, name in entries:
                passage = embed_text(_stripped(chunk, heading))
                plain.append(Pair(name, passage, "heading", chunk.doc_id, chunk.pinpoint))
                template = self.rng.choice(QUESTION_TEMPLATES)
                question = template.format(h=_phrase(name))
                asked.append(
                    Pair(question, embed_text(chunk), "question", chunk.doc_id, chunk.pinpoint)
                )
        return plain, asked

    def definitions(self, generic_docs: int, per_term: int = 3) -> list[Pair]:
        found: dict[str, list[Chunk]] = defaultdict(list)
        for chunks in self.chunks.values():
            for chunk in chunks:
                for m in _DEFINED.finditer(chunk.text):
                    term = " ".join(m.group(1).split()).strip(" ,.;")
                    if len(term) < 3 or not re.search("[A-Za-z]{3}", term):
                        continue
                    key = term.lower()
                    if not found[key] or found[key][-1].chunk_id != chunk.chunk_id:
                        found[key].append(chunk)
        out: list[Pair] = []
        for key, chunks in found.items():
            if len({c.doc_id for c in chunks}) > generic_docs:
                continue
            for chunk in chunks[:per_term]:
                template = self.rng.choice(DEFINITION_TEMPLATES)
                out.append(
                    Pair(
                        template.format(t=key),
                        embed_text(chunk),
                        "definition",
                        chunk.doc_id,
                        chunk.pinpoint,
                    )
                )
        return out

    def citations(self, per_provision: int = 8) -> list[Pair]:
        by_target: dict[tuple[str, str], list[Pair]] = defaultdict(list)
        for doc_id, hint, text in self.citing:
            family = hint if hint in RULE_FAMILY.values() else None
            title = hint.split(":", 1)[1] if hint.startswith("usc:") else None
            try:
                cites = parse_citations(text, rule_family=family, usc_title=title)
            except ValueError:
                continue
            targets = [c for c in cites if c.doc_id in self.chunks and c.doc_id != doc_id]
            if not targets:
                continue
            for sentence in split_sentences(text):
                inside = [c for c in targets if c.raw and c.raw in sentence]
                if not inside:
                    continue
                query = sentence
                for c in sorted(cites, key=lambda c: -len(c.raw)):  # every citation masked
                    if c.raw:
                        query = query.replace(c.raw, " ")
                query = " ".join(query.split()).strip(" ,;:")
                if not 8 <= len(query.split()) <= 60:
                    continue
                target = inside[0]
                assert target.doc_id is not None
                held = best_pinpoint(self.chunks[target.doc_id], target.pinpoint)
                if not held:
                    continue
                chunk = held[0]
                by_target[(target.doc_id, chunk.pinpoint)].append(
                    Pair(query, embed_text(chunk), "citation", chunk.doc_id, chunk.pinpoint)
                )
        out: list[Pair] = []
        for pairs in by_target.values():
            unique = list({p.query: p for p in pairs}.values())
            self.rng.shuffle(unique)
            out.extend(unique[:per_provision])
        return out


def mine_pairs(
    docs: Iterable[LegalDocument],
    chunker: Chunker,
    seed: int = 7,
    day: date | None = None,
    limits: dict[str, int] | None = None,
    generic_docs: int = GENERIC_DOCS,
) -> list[Pair]:
    """Training pairs from the documents in force on `day` (see the module docstring).

    Args:
        docs: document versions (all sources; statutory ones answer, every one may cite).
        chunker: the index's chunker (passages are chunks as the index holds them).
        seed: picks the question templates and the kept pairs.
        day: the day whose versions are mined (default today).
        limits: most pairs kept per kind (a seeded sample above it); absent kinds unlimited.
        generic_docs: a heading or defined term carried by more documents than this is left
            out (it names no particular provision).

    Returns:
        The pairs, shuffled with `seed`.
    """
    rng = random.Random(seed)
    miner = _Miner(chunker, rng)
    for doc in in_force(docs, day or date.today()):
        miner.add(doc)
    plain, asked = miner.headings(generic_docs)
    mined = {
        "heading": plain,
        "question": asked,
        "definition": miner.definitions(generic_docs),
        "citation": miner.citations(),
    }
    out: list[Pair] = []
    for kind in KINDS:
        pairs = sorted(mined[kind], key=lambda p: (p.doc_id, p.pinpoint, p.query))
        cap = (limits or {}).get(kind)
        out.extend(balanced(pairs, cap, rng))
    rng.shuffle(out)
    return sibling_negatives(out, miner.chunks, rng)


def _overlaps(a: str, b: str) -> bool:
    """Whether one pinpoint holds the other: `(a)` and `(a)(1)` do, `(a)` and `(b)` do not."""
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


def sibling_negatives(
    pairs: Sequence[Pair], chunks: dict[str, list[Chunk]], rng: random.Random
) -> list[Pair]:
    """`pairs`, each with a hard negative: a passage of the same provision whose pinpoints
    neither hold nor sit inside the pair's pinpoint (seeded choice), else, where the provision
    has none or the pair has no pinpoint, a passage of another provision."""
    docs = sorted(d for d, held in chunks.items() if held)
    out: list[Pair] = []
    for p in pairs:
        siblings = _siblings(p, chunks.get(p.doc_id, ()))
        if siblings:
            negative = embed_text(rng.choice(siblings))
        else:
            others = [d for d in rng.sample(docs, min(len(docs), 3)) if d != p.doc_id]
            if not others:
                out.append(p)
                continue
            negative = embed_text(rng.choice(chunks[others[0]]))
        out.append(replace(p, negative=negative))
    return out


def _siblings(pair: Pair, chunks: Iterable[Chunk]) -> list[Chunk]:
    """The chunks of the pair's provision at none of the pair's subdivisions."""
    if not pair.pinpoint:
        return []
    return [
        c
        for c in chunks
        if not any(_overlaps(pair.pinpoint, x) for x in (c.pinpoints or (c.pinpoint,)))
    ]


def balanced(pairs: Sequence[Pair], cap: int | None, rng: random.Random) -> list[Pair]:
    """At most `cap` of `pairs`, shared evenly between the families of documents (US Code,
    each set of Federal Rules, GDPR, ...): a family with fewer pairs than its share keeps all
    and leaves the rest to the others, so the 26 titles of the US Code do not crowd out the
    Rules of Evidence."""
    groups: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        groups[p.doc_id.split(":", 1)[0]].append(p)
    for group in groups.values():
        rng.shuffle(group)
    if cap is None or cap >= len(pairs):
        chosen = [p for g in groups.values() for p in g]
    else:
        chosen = []
        left = cap
        for i, (_, group) in enumerate(sorted(groups.items(), key=lambda kv: len(kv[1]))):
            share = left // (len(groups) - i)
            chosen.extend(group[:share])
            left -= min(share, len(group))
    rng.shuffle(chosen)
    return chosen


def save_pairs(pairs: Sequence[Pair], path: Path) -> None:
    """One JSON object per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for p in pairs:
            fh.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
    tmp.replace(path)


def load_pairs(path: Path) -> list[Pair]:
    """Pairs written by `save_pairs`.

    Raises:
        ValueError: a line is not a pair (names the file and line).
    """
    out: list[Pair] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(Pair(**json.loads(line)))
            except (TypeError, ValueError) as err:
                raise ValueError(f"{path}, line {n}: not a training pair ({err})") from err
    return out


def counts(pairs: Iterable[Pair]) -> dict[str, int]:
    """Pairs per kind."""
    c = Counter(p.kind for p in pairs)
    return {k: c[k] for k in KINDS}
