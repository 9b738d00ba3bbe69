"""AILA 2019 (FIRE): Supreme Court of India judgments and Indian statutory provisions.

Judgments (`aila/casedocs/C123.txt`, id `aila:C123`) are plain text::

    Masud Khan v State Of Uttar Pradesh          <- title (case name)
    [Status:  / Negative Judicial Treatment]     <- optional treatment note (metadata)
    Supreme Court of India                       <- court

    26 September 1973                            <- decision date
    Writ Petition No. 117 of 1973                <- case number(s) (metadata)
    The Judgment was delivered by : A. Alagiriswami, J.   <- bench (metadata)
    1.  Petitioner Masud Khan prays ...          <- numbered paragraphs: pinpoints ``¶ 1``

The canonical citation of a judgment is its case name as the file states it (AILA carries
no reporter citation); a paragraph is cited `Masud Khan v State Of Uttar Pradesh, ¶ 1`. A
judgment with several opinions (a second "The Judgment was delivered by" whose numbering
restarts at 1) gets its later opinions as sections `opinion 2` with paragraphs
`opinion 2, ¶ 1`, so pinpoints stay unique. Text before the first numbered paragraph, or the
whole text of a judgment without numbered paragraphs, is an unlabelled body section.

Statutes (`aila/statutes/S45.txt`, id `aila:S45`) are two lines, `Title: …` and `Desc: …`;
they become statutes whose citation is the title.

What could not be parsed (no date, no numbering, bytes that are not UTF-8) is recorded in
`metadata["parse_warnings"]`; a file that is not text at all raises `ParseError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from legal_corpus.adapters.base import ParseError, SourceUnit
from legal_corpus.model import Kind, LegalDocument, Section, Version

CASES_SOURCE = "aila/casedocs"
STATUTES_SOURCE = "aila/statutes"
COURT = "Supreme Court of India"
VERSION = Version(label="AILA 2019")

_ID_FILE = re.compile(r"^([CS])(\d+)$")
_DATE = re.compile(r"^\s*(\d{1,2})\s+([A-Za-z]+)\s*,?\s+(\d{4})\s*$")
_BENCH = re.compile(
    r"^\s*[\"“]?(?:\([^)]*\)\s*)?"  # "(Non-Reportable)The Judgment was delivered by: …"
    r"((?i:The (?:Judge?ment|Order)(?: of the Court)? (?:was|is) (?:delivered by|as follows))"
    r"|JUDGMENT(?=\s*:?\s*$)|ORDER(?=\s*:?\s*$))\s*:?\s*(.*)$"
)
# Header lines after the case number: more case numbers, "Arising out of …", the lower court's
# judgment and order. A line with none of these marks is the start of the text.
_HEADERISH = re.compile(
    r"^[(\[]|\d|(?i:reportable)|\b(?:No|Nos|Appeal|Appeals|Petition|Petitions|Arising|WITH|AND|IN|OF|JURISDICTION|"
    r"Jurisdiction|High Court|Judgment and Order)\b"
)
_DELIVERED = re.compile(r"^\s*The Judge?ment was delivered by\s*:?\s*(.*)$", re.IGNORECASE)
# "1.  text", "1.text", "12 . text" or (without a dot) "1 Leave granted."
_NUMBERED_DOT = re.compile(r"^\s*(\d{1,3})\s?\.\s*(?=\S)(.*)$")
_NUMBERED_BARE = re.compile(r"^\s*(\d{1,3})\s+(?=[A-Z\"'“(])(.*)$")


def read_text(path: Path, data: bytes | None = None) -> tuple[str, list[str]]:
    """Decode a text file: UTF-8 (BOM or not), UTF-16 with a BOM, or mostly-UTF-8 text.

    Args:
        path: the file (named in errors).
        data: its bytes, when already read.

    Returns:
        The text with newlines normalised, and warnings about bytes that were replaced.

    Raises:
        ParseError: for data that is not text (NUL bytes, as in UTF-16 without a BOM or a
            binary file) or that is mostly undecodable; the error gives the line.
    """
    raw = path.read_bytes() if data is None else data
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16").replace("\r\n", "\n"), []
        except UnicodeDecodeError as err:
            raise ParseError(path, f"invalid UTF-16: {err.reason}", f"byte {err.start}") from err
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise ParseError(
            path,
            "contains NUL bytes: not a text file in a known encoding "
            "(UTF-16 without a byte-order mark, or binary data)",
            f"line {line}",
        )
    try:
        return raw.decode("utf-8-sig").replace("\r\n", "\n"), []
    except UnicodeDecodeError as err:
        first_bad = err.start
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
    line = raw.count(b"\n", 0, first_bad) + 1
    if bad > max(3, len(text) // 200) or controls > len(text) // 100:
        raise ParseError(
            path,
            f"not UTF-8 text: {bad} undecodable byte sequence(s) and {controls} control "
            "character(s); unknown encoding or binary data",
            f"line {line}",
        )
    return text.replace("\r\n", "\n"), [
        f"line {line}: {bad} byte sequence(s) that are not UTF-8 replaced by U+FFFD"
    ]


def _doc_number(path: Path, prefix: str) -> str:
    match = _ID_FILE.match(path.stem)
    if not match or match.group(1) != prefix:
        raise ParseError(path, f"file name must be {prefix}<number>.txt")
    return path.stem


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text)
    if not match:
        return None
    day, month, year = match.groups()
    for fmt, name in (("%d %B %Y", month), ("%d %b %Y", month[:3])):
        try:
            return datetime.strptime(f"{day} {name} {year}", fmt).date()
        except ValueError:
            continue
    return None


@dataclass
class _Opinion:
    """Paragraphs of one opinion while they are being collected."""

    delivered_by: str = ""
    preamble: list[str] = field(default_factory=list)
    paragraphs: list[tuple[str, list[str]]] = field(default_factory=list)


def _find_bench(lines: list[str]) -> int | None:
    """Index of the bench line, if one comes before the first numbered paragraph."""
    for k, line in enumerate(lines[1:], start=1):
        if _BENCH.match(line.strip()):
            return k
        if (m := _NUMBERED_DOT.match(line)) and int(m.group(1)) <= 3:
            return None
    return None


def _paragraph_starts(lines: list[str]) -> dict[int, tuple[int, str]]:
    """Which lines open a numbered paragraph: line index -> (number, text after the number).

    Judgments quote statutes and other judgments whose own numbered items interleave with the
    judgment's paragraphs, and the numbering sometimes skips. The paragraphs are taken as the
    best increasing chain of numbered lines (steps of 1 to 5; a number without a dot only as
    the very next one), preferring long lines: quoted list items are short.
    """
    cands: list[tuple[int, int, str, bool]] = []
    for k, line in enumerate(lines):
        if m := _NUMBERED_DOT.match(line):
            cands.append((k, int(m.group(1)), m.group(2), True))
        elif m := _NUMBERED_BARE.match(line):
            cands.append((k, int(m.group(1)), m.group(2), False))
    best: list[float] = []
    back: list[int] = []
    for i, (_, num, text, dotted) in enumerate(cands):
        weight = 1.0 + min(len(text), 400) / 1000
        score, prev = (weight if num <= 3 else float("-inf")), -1
        for j in range(i):
            step = num - cands[j][1]
            if not (step == 1 or (dotted and 1 < step <= 5)):
                continue
            cand = best[j] + weight - 0.2 * (step - 1)
            if cand > score:
                score, prev = cand, j
        best.append(score)
        back.append(prev)
    if not cands or max(best) == float("-inf"):
        return {}
    i = max(range(len(cands)), key=lambda x: best[x])
    chain: dict[int, tuple[int, str]] = {}
    while i >= 0:
        k, num, text, _ = cands[i]
        chain[k] = (num, text)
        i = back[i]
    return chain


def _clean(lines: list[str]) -> str:
    text = "\n".join(line.strip() for line in lines)
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_judgment(path: Path, data: bytes | None = None) -> LegalDocument:
    """Parse one AILA judgment file.

    Args:
        path: `…/casedocs/C123.txt`.
        data: the file's bytes, when already read.

    Returns:
        The judgment as an opinion with numbered paragraphs as `¶ N` pinpoints.

    Raises:
        ParseError: for a file that is not text or has no case name.
    """
    number = _doc_number(path, "C")
    text, warnings = read_text(path, data)
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or not lines[0].strip():
        raise ParseError(path, "empty judgment: no case name", "line 1")
    title = re.sub(r"\s+", " ", lines[0]).strip()
    metadata: dict[str, object] = {"aila_id": number}
    i = 1
    court: str | None = None
    decided: date | None = None
    header: list[str] = []
    # Header: status note, court, date, case numbers, bench. It ends after the bench line when
    # there is one before the first numbered paragraph; otherwise at the first line that does
    # not look like a case number or the lower court's history.
    bench_at = _find_bench(lines[:40])
    while i < len(lines) and i < 40:
        line = lines[i].strip()
        if not line:
            i += 1
            continue
        if line.rstrip(":").lower() == "status":
            status = lines[i + 1].strip() if i + 1 < len(lines) else ""
            metadata["status"] = status
            i += 2
            continue
        if court is None and "court" in line.lower() and decided is None and len(line) < 80:
            court = line
            i += 1
            continue
        if decided is None and (parsed := _parse_date(line)) is not None:
            decided = parsed
            i += 1
            continue
        bench = _BENCH.match(line)
        if bench:
            metadata["bench"] = line
            judges = bench.group(2).strip(' "”')
            if judges and "delivered by" in bench.group(1).lower():
                metadata["delivered_by"] = judges
            i += 1
            break
        if _NUMBERED_DOT.match(line) and int(line.strip().split(".")[0]) <= 3:
            break
        if header and (bench_at is None or i > bench_at) and not _HEADERISH.search(line):
            break
        header.append(line)
        i += 1
    if header:
        metadata["case_number"] = header[0]
        if len(header) > 1:
            metadata["header_lines"] = header[1:]
    if decided is None:
        warnings.append("no decision date in the header")
    if court is None:
        warnings.append("no court line in the header; assumed the Supreme Court of India")

    opinions = [_Opinion(delivered_by=str(metadata.get("delivered_by", "")))]
    # A later "The Judgment was delivered by" starts another opinion with its own numbering.
    segments: list[tuple[str, list[str]]] = [("", [])]
    for raw in lines[i:]:
        line = raw.rstrip()
        delivered = _DELIVERED.match(line)
        if delivered and any(_NUMBERED_DOT.match(x) for x in segments[-1][1]):
            segments.append((delivered.group(1).strip(), []))
        else:
            segments[-1][1].append(line)
    for index, (delivered_by, seg) in enumerate(segments):
        if index:
            opinions.append(_Opinion(delivered_by=delivered_by))
        current = opinions[-1]
        starts = _paragraph_starts(seg)
        for k, line in enumerate(seg):
            if k in starts:
                num, text = starts[k]
                current.paragraphs.append((str(num), [text]))
            elif current.paragraphs:
                current.paragraphs[-1][1].append(line)
            else:
                current.preamble.append(line)

    sections: list[Section] = []
    for index, opinion in enumerate(opinions, start=1):
        prefix = "" if index == 1 else f"opinion {index}, "
        children = tuple(
            Section(
                pinpoint=f"{prefix}¶ {num}",
                citation=f"{title}, {prefix}¶ {num}",
                text=_clean(body),
            )
            for num, body in opinion.paragraphs
        )
        preamble = _clean(opinion.preamble)
        if index == 1:
            if preamble or not children:
                sections.append(Section(pinpoint="", citation=title, text=preamble))
            sections.extend(children)
        else:
            heading = f"The Judgment was delivered by: {opinion.delivered_by}".rstrip(": ")
            sections.append(
                Section(
                    pinpoint=f"opinion {index}",
                    citation=f"{title}, opinion {index}",
                    heading=heading,
                    text=preamble,
                    children=children,
                )
            )
    if not any(o.paragraphs for o in opinions):
        warnings.append("no numbered paragraphs: the text is one body section")
    if not any(s.text for s in sections for s in s.walk()):
        raise ParseError(path, "judgment has a header but no text", f"line {i + 1}")
    if len(opinions) > 1:
        metadata["opinions"] = [o.delivered_by for o in opinions]
    if warnings:
        metadata["parse_warnings"] = warnings
    return LegalDocument(
        doc_id=f"aila:{number}",
        source=CASES_SOURCE,
        kind=Kind.OPINION,
        jurisdiction="in",
        title=title,
        citation=title,
        version=Version(label=VERSION.label, valid_from=decided),
        sections=tuple(sections),
        source_path=str(path),
        court=court or COURT,
        decision_date=decided,
        metadata=metadata,
    )


def parse_statute(path: Path, data: bytes | None = None) -> LegalDocument:
    """Parse one AILA statute file (`Title: …` / `Desc: …`).

    Args:
        path: `…/statutes/S45.txt`.
        data: the file's bytes, when already read.

    Returns:
        The provision as a statute with one body section.

    Raises:
        ParseError: when the `Title:` or `Desc:` line is missing.
    """
    number = _doc_number(path, "S")
    text, warnings = read_text(path, data)
    title = desc = None
    desc_lines: list[str] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if title is None and line.startswith("Title:"):
            title = line[len("Title:") :].strip()
        elif desc is None and line.startswith("Desc:"):
            desc = line[len("Desc:") :].strip()
            desc_lines.append(desc)
        elif desc is not None:
            desc_lines.append(line)
        elif line.strip():
            raise ParseError(path, "expected a 'Title:' or 'Desc:' line", f"line {lineno}")
    if not title:
        raise ParseError(path, "no 'Title:' line", "line 1")
    if desc is None:
        raise ParseError(path, "no 'Desc:' line", "line 2")
    metadata: dict[str, object] = {"aila_id": number}
    if warnings:
        metadata["parse_warnings"] = warnings
    return LegalDocument(
        doc_id=f"aila:{number}",
        source=STATUTES_SOURCE,
        kind=Kind.STATUTE,
        jurisdiction="in",
        title=title,
        citation=title,
        version=VERSION,
        sections=(Section(pinpoint="", citation=title, text=_clean(desc_lines)),),
        source_path=str(path),
        metadata=metadata,
    )


def _sorted_files(folder: Path, prefix: str) -> list[Path]:
    if not folder.is_dir():
        return []

    def key(p: Path) -> tuple[int, str]:
        match = _ID_FILE.match(p.stem)
        return (int(match.group(2)) if match else 1 << 30, p.name)

    return sorted(folder.glob(f"{prefix}*.txt"), key=key)


class _AilaAdapter:
    """One unit per file; `units_for` finds the file from the id without listing the folder."""

    name = ""
    folder = ""
    prefix = ""

    def discover(self, corpus_dir: Path) -> list[SourceUnit]:
        """Every `<prefix>*.txt` under `corpus_dir/<folder>`, in numeric order."""
        return [
            SourceUnit(self.name, p.stem, (p,))
            for p in _sorted_files(Path(corpus_dir) / self.folder, self.prefix)
        ]

    def units_for(self, corpus_dir: Path, doc_id: str) -> list[SourceUnit]:
        """The one file holding `aila:<prefix><n>`, or none."""
        ns, _, stem = doc_id.partition(":")
        if ns != "aila" or not _ID_FILE.match(stem) or not stem.startswith(self.prefix):
            return []
        path = Path(corpus_dir) / self.folder / f"{stem}.txt"
        return [SourceUnit(self.name, stem, (path,))] if path.is_file() else []

    def _parse_file(self, path: Path) -> LegalDocument:
        raise NotImplementedError

    def parse(self, unit: SourceUnit) -> Iterator[LegalDocument]:
        """The document in the unit's file."""
        for path in unit.paths:
            yield self._parse_file(path)


class AilaCaseAdapter(_AilaAdapter):
    """Supreme Court of India judgments, `aila/casedocs/C*.txt` -> `aila:C123`."""

    name = CASES_SOURCE
    folder = "aila/casedocs"
    prefix = "C"

    def _parse_file(self, path: Path) -> LegalDocument:
        return parse_judgment(path)


class AilaStatuteAdapter(_AilaAdapter):
    """Indian statutory provisions, `aila/statutes/S*.txt` -> `aila:S45`."""

    name = STATUTES_SOURCE
    folder = "aila/statutes"
    prefix = "S"

    def _parse_file(self, path: Path) -> LegalDocument:
        return parse_statute(path)
