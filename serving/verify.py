"""Citation verification: nothing unverified is presented as verified.

Four checks over an answer in `serving.answer_format`:

1. every `[n]` names a source that was given (else `not_in_sources`);
2. every quoted span appears verbatim, modulo whitespace, in the source it is attributed to
   (else `misquoted`);
3. an `[n]` written right after a legal citation (`17 U.S.C. § 302(b) [4]`), or opening a
   sentence right before one (`[4] 17 U.S.C. § 302(b) governs`), points at a source that is
   that document, at a compatible pinpoint (else `misattributed`: the reader who follows [4]
   would read another provision than the one named); and a quote read under a citation at a
   pinpoint ("Fed. R. Civ. P. 60(a) [1] … “mistake, inadvertence, surprise” [1]") is in that
   subdivision's words, not another's of the same passage (else `misattributed` too:
   `serving.subdivisions`);
4. every legal citation written in the text (U.S.C., Federal Rules, GDPR, case reporters — parsed
   by `legal_corpus.citations`) is resolved: `verified` (a given source is that document, at a
   compatible pinpoint), `in_corpus` (the index holds it, but it was not given), `unknown`.

Sentences with no verified `[n]` are counted as unsupported claims.

    >>> verifier = Verifier(retriever, parse_citations)
    >>> report = verifier.verify(answer_raw, passages)
    >>> report.citations[0].status
    'verified'
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from indexing.exact_citations import fold_pinpoint, is_label_chain, pinpoint_in_document
from indexing.model import Chunk, Passage, SearchFilters
from legal_corpus.model import Citation, CitationKind
from serving import answer_format as fmt
from serving.index_protocol import RetrieverLike
from serving.subdivisions import words_at

log = logging.getLogger(__name__)

CitationParser = Callable[[str], Sequence[Citation]]


@dataclass(frozen=True, slots=True)
class CheckedCitation:
    """One citation of the answer and its verification status.

    Args:
        n: the source number it points at (None when it points at no given source).
        kind: `source` (an `[n]` marker) or `legal` (a citation written in the text).
        doc_id: the document it names, when known.
        citation: the canonical citation with pinpoint.
        pinpoint: the pinpoint inside the document.
        anchor: the section anchor in the document view, when it points at a given source.
        quotes: the quoted words attributed to it (verbatim as the answer has them).
        status: `verified`, `misquoted`, `misattributed`, `not_in_sources` (markers);
            `verified`, `in_corpus`, `unknown` (legal citations).
        text: the marker or citation as written.
        start: offset in the raw answer.
        message: why it is not verified.
    """

    n: int | None
    kind: str
    doc_id: str | None
    citation: str
    pinpoint: str
    anchor: str | None
    quotes: tuple[str, ...]
    status: str
    text: str
    start: int
    message: str = ""

    @property
    def quote(self) -> str | None:
        """The first quote attributed to this citation, if any."""
        return self.quotes[0] if self.quotes else None


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """All checked citations of an answer and the sentences no valid citation supports."""

    citations: tuple[CheckedCitation, ...]
    unsupported: tuple[str, ...] = field(default_factory=tuple)

    @property
    def by_status(self) -> dict[str, int]:
        """Count of citations per status."""
        return dict(Counter(c.status for c in self.citations))

    @property
    def all_verified(self) -> bool:
        """True when every citation is verified and every claim is supported."""
        return not self.unsupported and all(c.status == "verified" for c in self.citations)


def pinpoints_compatible(cited: str, given: str) -> bool:
    """True when a cited pinpoint and a passage's pinpoint name nested parts of one document.

    `(a)` and `(a)(1)` are compatible either way (one contains the other); an empty pinpoint
    (the whole document) is compatible with everything.
    """
    a, b = fold_pinpoint(cited), fold_pinpoint(given)
    return not a or not b or a.startswith(b) or b.startswith(a)


def holds(chunk: Chunk, doc_id: str, pinpoint: str) -> bool:
    """True when `chunk` is of `doc_id` at a pinpoint compatible with `pinpoint`: its own, or
    one of those whose text it holds (a merged passage, `(a)(1)(C)–(a)(1)(C)(ii)`, holds
    `(a)(1)(C)(i)`)."""
    return chunk.doc_id == doc_id and any(
        pinpoints_compatible(pinpoint, given) for given in (chunk.pinpoint, *chunk.pinpoints)
    )


def _named(passages: Sequence[Passage]) -> list[str]:
    """How an answer names the sources given, where a full stop is part of the name: their
    citations and titles (case names), which no sentence ends inside
    (`answer_format.sentences`)."""
    names = (t for p in passages for t in (p.chunk.citation, p.chunk.doc_citation, p.chunk.title))
    return [t for t in names if len(t) > 3 and "." in t]


def _names(cit: Citation, doc_citation: str) -> bool:
    """True when `cit`, as written or in its canonical form, is in `doc_citation`, in whole
    words (`Pub. L. 95-452, § 5` in `Pub. L. 95-452, § 5 (5 U.S.C. App.)`, a reporter
    citation in an opinion's `Name, 444 N.J. Super. 423`)."""
    have = _norm_cite(doc_citation)
    for form in (cit.canonical, cit.raw):
        want = _norm_cite(form)
        if len(want) >= 6 and re.search(r"(?<![\w-])" + re.escape(want) + r"(?![\w-])", have):
            return True
    return False


# what may stand between a legal citation and the `[n]` that names its source: "§ 302(b) [4]",
# "(17 U.S.C. § 302(b)) [4]", "§ 302(b), [4]"; and between the markers of one run, "[1][4]"
_BEFORE_MARKER = re.compile(r"[\s),]*")
# what may stand between a run of markers that opens a sentence and the citation it introduces:
# "[4] 17 U.S.C. § 302(b) governs", "[4]: 17 U.S.C. …", "[4] (17 U.S.C. § 302(b))"
_AFTER_MARKER = re.compile(r"[\s:(]*")
# what a run of markers that opens a sentence follows: nothing, a line break (a list's bullet
# too), or the end of a sentence or clause
_OPENS = re.compile(r"(?:\A|\n[ \t]*(?:[-*•])?|[.!?;:][\s\"'”’)]*)\Z")


def _run_after(answer: str, at: int, starts: Sequence[int], lengths: dict[int, int]) -> list[int]:
    """The starts of the markers written right after offset `at`, one run ("[1][4]")."""
    run: list[int] = []
    for start in starts:
        if start < at:
            continue
        if not _BEFORE_MARKER.fullmatch(answer[at:start]):
            break
        run.append(start)
        at = start + lengths[start]
    return run


def _run_before(answer: str, at: int, starts: Sequence[int], lengths: dict[int, int]) -> list[int]:
    """The starts of the run of markers that opens a sentence or a line and is followed by
    offset `at` ("[4] 17 U.S.C. § 302(b) governs"); none when the run follows words of its
    sentence ("… held [4] 17 U.S.C. …" says nothing certain about which source is which)."""
    run: list[int] = []
    gap = _AFTER_MARKER
    for start in reversed(starts):
        end = start + lengths[start]
        if end > at:
            continue
        if not gap.fullmatch(answer[end:at]):
            break
        run.insert(0, start)
        at, gap = start, _BEFORE_MARKER
    if run and not _OPENS.search(answer[: run[0]].rstrip(" \t")):
        return []
    return run


def _named_sources(
    answer: str, markers: Sequence[CheckedCitation], cit: CheckedCitation
) -> tuple[list[int], list[int]]:
    """The markers (indices into `markers`) a legal citation is written with: the run right
    after it ("17 U.S.C. § 302(b) [4]"), and the run that opens its sentence or line right
    before it ("[4] 17 U.S.C. § 302(b) governs"); `[n]` markers only (not the entries of
    quotes written with none)."""
    by_start = {m.start: i for i, m in enumerate(markers) if fmt.CITE_PATTERN.fullmatch(m.text)}
    lengths = {start: len(markers[i].text) for start, i in by_start.items()}
    ordered = sorted(by_start)
    after = _run_after(answer, cit.start + len(cit.text), ordered, lengths)
    before = _run_before(answer, cit.start, ordered, lengths)
    return [by_start[s] for s in after], [by_start[s] for s in before]


def _misattributed(
    answer: str,
    passages: Sequence[Passage],
    markers: list[CheckedCitation],
    legal: Sequence[CheckedCitation],
) -> list[CheckedCitation]:
    """`markers`, those that name a legal citation whose document none of them is (at a
    compatible pinpoint) marked `misattributed`. A marker names the citation it is written
    right after ("17 U.S.C. § 302(b) [4]" where source 4 is § 1201), or the citation right
    after it when it opens a sentence or a line ("[4] 17 U.S.C. § 302(b) governs"). A run of
    markers ("§ 107 [1][3]") holds the citation when one of its sources does; a citation the
    parser maps to no document id (a reporter citation) is not judged; a marker already
    `misquoted` or `not_in_sources` keeps that status."""
    out = list(markers)
    for cit in legal:
        if cit.doc_id is None:
            continue
        for idx in _named_sources(answer, out, cit):
            chunks = [
                passages[n - 1].chunk for i in idx if (n := out[i].n) and 1 <= n <= len(passages)
            ]
            if not chunks or any(holds(c, cit.doc_id, cit.pinpoint) for c in chunks):
                continue
            for i in idx:
                m = out[i]
                if m.status == "verified" and m.n is not None:  # a misquote stays one
                    named = passages[m.n - 1].chunk.citation
                    out[i] = replace(
                        m,
                        status="misattributed",
                        message=f"[{m.n}] is {named}, not {cit.citation}",
                    )
    return out


def _quoted_elsewhere(
    answer: str,
    passages: Sequence[Passage],
    markers: list[CheckedCitation],
    legal: Sequence[CheckedCitation],
) -> list[CheckedCitation]:
    """`markers`, those whose quotes lie outside the subdivision they are cited at marked
    `misattributed`.

    A source's quote is read under the last legal citation written before it with that
    source's marker: "Fed. R. Civ. P. 60(a) [1] governs … It provides: “mistake,
    inadvertence, surprise” [1]." cites (a) for words of (b)(1), which source 1 (60(a)–(b)(4))
    holds. The words a pinpoint may be quoted for are its own, those of the subdivisions under
    it, and the lead-in of those above it (`subdivisions.words_at`); a passage whose lines do
    not show its subdivisions, a citation without a pinpoint or at one the passage has no line
    of, is not judged.
    """
    # (start, source number, citation) for every legal citation written with a source's marker
    named: list[tuple[int, int, CheckedCitation]] = []
    for cit in legal:
        if cit.doc_id is None:
            continue
        for idx in _named_sources(answer, markers, cit):
            for i in idx:
                n = markers[i].n
                if (
                    n
                    and 1 <= n <= len(passages)
                    and holds(passages[n - 1].chunk, cit.doc_id, cit.pinpoint)
                ):
                    named.append((cit.start, n, cit))
    named.sort(key=lambda item: item[0])
    out = list(markers)
    for i, m in enumerate(markers):
        if m.status != "verified" or m.n is None or not m.quotes or m.kind != "source":
            continue
        under = [cit for start, n, cit in named if n == m.n and start < m.start]
        if not under or not is_label_chain(under[-1].pinpoint):
            continue
        cit, chunk = under[-1], passages[m.n - 1].chunk
        allowed = words_at(chunk, cit.pinpoint)
        if allowed is None:
            continue
        bad = [q for q in m.quotes if not fmt.quoted_in(q, allowed)]
        if bad:
            out[i] = replace(
                m,
                status="misattributed",
                message=f"not in {cit.citation} (source [{m.n}] is {chunk.citation}): {bad[0]!r}",
            )
    return out


def _norm_cite(text: str) -> str:
    return re.sub(r"[\s.,§]+", " ", text).strip().lower()


class Verifier:
    """Checks the citations of answers against the sources given and the index.

    Args:
        retriever: answers `exists` / `lookup` / `search` for citations outside the sources.
        parse_citations: finds legal citations in text (`legal_corpus.citations`).
    """

    def __init__(self, retriever: RetrieverLike, parse_citations: CitationParser) -> None:
        self.retriever = retriever
        self.parse_citations = parse_citations

    def verify(self, answer: str, passages: Sequence[Passage]) -> VerificationReport:
        """Check `answer` (raw format) against `passages` (source n = passages[n-1]).

        Args:
            answer: the answer with `[n]` markers and quote markers.
            passages: the sources given to the generator, in prompt order.

        Returns:
            The checked citations, in text order, and the unsupported sentences.
        """
        spans = fmt.sentences(answer, _named(passages))
        marks = fmt.markers(answer)
        legal = self._check_legal(answer, passages)
        checked = self._check_markers(answer, passages, spans, marks)
        checked = _misattributed(answer, passages, checked, legal)
        checked = _quoted_elsewhere(answer, passages, checked, legal)
        checked += legal
        checked.sort(key=lambda c: c.start)
        verified_marker_at = {
            c.start for c in checked if c.kind == "source" and c.status == "verified"
        }
        unsupported = []
        for start, end in spans:
            sentence = answer[start:end]
            words = fmt.CITE_PATTERN.sub(" ", sentence).split()
            if len(words) < 3:
                continue
            if not any(start <= m.start < end and m.start in verified_marker_at for m in marks):
                unsupported.append(fmt.normalize_ws(fmt.render(sentence)))
        return VerificationReport(tuple(checked), tuple(unsupported))

    def _check_markers(
        self,
        answer: str,
        passages: Sequence[Passage],
        spans: Sequence[tuple[int, int]],
        marks: Sequence[fmt.Marker],
    ) -> list[CheckedCitation]:
        """The `[n]` markers and quotes of `answer` checked (`spans`: its sentences, `marks`:
        its markers, as `verify` found them)."""
        attributed: dict[int, list[str]] = {}  # marker start -> quotes
        unattributed: list[fmt.Quote] = []
        for q in fmt.quotes(answer):
            sent = next(((a, b) for a, b in spans if a <= q.start < b), (0, len(answer)))
            after = [m for m in marks if q.end <= m.start < sent[1]]
            before = [m for m in marks if sent[0] <= m.start < q.start]
            target = after[0] if after else (before[-1] if before else None)
            if target is None:
                unattributed.append(q)
            else:
                attributed.setdefault(target.start, []).append(q.text)

        out: list[CheckedCitation] = []
        for m in marks:
            quoted = attributed.get(m.start, [])
            if not 1 <= m.n <= len(passages):
                out.append(
                    CheckedCitation(
                        n=m.n, kind="source", doc_id=None, citation="", pinpoint="", anchor=None,
                        quotes=tuple(quoted), status="not_in_sources",
                        text=answer[m.start : m.end], start=m.start,
                        message=f"source [{m.n}] was not given ({len(passages)} sources)",
                    )
                )  # fmt: skip
                continue
            chunk = passages[m.n - 1].chunk
            bad = [q for q in quoted if not fmt.quoted_in(q, chunk.text)]
            out.append(
                CheckedCitation(
                    n=m.n, kind="source", doc_id=chunk.doc_id, citation=chunk.citation,
                    pinpoint=chunk.pinpoint, anchor=chunk.anchor,
                    quotes=tuple(quoted),
                    status="misquoted" if bad else "verified",
                    text=answer[m.start : m.end], start=m.start,
                    message=f"not verbatim in source [{m.n}]: {bad[0]!r}" if bad else "",
                )
            )  # fmt: skip
        for q in unattributed:
            found = [
                i for i, p in enumerate(passages, 1)
                if fmt.quoted_in(q.text, p.chunk.text)
            ]  # fmt: skip
            hit = passages[found[0] - 1].chunk if found else None
            out.append(
                CheckedCitation(
                    n=found[0] if found else None, kind="source",
                    doc_id=hit.doc_id if hit else None,
                    citation=hit.citation if hit else "",
                    pinpoint=hit.pinpoint if hit else "",
                    anchor=hit.anchor if hit else None,
                    quotes=(q.text,), status="verified" if found else "misquoted",
                    text=fmt.quote(q.text), start=q.start,
                    message="" if found else "quote with no [n] found in no source",
                )
            )  # fmt: skip
        return out

    def _check_legal(self, answer: str, passages: Sequence[Passage]) -> list[CheckedCitation]:
        # Citations inside quotes are the source's own words (checked verbatim above).
        quoted = [(q.start, q.end) for q in fmt.quotes(answer)]
        out: list[CheckedCitation] = []
        try:
            found = list(self.parse_citations(answer))
        except Exception:  # a parser bug must not turn an answer into a 500
            log.exception("citation parsing failed")
            return out
        for cit in found:
            if any(a <= cit.start < b for a, b in quoted):
                continue
            out.append(self._resolve(cit, passages))
        return out

    def _resolve(self, cit: Citation, passages: Sequence[Passage]) -> CheckedCitation:
        def result(status: str, n: int | None = None, doc_id: str | None = None,
                   message: str = "") -> CheckedCitation:  # fmt: skip
            anchor = passages[n - 1].chunk.anchor if n else None
            return CheckedCitation(
                n=n, kind="legal", doc_id=doc_id, citation=cit.canonical, pinpoint=cit.pinpoint,
                anchor=anchor, quotes=(), status=status, text=cit.raw, start=cit.start,
                message=message,
            )  # fmt: skip

        if cit.doc_id is None:
            # a citation the parser cannot map to a document id may still be how a source
            # given is cited (`Pub. L. 95-452, § 5 (5 U.S.C. App.)`, a reporter citation)
            for i, p in enumerate(passages, 1):
                if _names(cit, p.chunk.doc_citation):
                    return result("verified", i, p.chunk.doc_id)
        if cit.doc_id is None and cit.kind == CitationKind.CASE:
            want = _norm_cite(cit.canonical)
            for p in self._search(cit.canonical):
                if want and want in _norm_cite(p.chunk.doc_citation):
                    return result(
                        "in_corpus", None, p.chunk.doc_id, "in the corpus, not among the sources"
                    )
            return result("unknown", message="not found in the corpus")
        if cit.doc_id is None:
            return result("unknown", message="citation names no corpus document")
        if cit.pinpoint and self._lacks_pinpoint(cit.doc_id, cit.pinpoint, passages):
            # `17 U.S.C. § 107(a)(1)` is not verified by a passage of § 107: § 107 has no (a)
            return result(
                "unknown", None, cit.doc_id,
                f"{cit.doc_id} has no pinpoint {cit.pinpoint} (in the sources or its current text)",
            )  # fmt: skip

        same_doc = [
            (i, p) for i, p in enumerate(passages, 1) if holds(p.chunk, cit.doc_id, cit.pinpoint)
        ]
        if same_doc:
            # the passage at exactly the cited pinpoint, else the most specific one around it
            want = fold_pinpoint(cit.pinpoint)
            i, _ = max(
                same_doc,
                key=lambda ip: (
                    fold_pinpoint(ip[1].chunk.pinpoint) == want,
                    len(ip[1].chunk.pinpoint),
                ),
            )
            return result("verified", i, cit.doc_id)
        try:
            exists = self.retriever.exists(cit.doc_id)
        except Exception:
            log.exception("index lookup failed for %s", cit.doc_id)
            return result("unknown", None, cit.doc_id, "index lookup failed")
        if exists:
            return result("in_corpus", None, cit.doc_id, "in the corpus, not among the sources")
        return result("unknown", None, cit.doc_id, "not found in the corpus")

    def _lacks_pinpoint(self, doc_id: str, pinpoint: str, passages: Sequence[Passage]) -> bool:
        """True when the document's structure and text show that `pinpoint` is not there.

        Judged over the given passages of the document and its current version in the index; a
        document the index does not hold, or a failed lookup, is not judged here (False).
        """
        if not is_label_chain(pinpoint):
            return False  # a page or paragraph pinpoint: not judged here
        given = [p.chunk for p in passages if p.chunk.doc_id == doc_id]
        if any(fold_pinpoint(c.pinpoint) == fold_pinpoint(pinpoint) for c in given):
            return False
        try:
            current = self.retriever.lookup(doc_id)
        except Exception:
            log.exception("index lookup failed for %s", doc_id)
            return False
        if not current:
            return False
        return not pinpoint_in_document([*given, *current], pinpoint)

    def _search(self, text: str) -> list[Passage]:
        try:
            return self.retriever.search(text, 5, SearchFilters(), "sparse")
        except Exception:
            log.exception("index search failed for %r", text)
            return []


def default_citation_parser() -> CitationParser:
    """`legal_corpus.citations.parse_citations`."""
    from legal_corpus.citations import parse_citations  # type: ignore[import-not-found]

    parser: CitationParser = parse_citations
    return parser
