"""The canonical document model every package speaks.

A `LegalDocument` is one version of one provision or opinion: a US Code section as of one
release point, a Federal Rule as published in one year, a GDPR article, a judgment. Its
sections form a tree; every section carries the pinpoint a lawyer would cite
(`(b)(6)`, `¶ 12`, `(1)(a)`) and the full pinpoint citation (`Fed. R. Civ. P. 12(b)(6)`).

Dates follow one rule everywhere: a version is in force on day `d` when
`valid_from <= d < valid_to` (`valid_from` None: since the beginning of the record;
`valid_to` None: still in force). `valid_to` is therefore the first day the version is *no
longer* in force, which is the day its successor takes effect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Kind(StrEnum):
    """What sort of legal source a document is."""

    STATUTE = "statute"
    RULE = "rule"
    REGULATION = "regulation"
    OPINION = "opinion"


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a document and the period it was in force.

    Args:
        label: a human label of the version: a release point (`Online@117-80`), a year
            (`2024`), a consolidation date.
        valid_from: first day in force (None: not known / since the start of the record).
        valid_to: first day no longer in force (None: still in force).
    """

    label: str
    valid_from: date | None = None
    valid_to: date | None = None

    def __post_init__(self) -> None:
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError(
                f"version {self.label!r}: valid_to {self.valid_to} must be after "
                f"valid_from {self.valid_from}"
            )

    def in_force(self, day: date) -> bool:
        """True when this version was the law on `day`."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_to is None or day < self.valid_to


@dataclass(frozen=True, slots=True)
class Section:
    """A node of a document's structure with its own text and its pinpoint.

    Args:
        pinpoint: the label relative to the document, as cited after the document citation:
            `(a)`, `(b)(6)`, `(1)(a)`, `¶ 12`; empty for a document's unlabelled body text.
        citation: the full pinpoint citation, e.g. `17 U.S.C. § 107(1)`, `GDPR Art. 17(1)(a)`.
        heading: the section's heading or caption, if it has one.
        text: the section's own text, excluding its children's: what comes before them.
        children: nested sections in document order.
        closing: words of the section that come *after* its children — the flush language
            that closes a list (17 U.S.C. § 107's "The fact that a work is unpublished shall
            not itself bar a finding of fair use …" after factors (1)–(4)); cited by the
            section's own pinpoint.
    """

    pinpoint: str
    citation: str
    heading: str = ""
    text: str = ""
    children: tuple[Section, ...] = ()
    closing: str = ""

    @property
    def anchor(self) -> str:
        """A stable HTML anchor id for this section (`p-b-6`, `p-para-12`, `p-body`)."""
        return pinpoint_anchor(self.pinpoint)

    def walk(self) -> Iterator[Section]:
        """This section and all its descendants, depth first, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def blocks(self) -> Iterator[str]:
        """The texts of this section and its descendants in reading order: its own text,
        its children's, then its closing words (empty texts left out)."""
        if self.text:
            yield self.text
        for child in self.children:
            yield from child.blocks()
        if self.closing:
            yield self.closing


def pinpoint_anchor(pinpoint: str) -> str:
    """The HTML anchor id for a pinpoint label: `(b)(6)` -> `p-b-6`, `¶ 12` -> `p-para-12`."""
    cleaned = pinpoint.replace("¶", "para ")
    parts = [p for p in "".join(c if c.isalnum() else " " for c in cleaned).split() if p]
    return "p-" + "-".join(parts).lower() if parts else "p-body"


def _freeze(meta: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(meta or {}))


@dataclass(frozen=True, slots=True)
class LegalDocument:
    """One version of a statute section, rule, regulation article or court opinion.

    Args:
        doc_id: namespaced source identifier, stable across versions: `usc:17/107`,
            `fre:702`, `frcp:12`, `gdpr:art17`, `gdpr:recital47`, `aila:C123`,
            `aila:S45`, `cap:4223181`, `ruling:ca1-12-2209`.
        source: the corpus source it came from (`uscode`, `federal_rules`, `gdpr`,
            `aila/casedocs`, `aila/statutes`, `opinions/cap`, `opinions/rulings`).
        kind: statute, rule, regulation or opinion.
        jurisdiction: `us`, `eu`, `in`, or a US state code such as `us-tn`.
        court: the deciding court for opinions; None for enacted law.
        title: the heading or case name.
        citation: canonical citation without pinpoint (`17 U.S.C. § 107`).
        version: which version of the document this is, and when it was in force.
        sections: the document's structure; pinpoints within it are unique.
        source_path: the file it was parsed from.
        heading_path: headings from the outermost container to this document
            (`Title 17 — COPYRIGHTS`, `Chapter 1 — …`, `§ 107. Limitations …`).
        decision_date: the decision date of an opinion.
        metadata: anything else worth keeping (editorial notes, parallel citations,
            `cites_to`, docket numbers, amendment history) — never mixed into `text`.
        content_hash: sha256 over the citable content; computed when not given.
    """

    doc_id: str
    source: str
    kind: Kind
    jurisdiction: str
    title: str
    citation: str
    version: Version
    sections: tuple[Section, ...]
    source_path: str
    court: str | None = None
    heading_path: tuple[str, ...] = ()
    decision_date: date | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    content_hash: str = ""

    def __post_init__(self) -> None:
        if ":" not in self.doc_id:
            raise ValueError(f"doc_id {self.doc_id!r} must be namespaced, e.g. 'usc:17/107'")
        object.__setattr__(self, "metadata", _freeze(self.metadata))
        if not self.content_hash:
            object.__setattr__(self, "content_hash", self.compute_hash())

    def compute_hash(self) -> str:
        """sha256 of what a citation can point at: ids, version dates, pinpoints and text."""
        h = hashlib.sha256()
        for part in (
            self.doc_id,
            self.citation,
            self.title,
            self.version.label,
            str(self.version.valid_from),
            str(self.version.valid_to),
        ):
            h.update(part.encode())
            h.update(b"\x1f")
        for section in self.walk():
            # closing words count only where a section has them, so that the hash of every
            # document without any stays what it was (a sync replaces only what changed)
            closing = (section.closing,) if section.closing else ()
            for part in (section.pinpoint, section.heading, section.text, *closing):
                h.update(part.encode())
                h.update(b"\x1f")
        return h.hexdigest()

    def walk(self) -> Iterator[Section]:
        """Every section of the document, depth first, in document order."""
        for section in self.sections:
            yield from section.walk()

    def section(self, pinpoint: str) -> Section | None:
        """The section with this pinpoint, or None."""
        for section in self.walk():
            if section.pinpoint == pinpoint:
                return section
        return None

    @property
    def text(self) -> str:
        """The document's full text in reading order, sections joined by blank lines."""
        return "\n\n".join(text for s in self.sections for text in s.blocks())

    @property
    def version_key(self) -> str:
        """`doc_id@label`: identifies this version among all versions of all documents."""
        return f"{self.doc_id}@{self.version.label}"


class CitationKind(StrEnum):
    """The families of legal citations Juris recognises."""

    USC = "usc"
    RULE = "rule"
    GDPR = "gdpr"
    CASE = "case"
    STATUTE_OTHER = "statute_other"
    CONSTITUTION = "constitution"


@dataclass(frozen=True, slots=True)
class Citation:
    """A legal citation found in free text, normalised to the corpus's canonical form.

    Args:
        raw: the text as written (`17 USC 107`).
        start: offset of `raw` in the text searched.
        end: offset just past `raw`.
        kind: the citation family.
        canonical: the canonical citation with pinpoint, as documents carry it
            (`17 U.S.C. § 107`, `Fed. R. Civ. P. 12(b)(6)`, `GDPR Art. 17(1)`), or the
            normalised reporter citation for cases (`410 U.S. 113`).
        doc_id: the corpus document id it names, where the citation determines one
            (`usc:17/107`, `frcp:12`, `gdpr:art17`); None for case citations until resolved.
        pinpoint: the pinpoint inside that document (`(b)(6)`, `(1)`), or empty.
    """

    raw: str
    start: int
    end: int
    kind: CitationKind
    canonical: str
    doc_id: str | None = None
    pinpoint: str = ""
