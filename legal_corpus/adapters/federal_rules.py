"""Federal Rules (Civil, Criminal, Evidence, Appellate, Bankruptcy) from yearly Markdown files.

Layout: `federal_rules/<collection>/rule-<N>/<YYYY>.md` plus `current.md`. A file is YAML
front matter (`rule`, `title`, `title_number`, `title_name`, `last_amended`, `versions`,
`source_pdf_url`, …) and a Markdown body; the amendment history sits in a trailing
`<p class="amendment-history">`, and some rules carry `## Appended Forms` after it.

One unit = one rule directory; it yields one `LegalDocument` per *version* of the rule.

Ids and citations: `frcp:12` / `Fed. R. Civ. P. 12`, `frcrmp:11` / `Fed. R. Crim. P. 11`,
`fre:702` / `Fed. R. Evid. 702`, `frap:4` / `Fed. R. App. P. 4`, `frbp:7001` /
`Fed. R. Bankr. P. 7001`; `rule-12_1` is Rule 12.1. The lettered Supplemental Rules for
Admiralty or Maritime Claims and Asset Forfeiture Actions are part of the Civil Rules:
`frcp:G` / `Fed. R. Civ. P. Supp. R. G`. The bundle also has copies of them under
`criminal/rule-A` … `rule-G`, and of Civil Rules under `criminal/rule-63` … `rule-87`,
`rule-5_2`, `rule-7_1`, `rule-23_1`, … (40 directories holding only a `current.md` with the
Civil Rule's text). The Criminal Rules have no lettered rules and no Rule 65, so discovery
leaves those directories out, with one warning naming them (`_misfiled_copy`), rather than
invent `Fed. R. Crim. P. G` or `Fed. R. Crim. P. 65`.

Body text comes in two shapes, and both become pinpoints (`(b)(6)` →
`Fed. R. Civ. P. 12(b)(6)`):

- *structured*: one paragraph per item, `**(a) Caption.** text` or `**(1)** text`. The bold
  part after the label is a caption when it reads like one (title case), else it is text
  that the PDF conversion happened to bold.
- *flat*: the whole rule in one paragraph with inline labels (`… if: (a) the expert’s …;
  (b) …`). A label opens an item only where it follows `:`, `;`, `.`, a dash, `; and`,
  `; or` or the start, and only in sequence (`(b)` after `(a)`, a new level starting at
  `(a)`, `(1)`, `(A)`, `(i)`); anything else, such as the cross-reference in
  `Rule 4(a) and (b)`, stays text.
- If a body holds the flat text, a line of only `-`, then the structured form, only the
  structured form is used so no text is duplicated (no file of the 2005–2025 bundle has this
  shape any more; the guard stays for re-scraped files).

Versions: the file for year Y is the text as published in Y, in force since December 1 of
Y−1 (amendments take effect December 1). Consecutive years with identical text (same
pinpoints, captions and text) are merged into one version labelled with its *first* year, so
the label stays stable when a later identical year is added; `metadata["years"]` lists the
years merged. `valid_from` of the first version is the latest effective date in the
amendment history on or before December 1 of Y−1; without one, December 1 of Y−1 for a rule
that first appears after its collection's first year (a new rule, e.g. Bankruptcy Rule 3015.1
in 2018), else None (in force since before the record begins). For a later
version it is December 1 of Y−1, or an effective date the history gives between the previous
two December 1sts (an amendment effective on another day). `valid_to` is the next version's
`valid_from`; the last version is open-ended when the directory has `current.md` (which
repeats the latest year and is not a version of its own), and ends on December 1 of its last
year when it has not (the rule was abrogated or moved, e.g. Fed. R. App. P. 35 in 2024).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from legal_corpus.adapters._text import PinpointTreeBuilder, normalize_ws
from legal_corpus.adapters.base import ParseError, SourceUnit
from legal_corpus.model import Kind, LegalDocument, Section, Version

log = logging.getLogger(__name__)

SOURCE = "federal_rules"


@dataclass(frozen=True, slots=True)
class Collection:
    """One body of rules: its folder, id namespace, citation prefix and name."""

    folder: str
    namespace: str
    prefix: str
    name: str
    division: str


COLLECTIONS: tuple[Collection, ...] = (
    Collection("civil", "frcp", "Fed. R. Civ. P.", "Federal Rules of Civil Procedure", "Title"),
    Collection(
        "criminal", "frcrmp", "Fed. R. Crim. P.", "Federal Rules of Criminal Procedure", "Title"
    ),
    Collection("evidence", "fre", "Fed. R. Evid.", "Federal Rules of Evidence", "Article"),
    Collection(
        "appellate", "frap", "Fed. R. App. P.", "Federal Rules of Appellate Procedure", "Title"
    ),
    Collection(
        "bankruptcy", "frbp", "Fed. R. Bankr. P.", "Federal Rules of Bankruptcy Procedure", "Part"
    ),
)
BY_FOLDER = {c.folder: c for c in COLLECTIONS}
BY_NAMESPACE = {c.namespace: c for c in COLLECTIONS}

_RULE_DIR = re.compile(r"^rule-([0-9A-Za-z]+(?:_[0-9]+)*)$")
_YEAR_FILE = re.compile(r"^(\d{4})\.md$")
_HISTORY = re.compile(r'<p class="amendment-history">(.*?)</p>', re.S)
_TAG = re.compile(r"<[^>]+>")
# What some yearly files carry after a rule's last words, outside the amendment-history
# paragraph: the history note itself and the heading of the next Part or Article of the
# printed rules ("(Added Apr. 11, 1997, eff. Dec. 1, 1997.) ARTICLE IX. AUTHENTICATION AND
# IDENTIFICATION"), sometimes with an abrogated Part's note. Not the rule's text.
_LEAKED_TAIL = re.compile(
    r"\s*(?P<history>\((?:As\s+added|Added|As\s+amended|Amended)\b[^()]*?\beff\.[^()]*\)\.?)?"
    r"(?P<heading>\s*\[?(?:ARTICLE|PART|TITLE)\s+[IVXLC]+(?:\.|\s*[—–-])[^a-z\n]*?\]?"
    r"(?:\s*\(Abrogated[^()]*\))?)?"
    r"[\sÆ]*$"
)
_BOLD_ITEM = re.compile(r"^\*\*\((\w{1,6})\)\s*(.*?)\*\*\s*(.*)$", re.S)
_SEPARATOR = re.compile(r"(?m)^\s*[-‐‑–—]\s*$")
_INLINE_LABEL = re.compile(r"\((\d{1,3}|[a-z]{1,5}|[A-Z]{1,5})\)(?=\s)")
_LABEL_CONTEXT = re.compile(r"(?:[:;.—–]|[;,]\s+(?:and|or))\s*$")
# libyaml when present (same results, ~20x faster than the pure-Python loader)
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_EFF_DATE = re.compile(r"eff\.\s+([A-Z][a-z]{2,4})\.?\s+(\d{1,2}),\s+(\d{4})")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_SMALL_WORDS = {
    "a", "an", "the", "of", "and", "or", "to", "in", "for", "on", "by", "with", "under",
    "from", "as", "at", "but", "nor", "its", "if", "is", "be", "into", "not", "that", "who",
    "when", "after", "before", "other", "than",
}  # fmt: skip


def _misfiled_copy(rule_dir: Path, files: tuple[Path, ...]) -> bool:
    """Whether a rule directory only holds the Civil Rule of the same number.

    The bundle's `criminal/rule-A` … `rule-G`, `rule-63` … `rule-87` (and `rule-5_2`,
    `rule-7_1`, `rule-23_1`, …) hold nothing but a `current.md` whose text is the Civil Rule
    of the same number: the Criminal Rules have no Rule 65 and no lettered rules, and indexing
    them would let an answer cite a `Fed. R. Crim. P. 65` that does not exist. Such a
    directory is left out (`discover` names them in one warning). A directory with yearly
    files is a rule's own history: always kept.
    """
    if rule_dir.parent.name == "civil" or [f.name for f in files] != ["current.md"]:
        return False
    civil = rule_dir.parents[1] / "civil" / rule_dir.name / "current.md"
    if not civil.is_file():
        return False
    own = split_front_matter(files[0], files[0].read_text(encoding="utf-8", errors="replace"))
    other = split_front_matter(civil, civil.read_text(encoding="utf-8", errors="replace"))
    return own[1].strip() == other[1].strip()


def rule_number(dir_name: str) -> str | None:
    """The rule number a directory holds: `rule-12_1` -> `12.1`, `rule-G` -> `G`."""
    m = _RULE_DIR.match(dir_name)
    return m.group(1).replace("_", ".") if m else None


def rule_citation(collection: Collection, number: str) -> str:
    """`Fed. R. Civ. P. 12`; the Supplemental Rules are `Fed. R. Civ. P. Supp. R. G`."""
    if number.isalpha():
        return f"{collection.prefix} Supp. R. {number}"
    return f"{collection.prefix} {number}"


def effective_dates(history: str) -> list[date]:
    """Every `eff. Dec. 1, 2023` date of an amendment history, in order of appearance.

    Args:
        history: the amendment history text.

    Returns:
        The effective dates that parse.
    """
    out: list[date] = []
    for mon, day, year in _EFF_DATE.findall(history):
        month = _MONTHS.get(mon[:3].lower())
        if month is None:
            continue
        try:
            out.append(date(int(year), month, int(day)))
        except ValueError:
            continue
    return out


def _is_caption(text: str) -> bool:
    if not text or text.endswith((":", ";", ",")) or len(text) > 200:
        return False
    words = re.findall(r"[A-Za-z][\w’'\-]*", text)
    significant = [w for w in words if w.lower() not in _SMALL_WORDS]
    if not significant:
        return False
    capital = sum(1 for w in significant if w[0].isupper())
    return capital / len(significant) >= 0.75


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """One yearly file: front matter, the rule's sections, history and appended forms."""

    path: Path
    year: int
    front: dict[str, Any]
    body: str
    items: tuple[Section, ...]
    history: str
    appended: str

    def content_key(self) -> tuple[tuple[str, ...], ...]:
        out: list[tuple[str, ...]] = [("", "", self.body)]
        for top in self.items:
            out.extend((s.pinpoint, s.heading, s.text, s.closing) for s in top.walk())
        return tuple(out)


def split_front_matter(path: Path, raw: str) -> tuple[dict[str, Any], str, int]:
    """Split a rule file into its YAML front matter and Markdown body.

    Args:
        path: the file (for errors).
        raw: its text.

    Returns:
        (front matter mapping, body, line number where the body starts).

    Raises:
        ParseError: missing or unterminated front matter, invalid YAML, no `rule` key.
    """
    if not raw.startswith("---"):
        raise ParseError(path, "missing YAML front matter (file must start with '---')", "line 1")
    end = re.search(r"(?m)^---\s*$", raw[3:])
    if end is None:
        raise ParseError(path, "YAML front matter is not closed by a '---' line", "line 1")
    fm_text = raw[3 : 3 + end.start()]
    try:
        front = yaml.load(fm_text, Loader=_YAML_LOADER)  # a safe loader (C or Python)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "front matter"
        problem = getattr(err, "problem", None) or str(err)
        raise ParseError(path, f"invalid YAML front matter: {problem}", where) from err
    if not isinstance(front, dict) or "rule" not in front:
        raise ParseError(path, "front matter has no 'rule' key", "front matter")
    body_start = 3 + end.end()
    return front, raw[body_start:], raw.count("\n", 0, body_start) + 1


def _flat_items(builder: PinpointTreeBuilder, text: str) -> None:
    pos = 0
    for m in _INLINE_LABEL.finditer(text):
        before = text[max(0, m.start() - 12) : m.start()]
        if m.start() > 0 and not _LABEL_CONTEXT.search(before):
            continue
        if builder.place(m.group(1), strict=True) is None:
            continue
        builder.add_text(text[pos : m.start()].strip())
        builder.add(m.group(1), strict=True)
        pos = m.end()
    builder.add_text(text[pos:].strip())


# A list item's end: what precedes the next item of a list of fragments.
_FRAGMENT_END = re.compile(r"(?:[;,]|[;,]\s+(?:and|or))$")
# An item's first sentence, then more: the first sentence ends with a lowercase word, a number
# or a closing parenthesis (never an abbreviation such as "Fed." or "U.S.C."), and what
# follows starts a sentence.
_SENTENCE_THEN_MORE = re.compile(r"^(.*?(?:\b[a-z]{2,}|\d|\)))\.\s+(?=[A-Z“])(.+)$", re.S)
_OPENS_LIST = re.compile(r"[:—]\s*\((?:[a-z]|[A-Z]|\d{1,2}|[ivx]{1,4})\)\s")
_NOT_SENTENCE_END = frozenset({"etc", "seq", "al", "ed", "eff", "cl", "ch", "subch", "pt", "par"})


def _last_block(section: Section) -> str:
    blocks = list(section.blocks())
    return blocks[-1].strip() if blocks else ""


def _lists_fragments(section: Section) -> bool:
    """Whether `section` introduces a list of fragments that continue its own sentence: its
    text ends with a colon or a dash, and every item but the last is one sentence that ends as
    a list item does (`;`, `; and`, `; or`, `,`)."""
    items = section.children
    if len(items) < 2 or section.closing or not section.text.rstrip().endswith((":", "—")):
        return False
    if not all(_FRAGMENT_END.search(_last_block(item)) for item in items[:-1]):
        return False
    # items of more than one sentence (a caption, then its text): the last one's next
    # sentences are its own
    return not any(
        _SENTENCE_THEN_MORE.match(block) for item in items[:-1] for block in item.blocks()
    )


def _split_last(section: Section) -> tuple[Section, str] | None:
    """`section` with the words after its deepest last item's first sentence taken off, and
    those words; None when that item is one sentence."""
    if section.children:
        inner = _split_last(section.children[-1])
        if inner is None:
            return None
        last, rest = inner
        return replace(section, children=(*section.children[:-1], last)), rest
    if section.closing:
        return None
    m = _SENTENCE_THEN_MORE.match(section.text)
    if m is None or m.group(1).rsplit(None, 1)[-1].lower() in _NOT_SENTENCE_END:
        return None
    if _OPENS_LIST.search(m.group(2)):  # the item's own list the source left unsplit
        return None
    return replace(section, text=m.group(1) + "."), m.group(2).strip()


def closing_after_list(section: Section) -> Section:
    """A section whose list's closing words the source ran into its last item, with them
    as its own closing words.

    The Markdown puts Fed. R. Civ. P. 12(b)'s "A motion asserting any of these defenses must
    be made before pleading …" on the line of item (7), "failure to join a party under Rule
    19." Where a section introduces a list of fragments that continue its sentence (its text
    ends with a colon; each item but the last one sentence ending with `;` or `; and`), the
    sentences after the last item's first one close the list: they are the section's
    `closing` words, cited by its own pinpoint. The outermost such list takes them (Fed. R.
    Evid. 804(a): "But this subdivision (a) does not apply …" after (a)(5)(B)).
    """
    if _lists_fragments(section):
        split = _split_last(section)
        if split is not None:
            section, rest = split
            section = replace(section, closing=rest)
    if not section.children:
        return section
    return replace(section, children=tuple(closing_after_list(c) for c in section.children))


def parse_body(path: Path, body: str, citation: str, line0: int) -> tuple[str, tuple[Section, ...]]:
    """The body text before the first item, and the item sections, of one rule file.

    Args:
        path: the file (for errors).
        body: Markdown between the front matter and the amendment history.
        citation: the rule's citation (pinpoint citations extend it).
        line0: the file line the body starts on (for errors).

    Returns:
        (unlabelled body text, top-level item sections).
    """
    sep = _SEPARATOR.search(body)
    if sep and "**(" in body[sep.end() :]:
        body = body[sep.end() :]
    builder = PinpointTreeBuilder(citation)
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    for para in paragraphs:
        m = _BOLD_ITEM.match(para.strip())
        if m:
            label, bold, rest = m.group(1), normalize_ws(m.group(2)), normalize_ws(m.group(3))
            if bold and _is_caption(bold):
                heading, text = bold.rstrip(".").strip(), rest
            else:
                heading, text = "", f"{bold} {rest}".strip()
            if not builder.add(label, heading=heading, text=text):
                builder.add_text(normalize_ws(para.replace("**", "")))
        elif para.lstrip().startswith("#"):
            line = line0 + body.count("\n", 0, body.find(para))
            raise ParseError(path, "unexpected Markdown heading in rule text", f"line {line}")
        else:
            _flat_items(builder, normalize_ws(para.replace("**", "")))
    return " ".join(builder.body), tuple(closing_after_list(s) for s in builder.build())


def strip_leaked_tail(body: str) -> tuple[str, str]:
    """A rule body without the history note and next-Part heading some files end it with.

    Args:
        body: Markdown of the rule, before its amendment-history paragraph.

    Returns:
        (the body without that tail, the history note found in it or "").
    """
    m = _LEAKED_TAIL.search(body)
    if m is None or not (m.group("history") or m.group("heading") or "Æ" in m.group(0)):
        return body, ""
    return body[: m.start()].rstrip(), normalize_ws(m.group("history") or "")


def parse_file(path: Path, year: int, citation: str) -> ParsedFile:
    """Parse one yearly rule file.

    Args:
        path: the `YYYY.md` (or `current.md`) file.
        year: the publication year it stands for.
        citation: the rule's citation.

    Returns:
        The parsed file.

    Raises:
        ParseError: unreadable file, bad front matter.
    """
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise ParseError(path, f"not UTF-8: {err.reason}", f"line {line}") from err
    front, rest, line0 = split_front_matter(path, raw)
    history = ""
    appended = ""
    hm = _HISTORY.search(rest)
    if hm:
        history = normalize_ws(_TAG.sub(" ", hm.group(1)))
        appended = normalize_ws(_TAG.sub(" ", rest[hm.end() :]))
        rest = rest[: hm.start()]
    rest, leaked = strip_leaked_tail(rest)
    if leaked and not history:
        history = leaked
    body_text, items = parse_body(path, rest, citation, line0)
    return ParsedFile(path, year, front, body_text, items, history, appended)


class FederalRulesAdapter:
    """Adapter for `federal_rules/`: one unit per rule directory, one document per version."""

    name = SOURCE

    def __init__(self) -> None:
        self._first_years: dict[Path, int] = {}

    def _first_year(self, collection_dir: Path) -> int:
        """The earliest yearly file of a collection (2005 in the bundle), cached."""
        if collection_dir not in self._first_years:
            years = [
                int(m.group(1))
                for rule_dir in collection_dir.iterdir()
                if rule_dir.is_dir()
                for f in rule_dir.iterdir()
                if (m := _YEAR_FILE.match(f.name))
            ]
            self._first_years[collection_dir] = min(years, default=0)
        return self._first_years[collection_dir]

    def discover(self, corpus_dir: Path) -> list[SourceUnit]:
        """Every rule directory under `corpus_dir/federal_rules` (sorted).

        Args:
            corpus_dir: the corpus root.

        Returns:
            One unit per rule directory (key `evidence/rule-702`).
        """
        root = corpus_dir / "federal_rules"
        units: list[SourceUnit] = []
        copies: list[str] = []
        for coll in COLLECTIONS:
            folder = root / coll.folder
            if not folder.is_dir():
                continue
            for rule_dir in sorted(folder.iterdir()):
                if not rule_dir.is_dir() or rule_number(rule_dir.name) is None:
                    continue
                files = tuple(sorted(p for p in rule_dir.iterdir() if p.suffix == ".md"))
                if not files:
                    continue
                if _misfiled_copy(rule_dir, files):
                    copies.append(f"{coll.folder}/{rule_dir.name}")
                    continue
                units.append(SourceUnit(SOURCE, f"{coll.folder}/{rule_dir.name}", files))
        if copies:
            log.warning(
                "%s: %d rule directories hold only a current.md copying the Civil Rule of the "
                "same number; left out: %s",
                root,
                len(copies),
                ", ".join(copies),
            )
        return units

    def units_for(self, corpus_dir: Path, doc_id: str) -> list[SourceUnit]:
        """The unit (rule directory) holding `doc_id` (`fre:702`), or none.

        Args:
            corpus_dir: the corpus root.
            doc_id: a Federal Rules document id.

        Returns:
            A list of at most one unit.
        """
        ns, _, number = doc_id.partition(":")
        coll = BY_NAMESPACE.get(ns)
        if coll is None or not number:
            return []
        rule_dir = corpus_dir / "federal_rules" / coll.folder / f"rule-{number.replace('.', '_')}"
        if not rule_dir.is_dir():
            return []
        files = tuple(sorted(p for p in rule_dir.iterdir() if p.suffix == ".md"))
        if not files or _misfiled_copy(rule_dir, files):
            return []
        return [SourceUnit(SOURCE, f"{coll.folder}/{rule_dir.name}", files)]

    def parse(self, unit: SourceUnit) -> Iterator[LegalDocument]:
        """The versions of one rule, oldest first.

        Args:
            unit: a rule directory unit from `discover`.

        Returns:
            An iterator of documents, one per version.

        Raises:
            ParseError: a file of the rule cannot be read.
        """
        folder, _, dir_name = unit.key.partition("/")
        coll = BY_FOLDER[folder]
        number = rule_number(dir_name)
        if number is None:
            raise ParseError(unit.key, f"not a rule directory: {dir_name}")
        citation = rule_citation(coll, number)
        yearly: list[tuple[int, Path]] = []
        current: Path | None = None
        for path in unit.paths:
            m = _YEAR_FILE.match(path.name)
            if m:
                yearly.append((int(m.group(1)), path))
            elif path.name == "current.md":
                current = path
        if not yearly and current is not None:
            front, _, _ = split_front_matter(current, current.read_text(encoding="utf-8"))
            years = [int(v) for v in front.get("versions") or [] if str(v).isdigit()]
            if not years:
                raise ParseError(current, "no yearly file and no 'versions' year", "front matter")
            yearly = [(years[-1], current)]
        yearly.sort()
        parsed = [parse_file(path, year, citation) for year, path in yearly]
        groups: list[list[ParsedFile]] = []
        for pf in parsed:
            if groups and groups[-1][-1].content_key() == pf.content_key():
                groups[-1].append(pf)
            else:
                groups.append([pf])
        starts = _version_starts(groups, self._first_year(unit.paths[0].parent.parent))
        for i, group in enumerate(groups):
            if i + 1 < len(groups):
                valid_to: date | None = starts[i + 1]
            elif current is not None:
                valid_to = None
            else:
                valid_to = date(group[-1].year, 12, 1)
            yield _document(coll, number, citation, group, starts[i], valid_to)


def _version_starts(groups: list[list[ParsedFile]], first_year: int) -> list[date | None]:
    starts: list[date | None] = []
    for i, group in enumerate(groups):
        first = group[0]
        dec1 = date(first.year - 1, 12, 1)
        effs = effective_dates(first.history)
        if i == 0:
            earlier = [d for d in effs if d <= dec1]
            if earlier:
                start: date | None = max(earlier)
            elif first.year > first_year:  # a rule new that year, without a history yet
                start = dec1
            else:  # in force since before the record begins
                start = None
        else:
            window = [d for d in effs if date(first.year - 2, 12, 1) < d <= dec1]
            start = max(window) if window else dec1
            prev = starts[-1]
            if prev is not None and start <= prev:
                start = dec1
        starts.append(start)
    # a first version can't start after its successor (odd histories): drop the guess
    head, second = [*starts, None, None][:2]
    if head is not None and second is not None and head >= second:
        starts[0] = None
    return starts


def _document(
    coll: Collection,
    number: str,
    citation: str,
    group: list[ParsedFile],
    valid_from: date | None,
    valid_to: date | None,
) -> LegalDocument:
    first = group[0]
    front = first.front
    title = normalize_ws(str(front.get("title") or ""))
    heading_path = [coll.name]
    title_number = normalize_ws(str(front.get("title_number") or ""))
    title_name = normalize_ws(str(front.get("title_name") or ""))
    if title_number or title_name:
        heading_path.append(
            f"{coll.division} {title_number}. {title_name}".strip(" .")
            if title_number
            else title_name
        )
    heading_path.append(f"Rule {number}. {title}".strip(" ."))
    root = Section(
        pinpoint="",
        citation=citation,
        heading=title,
        text=first.body,
        children=first.items,
    )
    metadata: dict[str, Any] = {
        "collection": coll.folder,
        "rule": number,
        "years": [pf.year for pf in group],
        "files": [str(pf.path) for pf in group],
        "last_amended": str(front.get("last_amended") or ""),
        "amendment_history": first.history,
        "title_number": title_number,
        "title_name": title_name,
        "source_pdf_url": str(front.get("source_pdf_url") or ""),
        "source_pdf_page": front.get("source_pdf_page"),
    }
    if first.appended:
        metadata["appended_forms"] = first.appended
    return LegalDocument(
        doc_id=f"{coll.namespace}:{number}",
        source=SOURCE,
        kind=Kind.RULE,
        jurisdiction="us",
        title=title,
        citation=citation,
        version=Version(label=str(first.year), valid_from=valid_from, valid_to=valid_to),
        sections=(root,),
        source_path=str(first.path),
        heading_path=tuple(heading_path),
        metadata=metadata,
    )
