"""Domain errors and their one mapping to HTTP: `{"error": {"code", "message"}}`.

Codes are stable (clients branch on them); messages are for people.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexing.retrieve import IndexUnavailable

log = logging.getLogger(__name__)


class GatewayError(Exception):
    """An error the gateway reports to the client with a stable code."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class Unauthorized(GatewayError):
    """No API key, or one that is wrong or revoked."""

    status, code = 401, "unauthorized"


class Forbidden(GatewayError):
    """The key lacks the scope the endpoint needs."""

    status, code = 403, "forbidden"


class NotFound(GatewayError):
    """The document (or route) does not exist."""

    status, code = 404, "not_found"


class PayloadTooLarge(GatewayError):
    """The request body is larger than `JURIS_MAX_BODY_BYTES`."""

    status, code = 413, "payload_too_large"


class InvalidRequest(GatewayError):
    """The request is malformed or out of bounds."""

    status, code = 422, "invalid_request"


class QuestionTooLong(GatewayError):
    """The question is longer than `JURIS_MAX_QUESTION_CHARS`."""

    status, code = 422, "question_too_long"


class UnknownModel(GatewayError):
    """The model / adapter name is not served."""

    status, code = 400, "unknown_model"


class RateLimited(GatewayError):
    """The key has used its request budget; retry after `Retry-After` seconds."""

    status, code = 429, "rate_limited"


class RequestTimeout(GatewayError):
    """The request body did not arrive within `JURIS_BODY_READ_TIMEOUT_S`."""

    status, code = 408, "request_timeout"


class IndexWarmingUp(GatewayError):
    """A search ran past its timeout while the index computed the tables a question reads
    (the first questions after the gateway starts; after a reindex the previous build's
    tables serve meanwhile): the same question answers once they are in; retry after
    `Retry-After` seconds."""

    status, code = 503, "index_warming_up"


class GeneratorError(Exception):
    """The generator (vLLM) failed: unreachable, timed out, or broke mid-stream.

    Not sent to clients as such: the pipeline falls back to the extractive backend.

    Args:
        reason: a short stable reason (`unreachable`, `timeout`, `http_502`, `stream_broken`).
        message: detail for logs.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


# An absolute filesystem path (two components at least), not part of a URL.
_PATH = re.compile(r"(?<![\w:/.])/(?:[\w.@+-]+/)+[\w.@+-]*")


def scrub_paths(message: str) -> str:
    """`message` with absolute server paths replaced by `<path>` (client-facing text)."""
    return _PATH.sub("<path>", message)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


class LogOnce:
    """Logs each cause the first time it is seen: a fault that fails every request (a broken
    index) is logged once, not once per request. Memory is bounded (`limit` causes).

    Args:
        logger: where to log.
        limit: causes remembered; beyond it the memory starts again.
    """

    def __init__(self, logger: logging.Logger, limit: int = 256) -> None:
        self.logger = logger
        self.limit = limit
        self._seen: set[str] = set()

    def error(
        self, cause: str, message: str, *args: object, exc: BaseException | None = None
    ) -> None:
        """Log `message` at ERROR (with `exc`'s traceback) unless `cause` was logged before."""
        if self._first(cause):
            self.logger.error(message, *args, exc_info=exc)

    def _first(self, cause: str) -> bool:
        if cause in self._seen:
            return False
        if len(self._seen) >= self.limit:
            self._seen.clear()
        self._seen.add(cause)
        return True

    def warning(self, cause: str, message: str, *args: object) -> None:
        """Log `message` at WARNING unless `cause` was logged before."""
        if self._first(cause):
            self.logger.warning(message, *args)

    def forget(self) -> None:
        """Log causes again (after a recovery)."""
        if self._seen:
            self._seen.clear()


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON body of every error response."""
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error response."""
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain, validation, HTTP and unexpected errors to the JSON error shape, once.

    Args:
        app: the application.
    """

    @app.exception_handler(GatewayError)
    async def _domain(request: Request, exc: GatewayError) -> JSONResponse:
        _count(request, exc.code)
        message = scrub_paths(exc.message) if exc.status >= 500 else exc.message
        return error_response(exc.status, exc.code, message, exc.headers)

    @app.exception_handler(IndexUnavailable)
    async def _index(request: Request, exc: IndexUnavailable) -> JSONResponse:
        # the index cannot be queried (not built, or the store is down): indexing's own error
        _count(request, "index_unavailable")
        return error_response(503, "index_unavailable", scrub_paths(str(exc)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        _count(request, "invalid_request")
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
        return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        _count(request, code)
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        _count(request, "internal_error")
        return error_response(500, "internal_error", "internal error (logged)")


def _count(request: Request, code: str) -> None:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.errors.labels(code=code).inc()
