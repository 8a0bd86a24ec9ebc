"""A webhook receiver for tests, written from the vendor's docs (secure-handler.mdx), not from mh_mock.

It verifies ``magic-hour-event-signature`` as the docs say: hex HMAC-SHA256 with the endpoint's
secret over ``f"{timestamp}.{raw_body}"``, and rejects timestamps more than 300 s away.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SECRET = "whsec_abc123def456"


class Receiver:
    """Records verified events; answers 500 to the first ``fail_first`` requests."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests = 0
        self.events: list[dict[str, Any]] = []
        self.rejected = 0
        self._waiting: list[tuple[int, threading.Event]] = []
        self.app = Starlette(routes=[Route("/webhooks/magic-hour", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> JSONResponse:
        raw = (await request.body()).decode("utf-8")
        signature = request.headers.get("magic-hour-event-signature", "")
        timestamp = request.headers.get("magic-hour-event-timestamp", "")
        expected = hmac.new(SECRET.encode("utf-8"), f"{timestamp}.{raw}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature) or abs(time.time() - int(timestamp)) > 300:
            self.rejected += 1
            return JSONResponse({"message": "invalid signature"}, status_code=400)
        self.requests += 1
        if self.requests <= self.fail_first:
            return JSONResponse({"message": "try again"}, status_code=500)
        self.events.append(json.loads(raw))
        for count, arrived in self._waiting:
            if len(self.events) >= count:
                arrived.set()
        return JSONResponse({"message": "ok"})

    def expect(self, count: int) -> threading.Event:
        """An event set once ``count`` events have been received."""
        arrived = threading.Event()
        self._waiting.append((count, arrived))
        if len(self.events) >= count:
            arrived.set()
        return arrived

    def sequence(self, project_id: str) -> list[str]:
        """Event types received for one project, in order."""
        return [e["type"] for e in self.events if e["payload"]["id"] == project_id]
