"""The GDPR (Regulation (EU) 2016/679) from the consolidated Formex XML of the EU Publications
Office (`gdpr/gdpr-en.xml`).

Documents:

- one per article: `gdpr:art17`, citation `GDPR Art. 17`, title the article's subject
  (`Right to erasure (‘right to be forgotten’)`). Numbered paragraphs are pinpoints `(1)`,
  points `(1)(a)`, sub-points `(1)(a)(i)` (`GDPR Art. 17(1)(a)`); an article without
  numbered paragraphs (Art. 4) has its points directly (`GDPR Art. 4(11)`). Indents
  (`DASH` lists) have no label and stay in their parent's text.
- one per recital: `gdpr:recital47`, citation `GDPR Recital 47`.

Chapter and section headings (`CHAPTER III — Rights of the data subject`,
`Section 3 — Rectification and erasure`) form `heading_path`. Footnotes (`<NOTE>`) are not
part of the text; they are kept in `metadata["footnotes"]`. Formex quotation marks
(`<QUOT.START/>`, `<QUOT.END/>`) become ‘ and ’, as on EUR-Lex.

Version: one, labelled with the consolidation date from `INFO.CONSLEG/@CONSLEG.DATE`
(`2018-05-23`: the consolidated text with the corrigendum of OJ L 127, 23.5.2018).
`valid_from` is 2018-05-25, the date the Regulation applies from (Art. 99(2)); it entered
into force on 2016-05-24, but a lawyer asking "what did the GDPR require on a date" means the
applicable text, and the corrigendum text is the one the bundle has. Open-ended.

The file is small (0.5 MB), so it is parsed as one tree; a malformed file raises `ParseError`
with the line and column lxml reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from legal_corpus.adapters._text import normalize_ws, unique_pinpoint
from legal_corpus.adapters.base import ParseError, SourceUnit
from legal_corpus.model import Kind, LegalDocument, Section, Version

SOURCE = "gdpr"
FILE = "gdpr-en.xml"
APPLICATION_DATE = date(2018, 5, 25)
ACT_NAME = "Regulation (EU) 2016/679 (General Data Protection Regulation)"
_SKIP_TEXT = {"NOTE", "NO.P", "NO.PARAG", "LIST"}
_BLOCKS = {"P", "LIST", "ALINEA", "NP", "ITEM", "TXT", "PARAG"}


def _text(el: Any, notes: list[str] | None = None, inline_only: bool = False) -> str:
    """Text of a Formex element: quotation marks rendered, footnotes left out (collected).

    With `inline_only`, nested block elements (P, LIST, …) are left out: they are walked
    separately so that their points become sections.
    """
    parts: list[str] = [el.text or ""]
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "QUOT.START":
            parts.append("‘")
        elif tag == "QUOT.END":
            parts.append("’")
        elif tag == "NOTE":
            if notes is not None:
                notes.append(normalize_ws(_text(child)))
        elif tag in _SKIP_TEXT or (inline_only and tag in _BLOCKS):
            pass
        elif tag:
            parts.append(_text(child, notes))
        parts.append(child.tail or "")
    return "".join(parts)


def _where(el: Any) -> str:
    ident = el.get("IDENTIFIER")
    return (
        f"<{el.tag} IDENTIFIER={ident!r}> line {el.sourceline}"
        if ident
        else (f"<{el.tag}> line {el.sourceline}")
    )


def _label(no: str) -> str:
    return no.strip().strip("().").strip()


class _Item:
    def __init__(self, label: str) -> None:
        self.label = label
        self.texts: list[str] = []
        self.children: list[_Item] = []
        self.closing: list[str] = []  # text after its points (a subparagraph that follows)


def _collect(el: Any, into: _Item, notes: list[str]) -> None:
    """Walk a PARAG/ALINEA/P/NP/ITEM, putting text into `into` and points into children."""
    own = (
        normalize_ws(_text(el, notes, inline_only=True)) if el.tag in {"ALINEA", "P", "TXT"} else ""
    )
    if own:
        # a subparagraph after the points closes the list (Art. 6(1)'s "Point (f) of the
        # first subparagraph shall not apply …"): it is not the paragraph's opening words
        (into.closing if into.children else into.texts).append(own)
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "LIST":
            for item in child:
                if not isinstance(item.tag, str) or item.tag != "ITEM":
                    continue
                no = item.find("NP/NO.P")
                if no is not None and _label(no.text or ""):
                    sub = _Item(_label(no.text or ""))
                    _collect(item.find("NP"), sub, notes)
                    into.children.append(sub)
                else:
                    _collect(item, into, notes)  # an indent: text of the parent
        elif tag in {"ALINEA", "P", "TXT", "NP", "ITEM"}:
            _collect(child, into, notes)


def _freeze(item: _Item, prefix: str, citation: str, seen: set[str]) -> Section:
    pin = unique_pinpoint(f"{prefix}({item.label})", seen)
    return Section(
        pinpoint=pin,
        citation=f"{citation}{pin}",
        text=" ".join(item.texts),
        children=tuple(_freeze(c, pin, citation, seen) for c in item.children),
        closing=" ".join(item.closing),
    )


def _division_heading(div: Any) -> str:
    ti = normalize_ws(_text(div.find("TITLE/TI"))) if div.find("TITLE/TI") is not None else ""
    sti = div.find("TITLE/STI")
    sub = normalize_ws(_text(sti)) if sti is not None else ""
    if ti and ti.isupper():
        return f"{ti} — {sub}" if sub else ti
    ti = ti[:1].upper() + ti[1:]
    return f"{ti} — {sub}" if sub else ti


class GdprAdapter:
    """Adapter for `gdpr/gdpr-en.xml`: articles and recitals as documents."""

    name = SOURCE

    def discover(self, corpus_dir: Path) -> list[SourceUnit]:
        """The GDPR file as one unit, or nothing when absent.

        Args:
            corpus_dir: the corpus root.

        Returns:
            `[SourceUnit("gdpr", "gdpr-en", (path,))]` or `[]`.
        """
        path = corpus_dir / "gdpr" / FILE
        return [SourceUnit(SOURCE, "gdpr-en", (path,))] if path.is_file() else []

    def units_for(self, corpus_dir: Path, doc_id: str) -> list[SourceUnit]:
        """The GDPR unit when `doc_id` is a `gdpr:` id.

        Args:
            corpus_dir: the corpus root.
            doc_id: e.g. `gdpr:art17`.

        Returns:
            The unit list (empty for other ids).
        """
        return self.discover(corpus_dir) if doc_id.startswith("gdpr:") else []

    def parse(self, unit: SourceUnit) -> Iterator[LegalDocument]:
        """Recitals (in order), then articles (in order).

        Args:
            unit: the unit from `discover`.

        Returns:
            An iterator of documents.

        Raises:
            ParseError: malformed XML or a missing element.
        """
        path = unit.paths[0]
        try:
            tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as err:
            line, col = err.position if err.position else (err.lineno, 0)
            raise ParseError(
                path, f"malformed XML: {err.msg}", f"line {line}, column {col}"
            ) from err
        root = tree.getroot()
        info = root.find("INFO.CONSLEG")
        raw_date = info.get("CONSLEG.DATE", "") if info is not None else ""
        label = f"{raw_date[:4]}-{raw_date[4:6]}-{raw_date[6:8]}" if len(raw_date) == 8 else "1"
        version = Version(label=label, valid_from=APPLICATION_DATE)
        base_meta: dict[str, Any] = {
            "celex": normalize_ws(root.findtext(".//NO.CELEX") or ""),
            "consolidation_date": label,
            "application_date": APPLICATION_DATE.isoformat(),
        }
        common: dict[str, Any] = {
            "source": SOURCE,
            "kind": Kind.REGULATION,
            "jurisdiction": "eu",
            "version": version,
            "source_path": str(path),
        }
        for consid in root.iter("CONSID"):
            no = consid.find("NP/NO.P")
            txt = consid.find("NP/TXT")
            if no is None or txt is None:
                raise ParseError(path, "recital without number or text", _where(consid))
            n = _label(no.text or "")
            notes: list[str] = []
            text = normalize_ws(_text(txt, notes))
            citation = f"GDPR Recital {n}"
            yield LegalDocument(
                doc_id=f"gdpr:recital{n}",
                title=f"Recital {n}",
                citation=citation,
                sections=(Section(pinpoint="", citation=citation, text=text),),
                heading_path=(ACT_NAME, "Recitals", f"Recital {n}"),
                metadata={**base_meta, "recital": int(n), "footnotes": notes},
                **common,
            )
        terms = root.find(".//ENACTING.TERMS")
        if terms is None:
            raise ParseError(path, "no ENACTING.TERMS element (articles)", "CONS.ACT")
        yield from self._articles(path, terms, (ACT_NAME,), base_meta, common)

    def _articles(
        self,
        path: Path,
        el: Any,
        heading_path: tuple[str, ...],
        base_meta: dict[str, Any],
        common: dict[str, Any],
    ) -> Iterator[LegalDocument]:
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "DIVISION":
                heading = _division_heading(child)
                yield from self._articles(path, child, (*heading_path, heading), base_meta, common)
            elif child.tag == "ARTICLE":
                yield self._article(path, child, heading_path, base_meta, common)

    def _article(
        self,
        path: Path,
        art: Any,
        heading_path: tuple[str, ...],
        base_meta: dict[str, Any],
        common: dict[str, Any],
    ) -> LegalDocument:
        ident = (art.get("IDENTIFIER") or "").lstrip("0")
        ti = art.find("TI.ART")
        if not ident or ti is None:
            raise ParseError(path, "article without IDENTIFIER or TI.ART", _where(art))
        sti = art.find("STI.ART")
        notes: list[str] = []
        subject = normalize_ws(_text(sti, notes)) if sti is not None else ""
        citation = f"GDPR Art. {ident}"
        body = _Item("")
        seen: set[str] = set()
        children: list[Section] = []
        for child in art:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "PARAG":
                no = child.find("NO.PARAG")
                if no is None:
                    raise ParseError(path, "paragraph without NO.PARAG", _where(child))
                item = _Item(_label(no.text or ""))
                _collect(child, item, notes)
                children.append(_freeze(item, "", citation, seen))
            elif tag == "ALINEA":
                _collect(child, body, notes)
        for point in body.children:
            children.append(_freeze(point, "", citation, seen))
        root = Section(
            pinpoint="",
            citation=citation,
            heading=subject,
            text=" ".join(body.texts),
            children=tuple(children),
            closing=" ".join(body.closing),
        )
        return LegalDocument(
            doc_id=f"gdpr:art{ident}",
            title=subject or f"Article {ident}",
            citation=citation,
            sections=(root,),
            heading_path=(*heading_path, f"Article {ident} — {subject}" if subject else ti.text),
            metadata={**base_meta, "article": int(ident), "footnotes": notes},
            **common,
        )
