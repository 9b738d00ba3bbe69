"""Administrative endpoints (the `admin` scope)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from serving.api.deps import AdminKey
from serving.api.openapi import error_responses
from serving.protocol import KeyInfo

router = APIRouter(tags=["admin"])


@router.get(
    "/v1/admin/keys", response_model=list[KeyInfo], responses=error_responses(401, 403, 429)
)
async def list_keys(key: AdminKey, request: Request) -> list[KeyInfo]:
    """The API keys on file (names, scopes, revocation; never hashes)."""
    store = request.app.state.keys
    records = store.keys() if store is not None else []
    return [
        KeyInfo(
            name=k.name,
            key_id=k.key_id,
            scopes=list(k.scopes),
            revoked=k.revoked,
            rate_per_minute=k.rate_per_minute,
        )
        for k in records
    ]
