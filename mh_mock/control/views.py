"""The JSON the admin API answers with: engine objects as plain data.

A full API key is shown only to a caller who named it; listings show a recognisable prefix and
the account's public ``id``, so nothing that reads the admin API can harvest every tenant's key.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..clock import format_timestamp

if TYPE_CHECKING:
    from ..engine.engine import Engine
    from ..engine.hub import Delivery
    from ..engine.models import Account, Project
    from ..engine.state import State
    from ..journal import Call

__all__ = [
    "account_view",
    "call_view",
    "delivery_view",
    "mask",
    "project_view",
    "state_view",
]


def mask(token: str | None, reveal: str | None = None) -> str | None:
    """``token`` whole if the caller named it (``reveal``), else its first and last few characters around an
    ellipsis (``mhk_…x7Qz``): a third of it at most, eight characters at most."""
    if token is None or token == reveal:
        return token
    if token == "\x00public":
        return "*"
    shown = min(8, len(token) // 3)
    head, tail = (shown + 1) // 2, shown // 2
    return token[:head] + "…" + (token[-tail:] if tail else "")


def state_view(engine: Engine, token: str | None = None) -> dict[str, Any]:
    """The clock (``token``'s own if it has one) and counters, as ``GET /mh-mock-api/state`` answers."""
    state = engine.state
    tenant = state.tenant(token)
    now = tenant.clock.now()
    return {
        "now": format_timestamp(now),
        "epoch": now,
        "frozen": tenant.clock.frozen,
        "progression": tenant.progression.value,
        "own_clock": tenant.token is not None,
        "projects": len(state.projects),
        "accounts": len(state.accounts),
        "pending_deliveries": state.hub.pending_count,
    }


def project_view(state: State, project: Project, reveal: str | None) -> dict[str, Any]:
    """The GET body of ``project`` plus owner, endpoint and timeline (reading it moves nothing)."""
    account = state.accounts.get(project.owner)
    return {
        **state.project_body(project),
        "owner": mask(project.owner, reveal),
        "account_id": None if account is None else account.id,
        "endpoint": project.endpoint.value,
        "history": [{"status": t.status.value, "at": format_timestamp(t.at)} for t in project.history],
    }


def account_view(account: Account, reveal: str | None) -> dict[str, Any]:
    """An account with its ledger (``GET /v1/account`` fields plus token, charged, refunded)."""
    return {
        "token": mask(account.token, reveal),
        "id": account.id,
        "email": account.email,
        "tier": account.tier,
        "credits": account.credits,
        "subscription": None,
        "charged": account.charged,
        "refunded": account.refunded,
    }


def call_view(call: Call, reveal: str | None) -> dict[str, Any]:
    """A journal entry as JSON."""
    return {
        "seq": call.seq,
        "at": format_timestamp(call.at),
        "method": call.method,
        "url": call.url,
        "route": call.route,
        "token": mask(call.token, reveal),
        "owner": mask(call.owner, reveal),
        "body": call.body,
        "status": call.status,
        "project_id": call.project_id,
        "response": call.response,
        "fault": call.fault,
        "handled": call.handled,
    }


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    """A webhook delivery with every attempt."""
    return {
        "id": delivery.id,
        "seq": delivery.seq,
        "endpoint_id": delivery.endpoint_id,
        "event": delivery.event.value,
        "project_id": delivery.project_id,
        "state": delivery.state,
        "created_at": format_timestamp(delivery.created_at),
        "next_attempt_at": format_timestamp(delivery.next_attempt_at) if delivery.state == "pending" else None,
        "attempts": [{"at": format_timestamp(a.at), "status": a.status, "error": a.error} for a in delivery.attempts],
        "redelivery_of": delivery.redelivery_of,
        "payload": json.loads(delivery.body),
    }
