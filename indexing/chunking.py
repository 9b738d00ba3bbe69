"""Legal-structure chunking: one chunk per citable unit, sized for the embedding window.

A document's sections (subsection, subdivision, paragraph) become chunks in document order:

- a section with text is a unit, cited by its own pinpoint;
- consecutive tiny units (below `min_tokens`) are merged while the result fits `max_tokens`;
  a merge that covers exactly one section's subtree keeps that section's pinpoint, otherwise
  the chunk is cited as a range (`(a)(1)–(a)(3)`) — or, when it starts with the document's
  own opening words, as the document (`17 U.S.C. § 107`, not `§ 107(4)`);
- a unit longer than `max_tokens` is split at sentence boundaries (at word boundaries only
  for a single over-long sentence); the parts share the pinpoint and differ by `part`;
- a chunk never spans two documents (a document is one section, rule, article or opinion);
- the text reads as the law prints it: each subdivision after its label (`(1) the purpose and
  character of the use …`; `(1)(A)` where `(1)` is only a caption), and the words that close
  a list (`Section.closing`) after the list, in a chunk of their section's (or alone, cited by
  its pinpoint) — never the end of a range of its subdivisions.

    >>> chunker = Chunker(count_tokens=lambda s: len(s.split()))
    >>> chunks = chunker.chunk(doc)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexing.model import Chunk, chunk_id
from indexing.text import pack, split_sentences, without_line_labels
from legal_corpus.model import LegalDocument, Section, pinpoint_anchor

TokenCounter = Callable[[str], int]
# Characters of headings put before a chunk's text (about 45 model tokens).
HEADING_CHARS = 180
# What `embed_text` puts in a chunk's vectors; raised when that changes, so that a build made
# by an older release can be told apart (its manifest records the format it was made with).
# 1: citation and innermost heading; 2: citation and the heading path (`heading_context`);
# 3: as 2, a list's closing words read after the list (`Section.closing`); the passage's text
# also prints each subdivision's label (`labelled`), which is left out of what is embedded.
# (Putting the subdivision captions, `Chunk.captions`, in as well was measured over the whole
# corpus and lost on the doctrine dev questions: top-5 0.864 -> 0.852; it is not done.)
CHUNK_FORMAT = 3


@dataclass(frozen=True, slots=True)
class _Unit:
    """One section's own text (or its closing words) with its place in the tree."""

    section: Section
    depth: int
    subtree_end: int  # index (exclusive) of the last unit inside this section's subtree
    tokens: int
    top: int  # which top-level section of the document the unit belongs to
    parent: int  # position of the parent section in the document walk (-1: none)
    ancestors: tuple[str, ...] = ()  # captions of the subdivisions above it, outermost first
    node: int = -1  # its own position in the document walk
    closing: bool = False  # the closing words of `parent`, after its subdivisions
    lineage: tuple[int, ...] = ()  # positions of its ancestors in the walk, nearest first


def _units(doc: LegalDocument, count: TokenCounter) -> list[_Unit]:
    # (section, depth, top, closing): a section's closing words follow its subtree as one
    # more node inside it, cited by the section's own pinpoint
    flat: list[tuple[Section, int, int, bool]] = []
    parents: list[int] = []

    def visit(section: Section, depth: int, top: int, parent: int) -> None:
        me = len(flat)
        flat.append((section, depth, top, False))
        parents.append(parent)
        for child in section.children:
            visit(child, depth + 1, top, me)
        if section.closing.strip():
            words = Section(section.pinpoint, section.citation, text=section.closing)
            flat.append((words, depth + 1, top, True))
            parents.append(me)

    for i, top_section in enumerate(doc.sections):
        visit(top_section, 0, i, -1)
    # Subtree extents over all nodes (a heading-only section still bounds its subtree),
    # then expressed in positions among the text-bearing units.
    text_before = [0]
    for section, _, _, _ in flat:
        text_before.append(text_before[-1] + (1 if section.text.strip() else 0))
    units: list[_Unit] = []
    for i, (section, depth, top, closing) in enumerate(flat):
        if not section.text.strip():
            continue
        end = i + 1
        while end < len(flat) and flat[end][1] > depth:
            end += 1
        above: list[str] = []
        lineage: list[int] = []
        up = parents[i]
        while up >= 0:
            lineage.append(up)
            if flat[up][0].pinpoint and flat[up][0].heading.strip():
                above.append(flat[up][0].heading.strip())
            up = parents[up]
        units.append(
            _Unit(
                section,
                depth,
                text_before[end],
                count(section.text),  # what is embedded: the text without its label
                top,
                parents[i],
                tuple(reversed(above)),
                i,
                closing,
                tuple(lineage),
            )
        )
    return units


# the label a subdivision is printed with: the last `(…)` of its pinpoint (`(a)(1)(A)` ->
# `(A)`; a repeated pinpoint's `[2]` left off); paragraphs (`¶ 12`) and bodies have none
_LABEL = re.compile(r"(\([^()\[\]]+\))(?:\[\d+\])?$")
_OWN = "\x00"  # `labelled`'s `within` by default: the section's own last label


def labelled(section: Section, within: str | None = _OWN) -> str:
    """A section's text as the law prints it, after its label: `(1) the purpose and
    character of the use …`.

    Args:
        section: the section.
        within: the pinpoint of the section it is printed under in the same passage; the
            label is its pinpoint below that one (`(1)(A)` under `(a)` when `(a)(1)` has
            no text of its own). Left out: its own last label. None: no label (a
            section's closing words, cited by the section they close).
    """
    text = section.text.strip()
    if within is None:
        return text
    pin = section.pinpoint
    if within != _OWN and pin.startswith(within) and pin != within:
        label = re.sub(r"\[\d+\]", "", pin[len(within) :])  # a repeat's `[2]` is no label
    else:
        found = _LABEL.search(pin)
        label = found.group(1) if found else ""
    if not label or not label.startswith("(") or text.startswith(label):
        return text
    return f"{label} {text}"


def _passage_text(members: Sequence[_Unit]) -> str:
    """The members' texts, one block each, each after its label relative to the nearest
    ancestor printed in the same passage."""
    printed = {u.node: u.section.pinpoint for u in members if not u.closing}
    lines = []
    for u in members:
        if u.closing:
            lines.append(labelled(u.section, None))
            continue
        within = next((printed[a] for a in u.lineage if a in printed), _OWN)
        lines.append(labelled(u.section, within))
    return "\n".join(lines)


def words_counter(text: str) -> int:
    """A model-free token estimate (word pieces ≈ 1.3 × words), for tests and dry runs."""
    return int(len(text.split()) * 1.3) + 1


def model_token_counter(model_dir: Path) -> TokenCounter:
    """Count word pieces with the embedding model's own fast tokenizer (no model weights).

    Args:
        model_dir: a sentence-transformers / Hugging Face model directory with tokenizer.json.

    Returns:
        A function text -> number of tokens, special tokens excluded.
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    return count


class Chunker:
    """Turns `LegalDocument`s into `Chunk`s along their legal structure.

    Args:
        count_tokens: tokens of a text in the embedding model's vocabulary.
        max_tokens: most tokens of chunk text (leave room for the citation prefix that is
            embedded with it: the model window of MiniLM is 256).
        min_tokens: a unit smaller than this is "tiny" and merged with its neighbours.
    """

    def __init__(
        self,
        count_tokens: TokenCounter = words_counter,
        max_tokens: int = 200,
        min_tokens: int = 48,
    ) -> None:
        if max_tokens < 16:
            raise ValueError("max_tokens must be at least 16")
        if not 0 <= min_tokens < max_tokens:
            raise ValueError("min_tokens must be in 0 .. max_tokens - 1")
        self.count = count_tokens
        self.max_tokens = max_tokens
        self.min_tokens = min_tokens

    def chunk(self, doc: LegalDocument) -> list[Chunk]:
        """The chunks of one document version, in document order.

        Args:
            doc: the document version.

        Returns:
            Chunks with deterministic ids, pinpoints, heading paths and the document metadata.
        """
        units = _units(doc, self.count)
        groups = self._group(units)
        chunks: list[Chunk] = []
        parts_of: dict[str, int] = {}
        for start, end in groups:
            members = units[start:end]
            pinpoint, citation, anchor = self._label(doc, units, start, end)
            text = _passage_text(members)
            tokens = sum(u.tokens for u in members)
            parts = [text] if tokens <= self.max_tokens else self._split(text)
            covered = tuple(u.section.pinpoint for u in members) if len(members) > 1 else ()
            heading = members[0].section.heading
            path = doc.heading_path or ((doc.title,) if doc.title else ())
            if heading and (not path or path[-1] != heading):
                path = (*path, heading)
            captions = _captions(members, path)
            # a section's closing words alone share its pinpoint: they are its next part
            first_part = parts_of.get(pinpoint, 0)
            parts_of[pinpoint] = first_part + len(parts)
            for part_no, part in enumerate(parts, first_part):
                chunks.append(
                    self._make(
                        doc,
                        pinpoint,
                        citation,
                        anchor,
                        path,
                        part,
                        part_no,
                        len(chunks),
                        covered,
                        captions,
                    )
                )
        return chunks

    def iter_chunks(self, docs: Iterator[LegalDocument]) -> Iterator[Chunk]:
        """Chunks of many documents, streamed."""
        for doc in docs:
            yield from self.chunk(doc)

    # -- internals ------------------------------------------------------------------------

    def _group(self, units: list[_Unit]) -> list[tuple[int, int]]:
        """Consecutive units to merge: a prefix of one section's subtree, or whole sibling
        subtrees in a row (`(b)` with `(b)(1)`…`(b)(7)`; `(e)` and `(f)`), never a tail of one
        subtree with the start of the next (`(a)(3)` with `(b)`)."""
        groups: list[tuple[int, int]] = []
        i = 0
        while i < len(units):
            start, tokens = i, units[i].tokens
            head = i  # the last group member at the first member's depth
            heads = {units[i].node}  # the nodes of the group's members at that depth
            j = i + 1
            while j < len(units):
                nxt = units[j]
                if not (tokens < self.min_tokens or nxt.tokens < self.min_tokens):
                    break
                if tokens + nxt.tokens > self.max_tokens:
                    break
                if nxt.closing and nxt.parent not in heads:
                    # closing words go with their section — the group's first section or
                    # one of the sibling sections it holds whole (`(15)`–`(18)` with
                    # (18)'s closing words) — else alone: cited by its pinpoint, never as
                    # the end of a range of its subdivisions
                    break
                inside = j < units[head].subtree_end
                sibling = (
                    nxt.depth == units[start].depth
                    and nxt.parent == units[start].parent
                    and j == units[head].subtree_end
                )
                if not (inside or sibling):
                    break
                if sibling:
                    head = j
                    heads.add(nxt.node)
                tokens += nxt.tokens
                j += 1
            groups.append((start, j))
            i = j
        return groups

    def _label(
        self, doc: LegalDocument, units: list[_Unit], start: int, end: int
    ) -> tuple[str, str, str]:
        first = units[start].section
        anchor = pinpoint_anchor(first.pinpoint)
        if end - start == 1 or units[start].subtree_end == end:
            return first.pinpoint, first.citation or doc.citation, anchor
        heads = [u for u in units[start:end] if u.depth == units[start].depth]
        last = (heads[-1] if heads[-1].subtree_end == end else units[end - 1]).section
        if not first.pinpoint:
            # a document's opening words and its first subdivisions: the document itself
            return "", doc.citation, anchor
        pin = f"{first.pinpoint}–{last.pinpoint}"
        citation = f"{doc.citation}{pin}"
        if first.citation and first.pinpoint and first.citation.endswith(first.pinpoint):
            citation = f"{first.citation}–{last.pinpoint}"
        return pin, citation, anchor

    def _split(self, text: str) -> list[str]:
        pieces: list[str] = []
        for sentence in split_sentences(text.replace("\n", " \n ")):
            if self.count(sentence) <= self.max_tokens:
                pieces.append(sentence)
            else:
                pieces.extend(self._split_words(sentence))
        counted = [(piece, self.count(piece)) for piece in pieces]
        groups = pack(counted, lambda group, p: sum(n for _, n in group) + p[1] <= self.max_tokens)
        parts = [" ".join(piece for piece, _ in group) for group in groups]
        return [re.sub(r"[ \t]*\n[ \t]*", "\n", p).strip() for p in parts]

    def _split_words(self, sentence: str) -> list[str]:
        groups = pack(
            sentence.split(), lambda group, w: self.count(" ".join([*group, w])) <= self.max_tokens
        )
        return [" ".join(group) for group in groups]

    @staticmethod
    def _make(
        doc: LegalDocument,
        pinpoint: str,
        citation: str,
        anchor: str,
        path: tuple[str, ...],
        text: str,
        part: int,
        order: int,
        covered: tuple[str, ...] = (),
        captions: tuple[str, ...] = (),
    ) -> Chunk:
        v = doc.version
        return Chunk(
            chunk_id=chunk_id(doc.doc_id, v.label, pinpoint, part),
            doc_id=doc.doc_id,
            version=v.label,
            citation=citation,
            doc_citation=doc.citation,
            pinpoint=pinpoint,
            anchor=anchor,
            heading_path=path,
            text=text,
            order=order,
            source=doc.source,
            kind=str(doc.kind),
            jurisdiction=doc.jurisdiction,
            title=doc.title,
            court=doc.court,
            valid_from=v.valid_from,
            valid_to=v.valid_to,
            content_hash=doc.content_hash,
            decision_date=doc.decision_date,
            pinpoints=covered,
            captions=captions,
        )


def _captions(members: Sequence[_Unit], path: tuple[str, ...]) -> tuple[str, ...]:
    """The captions of the subdivisions a chunk sits in (its first member's ancestors) and of
    the ones it holds, in document order, without those its heading path already shows.

    A rule's subdivisions are named by their captions ("Excited Utterance", "Trial
    Preparation: Materials"), and those names are the words lawyers search with; a chunk that
    merges small subdivisions, or one deep inside a captioned subdivision, would otherwise
    carry none of them.
    """
    shown = set(path)
    out: list[str] = []
    for i, u in enumerate(members):
        names = [*u.ancestors, u.section.heading.strip()] if i == 0 else [u.section.heading]
        for name in names:
            name = name.strip()
            if name and name not in shown:
                shown.add(name)
                out.append(name)
    return tuple(out)


def embed_text(chunk: Chunk) -> str:
    """What is embedded (and weighted for the sparse vector) for a chunk: its citation, the
    headings it sits under, then its text without the subdivision labels its lines begin
    with (`without_line_labels`: printed for the reader; embedded, they cost the doctrine
    dev questions' MAP and the lawyers' questions' — README, "Chunks").

    The headings say what a provision is about when its own words do not: `17 U.S.C. § 507`
    reads "no civil action shall be maintained under the provisions of this title" and never
    says "copyright"; its title and chapter (`COPYRIGHTS`, `COPYRIGHT INFRINGEMENT AND
    REMEDIES`) do. See `heading_context` for which headings fit.
    """
    head = heading_context(chunk.heading_path or ((chunk.title,) if chunk.title else ()))
    prefix = f"{chunk.citation}. {head}".strip(". ") if head else chunk.citation
    text = without_line_labels(chunk.text)
    return f"{prefix}\n{text}" if prefix else text


def heading_context(path: Sequence[str], max_chars: int = HEADING_CHARS) -> str:
    """The headings of `path` that fit in `max_chars`, outermost first, joined by ` › `.

    The innermost heading (the chunk's own) comes first in priority, then its section's, then
    the outermost (the code or title: `Title 17 — COPYRIGHTS`), then the levels between from
    the inside out; what does not fit is left out, so the chunk text keeps its room in the
    embedding model's window (`Chunker.max_tokens` leaves about 56 of 256 tokens for this
    prefix and the citation).
    """
    n = len(path)
    words = [h.strip() for h in path]
    priority = [n - 1, n - 2, 0, *range(n - 3, 0, -1)]
    kept: set[int] = set()
    used = 0
    for i in priority:
        if not 0 <= i < n or i in kept or not words[i] or _repeats(words, i):
            continue
        cost = len(words[i]) + (3 if kept else 0)
        if used + cost > max_chars:
            continue
        kept.add(i)
        used += cost
    return " › ".join(words[i] for i in sorted(kept))


def _repeats(headings: list[str], i: int) -> bool:
    """Whether heading `i` only repeats another (`§ 113. Responsible source` › `Responsible
    source`)."""
    low = headings[i].lower()
    return any(j != i and low in h.lower() and low != h.lower() for j, h in enumerate(headings))
