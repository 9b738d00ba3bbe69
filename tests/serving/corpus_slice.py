"""A small in-memory retriever over real provisions, for the gateway's unit tests.

The texts are verbatim from the bundled corpus (17 U.S.C. § 107, Fed. R. Evid. 702 in its 2011
and 2023 versions, GDPR Art. 17(1)); scoring is plain term overlap. It satisfies
`serving.index_protocol.RetrieverLike` so the gateway's logic is tested without building an index;
the integration tests use the real index (`tests/support/index_slice.py`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import date

from indexing.model import Chunk, Passage, SearchFilters, chunk_id
from legal_corpus.model import pinpoint_anchor

USC_107_INTRO = (
    "Notwithstanding the provisions of sections 106 and 106A, the fair use of a copyrighted "
    "work, including such use by reproduction in copies or phonorecords or by any other means "
    "specified by that section, for purposes such as criticism, comment, news reporting, "
    "teaching (including multiple copies for classroom use), scholarship, or research, is not "
    "an infringement of copyright. In determining whether the use made of a work in any "
    "particular case is a fair use the factors to be considered shall include—"
)
USC_107_1 = (
    "the purpose and character of the use, including whether such use is of a commercial nature "
    "or is for nonprofit educational purposes;"
)
FRE_702_2023 = (
    "A witness who is qualified as an expert by knowledge, skill, experience, training, or "
    "education may testify in the form of an opinion or otherwise if the proponent demonstrates "
    "to the court that it is more likely than not that: (a) the expert's scientific, technical, "
    "or other specialized knowledge will help the trier of fact to understand the evidence or "
    "to determine a fact in issue;"
)
FRE_702_2011 = (
    "A witness who is qualified as an expert by knowledge, skill, experience, training, or "
    "education may testify in the form of an opinion or otherwise if: (a) the expert's "
    "scientific, technical, or other specialized knowledge will help the trier of fact to "
    "understand the evidence or to determine a fact in issue;"
)
GDPR_17_1 = (
    "The data subject shall have the right to obtain from the controller the erasure of personal "
    "data concerning him or her without undue delay and the controller shall have the "
    "obligation to erase personal data without undue delay where one of the following grounds "
    "applies:"
)


def _chunk(
    doc_id: str,
    version: str,
    citation: str,
    doc_citation: str,
    pinpoint: str,
    text: str,
    order: int,
    *,
    source: str,
    kind: str,
    jurisdiction: str,
    title: str,
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> Chunk:
    return Chunk(
        chunk_id=chunk_id(doc_id, version, pinpoint),
        doc_id=doc_id,
        version=version,
        citation=citation,
        doc_citation=doc_citation,
        pinpoint=pinpoint,
        anchor=pinpoint_anchor(pinpoint),
        heading_path=(title,),
        text=text,
        order=order,
        source=source,
        kind=kind,
        jurisdiction=jurisdiction,
        title=title,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def slice_chunks() -> list[Chunk]:
    """The chunks of the slice."""
    usc = dict(
        source="uscode",
        kind="statute",
        jurisdiction="us",
        title="Limitations on exclusive rights: Fair use",
    )
    fre = dict(
        source="federal_rules",
        kind="rule",
        jurisdiction="us",
        title="Testimony by Expert Witnesses",
    )
    gdpr = dict(
        source="gdpr",
        kind="regulation",
        jurisdiction="eu",
        title="Right to erasure ('right to be forgotten')",
    )
    return [
        _chunk(
            "usc:17/107", "118-1", "17 U.S.C. § 107", "17 U.S.C. § 107", "", USC_107_INTRO, 0, **usc
        ),  # type: ignore[arg-type]
        _chunk(
            "usc:17/107",
            "118-1",
            "17 U.S.C. § 107(1)",
            "17 U.S.C. § 107",
            "(1)",
            USC_107_1,
            1,
            **usc,
        ),  # type: ignore[arg-type]
        _chunk(
            "fre:702",
            "2011",
            "Fed. R. Evid. 702",
            "Fed. R. Evid. 702",
            "",
            FRE_702_2011,
            0,
            valid_from=date(2011, 12, 1),
            valid_to=date(2023, 12, 1),
            **fre,
        ),  # type: ignore[arg-type]
        _chunk(
            "fre:702",
            "2023",
            "Fed. R. Evid. 702",
            "Fed. R. Evid. 702",
            "",
            FRE_702_2023,
            0,
            valid_from=date(2023, 12, 1),
            **fre,
        ),  # type: ignore[arg-type]
        _chunk(
            "gdpr:art17", "2016", "GDPR Art. 17(1)", "GDPR Art. 17", "(1)", GDPR_17_1, 0, **gdpr
        ),  # type: ignore[arg-type]
    ]


def merged_passage(
    chunk: Chunk, text: str, pinpoints: Sequence[str], doc_citation: str = "", doc_id: str = ""
) -> Chunk:
    """`chunk` made a passage that holds several subdivisions, as the chunker merges them:
    its `text` (a subdivision a line), its `pinpoints` in order, its span and citation."""
    doc_citation = doc_citation or chunk.doc_citation
    span = f"{pinpoints[0]}–{pinpoints[-1]}"
    return dataclasses.replace(
        chunk, doc_id=doc_id or chunk.doc_id, doc_citation=doc_citation, pinpoint=span,
        citation=f"{doc_citation}{span}", pinpoints=tuple(pinpoints), text=text,
    )  # fmt: skip


def _terms(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def _in_force(c: Chunk, day: date | None) -> bool:
    if day is None:
        return c.valid_to is None
    return (c.valid_from is None or c.valid_from <= day) and (
        c.valid_to is None or day < c.valid_to
    )


class SliceRetriever:
    """`RetrieverLike` over `slice_chunks()` (term-overlap scores)."""

    index_version = "memory_slice_1"

    def __init__(self, chunks: Sequence[Chunk] | None = None) -> None:
        self.chunks = list(chunks if chunks is not None else slice_chunks())
        self.fail = False

    def search(
        self,
        query: str,
        top_k: int,
        filters: SearchFilters,
        mode: str = "hybrid",
        group_by_doc: bool = False,
    ) -> list[Passage]:
        if self.fail:
            raise RuntimeError("store closed")
        q = _terms(query)
        out = []
        for c in self.chunks:
            if not _in_force(c, filters.as_of):
                continue
            if filters.jurisdiction and c.jurisdiction != filters.jurisdiction:
                continue
            if filters.kind and c.kind != filters.kind:
                continue
            score = len(q & _terms(c.text + " " + c.title))
            if score:
                out.append(Passage(c, float(score)))
        out.sort(key=lambda p: -p.score)
        if group_by_doc:
            firsts = {p.chunk.doc_id: p for p in reversed(out)}  # each document's best
            out = sorted(firsts.values(), key=lambda p: -p.score)
        return out[:top_k]

    def lookup(self, doc_id: str, pinpoint: str = "", as_of: date | None = None) -> list[Chunk]:
        return [
            c for c in self.chunks
            if c.doc_id == doc_id and _in_force(c, as_of)
            and (not pinpoint or c.pinpoint.startswith(pinpoint) or pinpoint.startswith(c.pinpoint or "~"))  # noqa: E501
        ]  # fmt: skip

    def document(self, doc_id: str, as_of: date | None = None) -> list[Chunk]:
        return sorted(
            (c for c in self.chunks if c.doc_id == doc_id and _in_force(c, as_of)),
            key=lambda c: c.order,
        )

    def versions(self, doc_id: str) -> list[dict[str, object]]:
        seen = {}
        for c in self.chunks:
            if c.doc_id == doc_id:
                seen[c.version] = {
                    "label": c.version,
                    "valid_from": c.valid_from,
                    "valid_to": c.valid_to,
                }
        return list(seen.values())

    def exists(self, doc_id: str) -> bool:
        return any(c.doc_id == doc_id for c in self.chunks)

    def check(self) -> dict[str, object]:
        if self.fail:
            raise RuntimeError("store closed")
        return {"points": len(self.chunks)}
