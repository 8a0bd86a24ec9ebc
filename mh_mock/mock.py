"""In-process mode: the fake behind respx, for every httpx client in the process.

``MhMock`` registers one catch-all respx route per host (the API base URL and the storage host)
whose side effect hands the request to the shared :class:`~mh_mock.dispatch.Dispatcher`.
Because respx patches httpx itself, fresh ``httpx.Client()`` instances (which the official SDK
uses for uploads and downloads) are intercepted too; no socket is opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
import respx

from ._json import dump_json
from .admin import ADMIN_PREFIX
from .config import Config
from .control import Control, decode_admin_answer
from .dispatch import Dispatcher, Request
from .engine import Engine
from .faults import Fault
from .journal import Journal
from .routes import Surface
from .sslcache import shared_ssl_context
from .webhooks import Receiver

__all__ = ["MhMock"]


class MhMock(Control):
    """A stateful fake of the Magic Hour audio API, intercepting httpx in this process.

    Use it as a context manager (or :meth:`start` / :meth:`stop`)::

        with MhMock(seed=1) as fake:
            client = magic_hour.Client(token="test")   # default base URL: intercepted
            ...
            fake.advance(10)

    ``config`` and ``options`` (any :class:`~mh_mock.config.Config` field) set the behaviour.
    Pass ``router`` to share a respx router you already use (its other routes keep working);
    otherwise requests to other hosts follow respx's usual ``assert_all_mocked`` rule. While it
    runs, default httpx clients share one SSL context (``share_ssl_context=False`` to opt out):
    the SDK builds a fresh client, ~20 ms of SSL setup, for every upload and download.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        router: respx.MockRouter | None = None,
        assert_all_mocked: bool = True,
        share_ssl_context: bool = True,
        **options: Any,
    ) -> None:
        config = (config or Config()).replace(**options) if options else (config or Config())
        self.engine = Engine(config)
        self.dispatcher = Dispatcher(self.engine)
        self._owns_router = router is None
        self.router = router or respx.MockRouter(
            assert_all_called=False, assert_all_mocked=assert_all_mocked, using="httpx"
        )
        self._routes: list[respx.Route] = []
        self._share_ssl_context = share_ssl_context
        self._ssl: AbstractContextManager[None] | None = None
        self._started = False
        api, storage = urlsplit(config.api_url), urlsplit(config.storage_url)
        self._api_prefix = api.path.rstrip("/")
        self._storage_prefix = storage.path.rstrip("/")
        same_host = (api.scheme, api.netloc) == (storage.scheme, storage.netloc)
        api_surfaces = {Surface.API, Surface.ADMIN} | ({Surface.STORAGE} if same_host else set())
        self._hosts = [_Host(api, self._api_prefix, self._side_effect(self._api_prefix, frozenset(api_surfaces)))]
        if not same_host:
            self._hosts.append(
                _Host(
                    storage, self._storage_prefix, self._side_effect(self._storage_prefix, frozenset({Surface.STORAGE}))
                )
            )
        self._elsewhere = self._side_effect("", frozenset())  # for MockTransport use: another host

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> MhMock:
        """Start intercepting the API and storage hosts."""
        if self._started:
            return self
        for host in self._hosts:
            route = _FakeRoute(host.serve, **host.pattern)
            self._routes.append(self.router.routes.add(route, name=f"mh-mock {host.parts.netloc}{host.prefix}"))
        if self._share_ssl_context:
            self._ssl = shared_ssl_context()
            self._ssl.__enter__()
        if self._owns_router:
            self.router.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop intercepting (state is kept until :meth:`reset`)."""
        if not self._started:
            return
        self.engine.webhooks.close()
        if self._ssl is not None:
            self._ssl.__exit__(None, None, None)
            self._ssl = None
        if self._owns_router:
            self.router.stop(quiet=True)
        else:
            for route in self._routes:
                self.router.routes.pop(route.name, None)  # type: ignore[no-untyped-call]
        self._routes.clear()
        self._started = False

    def __enter__(self) -> MhMock:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ requests

    @property
    def config(self) -> Config:
        """The options in force (a reset with options changes them until the next reset)."""
        return self.engine.config

    @property
    def api_url(self) -> str:
        """Base URL of the fake API (pass it as ``base_url`` to clients)."""
        return self.engine.config.api_url

    @property
    def journal(self) -> Journal:
        """Every call the fake served (the live journal, not a copy)."""
        return self.engine.journal

    def add_webhook(self, url: str | Receiver, secret: str, events: list[str] | None = None) -> dict[str, Any]:
        """Register a webhook: a URL (delivered over httpx, so respx routes can receive it) or a
        Python callable ``receiver(headers, body) -> status``."""
        if isinstance(url, str):
            return super().add_webhook(url, secret, events)
        return self.engine.webhooks.add_endpoint(url, secret, events).describe()

    def handler(self, request: httpx.Request) -> httpx.Response:
        """A plain httpx handler: ``httpx.MockTransport(fake.handler)`` works without respx."""
        for host in self._hosts:
            if host.matches(request.url):
                return host.serve(request)
        return self._elsewhere(request)  # the dispatcher's 404, listing nothing: no route is here

    def _side_effect(self, prefix: str, surfaces: frozenset[Surface]) -> Callable[[httpx.Request], httpx.Response]:
        handle = self.dispatcher.handle
        cut = len(prefix)

        def side_effect(request: httpx.Request) -> httpx.Response:
            try:
                body = request.content
            except httpx.RequestNotRead:
                body = request.read()
            url = request.url
            answer = handle(
                Request(request.method, str(url), url.path[cut:] or "/", url.params, request.headers, body),
                surfaces,
            )
            if answer.fault is not None:
                _act_out(answer.fault, request)
            content = answer.content
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
            headers.append((b"content-length", b"%d" % len(content)))
            # a ready stream and the request: httpx does no encoding work and respx no copying
            return httpx.Response(answer.status, headers=headers, stream=httpx.ByteStream(content), request=request)

        return side_effect

    def _admin(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        url = f"{self.api_url}{ADMIN_PREFIX}{path}"
        admin_headers = {"content-type": "application/json"}
        if self.engine.config.admin_token:
            admin_headers["x-mh-mock-admin-token"] = self.engine.config.admin_token
        answer = self.dispatcher.handle(
            Request(
                method, url, ADMIN_PREFIX + path, query or {}, admin_headers, b"" if body is None else dump_json(body)
            )
        )
        return decode_admin_answer(answer.status, answer.content)


def _act_out(fault: Fault, request: httpx.Request) -> None:
    """Make an injected fault happen in-process: a delay, or the httpx error a client would see."""
    if fault.kind == "latency":
        time.sleep(fault.seconds)
    elif fault.kind == "reset":
        raise httpx.ReadError("[Errno 104] Connection reset by peer (mh-mock fault)", request=request)
    elif fault.kind == "refused":
        raise httpx.ConnectError("[Errno 111] Connection refused (mh-mock fault)", request=request)
    elif fault.kind == "timeout":
        raise httpx.ReadTimeout("The read operation timed out (mh-mock fault)", request=request)


@dataclass(frozen=True)
class _Host:
    """One intercepted host: its URL parts, the path prefix of the fake, and the handler."""

    parts: SplitResult
    prefix: str
    serve: Callable[[httpx.Request], httpx.Response]

    @property
    def pattern(self) -> dict[str, Any]:
        """The respx lookups that match this host."""
        pattern: dict[str, Any] = {"scheme": self.parts.scheme, "host": self.parts.hostname}
        if self.parts.port is not None:
            pattern["port"] = self.parts.port
        if self.prefix:
            pattern["path__startswith"] = self.prefix + "/"
        return pattern

    def matches(self, url: httpx.URL) -> bool:
        """The same test as :attr:`pattern`, for use without respx."""
        return (
            url.scheme == self.parts.scheme
            and url.host == self.parts.hostname
            and (self.parts.port is None or url.port == self.parts.port)
            and (not self.prefix or url.path.startswith(self.prefix + "/"))
        )


class _FakeRoute(respx.Route):
    """A catch-all respx route that hands every matching request to the fake.

    It resolves by calling the handler directly: respx's generic side-effect path inspects the
    callable's signature on every request, which costs more than the fake's own routing.
    """

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response], **lookups: Any) -> None:
        super().__init__(**lookups)
        self._handler = handler

    def resolve(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        return self._handler(request)
