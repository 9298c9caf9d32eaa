"""The playground's HTTP hardening, for every response and every state-changing request.

* Security headers on every response (page, assets, JSON, errors): a Content Security
  Policy that allows only the playground's own scripts, styles and requests, no framing
  (clickjacking), no MIME sniffing, no referrer.
* A request that changes state (any method but GET/HEAD/OPTIONS) must come from the
  playground's own page: an ``Origin`` or ``Sec-Fetch-Site`` header that names another
  site is refused (403), and so is a body that is not ``application/json`` (415). A web
  page elsewhere can send a ``text/plain`` or form POST without asking (no CORS
  preflight), which would let any site the learner visits make the playground burn CPU.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def refusal(scope: Scope) -> tuple[int, str] | None:
    """Why a request may not change state, as ``(status, message)``, or None if it may."""
    if scope["method"] in SAFE_METHODS:
        return None
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    if origin is not None and origin != own:
        return 403, f"requests from {origin[:80]} are refused; use the playground's own page"
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return 403, "cross-site requests are refused; use the playground's own page"
    content_type = headers.get("content-type")
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    media = (content_type or "").split(";")[0].strip().lower()
    if (content_type is not None or has_body) and media != "application/json":
        return 415, (f"send the body as application/json, not {media or 'untyped data'}")
    return None


class SecurityMiddleware:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every response, :func:`refusal` first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        problem = refusal(scope)
        if problem is not None:
            status, message = problem
            await JSONResponse({"error": message}, status_code=status)(
                scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
