"""`GET /healthz`, `GET /readyz`, `GET /metrics` (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from serving.protocol import ReadyResponse
from serving.readiness import Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
async def readyz(request: Request) -> JSONResponse:
    """Ready when the index answers; `degraded` when the generator does not (extractive).
    Answers within `JURIS_READY_CHECK_TIMEOUT_S` whatever the index or vLLM do."""
    readiness: Readiness = request.app.state.readiness
    state = await readiness.state()
    body = ReadyResponse(status=state.status, index=state.index, generator=state.generator)  # type: ignore[arg-type]
    return JSONResponse(body.model_dump(mode="json"), status_code=state.http_status)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics."""
    return Response(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
