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

import functools
import logging
import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from legal_corpus.model import Citation, CitationKind

__all__ = [
    "RULE_FAMILIES",
    "RuleFamily",
    "is_bare_rule",
    "normalize_citation",
    "parse_citations",
]

# --------------------------------------------------------------------------------------------
# Families of Federal Rules


@dataclass(frozen=True, slots=True)
class RuleFamily:
    """One set of Federal Rules and how its citations are written.

    Args:
        key: short name (`civil`, `criminal`, `evidence`, `appellate`, `bankruptcy`).
        namespace: the document id namespace (`frcp`).
        abbreviation: the Bluebook abbreviation used in canonical citations (`Fed. R. Civ. P.`).
        low: the lowest rule number of the family.
        high: the highest rule number of the family.
    """

    key: str
    namespace: str
    abbreviation: str
    low: int
    high: int

    def has_number(self, number: float) -> bool:
        """True when a rule with this (integer part of the) number can exist in the family."""
        return self.low <= int(number) <= self.high


RULE_FAMILIES: dict[str, RuleFamily] = {
    "civil": RuleFamily("civil", "frcp", "Fed. R. Civ. P.", 1, 87),
    "criminal": RuleFamily("criminal", "frcrmp", "Fed. R. Crim. P.", 1, 62),
    "evidence": RuleFamily("evidence", "fre", "Fed. R. Evid.", 101, 1103),
    "appellate": RuleFamily("appellate", "frap", "Fed. R. App. P.", 1, 48),
    "bankruptcy": RuleFamily("bankruptcy", "frbp", "Fed. R. Bankr. P.", 1001, 9037),
}
_DEFAULT_FAMILY = "civil"
# how far around a bare `Rule N` to look for the family the text is talking about
_CONTEXT_BEFORE = 1500
_CONTEXT_AFTER = 400
# ranges such as `§§ 101-1332` are expanded to one citation per section only up to this size;
# longer ones yield their two ends
_MAX_RANGE = 50

# --------------------------------------------------------------------------------------------
# Pattern pieces

# a pinpoint: `(b)(6)`, `(a)(1)(A)(ii)`, `(1)`; years such as `(1994)` are not pinpoints
_PIN = r"(?:\((?:[A-Za-z]{1,5}|\d{1,3}[A-Za-z]?)\))*"
# list separators between section / rule / article numbers
_LIST_SEP = r"(?:\s*,\s*(?:and\s+|or\s+|&\s*)?|\s+(?:and|or|&)\s+)"
_RANGE_SEP = r"(?:\s*[–—]\s*|\s+(?:to|through|thru)\s+|-(?=\d))"
# a following token that shows a number starts another citation or is a quantity
_NOT_NEXT = (
    r"(?!\s*(?:U\.?\s?S\.?\s?C|C\.?\s?F\.?\s?R|days?\b|months?\b|years?\b|hours?\b|percent\b|%))"
)

_USC_SEC = r"\d+[A-Za-z]*(?:-\d+[A-Za-z]*)*"
_USC_ITEM = rf"{_USC_SEC}(?!\w){_PIN}{_NOT_NEXT}"
_USC_LIST = (
    rf"{_USC_ITEM}(?:(?:{_LIST_SEP}|\s*[–—]\s*|\s+(?:to|through)\s+)(?:§§?\s*)?{_USC_ITEM})*"
)
_USC_ABBR = r"U\.?\s?S\.?\s?C\.?(?:A\.|S\.|A\b|S\b)?"

_USC_PATTERNS = (
    # 17 U.S.C. § 107(a); 17 USC 107; 28 U.S.C. §§ 1331, 1343; 40 U.S.C. ss 270a-270f
    re.compile(
        rf"\b(?P<title>\d{{1,2}})\s*{_USC_ABBR}(?![A-Za-z])\s*"
        rf"(?P<sign>§§?|ss?\.?(?=\s*\d)|[Ss]ec(?:tion)?s?\.?|[Ss]ecs?\.)?\s*"
        rf"(?P<list>{_USC_LIST})"
    ),
    # section 107 of title 17, United States Code; sections 106, 114, and 115 of title 17
    re.compile(
        rf"\b(?P<sign>[Ss]ections?|§§?)\s*(?P<list>{_USC_LIST})\s+of\s+[Tt]itle\s+"
        rf"(?P<title>\d{{1,2}})\b(?:,?\s+(?:of\s+the\s+)?United\s+States\s+Code(?:\s+Annotated)?)?"
    ),
    # title 17, United States Code, section 107
    re.compile(
        rf"\b[Tt]itle\s+(?P<title>\d{{1,2}}),?\s+(?:of\s+the\s+)?United\s+States\s+Code,?\s+"
        rf"(?P<sign>§§?|[Ss]ections?)\s*(?P<list>{_USC_LIST})"
    ),
)

_RULE_NUM = r"\d{1,4}(?:\.\d{1,2})?(?!\d)"
# federal rule numbers carry no letter suffix (`Rule 22B`, `Rule 3-C` are other bodies of rules)
_RULE_ITEM = rf"{_RULE_NUM}{_PIN}(?![A-Za-z0-9]|-[A-Za-z0-9]){_NOT_NEXT}"
_RULE_LIST = rf"{_RULE_ITEM}(?:(?:{_LIST_SEP}){_RULE_ITEM})*"
_RULE_ABBR = (
    r"(?:Fed\.?\s?R(?:ules?)?\.?\s?(?:Civ|Crim|Evid|App|Bankr)\.?(?:\s?P(?:roc)?\.?)?"
    r"|F\.?\s?R\.?\s?(?:C\.?\s?P|Cr(?:im)?\.?\s?P|E|A\.?\s?P|B\.?\s?P)\.?)(?![A-Za-z])"
)
_RULE_NAME = (
    r"(?:Civil\s+Procedure|Criminal\s+Procedure|Evidence|Appellate\s+Procedure"
    r"|Bankruptcy\s+Procedure)"
)
_RULE_WORD = r"(?:Civil|Criminal|Evidence|Appellate|Bankruptcy)"

_RULE_PATTERN = re.compile(
    # Rule 702 of the Federal Rules of Evidence
    rf"(?:\b(?:Federal\s+)?Rules?\s+(?P<list2>{_RULE_LIST}),?\s+of\s+the\s+Federal\s+Rules\s+of\s+"
    rf"(?P<name2>{_RULE_NAME}))"
    # Fed. R. Civ. P. 12(b)(6); FRCP 23; F.R.C.P. 23(b)(3); Fed.R.Civ.P. 12
    rf"|(?:(?<![\w.])(?P<abbr1>{_RULE_ABBR})\s*(?:Rules?\s+)?(?P<list1>{_RULE_LIST}))"
    # Federal Rule of Civil Procedure 56
    rf"|(?:\bFederal\s+Rules?\s+of\s+(?P<name3>{_RULE_NAME})\s+(?:Rules?\s+)?(?P<list3>{_RULE_LIST}))"
    # Bankruptcy Rule 7001; Evidence Rule 702
    rf"|(?:\b(?P<word4>{_RULE_WORD})\s+Rules?\s+(?P<list4>{_RULE_LIST}))"
    # bare Rule 12(b)(6)
    rf"|(?:\bRules?\s+(?P<list5>{_RULE_LIST}))"
)
# mentions of a rule family without a rule number, used as context for bare rules
_FAMILY_MENTION = re.compile(
    rf"(?<![\w.]){_RULE_ABBR}|\bFederal\s+Rules?\s+of\s+{_RULE_NAME}|\b{_RULE_WORD}\s+Rules?\b"
    rf"|\bRules\s+of\s+{_RULE_NAME}"
)
# words before a bare `Rule N` that show it is not a Federal Rule
_NON_FEDERAL_BEFORE = re.compile(
    r"(?:\b(?:Local|Circuit|Court|Court's|Supreme|Tax|State|Supplemental|Admiralty|Uniform"
    r"|Model|Professional|Conduct|Cir\.|Sup\.|Ct\.|L\.|Order\s+[IVXLC\d]+[A-Z]?,?)\s*)$"
)
# signs that a text speaks about some other body of rules (Indian service rules, the Code of
# Civil Procedure's Orders, state rules): there a bare `Rule N` is not taken for a Federal Rule
# unless a Federal Rules family is named nearby
_OTHER_RULES_SIGNAL = re.compile(
    r"\bsub-rule\b|\bRules,?\s+(?:1[89]|20)\d\d\b|\b(?:1[89]|20)\d\d\s+Rules\b|\bOrder\s+[IVXL]+\b"
    r"|\bRule,?\s+(?:1[89]|20)\d\d\b|\bu/ss?\b|\bI\.?P\.?C\b|\bCr\.?\s?P\.?\s?C\b"
    r"|\bConstitution\s+of\s+India\b|\bIndlaw\b|\bS\.C\.R\.|\bS\.C\.C\.|\bA\.I\.R\.|\(supra\)"
)
# what after a bare `Rule N` shows it belongs to some other body of rules
_NON_FEDERAL_AFTER = re.compile(
    r"\s*,?\s+(?:of|under)\s+(?:the\s+|this\s+|that\s+|said\s+)?(?!Federal\b)\S"
    r"|\s+of\s+Order\b|\s*(?:CPC|C\.P\.C\.|Cr\.?P\.?C)"
)

_ART_ITEM = rf"\d{{1,3}}(?!\d){_PIN}{_NOT_NEXT}"
_ART_LIST = rf"{_ART_ITEM}(?:(?:{_LIST_SEP}|{_RANGE_SEP}){_ART_ITEM})*"
_GDPR_NAME = (
    r"(?:GDPR|General\s+Data\s+Protection\s+Regulation"
    r"|Regulation\s+\(EU\)\s+(?:No\.?\s+)?2016/679)"
)
_ARTICLE = r"(?:Articles?|Arts?\.|Art\b)"
_GDPR_PATTERNS = (
    # Article 17(1) GDPR; Art. 6(1)(f) GDPR; Article 17 of the GDPR; ... of Regulation (EU) 2016/679
    re.compile(
        rf"\b{_ARTICLE}\s*(?P<list>{_ART_LIST})\s*,?\s*(?:of\s+(?:the\s+)?)?(?P<name>{_GDPR_NAME})"
    ),
    # GDPR Art. 17(1)(a) (the canonical form)
    re.compile(rf"\b(?P<name>GDPR),?\s+{_ARTICLE}\s*(?P<list>{_ART_LIST})"),
)
_RECITAL_PATTERN = re.compile(
    rf"(?:\bGDPR\s+)?\b(?P<rec>Recitals?)\s+(?P<list>{_ART_LIST})"
    rf"(?:\s*,?\s*(?:of\s+(?:the\s+)?)?{_GDPR_NAME})?"
)

_IND_ITEM = (
    rf"\d{{1,4}}(?!\d)(?:\s?-\s?[A-Z]{{1,2}}\b|[A-Z]{{1,2}}\b|\s[A-Z]\b(?![.\w]))?{_PIN}{_NOT_NEXT}"
)
_IND_SEP = (
    rf"(?:{_LIST_SEP}|\s*/\s*|\s+(?:read\s+with|r/w)\s+)"
    r"(?:(?:[Ss]ections?|[Ss]ecs?\.|[Ss]s?\.|u/ss?\.?)\s*)?"
)
_IND_LIST = rf"{_IND_ITEM}(?:{_IND_SEP}{_IND_ITEM})*"
_IND_CODES = {
    "IPC": r"Indian\s+Penal\s+Code|I\.\s?P\.\s?C\b\.?|IPC\b|Penal\s+Code",
    "CrPC": r"Code\s+of\s+Criminal\s+Procedure|Cr\.?\s?P\.?\s?C\b\.?",
    "CPC": r"Code\s+of\s+Civil\s+Procedure|C\.\s?P\.\s?C\b\.?|CPC\b",
}
_IND_PATTERNS = (
    # Section 302 of the Indian Penal Code; Sections 302/149 IPC; u/s. 161 Cr.P.C.;
    # Section 27 of the Arms Act
    re.compile(
        rf"(?:\b[Ss]ections?|\b[Ss]ecs?\.|(?<![\w.])[Ss]s?\.|\bu/ss?\.?)\s*(?P<list>{_IND_LIST})"
        rf"\s*,?\s*(?:of\s+(?:the\s+)?)?(?:"
        + "|".join(rf"(?P<{key}>{alt})" for key, alt in _IND_CODES.items())
        + r"|(?P<act>(?:[A-Z][\w'()&.-]*\s+(?:(?:of|and|for|the|on)\s+)*){1,8}Act)"
        r"(?P<year>,?\s+(?:of\s+)?(?:1[6-9]|20)\d\d\b)?)"
    ),
    # IPC § 302 (the canonical form)
    re.compile(rf"\b(?P<code>IPC|CrPC|CPC)\s+§§?\s*(?P<list>{_IND_LIST})"),
)
_CONST_PATTERNS = (
    # Article 21 of the Constitution; Articles 14, 19 and 21 of the Constitution of India
    re.compile(
        rf"\b{_ARTICLE}\s*(?P<list>{_IND_LIST})\s*,?\s+of\s+(?:the\s+)?(?:Indian\s+)?"
        r"Constitution(?:\s+of\s+India)?\b"
    ),
    # Const. of India art. 21 (the canonical form)
    re.compile(rf"\bConst\.\s+of\s+India,?\s+arts?\.\s*(?P<list>{_IND_LIST})"),
)

_DOC_ID = re.compile(
    r"^\s*(?P<ns>usc|frcp|frcrmp|fre|frap|frbp|gdpr):(?P<rest>[0-9A-Za-z./-]+)(?P<pin>"
    + _PIN
    + r")\s*$"
)

_SPLIT_ITEMS = re.compile(
    rf"(?P<sep>{_LIST_SEP}|{_RANGE_SEP}|\s*/\s*|\s+(?:read\s+with|r/w)\s+)?"
    r"(?:(?:§§?|[Ss]ections?|[Ss]ecs?\.|[Ss]s?\.|u/ss?\.?)\s*)?"
    rf"(?P<item>\d+(?:\.\d+|[A-Za-z]*(?:-\d+[A-Za-z]*)*)(?:\s?-\s?[A-Z]{{1,2}}\b|\s[A-Z]\b)?)"
    rf"(?P<pin>{_PIN})"
)


# --------------------------------------------------------------------------------------------
# Candidates found by the patterns here


@dataclass(frozen=True, slots=True)
class _Item:
    """One number of a list (`1331` of `§§ 1331, 1343`) with its pinpoint."""

    number: str
    pinpoint: str
    range_from: str | None = None  # set when this item ends a range (`108` of `107–108`)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A span claimed by one of the patterns here, and the citations it yields."""

    start: int
    end: int
    citations: tuple[Citation, ...]


def _items(list_text: str) -> list[_Item]:
    """Split a list such as `107–108`, `1331, 1343(a)`, `302/149 read with 34` into items."""
    items: list[_Item] = []
    for m in _SPLIT_ITEMS.finditer(list_text):
        number = re.sub(r"\s*-?\s*(?=[A-Z]$)|\s+", "", m["item"])
        sep = (m["sep"] or "").strip()
        is_range = bool(sep) and (sep in "–—-" or sep in ("to", "through", "thru"))
        prev = items[-1].number if items else None
        items.append(_Item(number, m["pin"] or "", prev if is_range else None))
    return items


def _expand(items: Sequence[_Item], plural: bool) -> list[_Item]:
    """Expand ranges (`107–108` -> 107, 108; `270a-270f` -> 270a … 270f).

    A hyphenated US Code section such as `2000e-2` or `1320a-7b` is one section, not a range,
    unless the sign is plural and the second number is not smaller than the first.
    """
    out: list[_Item] = []
    for item in items:
        if plural and item.range_from is None and "-" in item.number:
            first, _, second = item.number.partition("-")
            if _range_members(first, second) is not None:
                out.extend(_range_items(first, second, item.pinpoint))
                continue
        if item.range_from is not None and out:
            members = _range_members(item.range_from, item.number)
            if members is not None:
                out.pop()
                out.extend(_range_items(item.range_from, item.number, item.pinpoint))
                continue
        out.append(item)
    return out


def _range_members(first: str, last: str) -> list[str] | None:
    """The sections from `first` to `last`, or None when they do not form a range."""
    a = re.fullmatch(r"(\d+)([a-z]?)", first)
    b = re.fullmatch(r"(\d+)([a-z]?)", last)
    if not a or not b:
        return None
    if a[2] or b[2]:
        if a[1] != b[1] or not a[2] or not b[2] or b[2] < a[2]:
            return None
        return [a[1] + chr(c) for c in range(ord(a[2]), ord(b[2]) + 1)]
    lo, hi = int(a[1]), int(b[1])
    if hi < lo:
        return None
    if hi - lo + 1 > _MAX_RANGE:
        return [str(lo), str(hi)]
    return [str(n) for n in range(lo, hi + 1)]


def _range_items(first: str, last: str, pinpoint: str) -> list[_Item]:
    members = _range_members(first, last) or [first, last]
    return [_Item(m, pinpoint if m == last else "") for m in members]


def _clean_raw(text: str, start: int, end: int) -> tuple[int, str]:
    """Trim trailing punctuation and whitespace off a span; returns (end, raw)."""
    raw = text[start:end]
    stripped = raw.rstrip(" \t\r\n,;")
    return start + len(stripped), stripped


def _usc_candidates(text: str) -> Iterator[_Candidate]:
    for pattern in _USC_PATTERNS:
        for m in pattern.finditer(text):
            sign = (m["sign"] or "").lower()
            plural = sign in ("§§", "ss", "ss.", "sections") or sign.endswith("s.")
            items = _items(m["list"])
            if not plural:
                items = items[:1]
            items = _expand(items, plural)
            if not items:
                continue
            title = m["title"].lstrip("0") or "0"
            end = m.end() if plural or pattern is not _USC_PATTERNS[0] else None
            if end is None:
                # a singular sign takes only its first number: end the span there
                first = re.match(rf"{_USC_SEC}{_PIN}", m["list"])
                end = m.start("list") + (first.end() if first else len(m["list"]))
            end, raw = _clean_raw(text, m.start(), end)
            cits = tuple(
                Citation(
                    raw=raw,
                    start=m.start(),
                    end=end,
                    kind=CitationKind.USC,
                    canonical=f"{title} U.S.C. § {it.number}{it.pinpoint}",
                    doc_id=f"usc:{title}/{it.number}",
                    pinpoint=it.pinpoint,
                )
                for it in items
            )
            yield _Candidate(m.start(), end, cits)


def _family_from_text(fragment: str) -> str | None:
    """The rule family an abbreviation or name denotes (`Fed. R. Evid.` -> `evidence`)."""
    key = re.sub(r"[\s.]", "", fragment).lower()
    if key.startswith("federalrule"):
        key = key.split("of", 1)[-1] if "of" in key else key
    for word, family in (
        ("bankr", "bankruptcy"),
        ("crim", "criminal"),
        ("evid", "evidence"),
        ("appellate", "appellate"),
        ("civil", "civil"),
        ("civ", "civil"),
        ("app", "appellate"),
    ):
        if word in key:
            return family
    # initialisms: FRCP, FRCrP, FRE, FRAP, FRBP
    letters = key.removeprefix("fedr").removeprefix("fr").removeprefix("rules")
    return {
        "cp": "civil",
        "crp": "criminal",
        "crimp": "criminal",
        "e": "evidence",
        "ap": "appellate",
        "bp": "bankruptcy",
    }.get(letters)


def _family_by_number(number: float) -> str | None:
    """The family implied by a rule number that only one family (or one best) can have."""
    n = int(number)
    if 101 <= n <= 1008 or 1101 <= n <= 1103:
        return "evidence"
    if 1009 <= n <= 9037:
        return "bankruptcy"
    return None


def _family_mentions(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for m in _FAMILY_MENTION.finditer(text):
        family = _family_from_text(m.group(0))
        if family:
            found.append((m.start(), family))
    return found


def _context_family(mentions: Sequence[tuple[int, str]], start: int, end: int) -> str | None:
    before = [f for pos, f in mentions if start - _CONTEXT_BEFORE <= pos < start]
    if before:
        return before[-1]
    after = [f for pos, f in mentions if end <= pos <= end + _CONTEXT_AFTER]
    return after[0] if after else None


def _rule_candidates(text: str) -> Iterator[_Candidate]:
    mentions: list[tuple[int, str]] | None = None
    other_rules: bool | None = None
    for m in _RULE_PATTERN.finditer(text):
        family: str | None
        if m["list2"] is not None:
            list_text, family = m["list2"], _family_from_text(m["name2"])
        elif m["list1"] is not None:
            list_text, family = m["list1"], _family_from_text(m["abbr1"])
        elif m["list3"] is not None:
            list_text, family = m["list3"], _family_from_text(m["name3"])
        elif m["list4"] is not None:
            list_text, family = m["list4"], _family_from_text(m["word4"])
            if _NON_FEDERAL_AFTER.match(text, m.end()):  # `Civil Rule 2 of 1965`
                continue
        else:
            list_text, family = m["list5"], None
            if _NON_FEDERAL_BEFORE.search(text[max(0, m.start() - 24) : m.start()]):
                continue
            if _NON_FEDERAL_AFTER.match(text, m.end()):
                continue
        if family is None and m["list5"] is None:
            continue
        items = _items(list_text)
        if not items:
            continue
        cits: list[Citation] = []
        end, raw = _clean_raw(text, m.start(), m.end())
        for it in items:
            number = float(it.number) if re.fullmatch(r"\d+(?:\.\d+)?", it.number) else None
            if number is None:
                continue
            fam = family
            if fam is None:
                if mentions is None:
                    mentions = _family_mentions(text)
                fam = _context_family(mentions, m.start(), m.end())
                if fam is None:
                    if other_rules is None:
                        other_rules = _OTHER_RULES_SIGNAL.search(text) is not None
                    if other_rules:
                        continue
                if fam is None or not RULE_FAMILIES[fam].has_number(number):
                    fam = _family_by_number(number) or _DEFAULT_FAMILY
            spec = RULE_FAMILIES[fam]
            if not spec.has_number(number):
                continue
            cits.append(
                Citation(
                    raw=raw,
                    start=m.start(),
                    end=end,
                    kind=CitationKind.RULE,
                    canonical=f"{spec.abbreviation} {it.number}{it.pinpoint}",
                    doc_id=f"{spec.namespace}:{it.number}",
                    pinpoint=it.pinpoint,
                )
            )
        if cits:
            yield _Candidate(m.start(), end, tuple(cits))


def _gdpr_candidates(text: str) -> Iterator[_Candidate]:
    for pattern in _GDPR_PATTERNS:
        for m in pattern.finditer(text):
            items = [it for it in _expand(_items(m["list"]), True) if 1 <= int(it.number) <= 99]
            if not items:
                continue
            end, raw = _clean_raw(text, m.start(), m.end())
            cits = tuple(
                Citation(
                    raw=raw,
                    start=m.start(),
                    end=end,
                    kind=CitationKind.GDPR,
                    canonical=f"GDPR Art. {it.number}{it.pinpoint}",
                    doc_id=f"gdpr:art{it.number}",
                    pinpoint=it.pinpoint,
                )
                for it in items
            )
            yield _Candidate(m.start(), end, cits)
    for m in _RECITAL_PATTERN.finditer(text):
        items = [it for it in _expand(_items(m["list"]), True) if 1 <= int(it.number) <= 173]
        if not items:
            continue
        end, raw = _clean_raw(text, m.start(), m.end())
        cits = tuple(
            Citation(
                raw=raw,
                start=m.start(),
                end=end,
                kind=CitationKind.GDPR,
                canonical=f"GDPR Recital {it.number}",
                doc_id=f"gdpr:recital{it.number}",
                pinpoint="",
            )
            for it in items
        )
        yield _Candidate(m.start(), end, cits)


def _indian_candidates(text: str) -> Iterator[_Candidate]:
    for pattern in _IND_PATTERNS:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            code = groups.get("code") or next((key for key in _IND_CODES if groups.get(key)), None)
            if code is None:
                act = " ".join(m["act"].split())
                if act.lower().startswith("the "):
                    act = act[4:]
                year = re.sub(r"\s+", " ", m["year"] or "")
                code = f"{act}{year}"
            items = _expand(_items(m["list"]), False)
            if not items:
                continue
            end, raw = _clean_raw(text, m.start(), m.end())
            cits = tuple(
                Citation(
                    raw=raw,
                    start=m.start(),
                    end=end,
                    kind=CitationKind.STATUTE_OTHER,
                    canonical=f"{code} § {it.number}{it.pinpoint}",
                    pinpoint=it.pinpoint,
                )
                for it in items
            )
            yield _Candidate(m.start(), end, cits)
    for pattern in _CONST_PATTERNS:
        for m in pattern.finditer(text):
            items = _expand(_items(m["list"]), True)
            if not items:
                continue
            end, raw = _clean_raw(text, m.start(), m.end())
            cits = tuple(
                Citation(
                    raw=raw,
                    start=m.start(),
                    end=end,
                    kind=CitationKind.CONSTITUTION,
                    canonical=f"Const. of India art. {it.number}{it.pinpoint}",
                    pinpoint=it.pinpoint,
                )
                for it in items
            )
            yield _Candidate(m.start(), end, cits)


def _select(candidates: Sequence[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates: the earliest first, the longest among equal starts."""
    chosen: list[_Candidate] = []
    last_end = -1
    for cand in sorted(candidates, key=lambda c: (c.start, -(c.end - c.start))):
        if cand.start >= last_end:
            chosen.append(cand)
            last_end = cand.end
    return chosen


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

    class WindowedTokenizer(AhocorasickTokenizer):
        """Runs only the reporter regexes whose strings occur in each window of the text.

        eyecite runs every reporter regex whose reporter string occurs anywhere in the text
        over the whole text; a long opinion mentions many reporters, so the cost grows with
        length x reporters. Windows (with an overlap longer than any citation token) keep
        each regex to the parts of the text that can contain its reporter.
        """

        window = 4000
        overlap = 200

        def extract_tokens(self, text: str) -> Generator[Token, None, None]:
            n = len(text)
            if n <= self.window + self.overlap:
                yield from super().extract_tokens(text)
                return
            start = 0
            while start < n:
                stop = min(n, start + self.window)
                if stop < n:
                    space = text.rfind(" ", start + self.window // 2, stop)
                    stop = space if space > start else stop
                chunk = text[start : min(n, stop + self.overlap)]
                for extractor in self.get_extractors(chunk):
                    for match in extractor.get_matches(chunk):
                        if match.start() + start < stop or stop >= n:
                            yield extractor.get_token(match, offset=start)
                start = stop

    return get_citations, WindowedTokenizer()


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
class _CaseCandidate(_Candidate):
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


def _case_candidates(text: str, taken: Sequence[_Candidate]) -> list[_CaseCandidate]:
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
        end, raw = _clean_raw(text, start, end)
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
            guess = (found.metadata.antecedent_guess or "").strip()
            guess = guess if guess[:1].isupper() else ""
            canonical = f"{guess}, supra" if guess else "supra"
            out.append(_CaseCandidate(start, end, case(canonical, pin), "supra", guess=guess))
        elif isinstance(found, FullLawCitation):
            cits = _usc_from_law(found.groups, raw, start, end)
            if not cits:
                canonical = re.sub(r"§\s*", "§ ", " ".join(found.matched_text().split()))
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
    items = _expand(_items(section), "§§" in raw)
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


def _resolve(candidates: Sequence[_Candidate]) -> list[Citation]:
    """Citations in order, with short, id. and supra case citations resolved where possible.

    `Id.` takes the authority of the citation just before it, whatever its kind (so `Id.`
    after `17 U.S.C. § 107` is that section). A short citation takes the canonical form of the
    latest full citation in the same volume and reporter starting at or before its page; supra
    the latest full citation whose party names contain the name written before it.
    """
    out: list[Citation] = []
    cases: list[_CaseRef] = []
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
            if match is not None:
                cit = _with_canonical(cit, match.canonical)
        out.append(cit)
    return out


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


# --------------------------------------------------------------------------------------------
# Public API


def parse_citations(text: str) -> list[Citation]:
    """Every legal citation in `text`, in order of appearance.

    A list or range (`28 U.S.C. §§ 1331, 1343`, `§§ 107–108`) yields one citation per section,
    all with the span of the whole citation. Case citations need eyecite, which is loaded on
    the first text that may contain one.

    Args:
        text: free text: an opinion, a statute, a question, a generated answer.

    Returns:
        `Citation`s ordered by start offset (citations from one list keep their written order).
    """
    if not text:
        return []
    own = _select(
        [
            *_usc_candidates(text),
            *_rule_candidates(text),
            *_gdpr_candidates(text),
            *_indian_candidates(text),
        ]
    )
    found: list[_Candidate] = [*own, *_case_candidates(text, own)]
    found.sort(key=lambda c: (c.start, c.end))
    return _resolve(found)


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
    return found[0] if found else None


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
    m = _FAMILY_MENTION.search(raw)
    return _family_from_text(m.group(0)) if m else None


def _from_doc_id(text: str) -> Citation | None:
    m = _DOC_ID.match(text)
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
