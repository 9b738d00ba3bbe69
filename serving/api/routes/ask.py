"""`POST /v1/ask`: an answer with verified citations, as JSON or Server-Sent Events."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from serving.answering import AskInput, Pipeline, Prepared
from serving.api.convert import ask_response, check_question, filters, sse
from serving.api.deps import AuditDep, PipelineDep, SettingsDep, UserKey
from serving.api.openapi import error_responses
from serving.disconnect import CLIENT_CLOSED, ClientDisconnected, unless_disconnected
from serving.errors import GatewayError, error_body
from serving.index_status import index_note
from serving.protocol import AskRequest, AskResponse, IndexNote

log = logging.getLogger(__name__)
router = APIRouter(tags=["ask"])

_SSE_DOC = (
    "With `stream: true`: `text/event-stream` with `event: token` (`{text}`), optionally "
    "`event: degraded` (`{reason, message}`: discard the tokens so far), `event: citations` "
    "(the full AskResponse), `event: done`; a failure mid-stream is `event: error` "
    "(`{error: {code, message}}`) then `event: done`."
)


@router.post(
    "/v1/ask",
    response_model=AskResponse,
    description="Answer a question with verified pinpoint citations. " + _SSE_DOC,
    responses={
        200: {"content": {"text/event-stream": {}}},
        **error_responses(400, 401, 408, 413, 422, 429, 503),
    },
)
async def ask(
    body: AskRequest,
    key: UserKey,
    pipeline: PipelineDep,
    settings: SettingsDep,
    audit: AuditDep,
    request: Request,
) -> AskResponse | StreamingResponse | Response:
    """Answer a question."""
    question = check_question(body.question, settings.max_question_chars)
    inp = AskInput(
        question=question,
        top_k=body.top_k,
        filters=filters(body.as_of, body.jurisdiction, body.kind),
        model=body.model,
    )
    prepared = await pipeline.prepare(inp)
    log.info("ask by %s: %d chars, %d passages", key.name, len(question), len(prepared.passages))
    note = index_note(pipeline.retriever, inp.filters)
    if body.stream:
        return StreamingResponse(
            _events(pipeline, prepared, audit, key.name, note),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    try:
        final = await unless_disconnected(request, pipeline.answer_prepared(prepared))
    except ClientDisconnected:
        log.info("ask by %s: the client left; generation cancelled", key.name)
        return Response(status_code=CLIENT_CLOSED)
    response = ask_response(final)
    response.index_note = note
    _audit(audit, key.name, inp, response)
    return response


async def _events(
    pipeline: Pipeline,
    prepared: Prepared,
    audit: AuditDep,
    key_name: str,
    note: IndexNote | None = None,
) -> AsyncIterator[bytes]:
    # closed here when the client leaves, in the event loop, not later by the garbage collector
    try:
        async with aclosing(pipeline.run(prepared)) as events:
            async for event in events:
                if event.kind == "token":
                    yield sse("token", {"text": event.text})
                elif event.kind == "degraded":
                    yield sse("degraded", {"reason": event.reason, "message": event.text})
                elif event.final is not None:
                    response = ask_response(event.final)
                    response.index_note = note
                    _audit(audit, key_name, prepared.question, response)
                    yield sse("citations", response.model_dump(mode="json"))
    except GatewayError as err:
        yield sse("error", error_body(err.code, err.message))
    except Exception:
        log.exception("ask stream failed")
        yield sse("error", error_body("internal_error", "internal error (logged)"))
    yield sse("done", {})


def _audit(audit: AuditDep, key_name: str, inp: AskInput, response: AskResponse) -> None:
    audit.record(
        key=key_name,
        route="/v1/ask",
        question=inp.question,
        as_of=inp.filters.as_of,
        jurisdiction=inp.filters.jurisdiction,
        kind=inp.filters.kind,
        mode=response.mode,
        model=response.model,
        degraded=response.degraded,
        degraded_reason=response.degraded_reason,
        answered=response.answered,
        declined_by=response.declined_by,
        weak_match=response.weak_match,
        not_held=response.not_held,
        citations=response.verification.citations_by_status,
        unsupported=response.verification.unsupported_claims,
    )
