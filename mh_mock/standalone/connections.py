"""Guards for uvicorn's HTTP/1.1 protocols against clients that hold connections open.

uvicorn times nothing out while a request comes in: its keep-alive timer only runs between requests. A client
that sends half a request line, or a head and never the body it announces, keeps its socket, and one of the
server's file descriptors, for ever; about a thousand of them exhaust a 1,024 descriptor limit, and the server
logs "Too many open files" and serves nobody else.

:func:`guarded_protocol` returns a subclass of uvicorn's h11 or httptools protocol, to pass as
``uvicorn.Config(app, http=guarded_protocol())``. With it, every connection:

* completes each request head (request line and headers) within ``head_timeout`` seconds: the first from the
  moment the connection opens, each later one on a kept-alive connection from its first byte;
* receives a byte of a request body at least every ``body_timeout`` seconds while the server reads it. The
  timer restarts with each byte, so a large upload arriving steadily is never cut; it waits while the server
  holds the body back (a ``100 Continue`` not sent yet, reading paused for flow control) or answers;
* counts towards ``max_connections``: a connection arriving at the cap evicts the open connection that has
  waited longest for its request head, failing that the longest idle kept-alive one, failing that the stalled
  body silent longest (stalled: silent a second, or a quarter of a shorter body timeout), so the newcomer is
  served; it is closed itself when every open connection is busy (its body arriving, its answer being made).

An idle kept-alive connection is closed by uvicorn's ``timeout_keep_alive``, and after as long by the guard if
it was answered early and its client goes on sending the body (the bytes cancel uvicorn's timer). Each drop is
logged once, at debug level, on ``uvicorn.error``. The guard keeps no state beyond its protocol instances (the
open connections are uvicorn's ``server_state.connections``). Defaults: :mod:`mh_mock.standalone.limits`.

Limits. The guard sees a connection once the event loop has accepted it. asyncio accepts every pending socket
(up to the listen backlog) in one turn before any reaches a protocol, so a flood faster than the loop can
still exhaust the descriptors for a moment: asyncio then stops accepting for a second, the evictions make room
meanwhile, and serving goes on. uvloop keeps up (no exhaustion was seen in the tests). The body timer measures
silence, not speed: a client sending a byte every few seconds keeps its connection.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import operator
from collections.abc import Callable
from typing import Any, ClassVar, Literal, cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEAD_TIMEOUT,
    FALLBACK_MAX_CONNECTIONS,
    FD_RESERVE,
    default_max_connections,
)

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEAD_TIMEOUT",
    "FALLBACK_MAX_CONNECTIONS",
    "FD_RESERVE",
    "HttpImplementation",
    "default_max_connections",
    "guarded_protocol",
]

HttpImplementation = Literal["auto", "h11", "httptools"]


def guarded_protocol(
    http: HttpImplementation = "auto",
    *,
    head_timeout: float = DEFAULT_HEAD_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    max_connections: int | None = None,
) -> type[asyncio.Protocol]:
    """A uvicorn HTTP protocol class that drops slow request heads and stalled bodies, and caps open connections.

    ``http`` picks uvicorn's implementation: ``"httptools"``, ``"h11"``, or ``"auto"`` (httptools when it is
    installed, as uvicorn's own ``"auto"``). ``head_timeout`` is the seconds a client has to send a complete
    request head; ``body_timeout``, the seconds a request body may go without a byte. ``max_connections`` caps
    the open connections (default: :func:`default_max_connections`, read when this is called). Pass the class
    to uvicorn as ``uvicorn.Config(app, http=guarded_protocol())``; each server using it is guarded on its own.
    """
    for name, timeout in (("head_timeout", head_timeout), ("body_timeout", body_timeout)):
        if not timeout > 0:
            raise ValueError(f"{name} must be positive, not {timeout!r}")
    if max_connections is not None and max_connections < 1:
        raise ValueError(f"max_connections must be at least 1, not {max_connections!r}")
    base = _implementation(http)
    cap = default_max_connections() if max_connections is None else max_connections
    attributes = {
        "__module__": __name__,
        "__doc__": f"uvicorn's {base.__name__[7:]}, guarded: {head_timeout:g} s for a head, {body_timeout:g} s "
        f"of silence in a body, {cap} connections at most.",
        "head_timeout": head_timeout,
        "body_timeout": body_timeout,
        "max_connections": cap,
        "_swept": set(),
    }
    return cast("type[asyncio.Protocol]", type(base.__name__, (base,), attributes))


def _implementation(http: str) -> type[_Guard]:
    if http == "auto":
        try:
            return _guarded_httptools()
        except ImportError:
            return GuardedH11Protocol
    if http == "h11":
        return GuardedH11Protocol
    if http == "httptools":
        return _guarded_httptools()
    raise ValueError(f'http must be "auto", "h11" or "httptools", not {http!r}')


class _Phase(enum.Enum):
    """Where a connection is in its request cycle, as far as the guard cares."""

    HEAD = "waiting for a request head"
    BODY = "waiting for a request body"
    BUSY = "serving a request"
    IDLE = "answered, waiting for nothing"
    CLOSED = "closed"


class _Guard(asyncio.Protocol):
    """The guard, mixed in before one of uvicorn's HTTP/1.1 protocol classes.

    It hooks only the asyncio protocol interface, uvicorn's ``on_response_complete`` callback and, per
    implementation, the parser's view of the request, never uvicorn's request handling. After every event it
    settles the connection's phase, noting when the phase began (for a body: its last byte); one sweeper per
    server, a few times a timeout, drops the connections whose phase has lasted too long. (A timer per phase
    change would cost every request two timers; the sweep costs each connection a comparison now and then.)
    """

    head_timeout: ClassVar[float] = DEFAULT_HEAD_TIMEOUT
    body_timeout: ClassVar[float] = DEFAULT_BODY_TIMEOUT
    max_connections: ClassVar[int] = FALLBACK_MAX_CONNECTIONS

    # Set by uvicorn's protocol classes (in __init__ and connection_made).
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    logger: logging.Logger
    timeout_keep_alive: int
    timeout_keep_alive_task: asyncio.TimerHandle | None
    client: tuple[str, int] | None
    connections: set[Any]
    """uvicorn's live protocol instances of this server (``server_state.connections``)."""

    _phase: _Phase = _Phase.CLOSED
    _since: float = 0.0
    _eviction_key: float = float("inf")
    _swept: ClassVar[set[int]]
    """ids of the connection sets a sweeper runs for (set per class by :func:`guarded_protocol`)."""

    cycle: Any  # uvicorn's current request/response cycle (None before the first request)

    # What each implementation provides: whether a request on this connection is being answered (or is queued
    # to be); whether a byte arriving now starts a new request (not a body's); whether a request's head is in and
    # its body is not, with no answer begun; and bringing the phase up to date with the parser after an event.
    _serving: Callable[[], bool]
    _between_requests: Callable[[], bool]
    _in_body: Callable[[], bool]
    _settle: Callable[[], None]

    # -- asyncio protocol interface

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the head timer, then make room for this connection if the server is at its cap."""
        super().connection_made(transport)
        self._enter(_Phase.HEAD)
        self._enforce_cap()

    def data_received(self, data: bytes) -> None:
        """A byte of a body restarts its timer; a first byte after an answered request starts the next head's."""
        if self._phase is _Phase.BODY:
            self._enter(_Phase.BODY)
        elif self._phase is _Phase.IDLE and self._between_requests():
            self._enter(_Phase.HEAD)
        super().data_received(data)
        self._settle()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the timer."""
        self._close_phase()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        """uvicorn's callback when an answer is sent: the connection is now idle, or on its next request."""
        super().on_response_complete()  # type: ignore[misc]  # (uvicorn's protocol, after this mixin)
        self._settle()

    # -- phases and the deadline

    def _enter(self, phase: _Phase) -> None:
        self._phase = phase
        if phase is not _Phase.BUSY:  # (a busy connection is neither timed nor evicted: no clock to read)
            self._since = self.loop.time()
        self._rank()
        if phase is not _Phase.BUSY:
            connections = self.connections
            if id(connections) not in self._swept:
                self._swept.add(id(connections))
                self.loop.call_later(self._sweep_every(), _sweep, type(self), self.loop, connections)

    def _close_phase(self) -> None:
        self._phase = _Phase.CLOSED
        self._rank()

    @classmethod
    def _sweep_every(cls) -> float:
        return min(1.0, max(0.01, min(cls.head_timeout, cls.body_timeout) / 4))

    def _check_deadline(self, now: float) -> None:
        """Drop this connection if its phase has lasted too long (the sweeper asks)."""
        if self.transport.is_closing():
            return
        if self._phase is _Phase.HEAD and now - self._since >= self.head_timeout:
            if self._serving() or not self.transport.is_reading():
                # The server holds the head back (answering a pipelined request, or reading paused): give it time again.
                self._since = now
                return
            self._drop(f"no complete request head within {self.head_timeout:g} s")
        elif self._phase is _Phase.BODY:
            self._settle()  # (an answer may have begun since the last byte: the connection is busy then)
            if self._phase is _Phase.BODY and not self._body_awaited():
                self._since = now  # the server holds the body back: its timer starts when the server reads again
                self._rank()
            elif self._phase is _Phase.BODY and now - self._since >= self.body_timeout:
                self._drop(f"no request body byte for {self.body_timeout:g} s")
        elif (
            self._phase is _Phase.IDLE
            and now - self._since >= self.timeout_keep_alive
            and self.timeout_keep_alive_task is None
        ):
            # uvicorn's keep-alive timer closes idle connections, but bytes arriving cancel it and only the next
            # response arms it again: a client sending the body of a request already answered could stay for ever.
            self._drop(f"idle for {self.timeout_keep_alive} s after its answer")

    def _body_awaited(self) -> bool:
        """Whether the server reads the body: not paused, no ``100 Continue`` owed (the app's first read sends it)."""
        return self.transport.is_reading() and not (self.cycle is not None and self.cycle.waiting_for_100_continue)

    def _drop(self, reason: str) -> None:
        """Close the connection, logging why (once: a closed connection is not dropped again)."""
        if self._phase is _Phase.CLOSED or self.transport.is_closing():
            return
        self._close_phase()
        if self.logger.isEnabledFor(logging.DEBUG):
            client = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
            self.logger.debug("%sConnection dropped: %s", client, reason)
        self.transport.close()

    # -- the connection cap

    def _rank(self) -> None:
        """Update :attr:`_eviction_key`: waiting for a head first, then idle, then a body; oldest first; busy never."""
        if self._phase is _Phase.HEAD and not self._serving():
            self._eviction_key = self._since
        elif self._phase is _Phase.IDLE:
            self._eviction_key = self._since + _IDLE_AFTER_HEAD
        elif self._phase is _Phase.BODY:
            self._eviction_key = self._since + _BODY_AFTER_IDLE
        else:
            self._eviction_key = _NOT_EVICTABLE

    def _stalled(self, now: float) -> bool:
        """Whether a body the server reads has received nothing for a second (a quarter of a shorter timeout)."""
        silent = self._phase is _Phase.BODY and now - self._since >= min(_STALLED_AFTER, self.body_timeout / 4)
        return silent and not self.transport.is_closing() and self._in_body() and self._body_awaited()

    def _enforce_cap(self) -> None:
        connections = self.connections
        if len(connections) <= self.max_connections:  # the common case
            return
        # (A connection closed in this turn of the loop is still in the set until its connection_lost: at
        # worst, a newcomer arriving in that same turn evicts one more waiting connection than it had to.)
        # One pass over uvicorn's set, cheap per connection (a precomputed key): no bookkeeping of our own.
        key, self._eviction_key = self._eviction_key, _NOT_EVICTABLE  # the newcomer is not a candidate
        try:
            victim: Any = min(connections, key=_EVICTION_KEY)
        except AttributeError:  # uvicorn's set holds WebSocket protocols too, after upgrades: never evicted
            victim = min(connections, key=_eviction_key_of)
        finally:
            self._eviction_key = key
        if isinstance(victim, _Guard) and victim._phase is _Phase.BODY:
            now = self.loop.time()  # bodies rank by silence, but only a stalled one goes (a second pass, rarely)
            if not victim._stalled(now):
                stalled = (c for c in connections if isinstance(c, _Guard) and c._stalled(now))
                victim = min(stalled, key=_EVICTION_KEY, default=None)
        if victim is None or _eviction_key_of(victim) == _NOT_EVICTABLE:
            # Nothing to evict. Connections closed in this turn of the loop are still in the set: count the rest.
            live = sum(1 for connection in connections if not _closing(connection))
            if live > self.max_connections:
                self._drop(f"refused: {live - 1} connections open (the cap is {self.max_connections}), all busy")
        elif not _closing(victim):  # (one closed by uvicorn or the client is leaving already: room enough)
            victim._drop(f"evicted ({victim._phase.value}) for a new connection, at the cap of {self.max_connections}")


def _sweep(cls: type[_Guard], loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
    """Check every connection of one server against its deadline; again later while any is open."""
    now = loop.time()
    for connection in list(connections):
        check = getattr(connection, "_check_deadline", None)  # (WebSocket protocols, after upgrades, have none)
        if check is not None:
            check(now)
    if connections:
        loop.call_later(cls._sweep_every(), _sweep, cls, loop, connections)
    else:
        cls._swept.discard(id(connections))


_NOT_EVICTABLE = float("inf")
_IDLE_AFTER_HEAD = float(2**40)  # added to an idle connection's key: every waiting head is evicted first
_BODY_AFTER_IDLE = float(2**41)  # added to a body's key: every idle one (no request lost by closing it) goes first
_STALLED_AFTER = 1.0  # seconds without a byte after which a body is stalled, not arriving: then the cap may evict it

_EVICTION_KEY = operator.attrgetter("_eviction_key")


def _eviction_key_of(connection: object) -> float:
    key: float = getattr(connection, "_eviction_key", _NOT_EVICTABLE)
    return key


def _closing(connection: object) -> bool:
    transport = getattr(connection, "transport", None)
    return transport is None or bool(transport.is_closing())


class GuardedH11Protocol(_Guard, H11Protocol):
    """uvicorn's h11 protocol, guarded (use :func:`guarded_protocol` to set the limits).

    h11 parses a request head only when the previous request/response cycle is over; the
    connection's ``their_state`` (the client's side) is ``IDLE`` until a head is complete, then
    ``SEND_BODY`` until its body is.
    """

    def _serving(self) -> bool:
        return self.conn.our_state is not h11.IDLE

    def _between_requests(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def _in_body(self) -> bool:
        return self.conn.their_state is h11.SEND_BODY and self.conn.our_state is h11.SEND_RESPONSE

    def _settle(self) -> None:
        if self.transport.is_closing():
            self._close_phase()
            return
        theirs = self.conn.their_state
        if theirs is h11.IDLE:  # no request in flight: a head is incomplete, buffered, or not begun
            if self._phase is not _Phase.HEAD:
                if self.conn.trailing_data[0]:
                    self._enter(_Phase.HEAD)  # part of a pipelined head, left when the last answer ended
                elif self._phase is not _Phase.IDLE:
                    self._enter(_Phase.IDLE)
        elif theirs is h11.SEND_BODY and self.conn.our_state in (h11.DONE, h11.MUST_CLOSE):
            if self._phase is not _Phase.IDLE:
                self._enter(_Phase.IDLE)  # answered early (a 413, say); the body still coming is not awaited
        elif self._in_body():
            if self._phase is not _Phase.BODY:
                self._enter(_Phase.BODY)
        elif self._phase is not _Phase.BUSY:
            self._enter(_Phase.BUSY)


def _guarded_httptools() -> type[_Guard]:
    """uvicorn's httptools protocol, guarded (ImportError without httptools)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpToolsProtocol(_Guard, HttpToolsProtocol):
        """uvicorn's httptools protocol, guarded (use :func:`guarded_protocol` to set the limits).

        httptools parses every byte as it arrives (pipelined requests are queued), calling ``on_message_begin`` at
        a request's first byte, ``on_headers_complete`` at its head's end and ``on_message_complete`` at its body's.
        """

        _in_message: bool = False
        _body_coming: bool = False

        def _serving(self) -> bool:
            return bool(self.pipeline) or (self.cycle is not None and not self.cycle.response_complete)

        def _between_requests(self) -> bool:
            return not self._in_message

        def _in_body(self) -> bool:
            return self._body_coming and self.cycle is not None and not self.cycle.response_started

        # The hooks below run for every request: they set the phase inline (the sweeper runs already, started
        # when the connection was made) and read the clock only when a timer starts.

        def _settle(self) -> None:
            phase = self._phase
            if self.transport.is_closing():
                self._close_phase()
            elif phase is _Phase.HEAD:
                self._rank()  # (a pipelined head becomes evictable once the answers before it are sent)
            elif self._body_coming and self.cycle is not None and not self.cycle.response_started:  # _in_body()
                if phase is not _Phase.BODY:
                    self._enter(_Phase.BODY)
            elif self.pipeline or (self.cycle is not None and not self.cycle.response_complete):  # _serving()
                if phase is not _Phase.BUSY:
                    self._phase, self._eviction_key = _Phase.BUSY, _NOT_EVICTABLE
            elif phase is not _Phase.IDLE:  # answered (any body still coming is not awaited)
                self._phase = _Phase.IDLE
                self._since = now = self.loop.time()
                self._eviction_key = now + _IDLE_AFTER_HEAD

        def data_received(self, data: bytes) -> None:
            """As :meth:`_Guard.data_received`, for this protocol: a request's first byte starts its head's timer."""
            phase = self._phase
            if phase is _Phase.IDLE and not self._in_message:
                self._phase = _Phase.HEAD
                self._since = self._eviction_key = self.loop.time()  # (idle: nothing is being answered)
            elif phase is _Phase.BODY:
                self._enter(_Phase.BODY)
            HttpToolsProtocol.data_received(self, data)
            self._settle()

        def on_message_begin(self) -> None:
            """A request's first byte: its head's timer starts (the first's started with the connection)."""
            super().on_message_begin()
            self._in_message = True
            if self._phase is not _Phase.HEAD:
                self._enter(_Phase.HEAD)

        def on_headers_complete(self) -> None:
            """The head is complete: the body's timer starts, if a body is still to come (see :meth:`_settle`)."""
            self._phase, self._eviction_key = _Phase.BUSY, _NOT_EVICTABLE
            self._body_coming = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            """The body is complete."""
            super().on_message_complete()
            self._in_message = self._body_coming = False

    return GuardedHttpToolsProtocol
