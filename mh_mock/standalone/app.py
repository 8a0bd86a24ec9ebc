"""Standalone mode: the fake as an ASGI app for uvicorn (``mh-mock serve``).

:class:`FakeApp` is a thin ASGI callable: it applies the server's guards (Host, Origin, body
limits), hands every API, storage and admin request to the shared
:class:`~mh_mock.routing.dispatch.Dispatcher`, streams rendered audio, and acts out injected
faults on the socket. A small Starlette app beside it serves ``/openapi.json``, the dashboard and
``/docs``, and runs the lifespan ticker (clock transitions, expired namespaces and webhook
deliveries on time).

Engine work never blocks the event loop: admin calls, large bodies and every call of a server
with a state file run in worker threads, and a call that would wait for the engine lock does too.
Memory per request is bounded whatever a client sends or reads: an upload is hashed as it
streams in (only its size, digest and first bytes are kept), and audio is sent in chunks as the
client reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from .._json import dump_json
from ..blob import BlobBuilder
from ..config import Config
from ..control.admin import admin_routes
from ..control.handlers import OpContext
from ..control.operations import ADMIN_PREFIX
from ..engine.engine import Engine
from ..engine.faults import Fault
from ..engine.seeds import SeedPolicy
from ..errors import PayloadTooLarge
from ..fault_kinds import STALL_LIMIT
from ..routing.dispatch import ALL_SURFACES, Dispatcher, Request
from ..routing.openapi import served_document
from ..vocabulary import Progression
from .guard import HostGuard
from .options import ServeOptions
from .sender import WebhookSender

__all__ = ["TICK_SECONDS", "FakeApp", "create_app", "standalone_config"]

logger = logging.getLogger("mh_mock")

TICK_SECONDS = 0.1
"""How often the server applies due transitions and sends due webhooks."""

TICK_BATCH = 256
"""Transitions one step of the ticker applies at most (about a millisecond) before requests go on."""

_T = TypeVar("_T")

_INLINE_BODY = 64 * 1024
"""Bodies larger than this are handled in a worker thread (copying them takes time)."""

ADMIN_THREADS = 8
"""Worker threads admin calls may hold at once (the rest wait their turn; API calls never wait for them)."""

_PAGES = ("/openapi.json", "/", "/docs", "/dashboard/config.json")


def standalone_config(url: str, **options: Any) -> Config:
    """The standalone profile for a server at ``url`` (real time, clock progression, URLs on the
    server), under ``options``. Seed files beat the profile; ``options`` beat seed files."""
    profile = Config.profile(frozen_clock=False, progression=Progression.CLOCK, api_url=url, storage_url=url)
    return profile.replace(**options) if options else profile


def create_app(engine: Engine | None = None, options: ServeOptions | None = None) -> FakeApp:
    """An ASGI app serving ``engine`` (default: a standalone engine at ``options.url``)."""
    options = options or ServeOptions()
    return FakeApp(engine or Engine(standalone_config(options.url)), options)


class FakeApp:
    """The standalone server's ASGI app. ``engine`` is the fake it serves."""

    def __init__(self, engine: Engine, options: ServeOptions | None = None) -> None:
        self.engine = engine
        self.options = options = options or ServeOptions(public_url=engine.config.api_url)
        self.guard = HostGuard(options.allow_host, options.url)
        self.sender = WebhookSender(engine)
        context = OpContext(engine, seed_policy=SeedPolicy(directory=options.seeds_dir), deliver_now=self._deliver_now)
        self.dispatcher = Dispatcher(
            engine,
            admin=admin_routes(context),
            admin_token=options.admin_token,
            extra_served=[f"GET {path}" for path in _PAGES],
        )
        pages = _page_routes(engine, options, lambda: served_document(options.url, self.dispatcher.routes))
        self.starlette = Starlette(routes=pages, lifespan=self._lifespan)
        self._page_paths = frozenset(getattr(route, "path", "") for route in pages)
        self._served = 0
        self._admin_limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.starlette(scope, receive, send)
            return
        headers = _Headers(scope["headers"])
        path, method = scope["path"], scope["method"]
        problem = self.guard.host_problem(headers.get("host")) or self.guard.origin_problem(
            headers, admin=path.startswith(ADMIN_PREFIX), method=method
        )
        if problem is not None:
            await _respond(send, 403, dump_json({"code": "forbidden", "message": problem}), _JSON_TYPE)
            return
        if path in self._page_paths or path.startswith(("/dashboard/", "/docs/")):
            await self.starlette(scope, receive, send)
            return
        await self._dispatch(scope, headers, receive, send)

    async def _dispatch(self, scope: Scope, headers: _Headers, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else quote(path)  # matched percent-encoded, as in-process
        query = scope["query_string"]
        url = f"{scope['scheme']}://{headers.get('host', '')}{path}" + (f"?{query.decode('latin-1')}" if query else "")
        request = Request(method, url, path, QueryParams(query) if query else {}, headers, b"", headers.authorization)
        matched = self.dispatcher.match(method, path)
        route = matched.route
        if "content-length" in headers or "transfer-encoding" in headers:
            # refused before it is read: a declared size over the limit, an upload URL that is not valid
            declared = headers.get("content-length")
            if self.dispatcher.needs_early_look(matched, declared):
                early = await self._run(self.dispatcher.refuse_early, request, matched, declared, heavy=False)
                if early is not None:
                    await _respond(send, early.status, early.content, early.headers)
                    return
            try:
                body = await _read_body(
                    receive, self.dispatcher.body_limit(route), route is not None and route.raw_body
                )
            except PayloadTooLarge as error:
                await _respond(send, error.status, dump_json(error.body()), _JSON_TYPE)
                return
            if body is None:
                return  # the client went away
            request.body = body
        admin = path.startswith(ADMIN_PREFIX)
        size = len(request.body) if isinstance(request.body, bytes) else 0
        answer = await self._run(
            self.dispatcher.handle,
            request,
            ALL_SURFACES,
            matched,
            heavy=admin or size > _INLINE_BODY,
            limiter=self._admin_threads() if admin else None,
        )
        if answer.fault is not None and await _act_out(answer.fault, receive):
            return
        if answer.audio is not None:
            headers_out = {**answer.headers, "content-length": str(answer.audio.size)}
            await _stream(send, answer.status, headers_out, answer.audio.chunks())
        else:
            await _respond(send, answer.status, answer.content, answer.headers)
        if self.options.freeze_gc_every is not None:
            self._served += 1
            if self._served % self.options.freeze_gc_every == 0:
                gc.freeze()

    async def _run(
        self, function: Callable[..., _T], *args: Any, heavy: bool, limiter: anyio.CapacityLimiter | None = None
    ) -> _T:
        """Run engine work inline when that cannot block the loop, else in a worker thread (of ``limiter``)."""
        if heavy or self.engine.persistent:
            return await anyio.to_thread.run_sync(function, *args, limiter=limiter)
        lock = self.engine.lock
        if not lock.acquire(blocking=False):  # someone holds the engine: wait in a thread, not here
            return await anyio.to_thread.run_sync(function, *args, limiter=limiter)
        try:
            return function(*args)
        finally:
            lock.release()

    def _tick_here(self) -> bool:
        """One batch of due transitions, on the event loop (no thread to hand over to, and no lock to wait
        for: a busy engine is ticked next time); True when nothing is left due."""
        lock = self.engine.lock
        if not lock.acquire(blocking=False):
            return True
        try:
            return self.engine.tick(TICK_BATCH)
        finally:
            lock.release()

    def _admin_threads(self) -> anyio.CapacityLimiter:
        """Admin calls get worker threads of their own: one may wait for webhook deliveries for seconds
        (``POST /mh-mock-api/webhooks/deliver``), and a crowd of those must not starve API calls."""
        if self._admin_limiter is None:
            self._admin_limiter = anyio.CapacityLimiter(ADMIN_THREADS)
        return self._admin_limiter

    def _deliver_now(self) -> None:
        """Called by the admin operation (in a worker thread): send every due webhook and wait."""
        anyio.from_thread.run(self.sender.flush)

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        """A ticker: clock transitions, expired namespaces and webhook deliveries on time, off the event loop."""

        async def tick() -> None:
            while True:
                try:
                    if self.engine.persistent:  # a tick may commit to the state file: off the loop
                        await anyio.to_thread.run_sync(self.engine.tick)
                    else:
                        while not self._tick_here():
                            await asyncio.sleep(0)  # a batch at a time, requests served between them
                    await self.sender.pump()
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
            await self.sender.close()


_JSON_TYPE = {"content-type": "application/json"}


class _Headers(dict[str, str]):
    """A request's headers, read once: names lowercased (as ASGI sends them), the last value of a
    repeated header, and every ``Authorization`` value (two of them are refused)."""

    __slots__ = ("authorization",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        super().__init__()
        authorization: list[str] = []
        self.authorization = authorization
        for name, value in raw:
            text = value.decode("latin-1")
            if name == b"authorization":
                authorization.append(text)
            self[name.decode("latin-1")] = text


def _page_routes(engine: Engine, options: ServeOptions, document: Callable[[], dict[str, Any]]) -> list[BaseRoute]:
    """``/openapi.json``, and the dashboard and API reference when the package ships them."""
    encoded: list[bytes] = []

    async def openapi(_: StarletteRequest) -> Response:
        if not encoded:
            encoded.append(dump_json(document()))
        return Response(encoded[0], media_type="application/json")

    routes: list[BaseRoute] = [Route("/openapi.json", openapi, methods=["GET"])]
    try:
        from .dashboard import dashboard_routes
    except ImportError:  # pragma: no cover - the dashboard ships with the package
        return routes
    return [*routes, *dashboard_routes(engine, options)]


def _raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    if headers == _JSON_TYPE:
        return [_RAW_JSON_TYPE]  # most answers
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


_RAW_JSON_TYPE = (b"content-type", b"application/json")


async def _respond(send: Send, status: int, content: bytes, headers: dict[str, str]) -> None:
    raw = _raw_headers(headers)
    raw.append((b"content-length", b"%d" % len(content)))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": content})


async def _stream(send: Send, status: int, headers: dict[str, str], chunks: Any) -> None:
    """An answer sent chunk by chunk: each ``send`` waits while the client is not reading (backpressure)."""
    await send({"type": "http.response.start", "status": status, "headers": _raw_headers(headers)})
    for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _act_out(fault: Fault, receive: Receive) -> bool:
    """Make a fault happen on the socket (its delay, then its answer or a dropped connection);
    True if the connection is gone (nothing to send)."""
    spec, delay = fault.spec, fault.delay
    if delay is None or delay > 0:
        with contextlib.suppress(asyncio.TimeoutError):  # (a client that gives up first is simply gone)
            await asyncio.wait_for(_disconnected(receive), STALL_LIMIT if delay is None else delay)
            return True
    if spec.drops is None:
        return False
    # uvicorn's protocol object holds the transport; aborting it drops the connection (a reset)
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0)  # let uvicorn see the connection is gone before the app returns
        return True
    return False


async def _read_body(receive: Receive, limit: int, as_file: bool) -> bytes | Any | None:
    """The body (None if the client disconnected), refused with 413 before more than ``limit`` bytes
    are in; with ``as_file``, hashed as it streams in and kept as a :class:`~mh_mock.blob.Blob`."""
    chunks: list[bytes] = []
    builder = BlobBuilder() if as_file else None
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: Any = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes")
        if builder is not None:
            builder.update(chunk)
        else:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return builder.finish() if builder is not None else b"".join(chunks)
