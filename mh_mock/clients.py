"""The HTTP client libraries the in-process fake answers: httpx and httpx2, as one interface.

httpx2 is the maintained fork of httpx, with the same request, response and error classes under
another module name. :class:`ClientLibrary` is what the in-process fake needs of either: turning
a request into the dispatcher's :class:`~mh_mock.routing.dispatch.Request`, an answer into the
library's response, and an injected fault into what that library's client sees on a socket (its
own ``ReadTimeout``, ``ReadError``, ``ConnectError``, ``RemoteProtocolError``), after any delay
(asynchronously, a wait never blocks the event loop). The fault kinds themselves are declared in
:mod:`mh_mock.fault_kinds`; nothing here names one.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from .routing.dispatch import Request, Response

if TYPE_CHECKING:
    from types import ModuleType

    from .engine.faults import Fault

__all__ = ["ClientLibrary", "library"]


@dataclass(frozen=True)
class ClientLibrary:
    """httpx, or a library with its interface (httpx2)."""

    module: ModuleType

    @property
    def name(self) -> str:
        return self.module.__name__

    def request(self, request: Any, cut: int) -> Request:
        """The dispatcher's view of ``request`` (a path prefix of ``cut`` characters removed)."""
        try:
            body = request.content
        except self.module.RequestNotRead:
            body = request.read()
        url = request.url
        path = url.raw_path.split(b"?", 1)[0].decode("ascii")
        return Request(
            request.method,
            str(url),
            path[cut:] or "/",
            url.params if url.query else {},
            request.headers,
            body,
            request.headers.get_list("authorization"),
        )

    def response(self, answer: Response, request: Any) -> Any:
        """The library's response for ``answer`` (a ready stream: no encoding work, no copying)."""
        content = b"".join(answer.audio.chunks()) if answer.audio is not None else answer.content
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
        headers.append((b"content-length", b"%d" % len(content)))
        return self.module.Response(
            answer.status, headers=headers, stream=self.module.ByteStream(content), request=request
        )

    def act_out(self, fault: Fault, request: Any) -> None:
        """Play ``fault`` out as a socket would for this client: wait, then raise what it raises."""
        wait, error = self._plan(fault, request)
        if wait:
            time.sleep(wait)
        if error is not None:
            raise error

    async def act_out_async(self, fault: Fault, request: Any) -> None:
        """:meth:`act_out`, waiting without blocking the event loop (asyncio or trio)."""
        wait, error = self._plan(fault, request)
        if wait:
            await anyio.sleep(wait)
        if error is not None:
            raise error

    def _plan(self, fault: Fault, request: Any) -> tuple[float, Exception | None]:
        """How long to wait, and what to raise then (None: answer)."""
        spec, delay = fault.spec, fault.delay
        read_timeout: float | None = (request.extensions.get("timeout") or {}).get("read")
        if delay is None or (read_timeout is not None and delay > read_timeout):
            # The client gives up first. An endless stall ends at once: the wait would only slow the test.
            why = f"The read operation timed out (mh-mock {fault.kind} fault)"
            return (0.0 if delay is None else float(read_timeout or 0)), self.module.ReadTimeout(why, request=request)
        if spec.drops is None:
            return delay, None
        name, message = spec.drops
        return delay, getattr(self.module, name)(message, request=request)


def library(name: str) -> ClientLibrary:
    """The client library called ``name`` (ImportError if it is not installed)."""
    return ClientLibrary(importlib.import_module(name))
