"""Where the in-process fake intercepts httpx: a respx mocker on httpx's network transports.

:class:`TransportMocker` patches ``HTTPTransport.handle_request`` and
``AsyncHTTPTransport.handle_async_request`` and hands the routers the ``httpx.Request`` as it is.
So, unlike respx's default mocker (httpcore), a request costs no httpx → httpcore → httpx round
trip, and unlike its ``httpx`` mocker, in-memory transports (``httpx.MockTransport``,
``ASGITransport``, ``WSGITransport``, Starlette's ``TestClient``) are never touched: they do not
go through the network transport. A request no router here answers goes on when another mock is
there to answer it: a router of respx's default mocker (``respx_mock``), or a library that
patched the same methods before (pytest-httpx); otherwise it is refused (``AllMockedAssertionError``).

Patches stack with other libraries' (pytest-httpx monkeypatches the same methods); when they are
undone out of order, a wrapper of ours can be left in place: with no fake running, it is httpx
itself. Importing this module registers the mocker with respx under :data:`NAME`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
from respx.mocks import HTTPCoreMocker, Mocker
from respx.models import AllMockedAssertionError, PassThrough

__all__ = ["NAME", "TransportMocker"]

NAME = "mh-mock-transport"


def _transport_mocker() -> type[Mocker]:
    """The mocker class, defined once per process: respx keeps a registry of mocker names, and a
    module imported again (pytest's pytester does that) must reuse the class it registered."""
    registered = Mocker.registry.get(NAME)
    if registered is not None:
        return registered

    class TransportMocker(Mocker):
        """A respx mocker at httpx's network transports (``respx.MockRouter(using=NAME)``)."""

        name = NAME
        targets: ClassVar[list[str]] = [
            "httpx._transports.default.HTTPTransport",
            "httpx._transports.default.AsyncHTTPTransport",
        ]
        target_methods: ClassVar[list[str]] = ["handle_request", "handle_async_request"]

        @classmethod
        def mock(cls, spec: Callable[..., Any]) -> Callable[..., Any]:
            """Wrap ``spec``, the method in place now: httpx's own, or another library's patch of it
            (pytest-httpx's), which then gets the requests that are not the fake's."""
            if getattr(spec, "_mh_mock_interceptor", False):  # already ours: never wrap twice
                return spec
            # another library patched httpx first (pytest-httpx): requests that are not ours go to it
            layered = getattr(spec, "__module__", "") != "httpx._transports.default"
            if inspect.iscoroutinefunction(spec):

                async def handle_async_request(transport: Any, request: httpx.Request) -> httpx.Response:
                    if not cls.routers:  # left in place after its fakes stopped: be what it wraps
                        return await spec(transport, request)  # type: ignore[no-any-return]
                    await request.aread()
                    try:
                        return await cls.async_handler(request)  # type: ignore[no-any-return,no-untyped-call]
                    except PassThrough:
                        return await spec(transport, request)  # type: ignore[no-any-return]
                    except AllMockedAssertionError:
                        if layered or HTTPCoreMocker.routers:  # respx_mock or another mock answers (or refuses) it
                            return await spec(transport, request)  # type: ignore[no-any-return]
                        raise

                handle_async_request._mh_mock_interceptor = True  # type: ignore[attr-defined]
                return handle_async_request

            def handle_request(transport: Any, request: httpx.Request) -> httpx.Response:
                if not cls.routers:  # left in place after its fakes stopped: be what it wraps
                    return spec(transport, request)  # type: ignore[no-any-return]
                request.read()
                try:
                    return cls.handler(request)  # type: ignore[no-any-return,no-untyped-call]
                except PassThrough:
                    return spec(transport, request)  # type: ignore[no-any-return]
                except AllMockedAssertionError:
                    if layered or HTTPCoreMocker.routers:
                        return spec(transport, request)  # type: ignore[no-any-return]
                    raise

            handle_request._mh_mock_interceptor = True  # type: ignore[attr-defined]
            return handle_request

    return TransportMocker


TransportMocker = _transport_mocker()
