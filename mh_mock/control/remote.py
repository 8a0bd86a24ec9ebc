"""The control API of a fake: one typed method per operation of the table, two ways to send them.

:class:`Control` turns each method into a call of an operation of
:data:`~mh_mock.control.operations.OPERATIONS`; subclasses only say how it travels: in-process
straight into the dispatcher (:class:`~mh_mock.inprocess.MhMock`), or over HTTP to a running
server (:class:`RemoteControl`). A test that drives the fake's clock, scenarios or accounts runs
unchanged against either. With a ``scope`` (a namespace of a shared server), operations that can
act for one namespace do so: its own clock, rules, faults, webhooks and journal, so test runs
sharing one server stay apart. Each method's answer type is its operation's (:mod:`.views`).

Importing this module is cheap: httpx is loaded only when a :class:`RemoteControl` is made.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from ..clock import parse_timestamp
from ..config import to_jsonable
from ..journal import Call, Journal
from . import operations as ops
from .operations import ADMIN_PREFIX, Operation, operation

if TYPE_CHECKING:
    import httpx

    from .views import (
        AccountView,
        CallView,
        DeliveryView,
        FaultView,
        OperationView,
        ProjectView,
        RuleView,
        ScenariosView,
        SeedView,
        StateView,
        TenantView,
        WebhookView,
    )

__all__ = ["CONVENIENCES", "Control", "ControlError", "RemoteControl", "decode_admin_answer"]

R = TypeVar("R")

CONVENIENCES = ("api_url", "balance", "call", "now", "scoped")
"""Public members of :class:`Control` that are not operations of the table."""


class ControlError(Exception):
    """A control call was refused; ``status`` and ``message`` come from the admin API."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(f"{status}: {message}")


class Control:
    """Drive a fake: reset, clocks, progression, projects, accounts, scenarios, faults, webhooks, journal."""

    scope: str | None = None
    """The namespace this control acts for, where an operation can act for one (None: the whole fake)."""

    @property
    def api_url(self) -> str:
        """Base URL of the fake API (what to pass as ``base_url`` to clients)."""
        raise NotImplementedError

    def _send(self, method: str, path: str, query: dict[str, str] | None, body: Any) -> Any:
        raise NotImplementedError

    def call(self, operation_name: str, /, **args: Any) -> Any:
        """Run the operation called ``operation_name`` with ``args`` (a None value is sent as JSON null)."""
        op = operation(operation_name)
        if self.scope is not None and op.scoped:
            args.setdefault("tenant", self.scope)
        path = op.path.format(**{param: quote(str(args.pop(param)), safe="") for param in op.path_params})
        if op.reads:
            query = {k: str(v) for k, v in args.items() if v is not None}
            return self._send(op.method, path, query or None, None)
        return self._send(op.method, path, None, to_jsonable(args))

    def _run(self, op: Operation[R], /, **args: Any) -> R:
        """:meth:`call`, typed by the operation's declaration."""
        answer: R = self.call(op.name, **args)
        return answer

    # ------------------------------------------------------------------ the fake as a whole

    def reset(self, **options: Any) -> StateView:
        """Forget all state; ``options`` (see :class:`~mh_mock.config.Config`) last until the next reset.

        A control scoped to a namespace (a test's on a shared server) resets that namespace only."""
        if self.scope is not None:
            return self.reset_tenant(self.scope, **options)
        return self._run(ops.RESET, **options)

    def state(self) -> StateView:
        """The clock (``now``, ``epoch``, ``frozen``), ``progression`` and counters."""
        return self._run(ops.STATE)

    def now(self) -> float:
        """The fake's clock, in epoch seconds."""
        return float(self.state()["epoch"])

    def seeds(self) -> list[SeedView]:
        """The bundled seeds a reset can ``preload``, with their descriptions."""
        return self._run(ops.SEEDS)

    def operations(self) -> list[OperationView]:
        """Every control operation with its method, path and schemas."""
        return self._run(ops.OPERATIONS_)

    def tenants(self) -> list[TenantView]:
        """The namespaces of test runs sharing the fake (keys shortened)."""
        return self._run(ops.TENANTS)

    def reset_tenant(
        self, tenant: str, *, lease: float | None = None, defaults: dict[str, Any] | None = None, **options: Any
    ) -> StateView:
        """Start namespace ``tenant`` afresh with its own clock, progression and ``options`` (those of
        :data:`~mh_mock.config.TENANT_OPTIONS`); its key is one of its tokens. With a ``lease`` the fake
        forgets it after that many seconds without a call; ``defaults`` are options the server's seed beats."""
        return self._run(ops.RESET_TENANT, tenant=tenant, **_given(lease=lease, defaults=defaults), **options)

    def join_tenant(self, tenant: str, token: str) -> StateView:
        """Make ``token`` one of namespace ``tenant``'s tokens."""
        return self._run(ops.JOIN_TENANT, tenant=tenant, token=token)

    def remove_tenant(self, tenant: str) -> StateView:
        """Forget namespace ``tenant`` and everything of its tokens."""
        return self._run(ops.REMOVE_TENANT, tenant=tenant)

    def scoped(self, tenant: str) -> Control:
        """This control acting for namespace ``tenant`` only (see :attr:`scope`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ time and progress

    def advance(self, seconds: float) -> StateView:
        """Move the fake's clock forward; every transition that falls due happens, in order."""
        return self._run(ops.ADVANCE, seconds=seconds)

    def set_progression(self, progression: str) -> StateView:
        """``"poll"``: each GET moves a project one status on; ``"clock"``: time does."""
        return self._run(ops.SET_PROGRESSION, progression=str(progression))

    def finish(self, project_id: str | None = None) -> list[ProjectView]:
        """Run one project (or, without an id, every unfinished one) to its terminal status now."""
        if project_id is None:
            return self.finish_all()
        return self._run(ops.FINISH, id=project_id)

    def finish_all(self) -> list[ProjectView]:
        """Run every unfinished project to its terminal status now."""
        return self._run(ops.FINISH_ALL)

    def step(self, project_id: str) -> ProjectView:
        """Move an unfinished project one status on, without counting a poll."""
        return self._run(ops.STEP, id=project_id)

    # ------------------------------------------------------------------ projects

    def projects(
        self,
        token: str | None = None,
        status: str | None = None,
        *,
        account: str | None = None,
        limit: int | None = None,
    ) -> list[ProjectView]:
        """Every project (of ``token``, of the account with id ``account``, in ``status``), oldest
        first, as GET bodies plus ``owner``, ``endpoint``, ``history``; ``limit``: only the newest N."""
        return self._run(ops.PROJECTS, **_given(token=token, status=status, account=account, limit=limit))

    def project(self, project_id: str) -> ProjectView:
        """One project, whoever owns it; reading it here counts no poll."""
        return self._run(ops.PROJECT, id=project_id)

    def create_project(
        self, token: str, *, endpoint: str | None = None, outcome: str | None = None, **fields: Any
    ) -> ProjectView:
        """Create a project as ``token`` would, charging credits: a job of ``endpoint`` (default: the first
        kind declared, the voice generator); ``outcome`` decides how it ends (``"complete"``, ``"canceled"``,
        ``"error"`` or ``"error:<code>"``). ``fields``: ``name``, ``prompt`` and the kind's own
        (``voice_name``, ``audio_file_path``, ``duration``, …)."""
        return self._run(ops.CREATE_PROJECT, token=token, **_given(endpoint=endpoint, outcome=outcome), **fields)

    def cancel(self, project_id: str) -> ProjectView:
        """Cancel a queued or rendering project, as the web app does (refunded, no webhook)."""
        return self._run(ops.CANCEL, id=project_id)

    def delete(self, project_id: str) -> ProjectView:
        """Delete a project as its owner would (nothing is recorded in the journal)."""
        return self._run(ops.DELETE, id=project_id)

    def set_outcome(self, project_id: str, outcome: str | dict[str, str]) -> ProjectView:
        """Decide how an unfinished project ends: ``"complete"``, ``"canceled"``, ``"error:<code>"``."""
        return self._run(ops.SET_OUTCOME, id=project_id, outcome=outcome)

    def force(
        self, project_id: str, status: str, *, code: str | None = None, message: str | None = None
    ) -> ProjectView:
        """Move an unfinished project to ``status`` now (``rendering``, ``complete``, ``error``, ``canceled``)."""
        return self._run(ops.FORCE, id=project_id, status=status, **_given(code=code, message=message))

    # ------------------------------------------------------------------ accounts

    def accounts(self, *, limit: int | None = None) -> list[AccountView]:
        """Every account with ``credits``, ``charged`` and ``refunded`` (tokens shortened over HTTP)."""
        return self._run(ops.ACCOUNTS, **_given(limit=limit))

    def account(self, token: str) -> AccountView:
        """The account of ``token`` with its ledger; refused if it has made no call yet."""
        return self._run(ops.ACCOUNT, token=token)

    def balance(self, token: str) -> int:
        """The credit balance of ``token``'s account."""
        return int(self.account(token)["credits"])

    def add_account(
        self, token: str, credits: int | None = None, *, email: str | None = None, tier: str | None = None
    ) -> AccountView:
        """Register ``token`` (needed with strict auth) with a balance (default: the starting balance)."""
        return self._run(ops.ADD_ACCOUNT, token=token, **_given(credits=credits, email=email, tier=tier))

    def set_balance(self, token: str, credits: int) -> AccountView:
        """Set the credits of ``token``'s account (created if needed)."""
        return self._run(ops.SET_BALANCE, token=token, credits=credits)

    def set_balance_by_id(self, account_id: str, credits: int) -> AccountView:
        """Set the credits of the account with this ``id`` (as listed by :meth:`accounts`)."""
        return self._run(ops.SET_BALANCE_BY_ID, id=account_id, credits=credits)

    # ------------------------------------------------------------------ scenarios and faults

    def scenarios(self) -> ScenariosView:
        """The outcome rules (with what is left of their ``times``) and the random mode."""
        return self._run(ops.SCENARIOS)

    def add_scenario(self, outcome: str | dict[str, str], **match: Any) -> RuleView:
        """A rule for new jobs: ``outcome`` for those matching ``endpoint``, ``token``, ``name_contains``,
        ``prompt_contains``; ``times`` (None: forever) and ``timing`` ((queued, rendering) seconds)."""
        return self._run(ops.ADD_SCENARIO, outcome=outcome, **match)

    def fail_next(
        self, count: int = 1, code: str = "unknown_error", *, endpoint: str | None = None, token: str | None = None
    ) -> RuleView:
        """The next ``count`` jobs (of ``endpoint``, of ``token``) end in ``error`` with ``code``."""
        return self._run(ops.FAIL_NEXT, count=count, code=code, **_given(endpoint=endpoint, token=token))

    def fail_randomly(self, ratio: float | None, codes: list[str] | None = None) -> ScenariosView:
        """Seeded soak mode: a ``ratio`` of new jobs fail with one of ``codes`` (default: the audio catalogue)."""
        return self._run(ops.FAIL_RANDOMLY, ratio=ratio, **_given(codes=codes))

    def clear_scenarios(self) -> ScenariosView:
        """Drop every rule and the random mode."""
        return self._run(ops.CLEAR_SCENARIOS)

    def remove_scenario(self, rule_id: str) -> ScenariosView:
        """Drop one rule."""
        return self._run(ops.REMOVE_SCENARIO, id=rule_id)

    def faults(self) -> list[FaultView]:
        """Faults that have not struck yet (or strike every time)."""
        return self._run(ops.FAULTS)

    def add_fault(self, kind: str, **target: Any) -> FaultView:
        """Inject an HTTP fault (``route=RouteName.PROJECTS_GET``, ``nth``, ``times``, ``status``, …); returns it."""
        fields = {k: str(v) if k == "route" else v for k, v in target.items()}
        return self._run(ops.ADD_FAULT, kind=str(kind), **fields)

    def clear_faults(self) -> list[FaultView]:
        """Drop every fault."""
        return self._run(ops.CLEAR_FAULTS)

    def remove_fault(self, fault_id: str) -> list[FaultView]:
        """Drop one fault."""
        return self._run(ops.REMOVE_FAULT, id=fault_id)

    # ------------------------------------------------------------------ webhooks

    def add_webhook(
        self, url: str, secret: str, events: list[str] | None = None, *, token: str | None = None
    ) -> WebhookView:
        """Register a webhook endpoint for ``events`` (default: audio.started, audio.completed, audio.errored),
        for the projects of ``token`` only, if given."""
        return self._run(ops.ADD_WEBHOOK, url=url, secret=secret, **_given(events=events, token=token))

    def webhooks(self) -> list[WebhookView]:
        """Registered webhook endpoints."""
        return self._run(ops.WEBHOOKS)

    def remove_webhook(self, webhook_id: str) -> list[WebhookView]:
        """Unregister a webhook endpoint; its pending deliveries fail."""
        return self._run(ops.REMOVE_WEBHOOK, id=webhook_id)

    def deliveries(self, state: str | None = None, *, limit: int | None = None) -> list[DeliveryView]:
        """Webhook deliveries, oldest first: ``id``, ``event``, ``project_id``, ``state`` (pending, delivered,
        failed), ``attempts`` (``at``, ``status``, ``error``, ``answer``), ``next_attempt_at``, ``payload``."""
        return self._run(ops.DELIVERIES, **_given(state=state, limit=limit))

    def deliver_webhooks(self) -> list[DeliveryView]:
        """Send every due delivery now and wait for the answers (the sync point of a live server; in-process
        they go out after each call anyway); returns the log."""
        return self._run(ops.DELIVER_WEBHOOKS)

    def redeliver(self, delivery_id: str) -> DeliveryView:
        """Send a delivery's event again (a new delivery)."""
        return self._run(ops.REDELIVER, id=delivery_id)

    # ------------------------------------------------------------------ journal

    @property
    def journal(self) -> Journal:
        """Every API and storage call the fake served (of :attr:`scope`, if set), with query helpers.

        A snapshot; a query by ``token`` or ``owner`` asks the fake again for that key's calls, since
        its listings show other keys shortened."""
        return _ServedJournal(self, self._run(ops.JOURNAL))


class _ServedJournal(Journal):
    """A snapshot of a fake's journal over the control API."""

    def __init__(self, control: Control, entries: list[CallView]) -> None:
        super().__init__()
        self._control = control
        for entry in entries:
            fields: dict[str, Any] = {**entry, "at": parse_timestamp(entry["at"])}
            del fields["seq"]
            self.record(**fields)

    def filter(
        self, route: str | None = None, *, token: str | None = None, owner: str | None = None, **criteria: Any
    ) -> list[Call]:
        """As :meth:`Journal.filter`; with ``token`` or ``owner``, over that key's calls, fetched with the key whole."""
        key = token if token is not None else owner
        if key is None:
            return super().filter(route, **criteria)
        whole = _ServedJournal(self._control, self._control._run(ops.JOURNAL, token=key))  # the key's own, whole
        return Journal.filter(whole, route, token=token, owner=owner, **criteria)


class RemoteControl(Control):
    """The control API of a running ``mh-mock serve``, over its admin routes."""

    def __init__(
        self, url: str, *, admin_token: str | None = None, client: httpx.Client | None = None, scope: str | None = None
    ) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.scope = scope
        self._admin_token = admin_token
        self._owns_client = client is None
        headers = {"x-mh-mock-admin-token": admin_token} if admin_token else {}
        self._client = client or httpx.Client(headers=headers, timeout=30)

    def _send(self, method: str, path: str, query: dict[str, str] | None, body: Any) -> Any:
        headers = {"content-type": "application/json"} if method not in ("GET", "HEAD") else None
        content = None if method in ("GET", "HEAD") else json.dumps({} if body is None else body)
        response = self._client.request(
            method, f"{self.url}{ADMIN_PREFIX}{path}", params=query, content=content, headers=headers
        )
        return decode_admin_answer(response.status_code, response.content)

    @property
    def api_url(self) -> str:
        """The server's URL: API, storage and admin routes are all served there."""
        return self.url

    def scoped(self, tenant: str) -> RemoteControl:
        """This server's control acting for namespace ``tenant`` only (sharing the HTTP client)."""
        return RemoteControl(self.url, admin_token=self._admin_token, client=self._client, scope=tenant)

    def close(self) -> None:
        """Close the HTTP client (if this control made it)."""
        if self._owns_client:
            self._client.close()


def _given(**args: Any) -> dict[str, Any]:
    """The arguments that were given (a None default means "not given" for these)."""
    return {name: value for name, value in args.items() if value is not None}


def decode_admin_answer(status: int, content: bytes) -> Any:
    """The JSON of an admin answer, or :class:`ControlError` for an error status."""
    data = json.loads(content) if content else None
    if status >= 400:
        raise ControlError(status, data.get("message", "") if isinstance(data, dict) else str(data))
    return data
