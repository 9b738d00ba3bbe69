"""`/docs`: Swagger UI served from a local copy, no CDN (the gateway runs air-gapped).

The assets come from the PyPI package `fastapi-offline` (its `static/` folder: Swagger UI's
`swagger-ui-bundle.js` and `swagger-ui.css`, found without importing the package). The page
has no inline script: the initialiser is `/docs/init.js`, so the page works under the
gateway's Content-Security-Policy. Without the package, or with `JURIS_DOCS_ENABLED=false`,
there is no `/docs` (the schema stays at `/openapi.json`).
"""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from serving.errors import NotFound

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}

INIT_JS = """\
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapi,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def swagger_assets() -> Path | None:
    """The folder holding Swagger UI's files, or None when the package is not installed."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if all((folder / name).is_file() for name in ASSETS) else None


def docs_router(assets: Path, title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    """Routes of `/docs`, its assets and its initialiser (not in the schema).

    Args:
        assets: `swagger_assets()`.
        title: the page title.
        openapi_url: where the schema is served.
    """
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def docs(request: Request) -> HTMLResponse:
        root = html.escape(request.scope.get("root_path", ""))
        page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} — API</title>
<link rel="stylesheet" href="{root}/docs/swagger-ui.css">
<link rel="icon" href="{root}/docs/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi="{root}{html.escape(openapi_url)}"></div>
<script src="{root}/docs/swagger-ui-bundle.js"></script>
<script src="{root}/docs/init.js"></script>
</body>
</html>
"""
        return HTMLResponse(page)

    @router.get("/docs/init.js")
    async def init() -> Response:
        return Response(INIT_JS, media_type="text/javascript")

    @router.get("/docs/{name}")
    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise NotFound(f"no {name!r} under /docs")
        return FileResponse(assets / name, media_type=ASSETS[name])

    return router
