"""Signed webhooks, as the vendor sends them, with retries on the fake's clock and a delivery log.

Events: ``audio.started`` (→ rendering), ``audio.completed`` (→ complete), ``audio.errored``
(→ error); nothing for ``queued`` or ``canceled``. The body is ``{"type", "payload"}`` with the
payload equal to the GET body, serialized compactly. Headers carry the signature
(``magic-hour-event-signature``: hex HMAC-SHA256 of ``"{timestamp}.{body}"``) and the timestamp
(``magic-hour-event-timestamp``, Unix seconds). A non-2xx answer or a transport error is retried
after 1, 2, 4, 8, … seconds of the fake's clock, for up to 24 h; then the delivery is failed.
Per endpoint and project, events are delivered in order: a later event waits for an earlier one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._json import dump_json
from .clock import format_timestamp
from .errors import ConfigError
from .ids import counter_of

if TYPE_CHECKING:
    import httpx

    from .models import Project, Transition

__all__ = [
    "EVENTS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Attempt",
    "Delivery",
    "WebhookEndpoint",
    "WebhookHub",
    "sign",
    "verify",
]

EVENTS = {"rendering": "audio.started", "complete": "audio.completed", "error": "audio.errored"}
"""Status a project enters → event type it fires."""
SIGNATURE_HEADER = "magic-hour-event-signature"
TIMESTAMP_HEADER = "magic-hour-event-timestamp"
RETRY_WINDOW = 24 * 3600.0

Receiver = Callable[[Mapping[str, str], bytes], int]
"""A Python webhook receiver: called with headers and raw body, returns the HTTP status."""


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The vendor's signature: hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed by ``secret``."""
    raw = body.decode() if isinstance(body, bytes) else body
    return hmac.new(secret.encode(), f"{timestamp}.{raw}".encode(), hashlib.sha256).hexdigest()


def verify(
    secret: str,
    body: bytes | str,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance: float | None = 300,
    now: float | None = None,
) -> bool:
    """True if ``signature`` is valid for ``body`` and ``timestamp`` is within ``tolerance`` s of ``now``."""
    if not signature or not timestamp or not timestamp.isdigit():
        return False
    if tolerance is not None and abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass
class WebhookEndpoint:
    """Where events go: an HTTP ``url`` or a Python ``receiver``, with its secret and events."""

    id: str
    secret: str
    events: frozenset[str]
    url: str | None = None
    receiver: Receiver | None = None

    def describe(self) -> dict[str, Any]:
        """As JSON (the secret included: this is a test fake)."""
        return {
            "id": self.id,
            "url": self.url or f"python:{getattr(self.receiver, '__name__', 'receiver')}",
            "secret": self.secret,
            "events": sorted(self.events),
        }


@dataclass(frozen=True)
class Attempt:
    """One try: when (fake clock), and the status or the transport error."""

    at: float
    status: int | None
    error: str | None = None


@dataclass
class Delivery:
    """One event for one endpoint, with every attempt."""

    id: str
    endpoint_id: str
    event: str
    project_id: str
    body: bytes
    created_at: float
    next_attempt_at: float
    state: str = "pending"
    attempts: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Everything, for persistence (the inverse of :meth:`from_json`)."""
        return {**self.__dict__, "body": self.body.decode(), "attempts": [a.__dict__ for a in self.attempts]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        """Inverse of :meth:`to_json`."""
        fields = dict(data)
        fields["body"] = fields["body"].encode()
        fields["attempts"] = [Attempt(**a) for a in fields["attempts"]]
        return cls(**fields)

    def describe(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "event": self.event,
            "project_id": self.project_id,
            "state": self.state,
            "created_at": format_timestamp(self.created_at),
            "next_attempt_at": format_timestamp(self.next_attempt_at) if self.state == "pending" else None,
            "attempts": [{"at": format_timestamp(a.at), "status": a.status, "error": a.error} for a in self.attempts],
            "payload": json.loads(self.body),
        }


class WebhookHub:
    """Endpoints, the delivery log, and the sending of due deliveries (over httpx or to callables)."""

    def __init__(self, now: Callable[[], float], *, fake_timestamps: bool = False) -> None:
        self._now = now
        self._fake_timestamps = fake_timestamps
        self._lock = threading.Lock()
        self._sending = threading.RLock()  # re-entrant: a receiver may call the fake, which delivers
        self._client: httpx.Client | None = None
        self.endpoints: dict[str, WebhookEndpoint] = {}
        self.deliveries: list[Delivery] = []
        self.pending: list[Delivery] = []
        self._in_flight: set[str] = set()
        self._touched: set[str] = set()
        self._counter = 0

    def add_endpoint(self, target: str | Receiver, secret: str, events: Iterable[str] | None = None) -> WebhookEndpoint:
        """Register a URL or a callable for ``events`` (default: all three)."""
        chosen = frozenset(events) if events is not None else frozenset(EVENTS.values())
        unknown = sorted(chosen - set(EVENTS.values()))
        if unknown or not chosen:
            raise ConfigError(f"webhook events are {', '.join(sorted(EVENTS.values()))}; got {sorted(chosen)}")
        if not secret:
            raise ConfigError("a webhook needs a secret to sign with")
        if isinstance(target, str) and not target.startswith(("http://", "https://")):
            raise ConfigError(f"a webhook URL starts with http:// or https://, got {target!r}")
        with self._lock:
            self._counter += 1
            endpoint = WebhookEndpoint(
                id=f"webhook-{self._counter}", secret=secret, events=chosen,
                url=target if isinstance(target, str) else None, receiver=None if isinstance(target, str) else target,
            )  # fmt: skip
            self.endpoints[endpoint.id] = endpoint
            return endpoint

    def remove_endpoint(self, endpoint_id: str) -> None:
        """Unregister; its pending deliveries are marked failed. KeyError if unknown."""
        with self._lock:
            del self.endpoints[endpoint_id]
            for delivery in [d for d in self.pending if d.endpoint_id == endpoint_id]:
                delivery.state = "failed"
                self.pending.remove(delivery)
                self._touched.add(delivery.id)

    def on_transition(self, project: Project, transition: Transition, body: dict[str, Any]) -> None:
        """Queue one delivery per subscribed endpoint (the engine calls this, under its lock)."""
        event = EVENTS.get(transition.status)
        if event is None or not self.endpoints:
            return
        raw = dump_json({"type": event, "payload": body})
        with self._lock:
            for endpoint in self.endpoints.values():
                if event in endpoint.events:
                    self._counter += 1
                    delivery = Delivery(
                        f"delivery-{self._counter}", endpoint.id, event, project.id, raw, transition.at, transition.at
                    )
                    self.deliveries.append(delivery)
                    self.pending.append(delivery)
                    self._touched.add(delivery.id)

    def deliver_due(self, now: float | None = None) -> int:
        """Attempt every delivery that is due and not waiting for an earlier one; returns attempts made."""
        now = self._now() if now is None else now
        made = 0
        with self._sending:  # one sender at a time: when this returns, everything due was tried
            while self._deliver_one(now):
                made += 1
        return made

    def _deliver_one(self, now: float) -> bool:
        with self._lock:
            due = self._next_due(now)
            if due is None:
                return False
            endpoint = self.endpoints.get(due.endpoint_id)
            if endpoint is None:  # unregistered meanwhile
                due.state = "failed"
                self.pending.remove(due)
                self._touched.add(due.id)
                return True
            self._in_flight.add(due.id)
        attempt = self._attempt(endpoint, due, now)  # outside the lock: the receiver may call back
        with self._lock:
            self._in_flight.discard(due.id)
            self._record(due, attempt)
        return True

    def _next_due(self, now: float) -> Delivery | None:
        blocked: set[tuple[str, str]] = set()
        for delivery in sorted(self.pending, key=lambda d: (d.created_at, d.id)):
            key = (delivery.endpoint_id, delivery.project_id)
            if key in blocked:
                continue
            blocked.add(key)  # later events of this project wait for this one
            if delivery.id not in self._in_flight and delivery.next_attempt_at <= now:
                return delivery
        return None

    def _attempt(self, endpoint: WebhookEndpoint, delivery: Delivery, now: float) -> Attempt:
        timestamp = str(int(now if self._fake_timestamps else time.time()))
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(endpoint.secret, timestamp, delivery.body),
            TIMESTAMP_HEADER: timestamp,
        }
        try:
            if endpoint.receiver is not None:
                status = int(endpoint.receiver(headers, delivery.body))
            else:
                status = self._http().post(endpoint.url or "", content=delivery.body, headers=headers).status_code
        except Exception as error:  # any failure of the receiver is a failed attempt, retried
            return Attempt(now, None, f"{type(error).__name__}: {error}")
        return Attempt(now, status)

    def _record(self, delivery: Delivery, attempt: Attempt) -> None:
        delivery.attempts.append(attempt)
        self._touched.add(delivery.id)
        if delivery not in self.pending:  # its endpoint was removed during the attempt
            return
        if attempt.status is not None and 200 <= attempt.status < 300:
            delivery.state = "delivered"
        else:
            backoff = 2.0 ** (len(delivery.attempts) - 1)
            delivery.next_attempt_at = attempt.at + backoff
            if delivery.next_attempt_at - delivery.created_at <= RETRY_WINDOW:
                return
            delivery.state = "failed"
        self.pending.remove(delivery)

    def take_touched(self) -> list[Delivery]:
        """Deliveries changed since the last call (for persistence)."""
        with self._lock:
            ids, self._touched = self._touched, set()
            return [d for d in self.deliveries if d.id in ids]

    def restore_endpoint(self, data: Mapping[str, Any]) -> None:
        """Re-register a saved URL endpoint under its id."""
        with self._lock:
            endpoint = WebhookEndpoint(data["id"], data["secret"], frozenset(data["events"]), url=data["url"])
            self.endpoints[endpoint.id] = endpoint
            self._counter = max(self._counter, counter_of(endpoint.id))

    def restore_deliveries(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Reload the saved delivery log; pending ones are sent when due."""
        with self._lock:
            for row in rows:
                delivery = Delivery.from_json(row)
                self.deliveries.append(delivery)
                if delivery.state == "pending":
                    self.pending.append(delivery)
                self._counter = max(self._counter, counter_of(delivery.id))

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=10)
        return self._client

    def close(self) -> None:
        """Close the HTTP client used for deliveries."""
        if self._client is not None:
            self._client.close()
            self._client = None
