"""Caselaw Access Project (CAP) case JSON -> opinions (`opinions/cap_json/case_*.json`).

One file is one case: `cap:<id>` (the CAP case id, e.g. `cap:4223181`). The canonical
citation is the official reporter citation (`444 N.J. Super. 423`; the first citation when
none is marked official); all citations go to `metadata["citations"]`, `cites_to` to
`metadata["cites_to"]`, and the docket, reporter, volume and pages alongside.

The text comes from `casebody`. CAP has published it in two shapes and both are read:

* `casebody.data` as a CAP case-body XML string (`<casebody><parties/>…<opinion type=…>
  <author/><p/>…<footnote label=…/></opinion></casebody>`): the bulk-data format of the
  bundled files;
* `casebody.opinions` as structured JSON (`[{type, author, text}]`, with `head_matter`),
  the later static format.

Paragraphs (`<p>` and `<blockquote>` of every opinion, in order) are numbered through the whole
case as pinpoints `¶ 1`, `¶ 2`, … (numbering continues across majority, concurring and
dissenting opinions so pinpoints stay unique); each opinion's first paragraph carries the
heading "Opinion (type) by AUTHOR". Footnotes are sections `n. 1`. The reporter page a
paragraph starts on (CAP's `*429` star pagination) is kept in `metadata["paragraph_pages"]`.
Head matter (parties, attorneys, headnotes, summary, other dates) is metadata, never text.

Jurisdiction: `us` for federal courts, `us-<postal code>` for a state (`us-nj`, `us-tx`),
from CAP's jurisdiction name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from legal_corpus.adapters._text import normalize_ws
from legal_corpus.adapters.base import ParseError, SourceUnit
from legal_corpus.jurisdictions import US_STATES
from legal_corpus.model import Kind, LegalDocument, Section, Version

SOURCE = "opinions/cap"
FOLDER = "opinions/cap_json"
VERSION_LABEL = "CAP"

_HEAD_FIELDS = (
    "parties",
    "attorneys",
    "headnotes",
    "summary",
    "otherdate",
    "judges",
    "disposition",
    "syllabus",
    "history",
)
_PARAGRAPH_TAGS = {"p", "blockquote"}
_ID_PEEK = re.compile(rb'"id"\s*:\s*(\d+)')


def jurisdiction_code(jurisdiction: dict[str, Any] | None) -> str:
    """`us` for CAP's federal jurisdiction, `us-<postal code>` for a state.

    Args:
        jurisdiction: CAP's `jurisdiction` object (`{"slug": "nj", "name_long": "New Jersey"}`).

    Returns:
        The Juris jurisdiction code (`us`, `us-nj`); `us-<slug>` for a name not in the table.
    """
    if not jurisdiction:
        return "us"
    slug = str(jurisdiction.get("slug") or "").lower()
    name = str(jurisdiction.get("name_long") or jurisdiction.get("name") or "")
    if slug == "us" or name == "United States":
        return "us"
    code = US_STATES.get(name)
    return f"us-{code or slug or 'unknown'}"


def _parse_day(value: Any) -> date | None:
    if not value:
        return None
    text = str(value)
    for candidate in (text[:10], text[:7] + "-01", text[:4] + "-01-01"):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
    return None


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _norm(text: str) -> str:
    return normalize_ws(text)


def _element_text(el: Any, pages: list[str]) -> str:
    """An element's text without star-page markers and footnote marks.

    The last page marker seen inside the element is appended to `pages`.
    """
    parts: list[str] = []

    def visit(node: Any) -> None:
        name = _local(node.tag)
        if name == "page-number":
            pages.append(str(node.get("label") or "").strip())
        elif name in ("footnotemark", "footnote") and node is not el:
            pass
        else:
            if node.text:
                parts.append(node.text)
            for child in node:
                visit(child)
        if node is not el and node.tail:
            parts.append(node.tail)

    visit(el)
    return _norm("".join(parts))


class _Builder:
    """Collects numbered paragraphs and footnotes with unique pinpoints."""

    def __init__(self, citation: str) -> None:
        self.citation = citation
        self.paragraphs: list[Section] = []
        self.footnotes: list[Section] = []
        self.pages: dict[str, str] = {}
        self.opinions: list[dict[str, Any]] = []
        self._seen: set[str] = set()

    def paragraph(self, text: str, heading: str = "", page: str = "") -> None:
        if not text:
            return
        pin = f"¶ {len(self.paragraphs) + 1}"
        self.paragraphs.append(
            Section(pinpoint=pin, citation=f"{self.citation}, {pin}", heading=heading, text=text)
        )
        if page:
            self.pages[pin] = page

    def footnote(self, label: str, text: str) -> None:
        text = re.sub(r"^[.\s]+", "", text)
        if not text:
            return
        pin = f"n. {label or len(self.footnotes) + 1}"
        base, n = pin, 2
        while pin in self._seen:
            pin, n = f"{base} ({n})", n + 1
        self._seen.add(pin)
        self.footnotes.append(Section(pinpoint=pin, citation=f"{self.citation}, {pin}", text=text))

    def sections(self) -> tuple[Section, ...]:
        return tuple(self.paragraphs) + tuple(self.footnotes)


def _opinion_heading(kind: str, author: str) -> str:
    kind_text = f" ({kind})" if kind else ""
    by = f" by {author}" if author else ""
    return f"Opinion{kind_text}{by}"


def _from_xml(path: Path, data: str, builder: _Builder, meta: dict[str, Any]) -> None:
    try:
        root = etree.fromstring(
            data.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False)
        )
    except etree.XMLSyntaxError as err:
        line = err.position[0] if err.position else 0
        raise ParseError(
            path, f"casebody XML is malformed: {err.msg}", f"casebody line {line}"
        ) from err
    page = str(root.get("firstpage") or "")
    head: dict[str, list[str]] = {}
    for child in root:
        name = _local(child.tag)
        pages: list[str] = []
        if name == "opinion":
            kind = str(child.get("type") or "")
            author = ""
            first = len(builder.paragraphs) + 1
            for el in child:
                el_name = _local(el.tag)
                pages = []
                text = _element_text(el, pages)
                if el_name == "author":
                    author = text
                elif el_name in _PARAGRAPH_TAGS:
                    heading = (
                        _opinion_heading(kind, author)
                        if len(builder.paragraphs) + 1 == first
                        else ""
                    )
                    builder.paragraph(text, heading, page)
                elif el_name == "footnote":
                    builder.footnote(str(el.get("label") or ""), _element_text(el, []))
                page = pages[-1] if pages else page
            builder.opinions.append(
                {
                    "type": kind,
                    "author": author,
                    "first": f"¶ {first}",
                    "last": f"¶ {len(builder.paragraphs)}",
                }
            )
        elif name == "footnote":
            builder.footnote(str(child.get("label") or ""), _element_text(child, []))
        elif name:
            text = _element_text(child, pages)
            page = pages[-1] if pages else page
            if text:
                head.setdefault(name, []).append(text)
    meta["head_matter"] = {
        name: values[0] if len(values) == 1 and name not in ("attorneys", "otherdate") else values
        for name, values in head.items()
    }


def _from_json(path: Path, body: dict[str, Any], builder: _Builder, meta: dict[str, Any]) -> None:
    opinions = body.get("opinions")
    if not isinstance(opinions, list):
        raise ParseError(path, "casebody has neither 'data' nor an 'opinions' list", "casebody")
    meta["head_matter"] = {f: body[f] for f in (*_HEAD_FIELDS, "head_matter") if body.get(f)}
    for index, opinion in enumerate(opinions):
        if not isinstance(opinion, dict):
            raise ParseError(path, "opinion is not an object", f"casebody.opinions[{index}]")
        kind, author = str(opinion.get("type") or ""), _norm(str(opinion.get("author") or ""))
        first = len(builder.paragraphs) + 1
        paras = [p for p in re.split(r"\n\s*\n|\n", str(opinion.get("text") or "")) if p.strip()]
        for i, para in enumerate(paras):
            builder.paragraph(_norm(para), _opinion_heading(kind, author) if i == 0 else "")
        builder.opinions.append(
            {
                "type": kind,
                "author": author,
                "first": f"¶ {first}",
                "last": f"¶ {len(builder.paragraphs)}",
            }
        )


def _load_json(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ParseError(path, f"not UTF-8 JSON: {err.reason}", f"line {line}") from err
    try:
        case = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(
            path, f"invalid JSON: {err.msg}", f"line {err.lineno}, column {err.colno}"
        ) from err
    if not isinstance(case, dict):
        raise ParseError(path, "a CAP case must be a JSON object", "line 1")
    return case


def parse_cap_case(path: Path) -> LegalDocument:
    """Parse one CAP case JSON file.

    Args:
        path: `…/case_1.json`.

    Returns:
        The opinion with paragraph pinpoints `¶ N` and footnotes `n. N`.

    Raises:
        ParseError: for invalid JSON, a missing id or casebody, malformed casebody XML, or a
            case without opinion text.
    """
    case = _load_json(path)
    try:
        return _case_document(path, case)
    except (AttributeError, KeyError, TypeError) as err:
        # a field of an unexpected type (a string where CAP has an object, …)
        raise ParseError(
            path, f"unexpected CAP JSON structure: {type(err).__name__}: {err}"
        ) from err


def _case_document(path: Path, case: dict[str, Any]) -> LegalDocument:
    if "id" not in case:
        raise ParseError(path, "missing field 'id'", "top level")
    name_abbr = str(case.get("name_abbreviation") or case.get("name") or "").strip()
    citations = [c for c in case.get("citations") or [] if isinstance(c, dict) and c.get("cite")]
    official = next((c for c in citations if c.get("type") == "official"), None)
    canonical = str((official or (citations[0] if citations else {})).get("cite") or "")
    if not canonical:
        canonical = f"{name_abbr} (CAP {case['id']})"
    court = case.get("court") or {}
    jurisdiction = case.get("jurisdiction") or {}
    decided = _parse_day(case.get("decision_date"))
    meta: dict[str, Any] = {
        "cap_id": case["id"],
        "name": case.get("name"),
        "name_abbreviation": case.get("name_abbreviation"),
        "decision_date": case.get("decision_date"),
        "docket_number": case.get("docket_number") or "",
        "citations": [{"type": c.get("type"), "cite": c.get("cite")} for c in citations],
        "cites_to": case.get("cites_to") or [],
        "court_abbreviation": court.get("name_abbreviation"),
        "court_slug": court.get("slug"),
        "jurisdiction_name": jurisdiction.get("name_long"),
        "reporter": (case.get("reporter") or {}).get("full_name"),
        "volume": (case.get("volume") or {}).get("volume_number"),
        "first_page": case.get("first_page"),
        "last_page": case.get("last_page"),
        "url": case.get("frontend_url") or case.get("url"),
    }
    builder = _Builder(canonical)
    body = case.get("casebody")
    if isinstance(body, str):
        body = {"data": body}
    if not isinstance(body, dict):
        raise ParseError(path, "missing field 'casebody'", "top level")
    data = body.get("data")
    if isinstance(data, str):
        _from_xml(path, data, builder, meta)
    else:
        _from_json(path, body, builder, meta)
    if not builder.paragraphs:
        raise ParseError(path, "casebody holds no opinion paragraphs", "casebody")
    meta["opinions"] = builder.opinions
    meta["paragraph_pages"] = builder.pages
    return LegalDocument(
        doc_id=f"cap:{case['id']}",
        source=SOURCE,
        kind=Kind.OPINION,
        jurisdiction=jurisdiction_code(jurisdiction),
        title=name_abbr or canonical,
        citation=canonical,
        version=Version(label=VERSION_LABEL, valid_from=decided),
        sections=builder.sections(),
        source_path=str(path),
        court=court.get("name") or None,
        decision_date=decided,
        metadata=meta,
    )


class CapJsonAdapter:
    """CAP case JSON files; one file per unit."""

    name = SOURCE

    def discover(self, corpus_dir: Path) -> list[SourceUnit]:
        """Every `*.json` under `corpus_dir/opinions/cap_json`."""
        folder = Path(corpus_dir) / FOLDER
        if not folder.is_dir():
            return []
        return [SourceUnit(self.name, p.stem, (p,)) for p in sorted(folder.glob("*.json"))]

    def units_for(self, corpus_dir: Path, doc_id: str) -> list[SourceUnit]:
        """The file whose case id is `doc_id`'s (`cap:4223181`); read from each file's head."""
        ns, _, wanted = doc_id.partition(":")
        if ns != "cap":
            return []
        found = []
        for unit in self.discover(corpus_dir):
            with unit.paths[0].open("rb") as fh:
                match = _ID_PEEK.search(fh.read(512))
            if match and match.group(1).decode() == wanted:
                found.append(unit)
        return found

    def parse(self, unit: SourceUnit) -> Iterator[LegalDocument]:
        """The case in the unit's file."""
        for path in unit.paths:
            yield parse_cap_case(path)
