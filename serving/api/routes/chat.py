"""`POST /v1/chat/completions`: OpenAI-compatible; the last user message is the question.

The reply is an ordinary chat completion (stream or not) whose message content is the
displayed answer; the verified citations and passages ride along in `sources` (non-stream) or
in the last chunk (stream), so existing OpenAI clients work unchanged.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from serving import answer_format as fmt
from serving.answering import AskInput, Pipeline, Prepared, set_aside_because
from serving.api.convert import ask_response, check_question
from serving.api.deps import AuditDep, PipelineDep, SettingsDep, UserKey
from serving.api.openapi import error_responses
from serving.disconnect import CLIENT_CLOSED, ClientDisconnected, unless_disconnected
from serving.errors import GatewayError, InvalidRequest, error_body
from serving.protocol import ChatRequest

router = APIRouter(tags=["openai"])


@router.post(
    "/v1/chat/completions",
    response_model=None,
    responses={
        200: {"content": {"application/json": {}, "text/event-stream": {}}},
        **error_responses(400, 401, 408, 413, 422, 429, 503),
    },
)
async def chat_completions(
    body: ChatRequest,
    key: UserKey,
    pipeline: PipelineDep,
    settings: SettingsDep,
    audit: AuditDep,
    request: Request,
) -> dict[str, Any] | StreamingResponse | Response:
    """OpenAI-compatible chat completion answered with verified citations."""
    users = [m.content for m in body.messages if m.role == "user" and m.content]
    if not users:
        raise InvalidRequest("messages must contain a user message with content")
    question = check_question(users[-1], settings.max_question_chars)
    inp = AskInput(
        question=question,
        top_k=body.top_k,
        model=body.model if body.model not in (None, "juris") else None,
        max_tokens=body.max_tokens,
        temperature=body.temperature,
    )
    prepared = await pipeline.prepare(inp)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        return StreamingResponse(
            _chunks(pipeline, prepared, completion_id, created),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )
    try:
        final = await unless_disconnected(request, pipeline.answer_prepared(prepared))
    except ClientDisconnected:
        return Response(status_code=CLIENT_CLOSED)
    response = ask_response(final)
    audit.record(key=key.name, route="/v1/chat/completions", question=question, mode=response.mode)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": response.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": response.answer},
                "finish_reason": "stop",
            }
        ],
        "usage": None,
        "sources": [c.model_dump(mode="json") for c in response.citations],
        "juris": response.model_dump(mode="json", exclude={"answer", "citations"}),
    }


async def _chunks(
    pipeline: Pipeline, prepared: Prepared, completion_id: str, created: int
) -> AsyncIterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": prepared.model or "extractive",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for event in pipeline.run(prepared):
            if event.kind == "token":
                yield chunk({"content": fmt.render(event.text)})
            elif event.kind == "degraded":
                # a chat client cannot take back what it was sent: the note says it is void
                why = set_aside_because(event.reason)
                note = f"\n[{why}; set that aside: the sources quoted verbatim follow]\n"
                yield chunk({"content": note})
            elif event.final is not None:
                response = ask_response(event.final)
                yield chunk(
                    {},
                    "stop",
                    sources=[c.model_dump(mode="json") for c in response.citations],
                    juris=response.model_dump(mode="json", exclude={"citations"}),
                )
    except GatewayError as err:
        yield f"data: {json.dumps(error_body(err.code, err.message))}\n\n".encode()
    yield b"data: [DONE]\n\n"
