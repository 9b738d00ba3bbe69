"""`GET /v1/index/status`: what the index holds and what is still being indexed."""

from __future__ import annotations

from fastapi import APIRouter

from indexing.status import serves_its_build
from serving.api.deps import PipelineDep, UserKey
from serving.api.openapi import error_responses
from serving.index_status import index_status
from serving.protocol import IndexSourceStatus, IndexStatusResponse

router = APIRouter(tags=["index"])


@router.get(
    "/v1/index/status", response_model=IndexStatusResponse, responses=error_responses(401, 429)
)
async def status(key: UserKey, pipeline: PipelineDep) -> IndexStatusResponse:
    """The index build's progress: sources done and pending, passages, rate, ETA."""
    data = index_status(pipeline.retriever)
    if data is None:
        return IndexStatusResponse(state="unknown", current=pipeline.index_version() or None)
    sources = {
        name: IndexSourceStatus(
            **{k: v for k, v in s.items() if k in IndexSourceStatus.model_fields}
        )
        for name, s in (data.get("sources") or {}).items()
    }
    state = data.get("state")
    return IndexStatusResponse(
        state=state if state in ("filling", "complete", "failed") else "unknown",
        build=data.get("build"),
        current=data.get("current"),
        serving=serves_its_build(data),
        sources_done=[n for n, s in sources.items() if s.state == "done"],
        sources_pending=[n for n, s in sources.items() if s.state != "done"],
        sources=sources,
        passages=int(data.get("passages") or 0),
        passages_estimated=int(data.get("passages_estimated") or 0),
        documents=int(data.get("documents") or 0),
        rate_per_s=float(data.get("rate_per_s") or 0.0),
        eta_s=data.get("eta_s"),
        elapsed_s=float(data.get("elapsed_s") or 0.0),
        started_at=data.get("started_at"),
        updated_at=data.get("updated_at"),
        error=data.get("error"),
    )
