"""The United States Code from the Law Revision Counsel's USLM XML, two editions.

Layout: `uscode/<edition>/usc<NN>.xml` (editions `2013`, release point Online@113-31, and
`2022`, Online@117-80). A unit is one *title*: the files of every edition with the same file
name (`usc17.xml`), read oldest edition first, so that a section's editions become successive
versions of one document. Each file is streamed with `lxml.etree.iterparse` and every
finished `<section>` is cleared, so memory stays flat whatever the title's size.

Documents: one per `<section>` that carries an `identifier` and is not inside a note or a
quotation (amendment notes quote whole sections; those are not the Code). `/us/usc/t17/s107`
becomes `usc:17/107`, citation `17 U.S.C. § 107`, with the title as the file name writes it
(`5A`, `11a`, `18a`; leading zeros dropped). A stub standing for several repealed or omitted
sections (`§§ 202 to 204. Repealed.`, identifier `s202 to 204` in one edition, `s202` in
the other) takes the first section's id, `usc:3/202`, and is cited `3 U.S.C. §§ 202–204`
as its number says, so both editions' stubs are versions of one document. Hyphenated
section numbers (`§ 28–1`) are written with an ASCII hyphen in ids and citations
(`usc:30/28-1`, `30 U.S.C. § 28-1`), as they are usually typed. Sections of the
appendix titles sit under a compiled act (`/us/usc/t5a/pl/92/463/s1`): `usc:5A/pl92-463/s1`,
cited `Pub. L. 92-463, § 1 (5 U.S.C. App.)`. The appendix titles' court rules (`11a`, `18a`)
and reorganization plans are not sections and are not emitted: the Federal Rules adapter
carries the same rules with year-by-year versions.

Structure: subsections, paragraphs, subparagraphs, clauses, subclauses, items … become nested
`Section`s with pinpoints `(a)`, `(a)(1)`, `(a)(1)(A)` and citations `17 U.S.C. § 107(1)`;
each level's `chapeau` and `content` text is its `text`, and a `continuation` after its
subdivisions (the words that close a list) its `closing` (blocks joined by newlines,
whitespace collapsed, words untouched); level headings are kept.
The section's own `heading` is the document title. `heading_path` runs from the title through
subtitle / chapter / subchapter / part … to `§ 107. Limitations on exclusive rights: Fair use`.
Statutory text only: `<sourceCredit>` goes to `metadata["source_credit"]`, `<note>`s
(editorial, historical, amendment, statutory notes) to `metadata["notes"]` as
`{"topic", "heading", "text"}`; neither is ever part of `text`.

Repealed, omitted, transferred and renumbered sections are *kept*, with
`metadata["status"]` set (`repealed`, …) and usually no text (the heading says
"Repealed. Pub. L. …"): a lawyer asking what § X said on a date after its repeal should learn
that it was repealed, not find nothing. Sections in force have `metadata["status"] = ""`.

Versions and dates. The XML's `dcterms:created` is the date the converter ran (2021-04-29 for
the Online@117-80 files, months before that release point existed), so it is not used when the
release point is known. A release point `Online@113-31` means "current through Public Law
113-31", so its date is that law's enactment date, from `RELEASE_POINT_DATES`:
113-31 → 2013-08-09, 117-80 → 2021-12-27 (a release point missing from the table falls back to
`dcterms:created` and says so in `metadata["release_date_source"]`). A version's label is the
release point; `valid_from` its date; `valid_to` the next edition's date when the unit has a
later edition — whether the section is still there (the later version takes over) or gone
(dropped from the Code by then) — and open-ended for the latest edition of a title. Titles
present in only one edition have one open-ended version. Editions with identical text keep
separate versions (same text, different labels and periods), so every edition's document is
reproducible from its own file and the reindex can tell what each release point said.

Malformed XML raises `ParseError` with the line and column lxml reports. The sections of one
file are collected (one title, a few MB of text) before the first is yielded, so a file that
breaks halfway yields no documents at all rather than half a title; the XML tree itself is
still cleared section by section.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from legal_corpus.adapters._text import join_blocks, normalize_ws, unique_pinpoint
from legal_corpus.adapters.base import ParseError, SourceUnit
from legal_corpus.model import Kind, LegalDocument, Section, Version

SOURCE = "uscode"
NS = "{http://xml.house.gov/schemas/uslm/1.0}"
DC = "{http://purl.org/dc/elements/1.1/}"
DCTERMS = "{http://purl.org/dc/terms/}"

#: Public Law a release point is current through -> its enactment date.
RELEASE_POINT_DATES: dict[str, date] = {
    "113-31": date(2013, 8, 9),
    "117-80": date(2021, 12, 27),
}

BIG_LEVELS = {
    "title",
    "subtitle",
    "chapter",
    "subchapter",
    "part",
    "subpart",
    "division",
    "subdivision",
    "article",
    "appendix",
    "compiledAct",
}
SMALL_LEVELS = {
    "subsection",
    "paragraph",
    "subparagraph",
    "clause",
    "subclause",
    "item",
    "subitem",
    "subsubitem",
    "level",
}
EDITORIAL = {"note", "notes", "sourceCredit", "toc", "footnote", "editorialNote"}
SKIP_INSIDE = {"note", "notes", "quotedContent", "section", "courtRule", "reorganizationPlan"}
BREAKS = {"p", "br", "tr", "continuation", "chapeau", "content", "quotedContent", "row"}

_FILE = re.compile(r"^usc0*(\d+[A-Za-z]?)\.xml$")
_IDENT = re.compile(r"^/us/usc/t([0-9]+[a-zA-Z]?)/(.+)$")
_PL = re.compile(r"^pl/(\d+)/(\d+)/(?:(t[IVXLC]+)/)?s(.+)$")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def title_of_file(name: str) -> str | None:
    """The title as written from a file name: `usc05A.xml` -> `5A`, `usc11a.xml` -> `11a`."""
    m = _FILE.match(name)
    return m.group(1) if m else None


def file_of_title(title: str) -> str:
    """The file name for a title: `5A` -> `usc05A.xml`, `17` -> `usc17.xml`."""
    m = re.match(r"^(\d+)(.*)$", title)
    return f"usc{int(m.group(1)):02d}{m.group(2)}.xml" if m else f"usc{title}.xml"


@dataclass(frozen=True, slots=True)
class Release:
    """A release point of one title file and the date it stands for."""

    label: str
    day: date | None
    date_source: str
    created: str


def read_release(path: Path) -> Release:
    """The release point of a title file, read from its `<meta>` only.

    Args:
        path: a USLM title file.

    Returns:
        The release point label, its date and where the date came from.

    Raises:
        ParseError: the file's `<meta>` is malformed or missing.
    """
    label = created = ""
    try:
        for _, el in etree.iterparse(str(path), events=("end",)):
            name = _local(el.tag)
            if name == "docPublicationName":
                label = normalize_ws(el.text or "")
            elif el.tag == f"{DCTERMS}created":
                created = normalize_ws(el.text or "")
            elif name == "meta":
                break
    except etree.XMLSyntaxError as err:
        raise _xml_error(path, err) from err
    if not label:
        raise ParseError(path, "no docPublicationName (release point) in <meta>", "<meta>")
    law = label.rsplit("@", 1)[-1]
    if law in RELEASE_POINT_DATES:
        return Release(label, RELEASE_POINT_DATES[law], f"enactment of Pub. L. {law}", created)
    try:
        day: date | None = date.fromisoformat(created[:10])
    except ValueError:
        day = None
    return Release(label, day, "dcterms:created (converter run date)", created)


def _xml_error(path: Path, err: etree.XMLSyntaxError) -> ParseError:
    line, col = err.position if err.position else (err.lineno, 0)
    return ParseError(path, f"malformed XML: {err.msg}", f"line {line}, column {col}")


def _text(el: Any) -> str:
    """Text of a block, line breaks at paragraphs/rows, notes and footnotes left out."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        name = _local(node.tag)
        if name in BREAKS:
            parts.append("\n")
        if node.text:
            parts.append(node.text)
        for child in node:
            cname = _local(child.tag)
            if cname in {"note", "footnote"} or not cname:
                pass
            elif cname in {"td", "th", "column"}:
                parts.append(" ")
                walk(child)
            else:
                walk(child)
            if child.tail:
                parts.append(child.tail)
        if name in BREAKS:
            parts.append("\n")

    walk(el)
    return join_blocks([normalize_ws(line) for line in "".join(parts).split("\n")])


def _heading(el: Any) -> tuple[str, str]:
    num = heading = ""
    for child in el:
        name = _local(child.tag)
        if name == "num":
            num = normalize_ws("".join(child.itertext()))
        elif name == "heading":
            heading = normalize_ws("".join(child.itertext()))
        elif name in SMALL_LEVELS or name in BIG_LEVELS or name == "section":
            break
    return num, heading


def _big_heading(el: Any) -> str:
    num, heading = _heading(el)
    num = num.rstrip("—–-: ").strip()
    if num and heading:
        return f"{num} — {heading}"
    return num or heading


def _label(el: Any) -> str:
    for child in el:
        if _local(child.tag) == "num":
            value = (child.get("value") or "").strip()
            if value:
                return value
            return normalize_ws("".join(child.itertext())).strip("().—–-“” ")
    return ""


@dataclass
class _Level:
    heading: str
    texts: list[str]
    children: list[tuple[str, _Level]]
    closing: list[str]  # text after the first labelled child (a `<continuation>`)


def _walk_level(el: Any, notes: list[dict[str, str]]) -> _Level:
    level = _Level(heading="", texts=[], children=[], closing=[])
    for child in el:
        name = _local(child.tag)
        if not name or name == "num":
            continue
        if name == "heading":
            level.heading = normalize_ws("".join(child.itertext())).rstrip(".—–- ").strip()
        elif name in SMALL_LEVELS:
            label = _label(child)
            sub = _walk_level(child, notes)
            if label:
                level.children.append((label, sub))
            else:  # an unnumbered level: its words belong to the parent
                (level.closing if level.children else level.texts).extend(sub.texts)
                level.children.extend(sub.children)
                level.closing.extend(sub.closing)
        elif name in {"note", "notes"}:
            notes.extend(_notes(child))
        elif name in EDITORIAL:
            continue
        else:
            text = _text(child)
            if text:
                # words after the subdivisions close the list; they are not its preamble
                (level.closing if level.children else level.texts).append(text)
    return level


def _notes(el: Any) -> list[dict[str, str]]:
    found = [el] if _local(el.tag) == "note" else [n for n in el if _local(n.tag) == "note"]
    out = []
    for note in found:
        heading = ""
        for child in note:
            if _local(child.tag) == "heading":
                heading = normalize_ws("".join(child.itertext()))
                break
        body = [_text(c) for c in note if _local(c.tag) not in {"heading", "num"}]
        out.append(
            {
                "topic": note.get("topic") or note.get("role") or "",
                "heading": heading,
                "text": join_blocks(body),
            }
        )
    return out


def _freeze(level: _Level, pinpoint: str, citation: str, seen: set[str]) -> Section:
    children = []
    for label, sub in level.children:
        pin = unique_pinpoint(f"{pinpoint}({label})", seen)
        children.append(_freeze(sub, pin, citation, seen))
    return Section(
        pinpoint=pinpoint,
        citation=f"{citation}{pinpoint}",
        heading=level.heading,
        text=join_blocks(level.texts),
        children=tuple(children),
        closing=join_blocks(level.closing),
    )


def section_id(title: str, identifier: str) -> tuple[str, str] | None:
    """Document id and citation for a section identifier of the title `title`.

    Args:
        title: the title as written (`17`, `5A`).
        identifier: the USLM identifier (`/us/usc/t17/s107`).

    Returns:
        (`usc:17/107`, `17 U.S.C. § 107`), or None when it is not a section identifier.
    """
    m = _IDENT.match(identifier.split()[0] if " /us/" in identifier else identifier)
    if not m:
        return None
    rest = m.group(2)
    base = re.match(r"\d+", title)
    number = base.group(0) if base else title
    appendix = title[-1:].isalpha()
    pl = _PL.match(rest)
    if pl:
        congress, law, sub, sec = pl.groups()
        sec = normalize_ws(sec)
        where = f", title {sub[1:]}" if sub else ""
        key = f"pl{congress}-{law}/" + (f"{sub}/" if sub else "") + f"s{sec}"
        return (
            f"usc:{title}/{key}",
            f"Pub. L. {congress}-{law}{where}, § {sec} ({number} U.S.C. App.)",
        )
    if not rest.startswith("s"):
        return None
    # `28–1` is one section (hyphenated number, written with an ASCII hyphen here)
    sec = normalize_ws(rest[1:]).replace("–", "-")
    parts = re.split(r"\s*(?:\bto\b|\.\.\.|,)\s*", sec)
    app = " App." if appendix else ""
    if len(parts) > 1:  # a stub for a range of sections: its id is the first one's
        cite_sec = re.sub(r"\s*(?:\bto\b|\.\.\.)\s*", "–", sec)
        return f"usc:{title}/{parts[0]}", f"{number} U.S.C.{app} §§ {cite_sec}"
    return f"usc:{title}/{sec}", f"{number} U.S.C.{app} § {sec}"


class UscodeAdapter:
    """Adapter for `uscode/<edition>/usc*.xml`: one unit per title, one document per section."""

    name = SOURCE

    def discover(self, corpus_dir: Path) -> list[SourceUnit]:
        """One unit per title file name, holding that title's file in every edition.

        Args:
            corpus_dir: the corpus root.

        Returns:
            Units keyed `t17`, `t5A`, files ordered by edition (oldest first).
        """
        root = corpus_dir / "uscode"
        if not root.is_dir():
            return []
        by_title: dict[str, list[Path]] = {}
        for edition in sorted(p for p in root.iterdir() if p.is_dir()):
            for path in sorted(edition.glob("usc*.xml")):
                title = title_of_file(path.name)
                if title is not None:
                    by_title.setdefault(title, []).append(path)
        return [
            SourceUnit(SOURCE, f"t{title}", tuple(paths))
            for title, paths in sorted(by_title.items(), key=lambda kv: _title_sort(kv[0]))
        ]

    def units_for(self, corpus_dir: Path, doc_id: str) -> list[SourceUnit]:
        """The title unit that holds `doc_id` (`usc:17/107` -> unit `t17`).

        Args:
            corpus_dir: the corpus root.
            doc_id: a US Code document id.

        Returns:
            A list of at most one unit.
        """
        ns, _, rest = doc_id.partition(":")
        if ns != "usc" or "/" not in rest:
            return []
        title = rest.split("/", 1)[0]
        root = corpus_dir / "uscode"
        if not root.is_dir():
            return []
        name = file_of_title(title)
        paths = tuple(
            p / name for p in sorted(root.iterdir()) if p.is_dir() and (p / name).is_file()
        )
        return [SourceUnit(SOURCE, f"t{title}", paths)] if paths else []

    def parse(self, unit: SourceUnit) -> Iterator[LegalDocument]:
        """Every section of the title, edition by edition (oldest first).

        Args:
            unit: a title unit from `discover`.

        Returns:
            An iterator of documents.

        Raises:
            ParseError: a file is malformed.
        """
        releases = [read_release(p) for p in unit.paths]
        for i, path in enumerate(unit.paths):
            valid_to = releases[i + 1].day if i + 1 < len(releases) else None
            # one file's sections are collected before any is yielded, so a file that
            # turns out malformed halfway yields nothing (no half title gets indexed)
            yield from list(self._parse_file(path, unit.key[1:], releases[i], valid_to))

    def _parse_file(
        self, path: Path, title: str, release: Release, valid_to: date | None
    ) -> Iterator[LegalDocument]:
        valid_from = release.day
        if valid_from and valid_to and valid_to <= valid_from:
            raise ParseError(path, f"release {release.label} is not older than the next edition")
        version = Version(label=release.label, valid_from=valid_from, valid_to=valid_to)
        frames: list[tuple[Any, str]] = []  # open big levels and their headings
        seen_ids: set[str] = set()
        try:
            for event, el in etree.iterparse(
                str(path), events=("start", "end"), resolve_entities=False, no_network=True
            ):
                name = _local(el.tag)
                if event == "start":
                    if name in BIG_LEVELS:
                        frames.append((el, ""))
                    continue
                if name in {"num", "heading"} and frames and el.getparent() is frames[-1][0]:
                    frames[-1] = (frames[-1][0], _big_heading(frames[-1][0]))
                elif name in BIG_LEVELS:
                    if frames and frames[-1][0] is el:
                        frames.pop()
                elif name == "section":
                    if any(_local(a.tag) in SKIP_INSIDE for a in el.iterancestors()):
                        continue
                    doc = self._document(
                        path, title, el, version, release, [h for _, h in frames if h], seen_ids
                    )
                    if doc is not None:
                        yield doc
                    el.clear(keep_tail=True)
                    parent = el.getparent()
                    while parent is not None and el.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as err:
            raise _xml_error(path, err) from err

    def _document(
        self,
        path: Path,
        title: str,
        el: Any,
        version: Version,
        release: Release,
        heading_path: list[str],
        seen_ids: set[str],
    ) -> LegalDocument | None:
        identifier = el.get("identifier") or ""
        ids = section_id(title, identifier) if identifier else None
        if ids is None:
            return None
        doc_id, citation = ids
        num, _ = _heading(el)
        if num.startswith("§§"):  # the number says it covers several sections
            citation = f"{citation.split(' §', 1)[0]} §§ {num[2:].strip().rstrip('.')}"
        if doc_id in seen_ids:  # the same section twice in one edition: number the copies
            n = 2
            while f"{doc_id}~{n}" in seen_ids:
                n += 1
            doc_id = f"{doc_id}~{n}"
        seen_ids.add(doc_id)
        notes: list[dict[str, str]] = []
        source_credit = ""
        for child in el:
            cname = _local(child.tag)
            if cname == "sourceCredit":
                source_credit = _text(child)
            elif cname in {"notes", "note"}:
                notes.extend(_notes(child))
        level = _walk_level(el, notes)
        section_heading = level.heading
        root = _freeze(level, "", citation, set())
        root = Section(
            pinpoint="",
            citation=citation,
            heading=section_heading,
            text=root.text,
            children=root.children,
            closing=root.closing,
        )
        status = el.get("status") or ""
        return LegalDocument(
            doc_id=doc_id,
            source=SOURCE,
            kind=Kind.STATUTE,
            jurisdiction="us",
            title=section_heading or num,
            citation=citation,
            version=version,
            sections=(root,),
            source_path=str(path),
            heading_path=(*heading_path, normalize_ws(f"{num} {section_heading}")),
            metadata={
                "identifier": identifier,
                "status": status,
                "edition": path.parent.name,
                "release_point": release.label,
                "release_date": release.day.isoformat() if release.day else None,
                "release_date_source": release.date_source,
                "xml_created": release.created,
                "source_credit": source_credit,
                "notes": notes,
            },
        )


def _title_sort(title: str) -> tuple[int, str]:
    m = re.match(r"(\d+)(.*)", title)
    return (int(m.group(1)), m.group(2)) if m else (10**6, title)
