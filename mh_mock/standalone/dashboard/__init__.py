"""The dashboard at ``/`` and the interactive API reference at ``/docs``.

Both are static files shipped in this package (``static/``): plain HTML, CSS and JavaScript
modules, no build step and nothing fetched from elsewhere. The dashboard reads and steers the fake
only through the admin API (``/mh-mock-api``), polling it about once a second, and builds its forms
from ``GET /mh-mock-api/operations``. ``/docs`` is Swagger UI (vendored, see
``static/swagger-ui/VERSION.txt``) on the served ``/openapi.json``.

Every page and asset is sent with a strict Content-Security-Policy (scripts, styles, media and
connections from this server only; no inline script or style), ``nosniff`` and ``no-referrer``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "STATIC_DIR", "dashboard_routes"]

STATIC_DIR = Path(str(files(__name__) / "static"))
"""The dashboard's files (package data)."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""Both pages' policy: everything from this server, no inline script or style, no framing.

Swagger UI needs no ``'unsafe-inline'``: its components set styles through the DOM, which
``style-src`` does not restrict.
"""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate (ETag, Last-Modified): an upgraded package shows its new pages
}
"""Sent with the pages, ``/dashboard/config.json`` and every asset under ``/dashboard/``."""


class _WithHeaders:
    """An ASGI app whose answers carry ``headers`` (where not already set)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def dashboard_routes(engine: Any, settings: Any) -> list[BaseRoute]:
    """``/`` (the dashboard), ``/docs`` (Swagger UI), ``/dashboard/config.json`` and ``/dashboard/…`` (assets).

    ``settings`` is the server's :class:`~mh_mock.standalone.options.ServeOptions`: the page learns
    the public URL (download URLs point there) and whether the admin API needs a token (so it
    asks for it before the first call), never the token itself.
    """
    from ... import __version__

    config = {"url": settings.url, "admin_token_required": settings.admin_token is not None, "version": __version__}

    async def dashboard(_: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    async def docs(_: Request) -> Response:
        return FileResponse(STATIC_DIR / "docs.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    async def page_config(_: Request) -> Response:
        return JSONResponse(config, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})

    return [
        Route("/", dashboard, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/dashboard/config.json", page_config, methods=["GET"]),
        Mount("/dashboard", app=_WithHeaders(StaticFiles(directory=STATIC_DIR), SECURITY_HEADERS), name="dashboard"),
    ]
