"""The application factory: `create_app(settings)` assembles the gateway.

The lifespan opens the collaborators and puts them on `app.state` — the retriever, the vLLM
HTTP client and generator, the verifier, the pipeline, the key store, the rate limiter, the
audit log — and closes them on shutdown. Nothing is created at import time.

    >>> app = create_app(GatewaySettings(), retriever=my_retriever)
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from serving.answering import Pipeline
from serving.api.openapi import install_openapi
from serving.api.routes import admin, ask, chat, documents, health, index, models, search
from serving.audit import AuditLog
from serving.auth import FailureLimiter, KeyStore, RateLimiter
from serving.docs import docs_router, swagger_assets
from serving.errors import GeneratorError, install_error_handlers
from serving.generators.extractive import ExtractiveGenerator
from serving.generators.vllm import VllmConfig, VllmGenerator, make_http_client
from serving.index_protocol import RetrieverLike, open_default_retriever
from serving.metrics import Metrics
from serving.middleware import BodyLimitMiddleware, MetricsMiddleware, StreamPacingMiddleware
from serving.readiness import Readiness
from serving.security_headers import SecurityHeadersMiddleware
from serving.settings import GatewaySettings
from serving.verify import CitationParser, Verifier, default_citation_parser

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"


def vllm_config(settings: GatewaySettings) -> VllmConfig:
    """The vLLM client configuration from the gateway settings."""
    return VllmConfig(
        base_url=settings.vllm_url,
        api_key=settings.vllm_api_key,
        connect_timeout_s=settings.vllm_connect_timeout_s,
        first_token_timeout_s=settings.vllm_first_token_timeout_s,
        read_timeout_s=settings.vllm_read_timeout_s,
        total_timeout_s=settings.vllm_total_timeout_s,
        retries=settings.vllm_retries,
        constrain_citations=settings.vllm_constrain_citations,
        one_model_at_a_time=not settings.vllm_mixed_batches,
    )


def create_app(
    settings: GatewaySettings,
    *,
    retriever: RetrieverLike | None = None,
    retriever_factory: Callable[[], RetrieverLike] | None = None,
    citation_parser: CitationParser | None = None,
) -> FastAPI:
    """The gateway application.

    Args:
        settings: the configuration (built by the caller from the environment).
        retriever: an open retriever to use (the caller owns it); else `retriever_factory`
            (default: `indexing.open_retriever` with indexing's settings) opens one in the
            lifespan and closes it on shutdown.
        retriever_factory: how to open the retriever.
        citation_parser: legal citation parser (default: `legal_corpus.citations`).

    Returns:
        The FastAPI app; serve it with uvicorn.
    """
    metrics = Metrics()
    if settings.api_keys_file is None:
        log.warning("no JURIS_API_KEYS_FILE: API keys are not required (development only)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = retriever is None
        r = retriever if retriever is not None else (retriever_factory or open_default_retriever)()
        http = None
        vllm = None
        fail_fast = getattr(r, "fail_fast", None)
        if callable(fail_fast):  # a request waits this long at most for a build being opened
            fail_fast(settings.index_open_wait_s, settings.index_retry_s)
        if settings.vllm_url:
            config = vllm_config(settings)
            http = make_http_client(config)
            vllm = VllmGenerator(http, config)
            try:
                await vllm.models(timeout_s=settings.ready_check_timeout_s)
            except GeneratorError as err:
                log.warning("vLLM not reachable at start (%s); answers degrade until it is", err)
        app.state.settings = settings
        app.state.metrics = metrics
        app.state.retriever = r
        app.state.http = http
        failures = FailureLimiter(settings.auth_failures_per_minute, settings.auth_failure_burst)
        app.state.keys = (
            KeyStore(settings.api_keys_file, failures=failures) if settings.api_keys_file else None
        )
        app.state.rate_limiter = RateLimiter(
            settings.rate_limit_per_minute, settings.rate_limit_burst
        )
        app.state.audit = AuditLog(settings.audit_log)
        app.state.pipeline = Pipeline(
            retriever=r,
            verifier=Verifier(r, citation_parser or default_citation_parser()),
            extractive=ExtractiveGenerator(),
            vllm=vllm,
            metrics=metrics,
            settings=settings,
        )
        metrics.track_index(app.state.pipeline.index_version)
        readiness = Readiness(
            app.state.pipeline, settings.ready_check_timeout_s, settings.ready_cache_s
        )
        app.state.readiness = readiness
        warm = asyncio.ensure_future(readiness.state())  # opens the index before the first ask
        try:
            yield
        finally:
            warm.cancel()
            readiness.close()
            metrics.track_index(lambda: "")
            if http is not None:
                await http.aclose()
            close = getattr(r, "close", None)
            if owned and callable(close):
                close()

    app = FastAPI(
        title="Juris gateway",
        version="0.1.0",
        description="Legal research answers with verified pinpoint citations.",
        lifespan=lifespan,
        docs_url=None,  # served by serving.docs from local assets, not a CDN
        redoc_url=None,
    )
    app.state.metrics = metrics
    install_error_handlers(app)
    for module in (ask, search, documents, chat, models, index, admin, health):
        app.include_router(module.router)
    assets = swagger_assets() if settings.docs_enabled else None
    if assets is not None:
        app.include_router(docs_router(assets, app.title))
    elif settings.docs_enabled:
        log.warning("no /docs: Swagger UI's files (package fastapi-offline) are not installed")
    install_openapi(app, settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        read_timeout_s=settings.body_read_timeout_s,
    )
    app.add_middleware(StreamPacingMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware)
    web = settings.web_dir or WEB_DIR
    if (web / "index.html").is_file():
        app.router.routes.append(WebMount(StaticFiles(directory=web, html=True), app.routes))
    return app


def _paths(routes: list[BaseRoute]) -> list[str]:
    """The paths of `routes`, through included routers."""
    out = []
    for r in routes:
        included = getattr(r, "original_router", None)
        if included is not None:
            prefix = getattr(getattr(r, "include_context", None), "prefix", "") or ""
            out += [prefix + p for p in _paths(included.routes)]
        elif isinstance(path := getattr(r, "path", None), str) and path.startswith("/"):
            out.append(path)
    return out


class WebMount(Mount):
    """The web client's files at `/`, never answering for a path of the API.

    Mounted at `/`, static files would match every path: `GET /v1/ask` would be their 404
    instead of the route's 405 (with `Allow: POST`). This mount leaves the first path segment
    of every route (`/v1`, `/healthz`, `/docs`, …) to the router.

    Args:
        app: the static files.
        routes: the application's routes (before this mount).
    """

    def __init__(self, app: StaticFiles, routes: list[BaseRoute]) -> None:
        super().__init__("/", app=app, name="web")
        self.reserved = {"/" + path.split("/")[1] for path in _paths(routes) if path != "/"}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path, root = scope.get("path", ""), scope.get("root_path", "")
        path = path[len(root) :] if root and path.startswith(root) else path
        first = "/" + path.split("/")[1] if path.startswith("/") else path
        if first in self.reserved:
            return Match.NONE, {}
        return super().matches(scope)
