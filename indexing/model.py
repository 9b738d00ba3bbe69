"""The values the index stores and retrieval returns: chunks, passages, filters.

`serving` and `training` import these; nothing here talks to Qdrant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

# Namespace for chunk ids: uuid5(CHUNK_NAMESPACE, f"{doc_id}|{version}|{pinpoint}").
CHUNK_NAMESPACE = uuid.UUID("5b0e3a6c-1f7e-4c55-9d1e-6a9a3c1b7f20")


def chunk_id(doc_id: str, version: str, pinpoint: str, part: int = 0) -> str:
    """Deterministic chunk id: UUIDv5 of (document id, version, pinpoint[, split part])."""
    name = f"{doc_id}|{version}|{pinpoint}" + (f"|{part}" if part else "")
    return str(uuid.uuid5(CHUNK_NAMESPACE, name))


@dataclass(frozen=True, slots=True)
class Chunk:
    """A citable piece of one document version, as indexed.

    Args:
        chunk_id: see `chunk_id`.
        doc_id: the document (`usc:17/107`).
        version: the document version's label.
        citation: the full pinpoint citation of this chunk (`17 U.S.C. § 107(1)`).
        doc_citation: the document's citation without pinpoint (`17 U.S.C. § 107`).
        pinpoint: the pinpoint inside the document (`(1)`, `¶ 14`; empty for the body).
        anchor: the HTML anchor of the pinpoint's section in the document view.
        heading_path: title › chapter › section headings.
        text: the chunk text, verbatim from the source.
        order: position of the chunk in its document version (for reassembly).
        source, kind, jurisdiction, court, title: the document's metadata.
        valid_from, valid_to: the version's period in force (see `legal_corpus.model`).
        content_hash: the document version's content hash (for sync).
        decision_date: for opinions.
        pinpoints: every pinpoint whose text the chunk holds (a merged chunk holds several);
            empty means just `pinpoint`.
        captions: the captions of the subdivisions the chunk sits in or holds that its
            heading path does not show (`Required Disclosures`, `Initial Disclosure` above
            26(a)(1)(A); `Excited Utterance` inside the merged 803(1)–(2)), outermost first.
    """

    chunk_id: str
    doc_id: str
    version: str
    citation: str
    doc_citation: str
    pinpoint: str
    anchor: str
    heading_path: tuple[str, ...]
    text: str
    order: int
    source: str
    kind: str
    jurisdiction: str
    title: str
    court: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    content_hash: str = ""
    decision_date: date | None = None
    pinpoints: tuple[str, ...] = ()
    captions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk and its score (higher is better; scale depends on the mode)."""

    chunk: Chunk
    score: float


@dataclass(frozen=True, slots=True)
class Relevance:
    """Whether the passages found for a question appear to address it at all.

    A ranking always has a first passage, even for a question about law the index does not
    hold; this says how far to trust it (`indexing.relevance`).

    Args:
        probability: calibrated probability that the index holds the law the question is
            about (1.0 when the question names a provision the index holds; None when no
            calibration is configured for the embedding model, and then `answered`).
        answered: `probability` reaches the calibrated threshold.
        cosine: the best dense cosine between the question and a passage.
        bm25: the best sparse score divided by the number of query terms.
        weak: answered, but `probability` is below the calibration's caution cut: the
            passages match the question only weakly, and a reader should check that they
            govern it before relying on an answer written from them.
        not_held: places the question names whose law the index holds none of
            (`indexing.places`); a question the signal doubts that names one is not
            answered, unless it names held law or a held place beside it (then answered and
            `weak`), and one it trusts that names only other countries, and no held law, is
            answered and `weak`.
    """

    probability: float | None
    answered: bool
    cosine: float = 0.0
    bm25: float = 0.0
    weak: bool = False
    not_held: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Restrictions on what retrieval may return.

    Args:
        as_of: only versions in force on that day.
        jurisdiction: `us`, `eu`, `in`, …
        kind: `statute`, `rule`, `regulation`, `opinion`.
        sources: adapter sources (`uscode`, `aila/casedocs`, …).
        doc_ids: only these documents.
    """

    as_of: date | None = None
    jurisdiction: str | None = None
    kind: str | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)
    doc_ids: tuple[str, ...] = field(default_factory=tuple)
