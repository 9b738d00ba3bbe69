"""`GET /healthz`, `GET /readyz`, `GET /metrics` (no API key needed)."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from serving.answering import Pipeline
from serving.errors import GeneratorError
from serving.index_status import index_status, readiness_fields
from serving.protocol import ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
async def readyz(request: Request) -> JSONResponse:
    """Ready when the index answers; `degraded` when the generator does not (extractive)."""
    pipeline: Pipeline = request.app.state.pipeline
    index: dict[str, object] = {"index_version": pipeline.index_version()}
    try:
        detail = await to_thread.run_sync(pipeline.retriever.check)
        index["ok"] = True
        if isinstance(detail, dict):
            index.update({k: v for k, v in detail.items() if isinstance(v, str | int | float)})
    except Exception as err:
        index.update(ok=False, error=str(err)[:300])
    # while a build fills: which sources are not searchable yet (see GET /v1/index/status)
    index.update(readiness_fields(await to_thread.run_sync(index_status, pipeline.retriever)))
    generator: dict[str, object] = {"backend": "extractive", "ok": True}
    if pipeline.vllm is not None:
        generator = {"backend": "vllm", "url": pipeline.vllm.config.base_url}
        try:
            generator["models"] = await pipeline.vllm.models()
            generator["ok"] = True
        except GeneratorError as err:
            generator.update(ok=False, error=err.reason, fallback="extractive")
    if not index["ok"]:
        status, code = "unavailable", 503
    elif not generator["ok"]:
        status, code = "degraded", 200
    else:
        status, code = "ready", 200
    body = ReadyResponse(status=status, index=index, generator=generator)  # type: ignore[arg-type]
    return JSONResponse(body.model_dump(mode="json"), status_code=code)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics."""
    return Response(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
