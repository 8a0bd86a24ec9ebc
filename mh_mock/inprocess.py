"""In-process mode: the fake behind respx, for every httpx and httpx2 client in the process.

:class:`MhMock` registers a respx router on the mocker of :mod:`mh_mock.interception` (httpx's
network transports), whose handler hands requests for the fake's hosts to the shared
:class:`~mh_mock.routing.dispatch.Dispatcher`; where httpx2 is installed, the same hosts are
answered for httpx2's transports too. So fresh clients (which the official SDK opens for uploads
and downloads) are intercepted, while in-memory transports (Starlette's ``TestClient``,
``ASGITransport``, ``MockTransport``) never are; and it stacks with respx's own ``respx_mock``
fixture (each router answers for its hosts), pytest-httpx and pytest-httpx2. No socket is
opened. Other HTTP libraries (requests, aiohttp, urllib3) are not intercepted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
import respx
from respx.mocks import Mocker
from respx.models import AllMockedAssertionError, PassThrough

from ._json import dump_json
from .clients import ClientLibrary, library
from .config import Config
from .control.admin import admin_routes
from .control.handlers import OpContext
from .control.operations import ADMIN_PREFIX
from .control.remote import Control, decode_admin_answer
from .control.views import WebhookView, webhook_view
from .engine.engine import Engine
from .engine.hub import Outgoing
from .engine.seeds import TRUSTED
from .interception import HTTPX2, NAME, NotMocked
from .journal import Journal
from .routing.dispatch import Dispatcher, Request, Response
from .routing.routes import Surface
from .sslcache import shared_ssl_context
from .webhooks import Receiver

__all__ = ["MhMock"]

_Handler = Callable[[httpx.Request], httpx.Response]


class MhMock(Control):
    """A stateful fake of the Magic Hour audio API, intercepting httpx in this process.

    Use it as a context manager (or :meth:`start` / :meth:`stop`)::

        with MhMock(seed=1) as fake:
            client = magic_hour.Client(token="test")   # default base URL: intercepted
            ...
            fake.advance(10)

    ``config`` and ``options`` (any :class:`~mh_mock.config.Config` field) set the behaviour.
    Requests to other hosts go to the respx routes added to :attr:`router` (or to another respx
    router such as ``respx_mock``); unmatched, they are refused (``AllMockedAssertionError``)
    unless their host is in ``passthrough_hosts`` (then they reach the network), or
    ``assert_all_mocked=False`` (then respx answers an empty 200, as respx does). Pass ``router`` to add the fake to
    a respx router you already use instead of its own. While it runs, default httpx clients share
    one SSL context (``share_ssl_context=False`` to opt out).
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        router: respx.MockRouter | None = None,
        assert_all_mocked: bool = True,
        passthrough_hosts: Iterable[str] = (),
        share_ssl_context: bool = True,
        **options: Any,
    ) -> None:
        config = (config or Config()).replace(**options) if options else (config or Config())
        self.engine = Engine(config)
        context = OpContext(self.engine, seed_policy=TRUSTED, deliver_now=self.deliver_due)
        self.dispatcher = Dispatcher(self.engine, admin=admin_routes(context))
        self._owns_router = router is None
        self._assert_all_mocked = assert_all_mocked
        self._passthrough = frozenset(host.lower() for host in passthrough_hosts)
        self.router = router if router is not None else _FakeRouter(self)
        self._routes: list[respx.Route] = []
        self._share_ssl_context = share_ssl_context
        self._ssl: AbstractContextManager[None] | None = None
        self._started = False
        self._delivering = threading.local()
        self._webhook_client: httpx.Client | None = None
        api, storage = urlsplit(config.api_url), urlsplit(config.storage_url)
        same_host = (api.scheme, api.netloc) == (storage.scheme, storage.netloc)
        api_surfaces = {Surface.API, Surface.ADMIN} | ({Surface.STORAGE} if same_host else set())
        self._hosts = [_Host(api, api.path.rstrip("/"), frozenset(api_surfaces), self)]
        if not same_host:
            self._hosts.append(_Host(storage, storage.path.rstrip("/"), frozenset({Surface.STORAGE}), self))
        self._elsewhere = _Serve(self, 0, frozenset(), library("httpx"))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> MhMock:
        """Start intercepting the API and storage hosts."""
        if self._started:
            return self
        self._refuse_overlap()
        if not self._owns_router:
            for host in self._hosts:
                route = _FakeRoute(host.serves("httpx"), host.key, **host.pattern)
                self._routes.append(self.router.routes.add(route, name=f"mh-mock {host.parts.netloc}{host.prefix}"))
        if self._share_ssl_context:
            self._ssl = shared_ssl_context()
            self._ssl.__enter__()
        if self._owns_router:
            self.router.start()
        HTTPX2.add(self)
        self._started = True
        return self

    def stop(self) -> None:
        """Stop intercepting (state is kept until :meth:`reset`)."""
        if not self._started:
            return
        HTTPX2.remove(self)
        if self._webhook_client is not None:
            self._webhook_client.close()
            self._webhook_client = None
        if self._ssl is not None:
            self._ssl.__exit__(None, None, None)
            self._ssl = None
        if self._owns_router:
            self.router.stop(quiet=True)
        else:
            routes: Any = self.router.routes  # (respx's RouteList is untyped)
            for route in self._routes:
                routes.pop(route.name, None)
        self._routes.clear()
        self._started = False

    def __enter__(self) -> MhMock:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _refuse_overlap(self) -> None:
        """Two fakes on one host cannot both answer: refuse the second one clearly."""
        routers = [*Mocker.registry[NAME].routers, *Mocker.registry["httpcore"].routers]
        if not self._owns_router:
            routers.append(self.router)
        for router in routers:
            other = router.fake if isinstance(router, _FakeRouter) else None
            taken = (
                {h.key for h in other._hosts}
                if other is not None
                else {r.host_key for r in router.routes if isinstance(r, _FakeRoute)}
            )
            clash = taken & {h.key for h in self._hosts}
            if clash and other is not self:
                where = ", ".join(f"{scheme}://{netloc}{prefix}" for scheme, netloc, prefix in sorted(clash))
                raise RuntimeError(
                    f"another MhMock is already intercepting {where}; stop it first (nested fakes would "
                    "shadow each other), or give this one another api_url/storage_url"
                )

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

    def scoped(self, tenant: str) -> MhMock:
        """In-process every test has its own fake: this fake itself."""
        return self

    def add_webhook(
        self, url: str | Receiver, secret: str, events: list[str] | None = None, *, token: str | None = None
    ) -> WebhookView:
        """Register a webhook: a URL (delivered over httpx, so respx routes can receive it) or a
        Python callable ``receiver(headers, body) -> status``; for ``token``'s projects only, if given."""
        if isinstance(url, str):
            return super().add_webhook(url, secret, events, token=token)
        shown = () if token is None else (token,)
        return webhook_view(self.engine.webhooks.add(url, secret, events, token=token), shown)

    def handler(self, request: httpx.Request) -> httpx.Response:
        """A plain httpx handler: ``httpx.MockTransport(fake.handler)`` works without respx."""
        host = self._host_of(request)
        serve = self._elsewhere if host is None else host.serves("httpx")  # elsewhere: the 404 listing nothing
        response: httpx.Response = serve(request)
        return response

    def _host_of(self, request: Any) -> _Host | None:
        return next((host for host in self._hosts if host.matches(request.url)), None)

    def _own(self, request: httpx.Request) -> _Serve | None:
        """The handler of the fake host ``request`` is for; PassThrough for hosts let through."""
        host = self._host_of(request)
        if host is not None:
            return host.serves("httpx")
        if request.url.host.lower() in self._passthrough:
            origin: Any = None
            raise PassThrough(f"mh-mock lets {request.url.host} through", request=request, origin=origin)
        return None

    def claim(self, request: Any) -> Callable[[Any], Any] | bool | None:
        """For httpx2's patch: the handler of the fake host ``request`` is for, True to let it through, or None."""
        host = self._host_of(request)
        if host is not None:
            return host.serves("httpx2")
        return True if request.url.host.lower() in self._passthrough else None

    def claim_async(self, request: Any) -> Callable[[Any], Any] | bool | None:
        """As :meth:`claim`, with the async handler (a latency fault waits without blocking the loop)."""
        claimed = self.claim(request)
        return claimed.asynchronously if isinstance(claimed, _Serve) else claimed

    def unclaimed(self, request: Any, module: Any) -> Any:
        """An httpx2 request to a host no fake serves: refused (or, with ``assert_all_mocked=False``,
        answered with an empty 200, as respx does)."""
        if not self._assert_all_mocked:
            return module.Response(200, request=request)
        raise NotMocked(self._refusal_message(request))

    def _refusal(self, request: httpx.Request) -> AllMockedAssertionError:
        return AllMockedAssertionError(self._refusal_message(request))

    def _refusal_message(self, request: Any) -> str:
        served = ", ".join(f"{h.parts.scheme}://{h.parts.netloc}{h.prefix}" for h in self._hosts)
        return (
            f"mh-mock: {request.method} {request.url} is not a fake host (it serves {served}) and no mock "
            "answers it; mock it (fake.router or respx_mock for httpx, pytest-httpx2 for httpx2), or let it "
            "through with MhMock(passthrough_hosts=[...]) or @pytest.mark.mh_mock(passthrough_hosts=[...])"
        )

    def _send(self, method: str, path: str, query: dict[str, str] | None, body: Any) -> Any:
        url = f"{self.api_url}{ADMIN_PREFIX}{path}"
        headers = {"content-type": "application/json"}
        raw = b"" if body is None else dump_json(body)
        answer = self.dispatcher.handle(Request(method, url, ADMIN_PREFIX + path, query or {}, headers, raw))
        self.deliver_due()
        return decode_admin_answer(answer.status, answer.content)

    # ------------------------------------------------------------------ webhooks

    def deliver_due(self) -> None:
        """Send every webhook that is due, in order (after each call; a receiver calling back is fine)."""
        if not self.engine.state.hub.pending_count or getattr(self._delivering, "active", False):
            return
        self._delivering.active = True
        try:
            while outgoing := self.engine.webhooks.take_due():
                for attempt in outgoing:
                    status, error, answer = self._deliver(attempt)
                    self.engine.webhooks.record(attempt.delivery_id, status, error, attempt.at, answer)
        finally:
            self._delivering.active = False

    def _deliver(self, attempt: Outgoing) -> tuple[int | None, str | None, str | None]:
        endpoint = attempt.endpoint
        try:
            if endpoint.receiver is not None:
                return int(endpoint.receiver(attempt.headers, attempt.body)), None, None
            if self._webhook_client is None:
                self._webhook_client = httpx.Client(timeout=self.engine.config.webhook_timeout)
            response = self._webhook_client.post(
                endpoint.url or "", content=attempt.body, headers=dict(attempt.headers)
            )
            return response.status_code, None, response.content[:1024].decode("utf-8", "replace")
        except Exception as error:  # any failure of the receiver is a failed attempt, retried later
            return None, f"{type(error).__name__}: {error}", None


class _Serve:
    """Serves the requests of one fake host (or of none: the 404 for the rest) through the dispatcher,
    for one client library."""

    def __init__(self, fake: MhMock, cut: int, surfaces: frozenset[Surface], client: ClientLibrary) -> None:
        self.fake, self.cut, self.surfaces, self.client = fake, cut, surfaces, client

    def __call__(self, request: Any) -> Any:
        answer = self._answer(request)
        if answer.fault is not None:
            self.client.act_out(answer.fault, request)
        return self.client.response(answer, request)

    async def asynchronously(self, request: Any) -> Any:
        """As a call, but a delay waits without blocking the event loop (asyncio or trio)."""
        answer = self._answer(request)
        if answer.fault is not None:
            await self.client.act_out_async(answer.fault, request)
        return self.client.response(answer, request)

    def _answer(self, request: Any) -> Response:
        answer = self.fake.dispatcher.handle(self.client.request(request, self.cut), self.surfaces)
        self.fake.deliver_due()
        return answer


_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Host:
    """One intercepted host: its URL parts, the path prefix of the fake, and its handlers per library."""

    def __init__(self, parts: SplitResult, prefix: str, surfaces: frozenset[Surface], fake: MhMock) -> None:
        self.parts, self.prefix, self._surfaces, self._fake = parts, prefix, surfaces, fake
        self.port = None if parts.port == _DEFAULT_PORTS.get(parts.scheme) else parts.port
        """The port to match (None: the scheme's default, which clients leave out of request URLs)."""
        self._serves: dict[str, _Serve] = {}

    def serves(self, name: str) -> _Serve:
        """The handler of this host for client library ``name`` (``httpx`` or ``httpx2``)."""
        serve = self._serves.get(name)
        if serve is None:
            serve = self._serves[name] = _Serve(self._fake, len(self.prefix), self._surfaces, library(name))
        return serve

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.parts.scheme, self.parts.netloc.lower(), self.prefix)

    @property
    def pattern(self) -> dict[str, Any]:
        """The respx lookups that match this host."""
        pattern: dict[str, Any] = {"scheme": self.parts.scheme, "host": self.parts.hostname}
        if self.port is not None:
            pattern["port"] = self.port
        if self.prefix:
            pattern["path__startswith"] = self.prefix + "/"
        return pattern

    def matches(self, url: Any) -> bool:
        """The same test as :attr:`pattern`, for use without respx (httpx and httpx2 URLs)."""
        return (
            url.scheme == self.parts.scheme
            and url.host == self.parts.hostname
            and (self.port is None or url.port == self.port)
            and (not self.prefix or url.path.startswith(self.prefix + "/"))
        )


class _FakeRouter(respx.MockRouter):
    """The fake's own respx router: answers its hosts directly (no route matching, no call list:
    the journal records calls); other requests go to the routes a user added to it, or on."""

    def __init__(self, fake: MhMock) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=fake._assert_all_mocked, using=NAME)
        self.fake = fake

    def handler(self, request: httpx.Request) -> httpx.Response:
        serve = self.fake._own(request)
        if serve is not None:
            response: httpx.Response = serve(request)
            return response
        try:
            return super().handler(request)
        except AllMockedAssertionError:
            raise self.fake._refusal(request) from None

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        serve = self.fake._own(request)
        if serve is not None:
            response: httpx.Response = await serve.asynchronously(request)
            return response
        try:
            return await super().async_handler(request)
        except AllMockedAssertionError:
            raise self.fake._refusal(request) from None


class _FakeRoute(respx.Route):
    """A catch-all route added to a router the user passed: hands matching requests to the fake."""

    def __init__(self, handler: _Handler, host_key: tuple[str, str, str], **lookups: Any) -> None:
        super().__init__(**lookups)
        self._handler = handler
        self.host_key = host_key

    def resolve(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        return self._handler(request)
