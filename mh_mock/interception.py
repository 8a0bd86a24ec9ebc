"""Where the in-process fake intercepts: the network transports of httpx and of httpx2.

**httpx.** :class:`TransportMocker` is a respx mocker that patches
``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request`` and hands the
routers the ``httpx.Request`` as it is. So, unlike respx's default mocker (httpcore), a request
costs no httpx → httpcore → httpx round trip, and unlike its ``httpx`` mocker, in-memory
transports (``MockTransport``, ``ASGITransport``, ``WSGITransport``, Starlette's ``TestClient``)
are never touched: they do not go through the network transport. A request no router here
answers goes on when another mock is there to answer it: a router of respx's default mocker
(``respx_mock``), or a library that patched the same methods before (pytest-httpx); otherwise it
is refused (``AllMockedAssertionError``). Importing this module registers the mocker with respx
under :data:`NAME`.

**httpx2.** respx does not know httpx2, so :data:`HTTPX2` patches the same two methods of
httpx2's transports itself, while any fake is active, and asks the active fakes who answers: a
fake's host is answered by it, a host let through reaches the network, a request a mock can
answer goes on to it (a patch of the same methods made before, or pytest-httpx2's respx router at
httpcore2, below), and anything else is refused with the fake's message. The patch
is process-wide by nature (httpx2 is), so it is reference-counted: the last fake to stop restores
httpx2 exactly.

Patches stack with other libraries'; when they are undone out of order, a wrapper of ours can be
left in place: with no fake running, it is the library itself.
"""

from __future__ import annotations

import importlib.util
import inspect
import threading
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import httpx
from respx.mocks import HTTPCoreMocker, Mocker
from respx.models import AllMockedAssertionError, PassThrough

__all__ = ["HTTPX2", "NAME", "Claimant", "NotMocked", "TransportMocker"]

NAME = "mh-mock-transport"
_TARGETS = ("_transports.default.HTTPTransport", "_transports.default.AsyncHTTPTransport")
_METHODS = ("handle_request", "handle_async_request")


class NotMocked(AssertionError):
    """An httpx2 request to a host no fake serves and nothing lets through (httpx raises respx's
    ``AllMockedAssertionError``, also an AssertionError)."""


def _is_coroutine(spec: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(spec)


def _transport_mocker() -> type[Mocker]:
    """The mocker class, defined once per process: respx keeps a registry of mocker names, and a
    module imported again (pytest's pytester does that) must reuse the class it registered."""
    registered = Mocker.registry.get(NAME)
    if registered is not None:
        return registered

    class TransportMocker(Mocker):
        """A respx mocker at httpx's network transports (``respx.MockRouter(using=NAME)``)."""

        name = NAME
        targets: ClassVar[list[str]] = [f"httpx.{target}" for target in _TARGETS]
        target_methods: ClassVar[list[str]] = list(_METHODS)

        @classmethod
        def mock(cls, spec: Callable[..., Any]) -> Callable[..., Any]:
            """Wrap ``spec``, the method in place now: httpx's own, or another library's patch of it
            (pytest-httpx's), which then gets the requests that are not the fake's."""
            if getattr(spec, "_mh_mock_interceptor", False):  # already ours: never wrap twice
                return spec
            layered = getattr(spec, "__module__", "") != "httpx._transports.default"
            handler: Any = cls.handler  # respx's own classmethods are untyped
            async_handler: Any = cls.async_handler

            def passes_on(request: httpx.Request) -> bool:
                # respx_mock (respx's default mocker) or another library's patch answers (or refuses) it
                return layered or bool(HTTPCoreMocker.routers)

            if _is_coroutine(spec):

                async def handle_async_request(transport: Any, request: httpx.Request) -> Any:
                    if not cls.routers:  # left in place after its fakes stopped: be what it wraps
                        return await spec(transport, request)
                    await request.aread()
                    try:
                        return await async_handler(request)
                    except PassThrough:
                        return await spec(transport, request)
                    except AllMockedAssertionError:
                        if passes_on(request):
                            return await spec(transport, request)
                        raise

                wrapper: Any = handle_async_request
            else:

                def handle_request(transport: Any, request: httpx.Request) -> Any:
                    if not cls.routers:
                        return spec(transport, request)
                    request.read()
                    try:
                        return handler(request)
                    except PassThrough:
                        return spec(transport, request)
                    except AllMockedAssertionError:
                        if passes_on(request):
                            return spec(transport, request)
                        raise

                wrapper = handle_request
            wrapper._mh_mock_interceptor = True
            wrapped: Callable[..., Any] = wrapper
            return wrapped

    return TransportMocker


TransportMocker = _transport_mocker()


# ---------------------------------------------------------------------------- httpx2


class Claimant(Protocol):
    """An active fake, as the httpx2 patch asks it about a request."""

    def claim(self, request: Any) -> Callable[[Any], Any] | bool | None:
        """The fake's handler for ``request`` (its host), True to let it through, or None (not its)."""

    def claim_async(self, request: Any) -> Callable[[Any], Any] | bool | None:
        """As :meth:`claim`, with an async handler."""

    def unclaimed(self, request: Any, library: Any) -> Any:
        """What to answer a request no fake claims (raises :class:`NotMocked`, or answers it)."""


class _Httpx2Patch:
    """The reference-counted patch of httpx2's network transports (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fakes: list[Claimant] = []
        self._saved: list[tuple[type, str, Any]] = []

    @property
    def available(self) -> bool:
        """True if httpx2 can be imported (nothing of it is imported until a fake starts)."""
        try:
            return importlib.util.find_spec("httpx2") is not None
        except (ImportError, ValueError):  # blocked by an import hook, or a half-removed module
            return False

    def add(self, fake: Claimant) -> None:
        """Answer for ``fake`` from now on (patching httpx2 for the first fake)."""
        if not self.available:
            return
        with self._lock:
            if not self._fakes:
                self._patch()
            self._fakes.append(fake)

    def remove(self, fake: Claimant) -> None:
        """Stop answering for ``fake`` (restoring httpx2 after the last one)."""
        with self._lock:
            if fake in self._fakes:
                self._fakes.remove(fake)
                if not self._fakes:
                    self._restore()

    def _patch(self) -> None:
        import httpx2._transports.default as transports

        for target, method in zip(_TARGETS, _METHODS, strict=True):
            cls = getattr(transports, target.rsplit(".", 1)[1])
            original = getattr(cls, method)
            if getattr(original, "_mh_mock_interceptor", False):
                continue
            self._saved.append((cls, method, original))
            setattr(cls, method, self._wrap(original))

    def _restore(self) -> None:
        for cls, method, original in reversed(self._saved):
            if getattr(getattr(cls, method), "_mh_mock_interceptor", False):  # not patched over by someone else
                setattr(cls, method, original)
        self._saved.clear()

    def _decide(self, request: Any, asynchronously: bool) -> tuple[Callable[[Any], Any] | None, bool, Claimant | None]:
        """(the fake's handler, whether to let it through, the fake to refuse it) for ``request``."""
        fakes = list(self._fakes)
        for fake in reversed(fakes):
            claimed = fake.claim_async(request) if asynchronously else fake.claim(request)
            if claimed is True:
                return None, True, None
            if callable(claimed):
                return claimed, False, None
        return None, False, fakes[-1] if fakes else None

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        import httpx2

        def passes_on() -> bool:
            # a library patched these methods before us, or a respx router mocks httpcore2 below (pytest-httpx2)
            lower = Mocker.registry.get("httpcore2")
            return getattr(original, "__module__", "") != "httpx2._transports.default" or bool(
                lower is not None and lower.routers
            )

        if _is_coroutine(original):

            async def handle_async_request(transport: Any, request: Any) -> Any:
                await request.aread()
                handler, through, refuser = self._decide(request, asynchronously=True)
                if handler is not None:
                    return await handler(request)
                if through or refuser is None or passes_on():
                    return await original(transport, request)
                return refuser.unclaimed(request, httpx2)

            wrapper: Any = handle_async_request
        else:

            def handle_request(transport: Any, request: Any) -> Any:
                request.read()
                handler, through, refuser = self._decide(request, asynchronously=False)
                if handler is not None:
                    return handler(request)
                if through or refuser is None or passes_on():
                    return original(transport, request)
                return refuser.unclaimed(request, httpx2)

            wrapper = handle_request
        wrapper._mh_mock_interceptor = True
        wrapped: Callable[..., Any] = wrapper
        return wrapped


HTTPX2 = _Httpx2Patch()
"""The httpx2 patch of this process (httpx2 is process-wide, so is its patch)."""
