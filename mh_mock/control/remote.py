"""The control API of a fake: one typed method per operation of the table, two ways to send them.

:class:`Control` turns each method into a call of an operation of
:data:`~mh_mock.control.operations.OPERATIONS`; subclasses only say how it travels: in-process
straight into the dispatcher (:class:`~mh_mock.inprocess.MhMock`), or over HTTP to a running
server (:class:`RemoteControl`). A test that drives the fake's clock, scenarios or accounts runs
unchanged against either. With a ``scope`` (a token), operations that can act for one token do
so: its own clock, rules, faults, webhooks and journal, so tests sharing one server stay apart.

Importing this module is cheap: httpx is loaded only when a :class:`RemoteControl` is made.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..clock import parse_timestamp
from ..config import to_jsonable
from ..journal import Call, Journal
from .operations import ADMIN_PREFIX, operation

if TYPE_CHECKING:
    import httpx

__all__ = ["CONVENIENCES", "Control", "ControlError", "RemoteControl", "decode_admin_answer"]

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
    """The token this control acts for, where an operation can act for one token (None: the whole fake)."""

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
            args.setdefault("token", self.scope)
        path = op.path.format(**{param: quote(str(args.pop(param)), safe="") for param in op.path_params})
        if op.method in ("GET", "DELETE"):
            query = {k: str(v) for k, v in args.items() if v is not None}
            return self._send(op.method, path, query or None, None)
        return self._send(op.method, path, None, to_jsonable(args))

    # ------------------------------------------------------------------ the fake as a whole

    def reset(self, **options: Any) -> dict[str, Any]:
        """Forget all state; ``options`` (see :class:`~mh_mock.config.Config`) last until the next reset."""
        return self.call("reset", **options)  # type: ignore[no-any-return]

    def state(self) -> dict[str, Any]:
        """The clock (``now``, ``epoch``, ``frozen``), ``progression`` and counters."""
        return self.call("state")  # type: ignore[no-any-return]

    def now(self) -> float:
        """The fake's clock, in epoch seconds."""
        return float(self.state()["epoch"])

    def seeds(self) -> list[dict[str, Any]]:
        """The bundled seeds a reset can ``preload``, with their descriptions."""
        return self.call("seeds")  # type: ignore[no-any-return]

    def operations(self) -> list[dict[str, Any]]:
        """Every control operation with its method, path and body schema."""
        return self.call("operations")  # type: ignore[no-any-return]

    def reset_tenant(self, token: str, **options: Any) -> dict[str, Any]:
        """Forget ``token``'s state and give it its own clock and progression (a test on a shared server)."""
        return self.call("reset_tenant", token=token, **options)  # type: ignore[no-any-return]

    def remove_tenant(self, token: str) -> dict[str, Any]:
        """Forget everything of ``token`` and its own clock."""
        return self.call("remove_tenant", token=token)  # type: ignore[no-any-return]

    def scoped(self, token: str) -> Control:
        """This control acting for ``token`` only (see :attr:`scope`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ time and progress

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the fake's clock forward; every transition that falls due happens, in order."""
        return self.call("advance", seconds=seconds)  # type: ignore[no-any-return]

    def set_progression(self, progression: str) -> dict[str, Any]:
        """``"poll"``: each GET moves a project one status on; ``"clock"``: time does."""
        return self.call("set_progression", progression=str(progression))  # type: ignore[no-any-return]

    def finish(self, project_id: str | None = None) -> list[dict[str, Any]]:
        """Run one project (or, without an id, every unfinished one) to its terminal status now."""
        if project_id is None:
            return self.finish_all()
        return self.call("finish", id=project_id)  # type: ignore[no-any-return]

    def finish_all(self) -> list[dict[str, Any]]:
        """Run every unfinished project to its terminal status now."""
        return self.call("finish_all")  # type: ignore[no-any-return]

    def step(self, project_id: str) -> dict[str, Any]:
        """Move an unfinished project one status on, without counting a poll."""
        return self.call("step", id=project_id)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ projects

    def projects(
        self, token: str | None = None, status: str | None = None, *, account: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Every project (of ``token``, of the account with id ``account``, in ``status``), oldest
        first, as GET bodies plus ``owner``, ``endpoint``, ``history``; ``limit``: only the newest N."""
        return self.call("projects", **_given(token=token, status=status, account=account, limit=limit))  # type: ignore[no-any-return]

    def project(self, project_id: str) -> dict[str, Any]:
        """One project, whoever owns it; reading it here counts no poll."""
        return self.call("project", id=project_id)  # type: ignore[no-any-return]

    def create_project(
        self, token: str, *, endpoint: str = "voice_generator", outcome: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Create a project as ``token`` would, charging credits; ``outcome`` decides how it ends
        (``"complete"``, ``"canceled"``, ``"error"`` or ``"error:<code>"``). ``fields``: ``name``,
        ``prompt``, ``voice_name``, ``audio_file_path``, ``duration``."""
        return self.call("create_project", token=token, endpoint=endpoint, **_given(outcome=outcome), **fields)  # type: ignore[no-any-return]

    def cancel(self, project_id: str) -> dict[str, Any]:
        """Cancel a queued or rendering project, as the web app does (refunded, no webhook)."""
        return self.call("cancel", id=project_id)  # type: ignore[no-any-return]

    def delete(self, project_id: str) -> dict[str, Any]:
        """Delete a project as its owner would (nothing is recorded in the journal)."""
        return self.call("delete", id=project_id)  # type: ignore[no-any-return]

    def set_outcome(self, project_id: str, outcome: str | dict[str, str]) -> dict[str, Any]:
        """Decide how an unfinished project ends: ``"complete"``, ``"canceled"``, ``"error:<code>"``."""
        return self.call("set_outcome", id=project_id, outcome=outcome)  # type: ignore[no-any-return]

    def force(
        self, project_id: str, status: str, *, code: str | None = None, message: str | None = None
    ) -> dict[str, Any]:
        """Move an unfinished project to ``status`` now (``rendering``, ``complete``, ``error``, ``canceled``)."""
        return self.call("force", id=project_id, status=status, **_given(code=code, message=message))  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ accounts

    def accounts(self) -> list[dict[str, Any]]:
        """Every account with ``credits``, ``charged`` and ``refunded`` (tokens shortened over HTTP)."""
        return self.call("accounts")  # type: ignore[no-any-return]

    def account(self, token: str) -> dict[str, Any]:
        """The account of ``token`` with its ledger; refused if it has made no call yet."""
        return self.call("account", token=token)  # type: ignore[no-any-return]

    def balance(self, token: str) -> int:
        """The live credit balance of ``token``."""
        return int(self.account(token)["credits"])

    def add_account(
        self, token: str, credits: int | None = None, *, email: str | None = None, tier: str | None = None
    ) -> dict[str, Any]:
        """Register ``token`` (needed with strict auth) with a balance (default: the starting balance)."""
        return self.call("add_account", token=token, **_given(credits=credits, email=email, tier=tier))  # type: ignore[no-any-return]

    def set_balance(self, token: str, credits: int) -> dict[str, Any]:
        """Set the credits of ``token``'s account (created if needed)."""
        return self.call("set_balance", token=token, credits=credits)  # type: ignore[no-any-return]

    def set_balance_by_id(self, account_id: str, credits: int) -> dict[str, Any]:
        """Set the credits of the account with this ``id`` (as listed by :meth:`accounts`)."""
        return self.call("set_balance_by_id", id=account_id, credits=credits)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ scenarios and faults

    def scenarios(self) -> dict[str, Any]:
        """The outcome rules (with what is left of their ``times``) and the random mode."""
        return self.call("scenarios")  # type: ignore[no-any-return]

    def add_scenario(self, outcome: str | dict[str, str], **match: Any) -> dict[str, Any]:
        """A rule for new jobs: ``outcome`` for those matching ``endpoint``, ``token``, ``name_contains``,
        ``prompt_contains``; ``times`` (None: forever) and ``timing`` ((queued, rendering) seconds)."""
        return self.call("add_scenario", outcome=outcome, **match)  # type: ignore[no-any-return]

    def fail_next(
        self, count: int = 1, code: str = "unknown_error", *, endpoint: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The next ``count`` jobs (of ``endpoint``, of ``token``) end in ``error`` with ``code``."""
        return self.call("fail_next", count=count, code=code, **_given(endpoint=endpoint, token=token))  # type: ignore[no-any-return]

    def fail_randomly(self, ratio: float | None, codes: list[str] | None = None) -> dict[str, Any]:
        """Seeded soak mode: a ``ratio`` of new jobs fail with one of ``codes`` (default: the audio catalogue)."""
        return self.call("fail_randomly", ratio=ratio, **_given(codes=codes))  # type: ignore[no-any-return]

    def clear_scenarios(self) -> dict[str, Any]:
        """Drop every rule and the random mode."""
        return self.call("clear_scenarios")  # type: ignore[no-any-return]

    def remove_scenario(self, rule_id: str) -> dict[str, Any]:
        """Drop one rule."""
        return self.call("remove_scenario", id=rule_id)  # type: ignore[no-any-return]

    def faults(self) -> list[dict[str, Any]]:
        """Faults that have not struck yet (or strike every time)."""
        return self.call("faults")  # type: ignore[no-any-return]

    def add_fault(self, kind: str, **target: Any) -> dict[str, Any]:
        """Inject an HTTP fault (``route=RouteName.PROJECTS_GET``, ``nth``, ``times``, ``status``, …); returns it."""
        return self.call("add_fault", kind=str(kind), **{k: str(v) if k == "route" else v for k, v in target.items()})  # type: ignore[no-any-return]

    def clear_faults(self) -> list[dict[str, Any]]:
        """Drop every fault."""
        return self.call("clear_faults")  # type: ignore[no-any-return]

    def remove_fault(self, fault_id: str) -> list[dict[str, Any]]:
        """Drop one fault."""
        return self.call("remove_fault", id=fault_id)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ webhooks

    def add_webhook(self, url: str, secret: str, events: list[str] | None = None) -> dict[str, Any]:
        """Register a webhook endpoint for ``events`` (default: audio.started, audio.completed, audio.errored)."""
        return self.call("add_webhook", url=url, secret=secret, **_given(events=events))  # type: ignore[no-any-return]

    def webhooks(self) -> list[dict[str, Any]]:
        """Registered webhook endpoints."""
        return self.call("webhooks")  # type: ignore[no-any-return]

    def remove_webhook(self, webhook_id: str) -> list[dict[str, Any]]:
        """Unregister a webhook endpoint; its pending deliveries fail."""
        return self.call("remove_webhook", id=webhook_id)  # type: ignore[no-any-return]

    def deliveries(self, state: str | None = None) -> list[dict[str, Any]]:
        """Every webhook delivery: ``id``, ``event``, ``project_id``, ``state`` (pending, delivered, failed),
        ``attempts`` (``at``, ``status``, ``error``), ``next_attempt_at`` and ``payload``."""
        return self.call("deliveries", **_given(state=state))  # type: ignore[no-any-return]

    def deliver_webhooks(self) -> list[dict[str, Any]]:
        """Send every due delivery now (in-process they go out after each call anyway); returns the log."""
        return self.call("deliver_webhooks")  # type: ignore[no-any-return]

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        """Send a delivery's event again (a new delivery)."""
        return self.call("redeliver", id=delivery_id)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ journal

    @property
    def journal(self) -> Journal:
        """Every API and storage call the fake served (of :attr:`scope`, if set), with query helpers.

        A snapshot; a query by ``token`` or ``owner`` asks the fake again for that key's calls, since
        its listings show other keys shortened."""
        return _ServedJournal(self, self.call("journal"))


class _ServedJournal(Journal):
    """A snapshot of a fake's journal over the control API."""

    def __init__(self, control: Control, entries: list[dict[str, Any]]) -> None:
        super().__init__()
        self._control = control
        for entry in entries:
            entry.pop("seq")
            entry["at"] = parse_timestamp(entry["at"])
            self.record(**entry)

    def filter(
        self, route: str | None = None, *, token: str | None = None, owner: str | None = None, **criteria: Any
    ) -> list[Call]:
        """As :meth:`Journal.filter`; with ``token`` or ``owner``, over that key's calls, fetched with the key whole."""
        key = token if token is not None else owner
        if key is None:
            return super().filter(route, **criteria)
        whole = _ServedJournal(self._control, self._control.call("journal", token=key))  # the key's own, shown whole
        return Journal.filter(whole, route, token=token, owner=owner, **criteria)


class RemoteControl(Control):
    """The control API of a running ``mh-mock serve``, over its admin routes."""

    def __init__(
        self, url: str, *, admin_token: str | None = None, client: httpx.Client | None = None,
        scope: str | None = None,
    ) -> None:  # fmt: skip
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

    def scoped(self, token: str) -> RemoteControl:
        """This server's control acting for ``token`` only (sharing the HTTP client)."""
        scoped = RemoteControl(self.url, admin_token=self._admin_token, client=self._client, scope=token)
        return scoped

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
