"""`GET /v1/documents/{doc_id}`: a document version's text with section anchors."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Path, Query

from serving.api.deps import PipelineDep, UserKey
from serving.api.openapi import error_responses
from serving.errors import InvalidRequest, NotFound
from serving.index_calls import call_index
from serving.protocol import DocumentResponse, SectionOut, VersionOut

router = APIRouter(tags=["documents"])


@router.get(
    "/v1/documents/{doc_id:path}",
    response_model=DocumentResponse,
    responses=error_responses(401, 404, 422, 429, 503),
)
async def document(
    key: UserKey,
    pipeline: PipelineDep,
    doc_id: str = Path(max_length=200, description="document id, e.g. `usc:17/107`"),
    as_of: date | None = Query(None, description="the version in force on this day"),
) -> DocumentResponse:
    """A document (the version in force on `as_of`, else the current one), section by section."""
    if ":" not in doc_id:
        raise InvalidRequest(f"document id {doc_id!r} must be namespaced, e.g. 'usc:17/107'")
    retriever = pipeline.retriever
    timeout, once = pipeline.settings.retrieval_timeout_s, pipeline.index_log
    try:
        chunks = await call_index(
            lambda: retriever.document(doc_id, as_of), timeout, once, "read", lookup=True
        )
        versions = await call_index(
            lambda: list(retriever.versions(doc_id)), timeout, once, "read", lookup=True
        )
    except NotFound as err:
        raise NotFound(f"no document {doc_id!r} in the index") from err
    if not chunks:
        when = f" in force on {as_of}" if as_of else ""
        raise NotFound(f"no version of {doc_id!r}{when} in the index")
    chunks = sorted(chunks, key=lambda c: c.order)
    first = chunks[0]
    return DocumentResponse(
        doc_id=first.doc_id,
        citation=first.doc_citation,
        title=first.title,
        kind=first.kind,
        jurisdiction=first.jurisdiction,
        source=first.source,
        version=VersionOut(
            label=first.version, valid_from=first.valid_from, valid_to=first.valid_to
        ),
        as_of=as_of,
        versions=[_version(v) for v in versions],
        sections=[
            SectionOut(
                anchor=c.anchor,
                pinpoint=c.pinpoint,
                citation=c.citation,
                heading_path=list(c.heading_path),
                text=c.text,
            )
            for c in chunks
        ],
    )


def _version(v: Any) -> VersionOut:
    if isinstance(v, tuple | list) and len(v) == 3:  # (label, valid_from, valid_to)
        return VersionOut(label=str(v[0]), valid_from=v[1], valid_to=v[2])
    if isinstance(v, dict):
        get = v.get
    else:

        def get(name: str, default: Any = None) -> Any:
            return getattr(v, name, default)

    label = get("label") or get("version") or str(v)
    return VersionOut(label=str(label), valid_from=get("valid_from"), valid_to=get("valid_to"))
