"""The webhook hub: endpoints, the delivery queue and log, retries on the fake's clock. No I/O.

Each status change that fires an event queues one :class:`Delivery` per subscribed endpoint.
Deliveries carry a monotonic ``seq``; per endpoint and project they form a FIFO queue whose head
alone may be attempted, so ``audio.started`` always reaches a receiver before ``audio.completed``
of the same project, even while it is being retried. Heads wait in a heap ordered by
``(next attempt, seq)``, so finding what is due costs O(log n) however many are pending.

The hub never sends anything: :meth:`WebhookHub.take_due` hands the adapter the attempts to
make (:class:`Outgoing`, signed), and :meth:`WebhookHub.record` takes each result back. A
non-2xx answer or an error is retried after 1, 2, 4, 8, … seconds of the project's clock for up
to 24 h; then the delivery is failed. Finished deliveries are kept in a bounded log.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._json import dump_json
from ..errors import ConfigError, NotFound
from ..vocabulary import Event
from ..webhooks import Receiver, signed_headers
from .ids import counter_of

if TYPE_CHECKING:
    from .models import Project, Transition

__all__ = ["RETRY_WINDOW", "Attempt", "Delivery", "Outgoing", "WebhookEndpoint", "WebhookHub"]

RETRY_WINDOW = 24 * 3600.0
"""How long a failing delivery is retried before it is marked failed (the vendor's 24 h)."""

Key = tuple[str, str]
"""A delivery queue: (endpoint id, project id)."""


@dataclass
class WebhookEndpoint:
    """Where events go: an HTTP ``url`` or a Python ``receiver``, with its secret and events.

    With a ``token``, only events of that token's projects are sent; with a ``tenant``, only events of
    that namespace's projects (a test's own endpoint on a shared server)."""

    id: str
    secret: str
    events: frozenset[Event]
    url: str | None = None
    receiver: Receiver | None = None
    token: str | None = None
    tenant: str | None = None

    @property
    def target(self) -> str:
        """The URL, or ``python:<name>`` for a callable receiver."""
        return self.url or f"python:{getattr(self.receiver, '__name__', 'receiver')}"

    def to_json(self) -> dict[str, Any]:
        """As saved (URL endpoints only) and shown (the secret included: this is a test fake)."""
        return {
            "id": self.id,
            "url": self.target,
            "secret": self.secret,
            "events": sorted(e.value for e in self.events),
            "token": self.token,
            "tenant": self.tenant,
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try: when (the project's clock), and the status or the transport error; ``answer``
    is the start of what the receiver answered."""

    at: float
    status: int | None
    error: str | None = None
    answer: str | None = None

    @property
    def succeeded(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(slots=True)
class Delivery:
    """One event for one endpoint, with every attempt."""

    id: str
    seq: int
    endpoint_id: str
    event: Event
    project_id: str
    owner: str
    body: bytes
    created_at: float
    next_attempt_at: float
    state: str = "pending"
    """``pending``, ``delivered`` or ``failed``."""
    attempts: list[Attempt] = field(default_factory=list)
    redelivery_of: str | None = None

    @property
    def key(self) -> Key:
        return (self.endpoint_id, self.project_id)

    def to_json(self) -> dict[str, Any]:
        """Everything, for persistence (the inverse of :meth:`from_json`)."""
        return {
            "id": self.id,
            "seq": self.seq,
            "endpoint_id": self.endpoint_id,
            "event": self.event.value,
            "project_id": self.project_id,
            "owner": self.owner,
            "body": self.body.decode(),
            "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at,
            "state": self.state,
            "attempts": [[a.at, a.status, a.error, a.answer] for a in self.attempts],
            "redelivery_of": self.redelivery_of,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        """Inverse of :meth:`to_json`."""
        fields = dict(data)
        fields["event"] = Event(fields["event"])
        fields["body"] = fields["body"].encode()
        fields["attempts"] = [Attempt(*a) for a in fields["attempts"]]
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One attempt for the adapter to make: the endpoint, signed headers and body."""

    delivery_id: str
    endpoint: WebhookEndpoint
    headers: Mapping[str, str]
    body: bytes
    at: float
    """The project's clock when the attempt was taken (recorded with its result)."""


Changed = Callable[[str, str, bool], None]
"""``changed(table, key, removed)``: tells the saver a row changed (or left)."""


class WebhookHub:
    """Endpoints, queued deliveries and the delivery log of one fake (thread-safe under the engine lock)."""

    def __init__(
        self,
        *,
        clock_key: Callable[[str], str],
        fake_timestamps: bool = False,
        log_limit: int = 10_000,
        changed: Changed | None = None,
    ) -> None:
        self._clock_key = clock_key
        self._fake_timestamps = fake_timestamps
        self._changed = changed or (lambda table, key, removed: None)
        self.endpoints: dict[str, WebhookEndpoint] = {}
        self._queues: dict[Key, deque[Delivery]] = {}
        self._heaps: dict[str, list[tuple[float, int, Key]]] = {}
        """Per clock: the due time, seq and key of each queue head that is not in flight."""
        self._pending: dict[str, Delivery] = {}
        self._in_flight: set[str] = set()
        self._log: deque[Delivery] = deque(maxlen=log_limit)
        self._endpoint_counter = 0
        self._seq = 0

    # ------------------------------------------------------------------ endpoints

    @property
    def endpoints_issued(self) -> int:
        """How many endpoint ids have been given out (a restart carries it on, so no id is reused)."""
        return self._endpoint_counter

    def carry_on_from(self, endpoints_issued: int) -> None:
        """Number new endpoints after ``endpoints_issued`` (saved by an earlier run) at least."""
        self._endpoint_counter = max(self._endpoint_counter, endpoints_issued)

    def add_endpoint(
        self,
        target: str | Receiver,
        secret: str,
        events: Iterable[str] | None = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
    ) -> WebhookEndpoint:
        """Register a URL or a callable for ``events`` (default: all three)."""
        chosen = frozenset(events) if events is not None else frozenset(Event.values())
        unknown = sorted(chosen - set(Event.values()))
        if unknown or not chosen:
            raise ConfigError(f"webhook events are {', '.join(Event.values())}; got {sorted(chosen)}")
        if not isinstance(secret, str) or not secret:
            raise ConfigError("a webhook needs a secret to sign with")
        if isinstance(target, str) and not target.startswith(("http://", "https://")):
            raise ConfigError(f"a webhook URL starts with http:// or https://, got {target!r}")
        if not isinstance(target, str) and not callable(target):
            raise ConfigError(f"a webhook target is a URL or a callable, got {target!r}")
        self._endpoint_counter += 1
        endpoint = WebhookEndpoint(
            id=f"webhook-{self._endpoint_counter}",
            secret=secret,
            events=frozenset(Event(e) for e in chosen),
            url=target if isinstance(target, str) else None,
            receiver=None if isinstance(target, str) else target,
            token=token,
            tenant=tenant,
        )
        self.endpoints[endpoint.id] = endpoint
        return endpoint

    def remove_endpoint(self, endpoint_id: str) -> None:
        """Unregister an endpoint; its pending deliveries are marked failed."""
        if self.endpoints.pop(endpoint_id, None) is None:
            raise NotFound(f"No webhook endpoint {endpoint_id!r}")
        for delivery in [d for d in self._pending.values() if d.endpoint_id == endpoint_id]:
            if delivery.id not in self._in_flight:
                self._finish(delivery, "failed")

    def remove_scoped(self, tenant: str, tokens: Iterable[str]) -> None:
        """Forget a namespace: its endpoints (and those targeting its tokens), and every delivery
        about its tokens' projects or to those endpoints."""
        gone = set(tokens)
        for endpoint_id in [e.id for e in self.endpoints.values() if e.tenant == tenant or e.token in gone]:
            del self.endpoints[endpoint_id]
        for delivery in [d for d in self._pending.values() if d.owner in gone or d.endpoint_id not in self.endpoints]:
            self._drop(delivery)
        dropped = [d for d in self._log if d.owner in gone or d.endpoint_id not in self.endpoints]
        if dropped:
            for delivery in dropped:
                self._changed("deliveries", delivery.id, True)
            kept = [d for d in self._log if not (d.owner in gone or d.endpoint_id not in self.endpoints)]
            self._log = deque(kept, maxlen=self._log.maxlen)

    # ------------------------------------------------------------------ queueing

    def on_transition(
        self, project: Project, transition: Transition, body: Mapping[str, Any], tenant: str | None
    ) -> None:
        """Queue one delivery per endpoint subscribed to the event this transition fires (``tenant``:
        the namespace of the project's owner)."""
        event = Event.for_status(transition.status)
        if event is None or not self.endpoints:
            return
        raw: bytes | None = None
        for endpoint in self.endpoints.values():
            if (
                event in endpoint.events
                and endpoint.token in (None, project.owner)
                and endpoint.tenant in (None, tenant)
            ):
                raw = raw or dump_json({"type": event.value, "payload": body})
                self._queue(endpoint.id, event, project.id, project.owner, raw, transition.at)

    def redeliver(self, delivery_id: str, now: float) -> Delivery:
        """Send a delivery's event again, as a new delivery at the end of its queue."""
        original = self._find(delivery_id)
        if original.endpoint_id not in self.endpoints:
            raise NotFound(f"webhook endpoint {original.endpoint_id} of {delivery_id} is gone")
        return self._queue(
            original.endpoint_id,
            original.event,
            original.project_id,
            original.owner,
            original.body,
            now,
            redelivery_of=original.id,
        )

    def _queue(
        self,
        endpoint_id: str,
        event: Event,
        project_id: str,
        owner: str,
        body: bytes,
        at: float,
        *,
        redelivery_of: str | None = None,
    ) -> Delivery:
        self._seq += 1
        delivery = Delivery(
            f"delivery-{self._seq}",
            self._seq,
            endpoint_id,
            event,
            project_id,
            owner,
            body,
            at,
            at,
            redelivery_of=redelivery_of,
        )
        self._enqueue(delivery)
        self._changed("deliveries", delivery.id, False)
        return delivery

    def _enqueue(self, delivery: Delivery) -> None:
        self._pending[delivery.id] = delivery
        queue = self._queues.setdefault(delivery.key, deque())
        queue.append(delivery)
        if len(queue) == 1:
            self._push(delivery)

    def _push(self, head: Delivery) -> None:
        heap = self._heaps.setdefault(self._clock_key(head.owner), [])
        heapq.heappush(heap, (head.next_attempt_at, head.seq, head.key))

    # ------------------------------------------------------------------ attempts

    def take_due(self, now_of: Callable[[str], float], *, skip_endpoints: Collection[str] = ()) -> list[Outgoing]:
        """Every attempt due now (one per queue head), in ``seq`` order, marked in flight.

        ``now_of(clock_key)`` tells each clock's time; endpoints in ``skip_endpoints`` (busy
        with an attempt) are left for later.
        """
        taken: list[tuple[Delivery, WebhookEndpoint, float]] = []
        for clock_key, heap in list(self._heaps.items()):
            now = now_of(clock_key)
            skipped = []
            while heap and heap[0][0] <= now:
                entry = heapq.heappop(heap)
                queue = self._queues.get(entry[2])
                if not queue or queue[0].seq != entry[1] or queue[0].id in self._in_flight:
                    continue  # stale: that delivery left its queue meanwhile
                head = queue[0]
                endpoint = self.endpoints.get(head.endpoint_id)
                if endpoint is None:
                    self._finish(head, "failed")
                elif head.endpoint_id in skip_endpoints:
                    skipped.append(entry)
                else:
                    self._in_flight.add(head.id)
                    taken.append((head, endpoint, now))
            for entry in skipped:
                heapq.heappush(heap, entry)
            if not heap:
                del self._heaps[clock_key]
        taken.sort(key=lambda item: item[0].seq)
        return [self._outgoing(delivery, endpoint, now) for delivery, endpoint, now in taken]

    def _outgoing(self, delivery: Delivery, endpoint: WebhookEndpoint, now: float) -> Outgoing:
        timestamp = int(now if self._fake_timestamps else time.time())
        return Outgoing(
            delivery.id, endpoint, signed_headers(endpoint.secret, timestamp, delivery.body), delivery.body, now
        )

    def record(self, delivery_id: str, attempt: Attempt) -> None:
        """Take back the result of an attempt from :meth:`take_due`: delivered, retried later, or failed."""
        self._in_flight.discard(delivery_id)
        delivery = self._pending.get(delivery_id)
        if delivery is None:  # forgotten meanwhile (a tenant reset)
            return
        delivery.attempts.append(attempt)
        self._changed("deliveries", delivery.id, False)
        if delivery.endpoint_id not in self.endpoints:
            self._finish(delivery, "failed")
        elif attempt.succeeded:
            self._finish(delivery, "delivered")
        else:
            delivery.next_attempt_at = attempt.at + 2.0 ** (len(delivery.attempts) - 1)
            if delivery.next_attempt_at - delivery.created_at > RETRY_WINDOW:
                self._finish(delivery, "failed")
            else:
                self._push(delivery)

    def _finish(self, delivery: Delivery, state: str) -> None:
        delivery.state = state
        self._changed("deliveries", delivery.id, False)
        self._detach(delivery)
        if self._log.maxlen is not None and len(self._log) == self._log.maxlen:
            self._changed("deliveries", self._log[0].id, True)
        self._log.append(delivery)

    def _drop(self, delivery: Delivery) -> None:
        self._detach(delivery)
        self._in_flight.discard(delivery.id)
        self._changed("deliveries", delivery.id, True)

    def _detach(self, delivery: Delivery) -> None:
        """Take a delivery out of the pending set and its queue; the next one in line becomes due.

        A heap entry left behind for it is stale and skipped by :meth:`take_due`."""
        self._pending.pop(delivery.id, None)
        queue = self._queues.get(delivery.key)
        if queue is None or delivery not in queue:
            return
        was_head = queue[0] is delivery
        queue.remove(delivery)
        if not queue:
            del self._queues[delivery.key]
        elif was_head:
            self._push(queue[0])

    # ------------------------------------------------------------------ reading and restoring

    @property
    def pending_count(self) -> int:
        """Deliveries waiting for an attempt or for a retry."""
        return len(self._pending)

    def deliveries(self, owners: Collection[str] | None = None) -> list[Delivery]:
        """Pending and logged deliveries (about the projects of ``owners``, if given), oldest first."""
        every = [*self._log, *self._pending.values()]
        return sorted((d for d in every if owners is None or d.owner in owners), key=lambda d: d.seq)

    def get(self, delivery_id: str) -> Delivery | None:
        """A delivery by id, pending or in the log."""
        found = self._pending.get(delivery_id)
        if found is None:
            found = next((d for d in self._log if d.id == delivery_id), None)
        return found

    def _find(self, delivery_id: str) -> Delivery:
        found = self.get(delivery_id)
        if found is None:
            raise NotFound(f"No webhook delivery {delivery_id!r}")
        return found

    def restore_endpoint(self, data: Mapping[str, Any]) -> None:
        """Re-register a saved URL endpoint under its id."""
        endpoint = WebhookEndpoint(
            data["id"],
            data["secret"],
            frozenset(Event(e) for e in data["events"]),
            url=data["url"],
            token=data.get("token"),
            tenant=data.get("tenant"),
        )
        self.endpoints[endpoint.id] = endpoint
        self._endpoint_counter = max(self._endpoint_counter, counter_of(endpoint.id))

    def restore_deliveries(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Reload the saved deliveries; pending ones are attempted when due."""
        for delivery in sorted((Delivery.from_json(row) for row in rows), key=lambda d: d.seq):
            self._seq = max(self._seq, delivery.seq)
            self.carry_on_from(counter_of(delivery.endpoint_id))  # its endpoint's id is taken, even if removed
            if delivery.state == "pending":
                self._enqueue(delivery)
            else:
                self._log.append(delivery)
