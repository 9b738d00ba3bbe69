"""`GET /v1/models`: the models that can write answers (OpenAI-compatible list)."""

from __future__ import annotations

from fastapi import APIRouter

from serving.api.deps import PipelineDep, SettingsDep, UserKey
from serving.api.openapi import error_responses
from serving.errors import GeneratorError
from serving.protocol import ModelOut, ModelsResponse

router = APIRouter(tags=["openai"])


@router.get("/v1/models", response_model=ModelsResponse, responses=error_responses(401, 429))
async def list_models(key: UserKey, pipeline: PipelineDep, settings: SettingsDep) -> ModelsResponse:
    """The served base model and adapters (from vLLM), and `extractive`."""
    data: list[ModelOut] = []
    ok = True
    vllm = pipeline.vllm
    if vllm is not None:
        try:
            await vllm.models(timeout_s=3.0)
        except GeneratorError:
            ok = False
        for card in vllm.served.values():
            data.append(
                ModelOut(
                    id=card.name,
                    kind="adapter" if card.parent else "base",
                    parent=card.parent,
                    base_model=vllm.base_of(card.name),
                    max_model_len=card.max_model_len,
                )
            )
    data.append(ModelOut(id="extractive", kind="extractive", parent=None, base_model=None))
    default = settings.vllm_model if vllm is not None and ok else "extractive"
    return ModelsResponse(data=data, default=default, generator_ok=ok)
