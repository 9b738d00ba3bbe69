"""Regular-expression parsers for statutes, rules and articles: US Code, Federal Rules, GDPR,
Indian statutes and the Constitution of India. Each yields `Candidate`s: a span and the
citations it stands for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from legal_corpus.model import Citation, CitationKind

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
PIN = r"(?:\((?:[A-Za-z]{1,5}|\d{1,3}[A-Za-z]?)\))*"
# list separators between section / rule / article numbers
_LIST_SEP = r"(?:\s*,\s*(?:and\s+|or\s+|&\s*)?|\s+(?:and|or|&)\s+)"
_RANGE_SEP = r"(?:\s*[–—]\s*|\s+(?:to|through|thru)\s+|-(?=\d))"
# a following token that shows a number starts another citation or is a quantity
_NOT_NEXT = (
    r"(?!\s*(?:U\.?\s?S\.?\s?C|C\.?\s?F\.?\s?R|days?\b|months?\b|years?\b|hours?\b|percent\b|%))"
)

_USC_SEC = r"\d+[A-Za-z]*(?:-\d+[A-Za-z]*)*"
_USC_ITEM = rf"{_USC_SEC}(?!\w){PIN}{_NOT_NEXT}"
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

# section 106 of this title; sections 106, 114, and 115 of this title (inside the US Code,
# where the title is the document's own: only with `usc_title`)
_USC_THIS_TITLE = re.compile(
    rf"\b(?P<sign>[Ss]ections?|§§?)\s*(?P<list>{_USC_LIST})\s+of\s+this\s+title\b"
)
# section 112; sections 107 through 122 — a bare section inside the US Code is of the same
# title (the positive-law titles write no "of this title"); not one of another act or title
# (`section 5 of the Act`, `section 1 of title 9`, `section 12 of Public Law 95-452`)
_USC_BARE_SECTION = re.compile(
    rf"(?<![\w.])(?P<sign>[Ss]ections?|§§?)\s*(?P<list>{_USC_LIST})(?!\s*,?\s+of\b|\w)"
)

_RULE_NUM = r"\d{1,4}(?:\.\d{1,2})?(?!\d)"
# federal rule numbers carry no letter suffix (`Rule 22B`, `Rule 3-C` are other bodies of rules)
_RULE_ITEM = rf"{_RULE_NUM}{PIN}(?![A-Za-z0-9]|-[A-Za-z0-9]){_NOT_NEXT}"
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
# the Supplemental Rules for Admiralty or Maritime Claims and Asset Forfeiture Actions (part of
# the Civil Rules): `Supplemental Rule G(5)`, `Fed. R. Civ. P. Supp. R. G`
_SUPPLEMENTAL_PATTERN = re.compile(
    r"(?:\bFed\.\s?R\.\s?Civ\.\s?P\.\s?Supp\.\s?R\.|\bSupplemental\s+(?:Admiralty\s+)?Rule)"
    rf"\s*(?P<letter>[A-G])\b(?P<pin>{PIN})"
)
# mentions of a rule family without a rule number, used as context for bare rules
FAMILY_MENTION = re.compile(
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

_ART_ITEM = rf"\d{{1,3}}(?!\d){PIN}{_NOT_NEXT}"
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
# Article 6(1); Articles 13 and 14 — inside the GDPR's own text, where a bare article is its
# own (only with `in_gdpr`); not one of another act (`Article 16 of Directive 95/46/EC`)
_GDPR_OWN_PATTERN = re.compile(
    rf"\b{_ARTICLE}\s*(?P<list>{_ART_LIST})"
    r"(?!\s*,?\s*(?:of|in)\s+(?:the\s+|that\s+)?(?:Directive|Regulation\s*\(|Regulations|Treaty"
    r"|TFEU|TEU|Charter|Decision|Protocol|Convention|Council))"
)
_RECITAL_PATTERN = re.compile(
    rf"(?:\bGDPR\s+)?\b(?P<rec>Recitals?)\s+(?P<list>{_ART_LIST})"
    rf"(?:\s*,?\s*(?:of\s+(?:the\s+)?)?{_GDPR_NAME})?"
)

_IND_ITEM = (
    rf"\d{{1,4}}(?!\d)(?:\s?-\s?[A-Z]{{1,2}}\b|[A-Z]{{1,2}}\b|\s[A-Z]\b(?![.\w]))?{PIN}{_NOT_NEXT}"
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

DOC_ID = re.compile(
    r"^\s*(?P<ns>usc|frcp|frcrmp|fre|frap|frbp|gdpr):(?P<rest>[0-9A-Za-z./-]+)(?P<pin>"
    + PIN
    + r")\s*$"
)

_SPLIT_ITEMS = re.compile(
    rf"(?P<sep>{_LIST_SEP}|{_RANGE_SEP}|\s*/\s*|\s+(?:read\s+with|r/w)\s+)?"
    r"(?:(?:§§?|[Ss]ections?|[Ss]ecs?\.|[Ss]s?\.|u/ss?\.?)\s*)?"
    rf"(?P<item>\d+(?:\.\d+|[A-Za-z]*(?:-\d+[A-Za-z]*)*)(?:\s?-\s?[A-Z]{{1,2}}\b|\s[A-Z]\b)?)"
    rf"(?P<pin>{PIN})"
)


# --------------------------------------------------------------------------------------------
# Candidates found by the patterns here


@dataclass(frozen=True, slots=True)
class Item:
    """One number of a list (`1331` of `§§ 1331, 1343`) with its pinpoint."""

    number: str
    pinpoint: str
    range_from: str | None = None  # set when this item ends a range (`108` of `107–108`)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A span claimed by one of the patterns here, and the citations it yields."""

    start: int
    end: int
    citations: tuple[Citation, ...]


def split_items(list_text: str) -> list[Item]:
    """Split a list such as `107–108`, `1331, 1343(a)`, `302/149 read with 34` into items."""
    items: list[Item] = []
    for m in _SPLIT_ITEMS.finditer(list_text):
        number = re.sub(r"\s*-?\s*(?=[A-Z]$)|\s+", "", m["item"])
        sep = (m["sep"] or "").strip()
        is_range = bool(sep) and (sep in "–—-" or sep in ("to", "through", "thru"))
        prev = items[-1].number if items else None
        items.append(Item(number, m["pin"] or "", prev if is_range else None))
    return items


def expand_ranges(items: Sequence[Item], plural: bool) -> list[Item]:
    """Expand ranges (`107–108` -> 107, 108; `270a-270f` -> 270a … 270f).

    A hyphenated US Code section such as `2000e-2` or `1320a-7b` is one section, not a range,
    unless the sign is plural and the second number is not smaller than the first.
    """
    out: list[Item] = []
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


def _range_items(first: str, last: str, pinpoint: str) -> list[Item]:
    members = _range_members(first, last) or [first, last]
    return [Item(m, pinpoint if m == last else "") for m in members]


def clean_raw(text: str, start: int, end: int) -> tuple[int, str]:
    """Trim trailing punctuation and whitespace off a span; returns (end, raw)."""
    raw = text[start:end]
    stripped = raw.rstrip(" \t\r\n,;")
    return start + len(stripped), stripped


def item_candidate(
    text: str,
    start: int,
    end: int,
    items: Sequence[Item],
    kind: CitationKind,
    prefix: str,
    doc_prefix: str | None = None,
    with_pinpoint: bool = True,
) -> Candidate:
    """One candidate holding a citation per listed item, all sharing the written span.

    The span `text[start:end]` loses its trailing punctuation (`clean_raw`). Each citation's
    canonical form is `prefix + number (+ pinpoint)`; its document id is `doc_prefix + number`
    (None when `doc_prefix` is None).
    """
    end, raw = clean_raw(text, start, end)
    cits = tuple(
        Citation(
            raw=raw,
            start=start,
            end=end,
            kind=kind,
            canonical=f"{prefix}{it.number}{it.pinpoint if with_pinpoint else ''}",
            doc_id=None if doc_prefix is None else f"{doc_prefix}{it.number}",
            pinpoint=it.pinpoint if with_pinpoint else "",
        )
        for it in items
    )
    return Candidate(start, end, cits)


def usc_candidates(text: str, usc_title: str | None = None) -> Iterator[Candidate]:
    """US Code citations; with `usc_title`, also `section N of this title` and a bare
    `section N`."""
    patterns: tuple[re.Pattern[str], ...] = _USC_PATTERNS
    if usc_title is not None:
        patterns = (*patterns, _USC_THIS_TITLE, _USC_BARE_SECTION)
    for pattern in patterns:
        for m in pattern.finditer(text):
            sign = (m["sign"] or "").lower()
            plural = sign in ("§§", "ss", "ss.", "sections") or sign.endswith("s.")
            items = split_items(m["list"])
            if not plural:
                items = items[:1]
            items = expand_ranges(items, plural)
            if not items:
                continue
            title = m["title"] if pattern in _USC_PATTERNS else usc_title
            title = (title or "").lstrip("0") or "0"
            end = m.end() if plural or pattern is not _USC_PATTERNS[0] else None
            if end is None:
                # a singular sign takes only its first number: end the span there
                first = re.match(rf"{_USC_SEC}{PIN}", m["list"])
                end = m.start("list") + (first.end() if first else len(m["list"]))
            yield item_candidate(
                text,
                m.start(),
                end,
                items,
                CitationKind.USC,
                f"{title} U.S.C. § ",
                f"usc:{title}/",
            )


def family_from_text(fragment: str) -> str | None:
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
    for m in FAMILY_MENTION.finditer(text):
        family = family_from_text(m.group(0))
        if family:
            found.append((m.start(), family))
    return found


def _context_family(mentions: Sequence[tuple[int, str]], start: int, end: int) -> str | None:
    before = [f for pos, f in mentions if start - _CONTEXT_BEFORE <= pos < start]
    if before:
        return before[-1]
    after = [f for pos, f in mentions if end <= pos <= end + _CONTEXT_AFTER]
    return after[0] if after else None


def rule_candidates(text: str, rule_family: str | None = None) -> Iterator[Candidate]:
    """Federal Rules citations; `rule_family` is the family of bare rules with no family nearby."""
    mentions: list[tuple[int, str]] | None = None
    other_rules: bool | None = None
    for m in _RULE_PATTERN.finditer(text):
        family: str | None
        if m["list2"] is not None:
            list_text, family = m["list2"], family_from_text(m["name2"])
        elif m["list1"] is not None:
            list_text, family = m["list1"], family_from_text(m["abbr1"])
        elif m["list3"] is not None:
            list_text, family = m["list3"], family_from_text(m["name3"])
        elif m["list4"] is not None:
            list_text, family = m["list4"], family_from_text(m["word4"])
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
        items = split_items(list_text)
        if not items:
            continue
        cits: list[Citation] = []
        end, raw = clean_raw(text, m.start(), m.end())
        for it in items:
            number = float(it.number) if re.fullmatch(r"\d+(?:\.\d+)?", it.number) else None
            if number is None:
                continue
            fam = family
            if fam is None:
                if mentions is None:
                    mentions = _family_mentions(text)
                fam = _context_family(mentions, m.start(), m.end()) or rule_family
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
            yield Candidate(m.start(), end, tuple(cits))
    for m in _SUPPLEMENTAL_PATTERN.finditer(text):
        end, raw = clean_raw(text, m.start(), m.end())
        pin = m["pin"] or ""
        cit = Citation(
            raw=raw,
            start=m.start(),
            end=end,
            kind=CitationKind.RULE,
            canonical=f"Fed. R. Civ. P. Supp. R. {m['letter']}{pin}",
            doc_id=f"frcp:{m['letter']}",
            pinpoint=pin,
        )
        yield Candidate(m.start(), end, (cit,))


def listed_candidates(
    text: str,
    patterns: Sequence[re.Pattern[str]],
    kind: CitationKind,
    prefix: str,
    doc_prefix: str | None = None,
    highest: int | None = None,
    with_pinpoint: bool = True,
) -> Iterator[Candidate]:
    """Candidates of patterns whose `list` group names numbered items (articles, recitals).

    Ranges are expanded; with `highest`, items numbered outside 1..highest are dropped.
    """
    for pattern in patterns:
        for m in pattern.finditer(text):
            items = [
                it
                for it in expand_ranges(split_items(m["list"]), True)
                if highest is None or 1 <= int(it.number) <= highest
            ]
            if items:
                yield item_candidate(
                    text, m.start(), m.end(), items, kind, prefix, doc_prefix, with_pinpoint
                )


def gdpr_candidates(text: str, in_gdpr: bool = False) -> Iterator[Candidate]:
    """GDPR citations; with `in_gdpr` (a text of the GDPR itself), also a bare `Article 6(1)`."""
    gdpr = CitationKind.GDPR
    patterns = (*_GDPR_PATTERNS, _GDPR_OWN_PATTERN) if in_gdpr else _GDPR_PATTERNS
    yield from listed_candidates(text, patterns, gdpr, "GDPR Art. ", "gdpr:art", 99)
    yield from listed_candidates(
        text, (_RECITAL_PATTERN,), gdpr, "GDPR Recital ", "gdpr:recital", 173, False
    )


def indian_candidates(text: str) -> Iterator[Candidate]:
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
            items = expand_ranges(split_items(m["list"]), False)
            if not items:
                continue
            yield item_candidate(
                text,
                m.start(),
                m.end(),
                items,
                CitationKind.STATUTE_OTHER,
                f"{code} § ",
            )
    yield from listed_candidates(
        text, _CONST_PATTERNS, CitationKind.CONSTITUTION, "Const. of India art. "
    )


def select(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Non-overlapping candidates: the earliest first, the longest among equal starts."""
    chosen: list[Candidate] = []
    last_end = -1
    for cand in sorted(candidates, key=lambda c: (c.start, -(c.end - c.start))):
        if cand.start >= last_end:
            chosen.append(cand)
            last_end = cand.end
    return chosen
