"""FastAPI dependencies as typed aliases: the pipeline, the settings, the caller's key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from serving.answering import Pipeline
from serving.audit import AuditLog
from serving.auth import SCOPE_ADMIN, SCOPE_USER, ApiKey, KeyStore, RateLimiter
from serving.errors import Forbidden
from serving.settings import GatewaySettings

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key")

# Used when no keys file is configured (development only; production refuses to start).
ANONYMOUS = ApiKey(name="anonymous", key_id="anonymous", hash="", scopes=(SCOPE_USER, SCOPE_ADMIN))


def get_pipeline(request: Request) -> Pipeline:
    """The app's pipeline."""
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


def get_settings(request: Request) -> GatewaySettings:
    """The app's settings."""
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_audit(request: Request) -> AuditLog:
    """The app's audit log."""
    audit: AuditLog = request.app.state.audit
    return audit


def _authenticate(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    header: str | None,
    scope: str,
) -> ApiKey:
    keys: KeyStore | None = request.app.state.keys
    limiter: RateLimiter = request.app.state.rate_limiter
    if keys is None:
        key = ANONYMOUS
    else:
        presented = header or (bearer.credentials if bearer is not None else None)
        client = request.client.host if request.client is not None else ""
        key = keys.authenticate(presented, client)
    if not key.has(scope):
        raise Forbidden(f"this endpoint needs the {scope!r} scope")
    limiter.take(key)
    request.state.key_name = key.name
    return key


def user_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    header: Annotated[str | None, Security(_header)] = None,
) -> ApiKey:
    """The caller's key, which must carry the `user` scope (and budget)."""
    return _authenticate(request, bearer, header, SCOPE_USER)


def admin_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    header: Annotated[str | None, Security(_header)] = None,
) -> ApiKey:
    """The caller's key, which must carry the `admin` scope."""
    return _authenticate(request, bearer, header, SCOPE_ADMIN)


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]
UserKey = Annotated[ApiKey, Depends(user_key)]
AdminKey = Annotated[ApiKey, Depends(admin_key)]
