"""Domain values → API models, and the SSE wire format."""

from __future__ import annotations

import json
from typing import Any

from indexing.model import SearchFilters
from serving import answer_format as fmt
from serving.answering import Final
from serving.errors import InvalidRequest, QuestionTooLong
from serving.protocol import AskResponse, CitationOut, PassageOut, Verification
from serving.verify import CheckedCitation


def citation_out(c: CheckedCitation) -> CitationOut:
    """The API shape of a checked citation."""
    return CitationOut(
        n=c.n,
        kind="legal" if c.kind == "legal" else "source",
        doc_id=c.doc_id,
        citation=c.citation,
        pinpoint=c.pinpoint,
        anchor=c.anchor,
        quote=c.quote,
        quotes=list(c.quotes),
        status=c.status,  # type: ignore[arg-type]
        text=c.text,
        message=c.message,
    )


def ask_response(final: Final) -> AskResponse:
    """The API shape of a finished answer."""
    report = final.report
    return AskResponse(
        answer=fmt.render(final.answer_raw),
        answer_raw=final.answer_raw,
        mode="llm" if final.mode == "llm" else "extractive",
        citations=[citation_out(c) for c in report.citations],
        passages=[PassageOut.of(n, p, cut=n in final.cut) for n, p in enumerate(final.passages, 1)],
        verification=Verification(
            citations_by_status=report.by_status,
            unsupported_claims=len(report.unsupported),
            unsupported=list(report.unsupported),
            all_verified=report.all_verified,
        ),
        model=final.model,
        adapter=final.adapter,
        base_model=final.base_model,
        index_version=final.index_version,
        degraded=final.degraded,
        degraded_reason=final.degraded_reason,
        answered=final.answered,
        declined_by=final.declined_by,
        relevance=None if final.relevance is None else round(final.relevance, 4),
        weak_match=final.weak_match,
        not_held=list(final.not_held),
        timings={k: round(v, 6) for k, v in final.timings.items()},
    )


def filters(
    as_of: Any = None, jurisdiction: str | None = None, kind: str | None = None
) -> SearchFilters:
    """Search filters from request fields."""
    return SearchFilters(as_of=as_of, jurisdiction=jurisdiction, kind=kind)


def check_question(question: str, limit: int) -> str:
    """The question stripped, or `QuestionTooLong` / empty-question errors."""
    if len(question) > limit:
        raise QuestionTooLong(f"question is {len(question)} characters; the limit is {limit}")
    if not question.strip():
        raise InvalidRequest("question is empty")
    return question.strip()


def sse(event: str, data: Any) -> bytes:
    """One Server-Sent Event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()
