"""Standalone mode: the fake as a Starlette app, for uvicorn (``mh-mock serve``).

The app has two routes: ``/openapi.json`` (the served document) and a catch-all that hands
every request to the shared :class:`~mh_mock.dispatch.Dispatcher`, so routing, validation and
errors are exactly those of the in-process mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._json import dump_json
from .admin import ADMIN_PREFIX
from .config import Config, Progression
from .dispatch import Dispatcher, Request
from .engine import Engine
from .errors import PayloadTooLarge
from .openapi import served_document

__all__ = ["create_app", "standalone_config"]

logger = logging.getLogger("mh_mock")

TICK_SECONDS = 0.1
"""How often the server applies due transitions and sends due webhooks."""

_BODILESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def standalone_config(url: str, **options: object) -> Config:
    """Defaults for a server at ``url``: real time, clock progression, URLs on the server."""
    defaults: dict[str, object] = {
        "journal_limit": 10_000,
        "frozen_clock": False,
        "progression": Progression.CLOCK,
        "api_url": url,
        "storage_url": url,
    }
    return Config().replace(**{**defaults, **options})


def create_app(engine: Engine | None = None, *, freeze_gc_every: int | None = None) -> Starlette:
    """A Starlette app serving ``engine`` (default: a standalone engine on 127.0.0.1:8000).

    ``freeze_gc_every`` (``mh-mock serve`` uses 5,000) moves everything alive to the garbage
    collector's permanent generation every so many requests, so full collections stop scanning
    the growing store and journal: without it their pauses grow to ~200 ms and dominate p99.
    """
    engine = engine or Engine(standalone_config("http://127.0.0.1:8000"))
    dispatcher = Dispatcher(engine)
    document = dump_json(served_document(engine.config.api_url))
    served = 0

    async def openapi(_: StarletteRequest) -> Response:
        return Response(document, media_type="application/json")

    async def catch_all(request: StarletteRequest) -> Response:
        nonlocal served
        scope, headers = request.scope, request.headers
        method = scope["method"]
        body = b""
        if method not in _BODILESS or "content-length" in headers or "transfer-encoding" in headers:
            try:
                body = await _read_body(request, engine)
            except PayloadTooLarge as error:
                return JSONResponse(error.body(), status_code=error.status)
        query = scope["query_string"]
        url = f"{scope['scheme']}://{headers.get('host', '')}{scope['path']}"
        if query:
            url += "?" + query.decode("latin-1")
        call = Request(method, url, scope["path"], request.query_params if query else {}, headers, body)
        if scope["path"].startswith(ADMIN_PREFIX):  # reset, deliver… may take long: off the event loop
            answer = await anyio.to_thread.run_sync(dispatcher.handle, call)
        else:
            answer = dispatcher.handle(call)
        if freeze_gc_every is not None:
            served += 1
            if served % freeze_gc_every == 0:
                gc.freeze()
        fault = answer.fault
        if fault is not None and fault.kind != "rate_limit" and fault.kind != "server_error":
            if fault.kind in ("latency", "timeout"):
                await asyncio.sleep(fault.seconds or (30.0 if fault.kind == "timeout" else 0.0))
            if fault.kind != "latency":
                _drop_connection(request)
                await asyncio.sleep(0)  # let uvicorn notice: what follows is never sent
        return Response(answer.content, status_code=answer.status or 500, headers=answer.headers)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        """A ticker: clock transitions and webhook deliveries happen on time, off the event loop."""

        async def tick() -> None:
            while True:
                try:
                    await anyio.to_thread.run_sync(engine.tick)
                except Exception:  # keep ticking: one failed delivery or save must not stop time
                    logger.exception("mh-mock ticker failed")
                await asyncio.sleep(TICK_SECONDS)

        task = asyncio.create_task(tick())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    engine.deliver_inline = False  # the ticker sends webhooks, so a slow receiver never blocks a request
    app = Starlette(
        routes=[
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/{path:path}", catch_all, methods=_METHODS),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    return app


def _drop_connection(request: StarletteRequest) -> None:
    """Abort the TCP connection under ``request`` (uvicorn's protocol object holds the transport)."""
    transport = getattr(getattr(request.receive, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()


async def _read_body(request: StarletteRequest, engine: Engine) -> bytes:
    """The body, refused with 413 before it is all in memory when it is over the limit."""
    config = engine.config
    limit = max(config.max_body_bytes, config.max_upload_bytes)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is {declared} bytes; the limit is {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
