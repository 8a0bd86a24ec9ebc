"""What tests steer about webhooks, and what the adapters send: endpoints, deliveries, attempts.

``engine.webhooks``: each method one transaction. The engine never sends anything: an adapter
takes the attempts that are due (:meth:`Webhooks.take_due`), makes them, and hands each result
back (:meth:`Webhooks.record`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..webhooks import Receiver
from .accounts import check_token
from .controls import tenant_of
from .hub import Attempt, Delivery, Outgoing, WebhookEndpoint

if TYPE_CHECKING:
    from .context import Context

__all__ = ["ANSWER_KEPT", "Webhooks"]

ANSWER_KEPT = 256
"""Characters of a receiver's answer an attempt keeps (what the delivery log shows)."""


class Webhooks:
    """The webhook operations of one engine (``engine.webhooks``)."""

    def __init__(self, context: Context) -> None:
        self._context = context

    def endpoints(self, *, tenant: str | None = None) -> list[WebhookEndpoint]:
        """Registered endpoints (of namespace ``tenant``, if given)."""
        with self._context.transaction() as state:
            if tenant is not None:
                tenant_of(state, tenant)
            return [e for e in state.hub.endpoints.values() if tenant is None or e.tenant == tenant]

    def add(
        self,
        target: str | Receiver,
        secret: str,
        events: Iterable[str] | None = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
    ) -> WebhookEndpoint:
        """Register an endpoint (a URL, or in-process a callable): for ``token``'s projects only, or
        namespace ``tenant``'s, if given."""
        check_token(token, optional=True)
        with self._context.settled() as state:  # (what fell due before the endpoint existed is not its news)
            if tenant is not None:
                tenant_of(state, tenant)
            return state.hub.add_endpoint(target, secret, events, token=token, tenant=tenant)

    def remove(self, endpoint_id: str) -> None:
        """Unregister an endpoint; its pending deliveries fail. :class:`NotFound` if unknown."""
        with self._context.settled() as state:
            state.hub.remove_endpoint(endpoint_id)

    def deliveries(
        self, *, tenant: str | None = None, state_is: str | None = None, limit: int | None = None
    ) -> list[Delivery]:
        """Deliveries oldest first (of namespace ``tenant``'s projects, in state ``state_is``);
        ``limit``: only the newest ``limit`` of them."""
        with self._context.settled() as state:
            owners = None if tenant is None else tenant_of(state, tenant).tokens
            found = [d for d in state.hub.deliveries(owners) if state_is is None or d.state == state_is]
            return found if limit is None else found[-limit:]

    def redeliver(self, delivery_id: str) -> Delivery:
        """Send a delivery's event again (a new delivery, at the end of its queue)."""
        with self._context.settled() as state:
            original = state.hub.get(delivery_id)
            owner = None if original is None else original.owner
            return state.hub.redeliver(delivery_id, state.now_of(state.clock_key(owner or "")))

    def take_due(self, *, skip_endpoints: frozenset[str] = frozenset()) -> list[Outgoing]:
        """Webhook attempts due now, in order (the adapter sends them and :meth:`record` s each)."""
        with self._context.settled() as state:
            if not state.hub.pending_count:
                return []
            return state.hub.take_due(state.now_of, skip_endpoints=skip_endpoints)

    def record(
        self, delivery_id: str, status: int | None, error: str | None, at: float, answer: str | None = None
    ) -> None:
        """The result of one attempt from :meth:`take_due` (``answer``: the start of the receiver's answer)."""
        kept = None if answer is None else answer[:ANSWER_KEPT]
        with self._context.transaction() as state:
            state.hub.record(delivery_id, Attempt(at, status, error, kept))
