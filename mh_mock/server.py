"""Standalone mode: the fake as an ASGI app for uvicorn (``mh-mock serve``).

:class:`FakeApp` is a thin ASGI callable: every HTTP request goes straight to the shared
:class:`~mh_mock.dispatch.Dispatcher`, so routing, validation and errors are exactly those of the
in-process mode. A small Starlette app behind it serves ``/openapi.json`` and runs the lifespan
ticker (clock transitions and webhook deliveries on time, off the event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from ._json import dump_json
from .admin import ADMIN_PREFIX
from .config import Config, Progression
from .dispatch import Dispatcher, Request
from .engine import Engine
from .errors import PayloadTooLarge
from .faults import Fault
from .openapi import served_document

__all__ = ["FakeApp", "create_app", "standalone_config"]

logger = logging.getLogger("mh_mock")

TICK_SECONDS = 0.1
"""How often the server applies due transitions and sends due webhooks."""

_OPENAPI_PATH = "/openapi.json"


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


def create_app(engine: Engine | None = None, *, freeze_gc_every: int | None = None) -> FakeApp:
    """An ASGI app serving ``engine`` (default: a standalone engine on 127.0.0.1:8000).

    ``freeze_gc_every`` (``mh-mock serve`` uses 5,000) moves everything alive to the garbage
    collector's permanent generation every so many requests, so full collections stop scanning
    the growing store and journal: without it their pauses grow to ~200 ms and dominate p99.
    """
    return FakeApp(engine or Engine(standalone_config("http://127.0.0.1:8000")), freeze_gc_every=freeze_gc_every)


class FakeApp:
    """The standalone server's ASGI app. ``engine`` is the fake it serves."""

    def __init__(self, engine: Engine, *, freeze_gc_every: int | None = None) -> None:
        self.engine = engine
        self.dispatcher = Dispatcher(engine)
        self._freeze_gc_every = freeze_gc_every
        self._served = 0
        engine.deliver_inline = False  # the ticker sends webhooks, so a slow receiver never blocks a request
        document = dump_json(served_document(engine.config.api_url))

        async def openapi(_: StarletteRequest) -> Response:
            return Response(document, media_type="application/json")

        self.starlette = Starlette(routes=[Route(_OPENAPI_PATH, openapi, methods=["GET"])], lifespan=self._lifespan)
        self.state = self.starlette.state
        self.state.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == _OPENAPI_PATH:
            await self.starlette(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            body = await _read_body(scope["method"], headers, receive, self.engine.config)
        except PayloadTooLarge as error:
            await _respond(send, error.status, dump_json(error.body()), {"content-type": "application/json"})
            return
        if body is None:
            return  # the client went away
        query = scope["query_string"]
        url = f"{scope['scheme']}://{headers.get('host', '')}{scope['path']}"
        if query:
            url += "?" + query.decode("latin-1")
        call = Request(scope["method"], url, scope["path"], QueryParams(query) if query else {}, headers, body)
        if scope["path"].startswith(ADMIN_PREFIX):  # reset, deliver… may take long: off the event loop
            answer = await anyio.to_thread.run_sync(self.dispatcher.handle, call)
        else:
            answer = self.dispatcher.handle(call)
        if answer.fault is not None and await _act_out(answer.fault, receive):
            return
        await _respond(send, answer.status, answer.content, answer.headers)
        if self._freeze_gc_every is not None:
            self._served += 1
            if self._served % self._freeze_gc_every == 0:
                gc.freeze()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        """A ticker: clock transitions and webhook deliveries happen on time, off the event loop."""

        async def tick() -> None:
            while True:
                try:
                    await anyio.to_thread.run_sync(self.engine.tick)
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


async def _respond(send: Send, status: int, content: bytes, headers: dict[str, str]) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(content)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": content})


async def _act_out(fault: Fault, receive: Receive) -> bool:
    """Make a fault happen on the socket; True if the connection is gone (nothing to send)."""
    if fault.kind in ("rate_limit", "server_error"):
        return False  # an ordinary answer
    if fault.kind in ("latency", "timeout"):
        await asyncio.sleep(fault.seconds or (30.0 if fault.kind == "timeout" else 0.0))
    if fault.kind == "latency":
        return False
    # uvicorn's protocol object holds the transport; aborting it drops the connection (a reset)
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0)  # let uvicorn see the connection is gone before the app returns
        return True
    return False


async def _read_body(method: str, headers: Headers, receive: Receive, config: Config) -> bytes | None:
    """The body (None if the client disconnected), refused with 413 before it is all in memory."""
    if (
        method in ("GET", "HEAD", "DELETE", "OPTIONS")
        and "content-length" not in headers
        and "transfer-encoding" not in headers
    ):
        return b""
    limit = max(config.max_body_bytes, config.max_upload_bytes)
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is {declared} bytes; the limit is {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: Any = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
