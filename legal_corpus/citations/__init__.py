"""Legal citations in free text, normalised to the canonical forms the documents carry.

Two public verbs:

- `parse_citations(text)`: every legal citation in `text`, in order of appearance.
- `normalize_citation(text)`: the one citation a short string names (search box, exact lookup).

Families and their canonical forms (the same strings `LegalDocument.citation` and
`Section.citation` carry, so a parsed citation can be looked up directly); the table with every
spelling recognised is in `legal_corpus/README.md`:

- US Code: `17 USC 107`, `Section 107 of title 17`, `§§ 107–108` -> `17 U.S.C. § 107(a)`,
  doc_id `usc:17/107`.
- Federal Rules: `FRCP 23`, `Rule 702 of the Federal Rules of Evidence` ->
  `Fed. R. Civ. P. 12(b)(6)`, doc_id `frcp:12` (`frcrmp`, `fre`, `frap`, `frbp`).
- GDPR: `Art. 6(1)(f) GDPR`, `Recital 47` -> `GDPR Art. 6(1)(f)`, `GDPR Recital 47`,
  doc_id `gdpr:art6`, `gdpr:recital47`.
- Cases (eyecite): full, short, id., supra -> `410 U.S. 113` (pin cite in `pinpoint`), no doc_id.
- Indian statutes: `Section 302 of the Indian Penal Code`, `u/s. 161 Cr.P.C.` -> `IPC § 302`,
  `CrPC § 161`, `Arms Act § 27` (kind STATUTE_OTHER, no doc_id).
- Constitution of India: `Article 21 of the Constitution` -> `Const. of India art. 21`
  (kind CONSTITUTION, no doc_id).

A bare `Rule 12(b)(6)` names no family. Its family is taken from the text around it (the
nearest explicit family mention, `Fed. R. Evid.`, `Federal Rules of Bankruptcy Procedure`, ...),
else from the rule number where only one family has such a rule (`Rule 702` is evidence), else
it defaults to Civil Procedure. Such citations keep `kind` RULE; `is_bare_rule(citation)` tells
callers that the family was inferred rather than written. Bare rules that are evidently not
federal rules (`Order 47, Rule 1`, `Local Rule 7.1`, `Rule 8 of the Articles of Association`)
are not reported.

Case citations come from eyecite (Free Law Project), whose reporter tables are large: eyecite is
imported and its tokenizer built lazily, once per process, on the first text that needs it.
Where eyecite and the patterns here find the same span (eyecite also recognises
`42 U.S.C. § 1983`), the patterns here win, so each citation is reported once.
"""

from __future__ import annotations

import re

from legal_corpus.citations.cases import case_candidates, resolve
from legal_corpus.citations.patterns import (
    DOC_ID,
    FAMILY_MENTION,
    RULE_FAMILIES,
    Candidate,
    RuleFamily,
    family_from_text,
    gdpr_candidates,
    indian_candidates,
    rule_candidates,
    select,
    usc_candidates,
)
from legal_corpus.model import Citation, CitationKind

__all__ = [
    "RULE_FAMILIES",
    "RuleFamily",
    "is_bare_rule",
    "normalize_citation",
    "parse_citations",
]

# --------------------------------------------------------------------------------------------
# Public API


def parse_citations(
    text: str,
    *,
    rule_family: str | None = None,
    usc_title: str | None = None,
    in_gdpr: bool = False,
) -> list[Citation]:
    """Every legal citation in `text`, in order of appearance.

    A list or range (`28 U.S.C. §§ 1331, 1343`, `§§ 107–108`) yields one citation per section,
    all with the span of the whole citation. Case citations need eyecite, which is loaded on
    the first text that may contain one.

    Args:
        text: free text: an opinion, a statute, a question, a generated answer.
        rule_family: for a text that is itself part of one set of Federal Rules (`criminal`
            for the Criminal Rules' cross-references): the family of a bare `Rule N` when the
            text names none nearby. Keys of `RULE_FAMILIES`.
        usc_title: for a text from one title of the US Code (`17`): the title that
            `section 106 of this title` and a bare `section 106` (not "of" another act or
            title) refer to; without it such references are skipped.
        in_gdpr: for a text of the GDPR itself: a bare `Article 6(1)` is the GDPR's own
            (`Article 16 of Directive 95/46/EC` is not); without it a GDPR article needs the
            Regulation named.

    Returns:
        `Citation`s ordered by start offset (citations from one list keep their written order).

    Raises:
        ValueError: for an unknown `rule_family` or a `usc_title` that is not a title number.
    """
    if rule_family is not None and rule_family not in RULE_FAMILIES:
        known = ", ".join(RULE_FAMILIES)
        raise ValueError(f"unknown rule family {rule_family!r}; known: {known}")
    if usc_title is not None and not re.fullmatch(r"\d{1,2}", usc_title):
        raise ValueError(f"usc_title must be a title number such as '17', not {usc_title!r}")
    if not text:
        return []
    own = select(
        [
            *usc_candidates(text, usc_title),
            *rule_candidates(text, rule_family),
            *gdpr_candidates(text, in_gdpr),
            *indian_candidates(text),
        ]
    )
    found: list[Candidate] = [*own, *case_candidates(text, own)]
    found.sort(key=lambda c: (c.start, c.end))
    return resolve(found)


def normalize_citation(text: str) -> Citation | None:
    """The single citation a short string names, for the search box and exact lookup.

    Accepts everything `parse_citations` recognises (`17 USC 107`, `FRE 702`,
    `Art. 17(1) GDPR`, `Rule 12(b)(6)`) and also document ids with an optional pinpoint
    (`usc:17/107`, `frcp:12(b)(6)`, `gdpr:art17`, `gdpr:recital47`).

    Args:
        text: a short string such as a search query.

    Returns:
        The first citation in the string, or None when it names none.
    """
    by_id = _from_doc_id(text)
    if by_id is not None:
        return by_id
    found = parse_citations(text)
    if not found:
        # people type queries in lower case (`17 usc 107`, `frcp 12(b)(6)`, `art 17 gdpr`):
        # retry with the words of citations in their usual case (same length, same offsets)
        cased = _CITATION_WORD.sub(lambda m: _CITATION_WORDS[m.group(0).lower()], text)
        if cased != text:
            found = [_with_raw(c, text) for c in parse_citations(cased)]
    return found[0] if found else None


# words of citations and their usual case, for lower-case queries
_WORDS_AS_CITED = (
    "USC U S C FRCP FRCrP FRE FRAP FRBP GDPR IPC CrPC CPC EU Fed R Civ Crim Evid App Bankr P "
    "Rule Rules Art Arts Article Articles Section Sections Recital Federal Civil Criminal "
    "Evidence Appellate Bankruptcy Procedure Regulation Constitution India Indian Penal Code"
)
_CITATION_WORDS = {w.lower(): w for w in _WORDS_AS_CITED.split()}
_CITATION_WORD = re.compile(
    r"\b(?:" + "|".join(sorted(_CITATION_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE
)


def _with_raw(cit: Citation, text: str) -> Citation:
    return Citation(
        text[cit.start : cit.end],
        cit.start,
        cit.end,
        cit.kind,
        cit.canonical,
        cit.doc_id,
        cit.pinpoint,
    )


def is_bare_rule(citation: Citation) -> bool:
    """True for a rule citation written without its family (`Rule 12(b)(6)`).

    The family of such a citation was inferred from the surrounding text or the rule number,
    or defaulted to Civil Procedure; callers that need certainty (exact lookup, verification)
    can treat it as a weaker match.

    Args:
        citation: a citation returned by `parse_citations` or `normalize_citation`.

    Returns:
        Whether `citation` is a rule citation whose text names no family.
    """
    if citation.kind is not CitationKind.RULE:
        return False
    return _family_mention_in(citation.raw) is None


def _family_mention_in(raw: str) -> str | None:
    m = FAMILY_MENTION.search(raw)
    return family_from_text(m.group(0)) if m else None


def _from_doc_id(text: str) -> Citation | None:
    m = DOC_ID.match(text)
    if not m:
        return None
    ns, rest, pin = m["ns"], m["rest"], m["pin"] or ""
    raw = text.strip()
    start = text.index(raw)
    end = start + len(raw)
    if ns == "usc":
        title, _, section = rest.partition("/")
        if not title or not section:
            return None
        canonical, kind = f"{title} U.S.C. § {section}{pin}", CitationKind.USC
    elif ns == "gdpr":
        art = re.fullmatch(r"(art|recital)(\d+)", rest)
        if not art:
            return None
        if art[1] == "art":
            canonical = f"GDPR Art. {art[2]}{pin}"
        else:
            canonical, pin = f"GDPR Recital {art[2]}", ""
        kind = CitationKind.GDPR
    else:
        spec = next(f for f in RULE_FAMILIES.values() if f.namespace == ns)
        canonical, kind = f"{spec.abbreviation} {rest}{pin}", CitationKind.RULE
    return Citation(raw, start, end, kind, canonical, f"{ns}:{rest}", pin)
