"""Case citations through eyecite (Free Law Project), and resolving short, id. and supra forms.

eyecite is the one outside library this package speaks to; it is imported, and its tokenizer
built, once per process on the first text that may hold a case citation (`functools.cache`).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from legal_corpus.citations.patterns import Candidate, clean_raw, expand_ranges, split_items
from legal_corpus.model import Citation, CitationKind

# --------------------------------------------------------------------------------------------
# eyecite: case citations


class _EyeciteWarningFilter(logging.Filter):
    """eyecite logs a warning for every overlap it cannot classify; they are not actionable."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Unknown overlap case")


@functools.cache
def _eyecite() -> tuple[Any, Any]:
    """eyecite's `get_citations` and a tokenizer, built once (importing eyecite takes ~0.5 s)."""
    from eyecite import get_citations
    from eyecite.models import Token
    from eyecite.tokenizers import AhocorasickTokenizer

    logging.getLogger("eyecite.helpers").addFilter(_EyeciteWarningFilter())
    _speed_up_court_lookup()

    class HitWindowTokenizer(AhocorasickTokenizer):
        """Runs each reporter regex only around the places its reporter strings occur.

        eyecite's own tokenizer runs every reporter regex whose strings occur anywhere in the
        text over the whole text; a long opinion names many reporters, so its cost grows with
        length x reporters (about 170 ms per 10k characters here). The Aho-Corasick prefilter
        already knows where each string occurs: running the regex on a window around each
        occurrence finds the same tokens (a match of an extractor contains one of its strings)
        at a fraction of the cost. Extractors without prefilter strings (id., supra, section
        signs) still scan the whole text.
        """

        before = 120  # characters before the end of a string occurrence
        after = 240  # characters after it; a token is far shorter than before + after

        def extract_tokens(self, text: str) -> Generator[Token, None, None]:
            n = len(text)
            for extractor in self.unfiltered_extractors:
                for match in extractor.get_matches(text):
                    yield extractor.get_token(match)
            # where each stripped (whitespace-free) character sits in `text`
            where = [m.start() for m in _NON_SPACE.finditer(text)]
            if not where:
                return
            stripped = "".join(text[i] for i in where)
            hits: dict[int, tuple[Any, list[int]]] = {}
            for automaton, haystack in (
                (self.case_sensitive_filter, stripped),
                (self.case_insensitive_filter, stripped.lower()),
            ):
                for end, extractors in automaton.iter(haystack):
                    at = where[end]
                    for extractor in extractors:
                        hits.setdefault(id(extractor), (extractor, []))[1].append(at)
            for extractor, ats in hits.values():
                regex = extractor.compiled_regex
                seen: set[tuple[int, int]] = set()
                lo_prev = hi_prev = -1
                for lo, hi in _merge_windows(sorted(ats), self.before, self.after, n):
                    if lo == lo_prev and hi == hi_prev:
                        continue
                    lo_prev, hi_prev = lo, hi
                    for match in regex.finditer(text, lo, hi):
                        span = match.span()
                        # a match cut short by the window's end is found whole from the
                        # window of its own string occurrence
                        if span in seen or (span[1] >= hi - 1 and hi < n):
                            continue
                        seen.add(span)
                        yield extractor.get_token(match)

    return get_citations, HitWindowTokenizer()


_NON_SPACE = re.compile(r"\S")


def _merge_windows(ats: list[int], before: int, after: int, n: int) -> list[tuple[int, int]]:
    """Windows `[at - before, at + after)` around sorted positions, overlapping ones merged."""
    out: list[tuple[int, int]] = []
    for at in ats:
        lo, hi = max(0, at - before), min(n, at + after)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _speed_up_court_lookup() -> None:
    """Give eyecite a court lookup with the same answers, minus ~90 ms per parenthetical.

    eyecite's `get_court_by_paren` (2.7) re-normalises the citation string of every court in
    courts-db (about 3,000, one regex substitution each) for every `(2d Cir. 1999)` it reads,
    which made it most of the parse time of a citation-dense opinion. This version normalises
    them once and keeps eyecite's rule: an exact match wins, else the last prefix match.
    """
    import eyecite.helpers as helpers
    from courts_db import courts

    if getattr(helpers.get_court_by_paren, "_juris_fast", False):
        return
    table = [(re.sub(r"[^\w]", "", c["citation_string"]).lower(), c["id"]) for c in courts]

    @functools.lru_cache(maxsize=4096)
    def get_court_by_paren(paren_string: str) -> str | None:
        court_str = re.sub(r"[^\w]", "", paren_string).lower()
        court_code = None
        if court_str:
            for normalised, court_id in table:
                if normalised == court_str:
                    return str(court_id)
                if normalised.startswith(court_str):
                    court_code = court_id
        return court_code

    get_court_by_paren._juris_fast = True  # type: ignore[attr-defined]
    helpers.get_court_by_paren = get_court_by_paren


_MAY_HAVE_CASES = re.compile(r"\d\s*[A-Z]|§|\b[Ii]d\.|\b[Ii]bid\b|\bsupra\b")


def _strip_at(pin: str | None) -> str:
    if not pin:
        return ""
    return re.sub(r"^\s*,?\s*(?:at\s+)?", "", pin).strip(" ,.")


@dataclass(frozen=True, slots=True)
class _CaseRef:
    """A full case citation already seen, for resolving short, id. and supra citations."""

    volume: str
    reporter: str
    page: int
    canonical: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _CaseCandidate(Candidate):
    """A candidate found by eyecite, with what resolving short forms against it needs.

    Args:
        form: `full`, `short`, `id`, `supra` or `other`.
        ref: for a full case citation, its reference; for a short one, its volume, reporter
            and page (the page is the pin page).
        guess: for supra, the antecedent's name as written.
    """

    form: str = "other"
    ref: _CaseRef | None = None
    guess: str = ""


def _page(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def case_candidates(text: str, taken: Sequence[Candidate]) -> list[_CaseCandidate]:
    """Case (and other eyecite) citations that do not overlap a span the patterns here took."""
    if not _MAY_HAVE_CASES.search(text):
        return []
    get_citations, tokenizer = _eyecite()
    from eyecite.models import (
        FullCaseCitation,
        FullLawCitation,
        IdCitation,
        ShortCaseCitation,
        SupraCitation,
    )

    spans = sorted((c.start, c.end) for c in taken)

    def overlaps(start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in spans)

    out: list[_CaseCandidate] = []
    for found in get_citations(text, tokenizer=tokenizer):
        start, end = found.span()
        if overlaps(start, end):
            continue
        end, raw = clean_raw(text, start, end)
        pin = _strip_at(getattr(found.metadata, "pin_cite", None))

        def case(canonical: str, pinpoint: str) -> tuple[Citation, ...]:
            return (Citation(raw, start, end, CitationKind.CASE, canonical, None, pinpoint),)  # noqa: B023

        if isinstance(found, FullCaseCitation):
            volume, page = found.groups.get("volume"), _page(found.groups.get("page"))
            if not volume or page is None:
                continue
            reporter = found.corrected_reporter()
            canonical = f"{volume} {reporter} {page}"
            meta = found.metadata
            names = tuple(n for n in (meta.plaintiff, meta.defendant) if n)
            ref = _CaseRef(volume, reporter, page, canonical, names)
            out.append(_CaseCandidate(start, end, case(canonical, pin), "full", ref))
        elif isinstance(found, ShortCaseCitation):
            volume, page = found.groups.get("volume"), _page(found.groups.get("page"))
            if not volume or page is None:
                continue
            reporter = found.corrected_reporter()
            ref = _CaseRef(volume, reporter, page, f"{volume} {reporter} at {page}", ())
            guess = (found.metadata.antecedent_guess or "").strip()
            cits = case(ref.canonical, pin or str(page))
            out.append(_CaseCandidate(start, end, cits, "short", ref, guess))
        elif isinstance(found, IdCitation):
            out.append(_CaseCandidate(start, end, case("Id.", pin), "id"))
        elif isinstance(found, SupraCitation):
            guess = (found.metadata.antecedent_guess or "").strip() or _name_before(text, start)
            guess = guess if guess[:1].isupper() else ""
            canonical = f"{guess}, supra" if guess else "supra"
            out.append(_CaseCandidate(start, end, case(canonical, pin), "supra", guess=guess))
        elif isinstance(found, FullLawCitation):
            cits = _usc_from_law(found.groups, raw, start, end)
            if not cits:
                canonical = re.sub(r"§\s*", "§ ", " ".join(found.matched_text().split()))
                if pin.startswith("("):  # `29 C.F.R. § 1630.2(j)`: the pinpoint is part of it
                    canonical += pin
                cits = (
                    Citation(raw, start, end, CitationKind.STATUTE_OTHER, canonical, None, pin),
                )
            out.append(_CaseCandidate(start, end, cits))
        # journals, bare section signs and references are not authority Juris resolves
    return out


def _usc_from_law(groups: dict[str, Any], raw: str, start: int, end: int) -> tuple[Citation, ...]:
    """A US Code citation eyecite found in a spelling the patterns here do not know."""
    reporter = re.sub(r"[\s.]", "", groups.get("reporter") or "")
    title, section = groups.get("title"), groups.get("section")
    if reporter not in ("USC", "USCA", "USCS") or not title or not section:
        return ()
    items = expand_ranges(split_items(section), "§§" in raw)
    return tuple(
        Citation(
            raw,
            start,
            end,
            CitationKind.USC,
            f"{title} U.S.C. § {it.number}{it.pinpoint}",
            f"usc:{title}/{it.number}",
            it.pinpoint,
        )
        for it in items
    )


def resolve(candidates: Sequence[Candidate]) -> list[Citation]:
    """Citations in order, with short, id. and supra case citations resolved where possible.

    `Id.` takes the authority of the citation just before it, whatever its kind (so `Id.`
    after `17 U.S.C. § 107` is that section). A short citation takes the canonical form of the
    latest full citation in the same volume and reporter starting at or before its page; supra
    the latest full citation whose party names contain the name written before it (or, when
    none came before, the first one after it).
    """
    out: list[Citation] = []
    cases: list[_CaseRef] = []
    later = [
        c.ref
        for c in candidates
        if isinstance(c, _CaseCandidate) and c.form == "full" and c.ref is not None
    ]
    for cand in candidates:
        if not isinstance(cand, _CaseCandidate) or cand.form in ("full", "other"):
            if isinstance(cand, _CaseCandidate) and cand.ref is not None:
                cases.append(cand.ref)
            out.extend(cand.citations)
            continue
        (cit,) = cand.citations
        if cand.form == "id" and out:
            prev = out[-1]
            if prev.kind is CitationKind.CASE:
                pin = cit.pinpoint or prev.pinpoint
                cit = Citation(cit.raw, cit.start, cit.end, prev.kind, prev.canonical, None, pin)
            elif cit.pinpoint:
                # `Id. at 5` after a statute names a page of something not recognised here
                pass
            else:  # `Id.` after a statute, rule or article: the same provision
                cit = Citation(
                    cit.raw,
                    cit.start,
                    cit.end,
                    prev.kind,
                    prev.canonical,
                    prev.doc_id,
                    prev.pinpoint,
                )
        elif cand.form == "short" and cand.ref is not None:
            match = _short_antecedent(cand.ref, cand.guess, cases)
            if match is not None:
                cit = _with_canonical(cit, match.canonical)
        elif cand.form == "supra" and cand.guess:
            guess = cand.guess.lower()
            match = next(
                (c for c in reversed(cases) if any(guess in n.lower() for n in c.names)), None
            )
            if match is None:  # a syllabus cites `Adarand, supra` before the opinion's full cite
                match = next((c for c in later if any(guess in n.lower() for n in c.names)), None)
            if match is not None:
                cit = _with_canonical(cit, match.canonical)
        out.append(cit)
    return out


_NAME_BEFORE = re.compile(r"([A-Z][\w.'’&-]*)\s*,?\s*$")
_CASE_NAME_BEFORE = re.compile(r"([A-Z][\w.'’&-]*)\s+v\.\s+[^,;()]{1,60},?\s*$")


def _name_before(text: str, start: int) -> str:
    """The name written before `supra`: `Bakke` in `Bakke, supra, at 305`, the first party in
    `Grutter v. Bollinger, supra`."""
    m = _CASE_NAME_BEFORE.search(text, max(0, start - 90), start) or _NAME_BEFORE.search(
        text, max(0, start - 40), start
    )
    return m.group(1).rstrip(".") if m else ""


def _short_antecedent(ref: _CaseRef, guess: str, cases: Sequence[_CaseRef]) -> _CaseRef | None:
    """The full citation a short one (`539 U.S. at 328`) points at.

    Among earlier full citations in the same volume and reporter that start at or before the
    pin page, the one whose party names contain eyecite's antecedent guess, else the one that
    starts closest before the pin page.
    """
    same = [c for c in cases if c.volume == ref.volume and c.reporter == ref.reporter]
    same = [c for c in same if c.page <= ref.page]
    if not same:
        return None
    if guess:
        named = [c for c in same if any(guess.lower() in n.lower() for n in c.names)]
        if named:
            return named[-1]
    return max(reversed(same), key=lambda c: c.page)


def _with_canonical(cit: Citation, canonical: str) -> Citation:
    return Citation(cit.raw, cit.start, cit.end, cit.kind, canonical, cit.doc_id, cit.pinpoint)
