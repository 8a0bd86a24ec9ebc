"""The standalone server's webhook sender: concurrent per endpoint, one attempt at a time each.

Every tick it takes the due attempts (:meth:`~mh_mock.engine.engine.Engine.take_due_webhooks`)
for endpoints that are not busy and starts one worker per endpoint, which sends them in order
with a per-attempt timeout and records each result. A receiver that never answers costs its own
endpoint a timeout per attempt and delays nobody else.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import anyio
import anyio.to_thread
import httpx

from ..engine.engine import Engine
from ..engine.hub import Outgoing

__all__ = ["WebhookSender"]

logger = logging.getLogger("mh_mock")


class WebhookSender:
    """Sends an engine's due webhooks over HTTP from the event loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        self._limiter: anyio.CapacityLimiter | None = None

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
            lambda: self.engine.take_due_webhooks(skip_endpoints=busy), limiter=self._threads()
        )
        by_endpoint: dict[str, list[Outgoing]] = defaultdict(list)
        for attempt in due:
            by_endpoint[attempt.endpoint.id].append(attempt)
        for endpoint_id, attempts in by_endpoint.items():
            self._workers[endpoint_id] = asyncio.create_task(self._work(endpoint_id, attempts))

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
                status, error = await self._post(attempt)
                await anyio.to_thread.run_sync(
                    self.engine.record_webhook, attempt.delivery_id, status, error, attempt.at, limiter=self._threads()
                )
        except Exception:  # the engine refused to record (a save failed): the attempts stay pending
            logger.exception("mh-mock could not record a webhook attempt")
        finally:
            self._workers.pop(endpoint_id, None)

    async def _post(self, attempt: Outgoing) -> tuple[int | None, str | None]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.engine.config.webhook_timeout)
        timeout = self.engine.config.webhook_timeout
        try:  # the whole attempt is bounded, not only each read: a trickling receiver times out too
            response = await asyncio.wait_for(
                self._client.post(attempt.endpoint.url or "", content=attempt.body, headers=dict(attempt.headers)),
                timeout,
            )
            return response.status_code, None
        except asyncio.TimeoutError:
            return None, f"TimeoutError: no answer within {timeout} s"
        except Exception as error:  # any failure of the receiver is a failed attempt, retried later
            return None, f"{type(error).__name__}: {error}"

    async def close(self) -> None:
        """Stop the workers and close the HTTP client."""
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
