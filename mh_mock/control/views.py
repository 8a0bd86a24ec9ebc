"""What the admin API answers: engine objects as typed plain data.

Each view is a :class:`~typing.TypedDict`, so the control methods that return them are checked by
mypy and read well in an editor. A full API key is shown only to a caller who named it; listings
show a recognisable prefix and the account's public ``id``, so nothing that reads the admin API
can harvest every tenant's key.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, TypedDict

from ..clock import format_timestamp
from ..engine.models import ProjectBody
from ..engine.tokens import PUBLIC

if TYPE_CHECKING:
    from ..engine.faults import Fault
    from ..engine.hub import Delivery, WebhookEndpoint
    from ..engine.models import Account, Project
    from ..engine.scenarios import RandomFailures, Rule
    from ..engine.state import State
    from ..engine.tenants import Tenant
    from ..journal import Call

__all__ = [
    "AccountView",
    "AttemptView",
    "CallView",
    "DeliveryView",
    "FaultView",
    "HistoryView",
    "OperationView",
    "ProjectView",
    "RandomView",
    "RuleView",
    "ScenariosView",
    "SeedView",
    "StateView",
    "TenantView",
    "WebhookView",
    "account_view",
    "call_view",
    "delivery_view",
    "fault_view",
    "mask",
    "project_view",
    "rule_view",
    "scenarios_view",
    "state_view",
    "tenant_view",
    "webhook_view",
]


class HistoryView(TypedDict):
    """One status a project entered, and when (its namespace's clock)."""

    status: str
    at: str


class ProjectView(ProjectBody):
    """A project: its GET body plus ``owner`` (shortened), ``account_id``, ``endpoint`` and ``history``."""

    owner: str | None
    account_id: str | None
    endpoint: str
    history: list[HistoryView]


class AccountView(TypedDict):
    """An account: the ``GET /v1/account`` fields plus ``token`` (shortened), ``charged`` and ``refunded``."""

    token: str | None
    id: str
    email: str | None
    tier: str
    credits: int
    subscription: None
    charged: int
    refunded: int


class StateView(TypedDict):
    """A clock (``now``, ``epoch``, ``frozen``), its ``progression``, and counters."""

    now: str
    epoch: float
    frozen: bool
    progression: str
    own_clock: bool
    """True for a namespace's own clock (a test's, on a shared server)."""
    projects: int
    accounts: int
    pending_deliveries: int


class TenantView(TypedDict):
    """A namespace of a shared server."""

    key: str | None
    tokens: int
    now: str
    progression: str
    options: dict[str, Any]
    lease: float | None


class CallView(TypedDict):
    """A journal entry."""

    seq: int
    at: str
    method: str
    url: str
    route: str | None
    token: str | None
    owner: str | None
    body: Any
    status: int
    project_id: str | None
    response: Any
    fault: str | None
    handled: bool


class AttemptView(TypedDict):
    """One delivery attempt: when, the status answered (or the error), the start of the answer."""

    at: str
    status: int | None
    error: str | None
    answer: str | None


class DeliveryView(TypedDict):
    """A webhook delivery with every attempt."""

    id: str
    seq: int
    endpoint_id: str
    event: str
    project_id: str
    state: str
    created_at: str
    next_attempt_at: str | None
    attempts: list[AttemptView]
    redelivery_of: str | None
    payload: Any


class WebhookView(TypedDict):
    """A webhook endpoint."""

    id: str
    url: str
    secret: str
    events: list[str]
    token: str | None
    tenant: str | None


class FaultView(TypedDict, total=False):
    """An HTTP fault: its targets, its kind's fields (``status``, ``retry_after``, ``seconds``), ``seen``."""

    id: str
    kind: str
    route: str | None
    project_id: str | None
    token: str | None
    tenant: str | None
    nth: int | None
    probability: float | None
    after: bool
    times: int | None
    status: int
    retry_after: int
    seconds: float | None
    seen: int


class RuleView(TypedDict, total=False):
    """An outcome rule (only the fields it was given, plus ``id``)."""

    id: str
    outcome: Any
    endpoint: str
    token: str
    tenant: str
    name_contains: str
    prompt_contains: str
    times: int
    timing: list[float]


class RandomView(TypedDict):
    """The seeded random failure mode: the fraction of jobs that fail, and the codes they fail with."""

    ratio: float
    codes: list[str]


class ScenariosView(TypedDict):
    """The outcome rules and the random failure mode."""

    rules: list[RuleView]
    random: RandomView | None


class SeedView(TypedDict):
    """A bundled seed a reset can preload."""

    name: str
    description: str


class OperationView(TypedDict):
    """A control operation as ``GET /mh-mock-api/operations`` lists it (the dashboard builds its forms from it)."""

    name: str
    method: str
    path: str
    summary: str
    path_params: list[str]
    body: dict[str, Any] | None
    query: dict[str, Any] | None
    scoped: bool


def mask(token: str | None, shown: Collection[str] = ()) -> str | None:
    """``token`` whole if the caller may see it (it is in ``shown``: the caller named it), else its first
    and last few characters around an ellipsis (``mhk_…x7Qz``): a third of it at most, eight at most."""
    if token is None or token in shown:
        return token
    if token == PUBLIC:
        return "*"
    count = min(8, len(token) // 3)
    head, tail = (count + 1) // 2, count // 2
    return token[:head] + "…" + (token[-tail:] if tail else "")


def state_view(state: State, tenant: Tenant) -> StateView:
    """A namespace's clock (the fake's own, or a test's) and the counters."""
    now = tenant.clock.now()
    return {
        "now": format_timestamp(now),
        "epoch": now,
        "frozen": tenant.clock.frozen,
        "progression": tenant.progression.value,
        "own_clock": tenant.key is not None,
        "projects": len(state.projects),
        "accounts": len(state.accounts),
        "pending_deliveries": state.hub.pending_count,
    }


def tenant_view(tenant: Tenant, shown: Collection[str]) -> TenantView:
    """A namespace, its key shortened unless the caller named it."""
    return {
        "key": mask(tenant.key, shown),
        "tokens": len(tenant.tokens),
        "now": format_timestamp(tenant.clock.now()),
        "progression": tenant.progression.value,
        "options": tenant.options,
        "lease": tenant.lease,
    }


def project_view(state: State, project: Project, shown: Collection[str]) -> ProjectView:
    """The GET body of ``project`` plus owner, endpoint and timeline (reading it moves nothing)."""
    account = state.accounts.get(project.owner)
    body = state.project_body(project)
    return {
        **body,
        "owner": mask(project.owner, shown),
        "account_id": None if account is None else account.id,
        "endpoint": project.endpoint.value,
        "history": [{"status": t.status.value, "at": format_timestamp(t.at)} for t in project.history],
    }


def account_view(account: Account, shown: Collection[str]) -> AccountView:
    """An account with its ledger."""
    return {
        "token": mask(account.token, shown),
        "id": account.id,
        "email": account.email,
        "tier": account.tier,
        "credits": account.credits,
        "subscription": None,
        "charged": account.charged,
        "refunded": account.refunded,
    }


def call_view(call: Call, shown: Collection[str]) -> CallView:
    """A journal entry."""
    return {
        "seq": call.seq,
        "at": format_timestamp(call.at),
        "method": call.method,
        "url": call.url,
        "route": call.route,
        "token": mask(call.token, shown),
        "owner": mask(call.owner, shown),
        "body": call.body,
        "status": call.status,
        "project_id": call.project_id,
        "response": call.response,
        "fault": call.fault,
        "handled": call.handled,
    }


def delivery_view(delivery: Delivery) -> DeliveryView:
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
        "attempts": [
            {"at": format_timestamp(a.at), "status": a.status, "error": a.error, "answer": a.answer}
            for a in delivery.attempts
        ],
        "redelivery_of": delivery.redelivery_of,
        "payload": json.loads(delivery.body),
    }


def _masked(item: Any, shown: Collection[str]) -> Any:
    """A rule, fault or endpoint as JSON, with its token and namespace shortened unless the caller named them."""
    return {**item, **{k: mask(item[k], shown) for k in ("token", "tenant") if isinstance(item.get(k), str)}}


def fault_view(fault: Fault, shown: Collection[str]) -> FaultView:
    """A fault."""
    view: FaultView = _masked(fault.to_json(), shown)
    return view


def rule_view(rule: Rule, shown: Collection[str]) -> RuleView:
    """An outcome rule."""
    view: RuleView = _masked(rule.to_json(), shown)
    return view


def webhook_view(endpoint: WebhookEndpoint, shown: Collection[str]) -> WebhookView:
    """A webhook endpoint."""
    view: WebhookView = _masked(endpoint.to_json(), shown)
    return view


def scenarios_view(rules: list[Rule], random: RandomFailures | None, shown: Collection[str]) -> ScenariosView:
    """The outcome rules and the random mode."""
    return {
        "rules": [rule_view(rule, shown) for rule in rules],
        "random": None if random is None else {"ratio": random.ratio, "codes": list(random.codes)},
    }
