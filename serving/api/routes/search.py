"""`POST /v1/search`: passages only, with the same filters as `/v1/ask`."""

from __future__ import annotations

from fastapi import APIRouter

from serving.api.convert import check_question, filters
from serving.api.deps import PipelineDep, SettingsDep, UserKey
from serving.api.openapi import error_responses
from serving.index_status import index_note
from serving.protocol import PassageOut, SearchRequest, SearchResponse

router = APIRouter(tags=["search"])


@router.post(
    "/v1/search",
    response_model=SearchResponse,
    responses=error_responses(400, 401, 408, 413, 422, 429, 503),
)
async def search(
    body: SearchRequest, key: UserKey, pipeline: PipelineDep, settings: SettingsDep
) -> SearchResponse:
    """Retrieve passages for a query."""
    query = check_question(body.query, settings.max_question_chars)
    wanted = filters(body.as_of, body.jurisdiction, body.kind)
    passages = await pipeline.search(query, body.top_k, wanted, body.mode, body.group_by_doc)
    return SearchResponse(
        passages=[PassageOut.of(n, p) for n, p in enumerate(passages, 1)],
        index_version=pipeline.index_version(),
        index_note=index_note(pipeline.retriever, wanted),
    )
