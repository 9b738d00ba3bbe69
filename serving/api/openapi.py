"""The OpenAPI schema says what the gateway does: its error responses and its real limits.

Routes declare the errors they can answer with `error_responses(...)` (every error body is
`{"error": {"code", "message"}}`, also for 422, which replaces FastAPI's default validation
shape), and `install_openapi` writes the configured limits into the schema (the question
length enforced is `JURIS_MAX_QUESTION_CHARS`, not the request model's outer bound).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from serving.settings import GatewaySettings


class ErrorDetail(BaseModel):
    """What went wrong: a stable code for programs, a message for people."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


_WHEN = {
    400: "`bad_request`: the body cannot be decoded; `unknown_model`: the model is not served",
    401: "`unauthorized`: no API key, a wrong key or a revoked key",
    403: "`forbidden`: the key lacks the scope",
    404: "`not_found`: no such document",
    408: "`request_timeout`: the request body did not arrive in time (connection closed)",
    413: "`payload_too_large`: the request body is over the limit",
    422: "`invalid_request` / `question_too_long`: malformed or out of bounds",
    429: "`rate_limited`: the key's budget, or the failed attempts allowed, are used up",
    503: (
        "`index_unavailable`: the index cannot answer; `index_warming_up`: it is still "
        "computing the tables a question reads (just after a start), retry after "
        "`Retry-After` seconds"
    ),
}
_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that can answer with these error statuses."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorResponse, "description": _WHEN[status]}
        if status in (429, 503):
            entry["headers"] = _RETRY_AFTER
        out[status] = entry
    return out


def install_openapi(app: FastAPI, settings: GatewaySettings) -> None:
    """Make `app.openapi()` carry the configured limits (computed once, then cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            props = schema.get("components", {}).get("schemas", {})
            for model, name in (("AskRequest", "question"), ("SearchRequest", "query")):
                field = props.get(model, {}).get("properties", {}).get(name)
                if field is not None:
                    field["maxLength"] = settings.max_question_chars
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
