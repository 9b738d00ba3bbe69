"""Security headers on every response: a Content-Security-Policy that also forbids framing,
`X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`.

The web page's API key lives in this origin's `localStorage`, so nothing on it may run a
script the gateway did not serve, and no other site may frame it (a `<meta>` CSP cannot say
`frame-ancestors`; the header can). The policy is the page's own: scripts, styles and fetches
from this origin only, no inline script, style or handler. Swagger UI (`/docs`, served from
the package's local copy) sets inline styles on its elements, so its pages alone also allow
`style-src 'unsafe-inline'`; their scripts stay same-origin.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (errors included).

    Args:
        app: the wrapped application.
        docs_prefix: the path of the Swagger UI pages (their CSP allows inline styles).
    """

    def __init__(self, app: ASGIApp, docs_prefix: str = "/docs") -> None:
        self.app = app
        self.docs_prefix = docs_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        docs = path == self.docs_prefix or path.startswith(self.docs_prefix + "/")
        csp = (DOCS_CSP if docs else CSP).encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(b"content-security-policy", csp), *HEADERS]
                headers = list(message.get("headers", []))
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
