"""The standalone server's webhook sender: concurrent per endpoint, one attempt at a time each.

Every tick it takes the due attempts (:meth:`~mh_mock.engine.webhooks.Webhooks.take_due`)
for endpoints that are not busy and starts one worker per endpoint, which sends them in order
with a per-attempt timeout and records each result.

Each attempt in flight holds a socket, so their number is capped (:func:`connection_budget`, from
the descriptor limit), and the cap is shared out by the endpoint's standing so that receivers
that hang cannot delay the others: endpoints whose last attempt failed or timed out share a
quarter of the budget, endpoints not yet tried share half, and endpoints whose last attempt
succeeded are limited only by the whole budget (a quarter of it is always theirs). One HTTP
client serves every endpoint, its pool unlimited (the lanes are the limit) and its idle
connections few. Of each answer the head and the first :data:`ANSWER_PREFIX` bytes are kept;
reading stops there (at most one network read further) and the connection is closed, so however
large the answer, the rest is never read.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

import anyio
import anyio.to_thread
import httpx

from ..engine.engine import Engine
from ..engine.hub import Outgoing

__all__ = ["ANSWER_PREFIX", "Standing", "WebhookSender", "connection_budget"]

logger = logging.getLogger("mh_mock")

ANSWER_PREFIX = 1024
"""Bytes of a receiver's answer that are read (what a delivery log can show); the rest is dropped unread."""

IDLE_CONNECTIONS = 20
"""Kept-alive connections to receivers kept open between attempts, across all endpoints."""


def connection_budget(soft_limit: int | None = None) -> int:
    """Webhook attempts in flight at most: a quarter of the soft descriptor limit (or ``soft_limit``),
    between 32 and 1,024 (1,024 where the limit is unknown or unlimited)."""
    if soft_limit is None:
        try:
            import resource
        except ImportError:  # Windows
            return 1024
        soft_limit, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft_limit == resource.RLIM_INFINITY:
            return 1024
    return min(max(soft_limit // 4, 32), 1024)


class Standing(enum.Enum):
    """How an endpoint's last attempt went: which lane its next attempt waits in."""

    NEW = "not tried yet"
    GOOD = "answered 2xx"
    FAILING = "failed or timed out"


class _Lanes:
    """Slots for attempts: ``budget`` in all; failing endpoints at most a quarter, new ones half."""

    def __init__(self, budget: int) -> None:
        self.total = asyncio.Semaphore(budget)
        self.lanes = {
            Standing.NEW: asyncio.Semaphore(max(budget // 2, 1)),
            Standing.FAILING: asyncio.Semaphore(max(budget // 4, 1)),
        }

    @contextlib.asynccontextmanager
    async def slot(self, standing: Standing) -> AsyncIterator[None]:
        """Hold a slot for one attempt of an endpoint in ``standing``."""
        lane = self.lanes.get(standing)
        async with lane or contextlib.nullcontext(), self.total:  # (always lane first: no deadlock)
            yield


class WebhookSender:
    """Sends an engine's due webhooks over HTTP from the event loop."""

    def __init__(self, engine: Engine, *, budget: int | None = None) -> None:
        self.engine = engine
        self.budget = max(budget, 1) if budget is not None else connection_budget()
        """Attempts in flight at most (see :func:`connection_budget`)."""
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._lanes: _Lanes | None = None
        self._standing: dict[tuple[str, str], Standing] = {}
        """By endpoint id and URL (ids start again after a reset)."""

    def _threads(self) -> anyio.CapacityLimiter:
        """Worker threads of the sender's own: admin calls waiting in :meth:`flush` hold threads of the
        shared pool, and the work they wait for must never queue behind them."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(2)
        return self._limiter

    async def pump(self) -> None:
        """Start a worker for every endpoint with due attempts and none running."""
        if not self.engine.state.hub.pending_count:
            return
        busy = frozenset(self._workers)
        due = await anyio.to_thread.run_sync(
            lambda: self.engine.webhooks.take_due(skip_endpoints=busy), limiter=self._threads()
        )
        by_endpoint: dict[str, list[Outgoing]] = defaultdict(list)
        for attempt in due:
            by_endpoint[attempt.endpoint.id].append(attempt)
        for endpoint_id, attempts in by_endpoint.items():
            self._workers[endpoint_id] = asyncio.create_task(self._work(endpoint_id, attempts))
        self._forget_removed()

    async def flush(self) -> None:
        """Send everything due now and wait for it (``POST /mh-mock-api/webhooks/deliver``)."""
        while True:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
            await self.pump()
            if not self._workers:
                return

    async def _work(self, endpoint_id: str, attempts: list[Outgoing]) -> None:
        try:
            for attempt in attempts:
                status, error, answer = await self._attempt(attempt)
                await anyio.to_thread.run_sync(
                    self.engine.webhooks.record,
                    attempt.delivery_id,
                    status,
                    error,
                    attempt.at,
                    answer,
                    limiter=self._threads(),
                )
        except Exception:  # the engine refused to record (a save failed): the attempts stay pending
            logger.exception("mh-mock could not record a webhook attempt")
        finally:
            self._workers.pop(endpoint_id, None)

    async def _attempt(self, attempt: Outgoing) -> tuple[int | None, str | None, str]:
        """One attempt in its endpoint's lane; the endpoint's standing follows the result."""
        key = (attempt.endpoint.id, attempt.endpoint.url or "")
        if self._lanes is None:
            self._lanes = _Lanes(self.budget)
        async with self._lanes.slot(self._standing.get(key, Standing.NEW)):
            status, error, answer = await self._post(attempt)
        self._standing[key] = Standing.GOOD if status is not None and 200 <= status < 300 else Standing.FAILING
        return status, error, answer

    async def _post(self, attempt: Outgoing) -> tuple[int | None, str | None, str]:
        """Send one attempt: the status or the error, and the answer's first :data:`ANSWER_PREFIX` bytes."""
        timeout = self.engine.config.webhook_timeout
        try:  # the whole attempt is bounded, not only each read: a trickling receiver times out too
            return await asyncio.wait_for(self._exchange(attempt, timeout), timeout)
        except asyncio.TimeoutError:
            return None, f"TimeoutError: no answer within {timeout} s", ""
        except Exception as error:  # any failure of the receiver is a failed attempt, retried later
            return None, f"{type(error).__name__}: {error}", ""

    async def _exchange(self, attempt: Outgoing, timeout: float) -> tuple[int, None, str]:
        if self._client is None:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=IDLE_CONNECTIONS)
            self._client = httpx.AsyncClient(limits=limits)
        headers = {**attempt.headers, "accept-encoding": "identity"}  # raw bytes: nothing to inflate
        request = self._client.stream(
            "POST", attempt.endpoint.url or "", content=attempt.body, headers=headers, timeout=timeout
        )
        async with request as response:  # leaving it unread closes the connection: the rest is never read
            prefix = await _read_prefix(response)
        return response.status_code, None, prefix.decode("utf-8", "replace")

    def _forget_removed(self) -> None:
        """Drop the standing of endpoints gone (now and then: it costs a pass over the standings)."""
        endpoints = self.engine.state.hub.endpoints
        if len(self._standing) > 2 * len(endpoints) + 64:
            self._standing = {
                key: standing
                for key, standing in self._standing.items()
                if (endpoint := endpoints.get(key[0])) is not None and (endpoint.url or "") == key[1]
            }

    async def close(self) -> None:
        """Stop the workers and close the HTTP client."""
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def _read_prefix(response: httpx.Response) -> bytes:
    """The first :data:`ANSWER_PREFIX` bytes of an answer (all of a shorter one), as they came."""
    prefix = bytearray()
    chunks = cast("AsyncGenerator[bytes, None]", response.aiter_raw())  # (a generator: closed when done)
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            prefix += chunk[: ANSWER_PREFIX - len(prefix)]
            if len(prefix) >= ANSWER_PREFIX:
                break
    return bytes(prefix)
