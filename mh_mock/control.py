"""The control API of a fake, written once over the admin routes.

:class:`Control` implements every control action as a call to the admin API; subclasses only say
how a call travels: in-process straight into the dispatcher (:class:`~mh_mock.mock.MhMock`), or
over HTTP to a live server (:class:`RemoteControl`). So a test that drives the fake's clock,
scenarios or accounts runs unchanged against either.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from .admin import ADMIN_PREFIX
from .clock import parse_timestamp
from .config import to_jsonable
from .journal import Journal

__all__ = ["Control", "ControlError", "RemoteControl", "decode_admin_answer"]


class ControlError(Exception):
    """A control call was refused; ``status`` and ``message`` come from the admin API."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(f"{status}: {message}")


class Control:
    """Drive a fake: reset, clock, progression, projects, accounts and the journal."""

    @property
    def api_url(self) -> str:
        """Base URL of the fake API (what to pass as ``base_url`` to clients)."""
        raise NotImplementedError

    def _admin(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        raise NotImplementedError

    def reset(self, **options: Any) -> dict[str, Any]:
        """Forget all state; ``options`` (see :class:`~mh_mock.config.Config`) last until the next reset."""
        return self._admin("POST", "/reset", to_jsonable(options) if options else None)  # type: ignore[no-any-return]

    def state(self) -> dict[str, Any]:
        """The clock (``now``, ``epoch``, ``frozen``), ``progression`` and counters."""
        return self._admin("GET", "/state")  # type: ignore[no-any-return]

    def now(self) -> float:
        """The fake's clock, in epoch seconds."""
        return float(self.state()["epoch"])

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the fake's clock forward; every transition that falls due happens, in order."""
        return self._admin("POST", "/clock/advance", {"seconds": seconds})  # type: ignore[no-any-return]

    def set_progression(self, progression: str) -> dict[str, Any]:
        """``"poll"``: each GET moves a project one status on; ``"clock"``: time does."""
        return self._admin("PUT", "/progression", {"progression": str(getattr(progression, "value", progression))})  # type: ignore[no-any-return]

    def projects(self, token: str | None = None) -> list[dict[str, Any]]:
        """Every project (of ``token``), as GET bodies plus ``owner`` and ``history``."""
        return self._admin("GET", "/projects", query={"token": token} if token else None)  # type: ignore[no-any-return]

    def project(self, project_id: str) -> dict[str, Any]:
        """One project, whoever owns it; reading it here counts no poll."""
        return self._admin("GET", f"/projects/{project_id}")  # type: ignore[no-any-return]

    def create_project(
        self, token: str, *, endpoint: str = "voice_generator", outcome: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Create a project as ``token`` would, charging credits; ``outcome`` decides how it ends
        (``"complete"``, ``"canceled"``, ``"error"`` or ``"error:<code>"``)."""
        body = {"token": token, "endpoint": endpoint, **fields}
        if outcome is not None:
            body["outcome"] = outcome
        return self._admin("POST", "/projects", body)  # type: ignore[no-any-return]

    def finish(self, project_id: str | None = None) -> list[dict[str, Any]]:
        """Run one project (or every unfinished one) to its terminal status now."""
        path = "/finish" if project_id is None else f"/projects/{project_id}/finish"
        return self._admin("POST", path)  # type: ignore[no-any-return]

    def step(self, project_id: str) -> dict[str, Any]:
        """Move an unfinished project one status on, without counting a poll."""
        return self._admin("POST", f"/projects/{project_id}/step")  # type: ignore[no-any-return]

    def delete(self, project_id: str) -> dict[str, Any]:
        """Delete a project as its owner would (nothing is recorded in the journal)."""
        return self._admin("DELETE", f"/projects/{project_id}")  # type: ignore[no-any-return]

    def cancel(self, project_id: str) -> dict[str, Any]:
        """Cancel a queued or rendering project, as the web app does."""
        return self._admin("POST", f"/projects/{project_id}/cancel")  # type: ignore[no-any-return]

    def add_account(
        self, token: str, credits: int | None = None, *, email: str | None = None, tier: str | None = None
    ) -> dict[str, Any]:
        """Register ``token`` (needed with strict auth) with a balance (default: the starting balance)."""
        body: dict[str, Any] = {"token": token}
        if tier is not None:
            body["tier"] = tier
        if credits is not None:
            body["credits"] = credits
        if email is not None:
            body["email"] = email
        return self._admin("POST", "/accounts", body)  # type: ignore[no-any-return]

    def set_balance(self, token: str, credits: int) -> dict[str, Any]:
        """Set the credits of ``token``'s account."""
        return self._admin("PUT", f"/accounts/{token}/credits", {"credits": credits})  # type: ignore[no-any-return]

    def balance(self, token: str) -> int:
        """The live credit balance of ``token``."""
        for account in self.accounts():
            if account["token"] == token:
                return int(account["credits"])
        raise KeyError(f"no account for token {token!r} (it is created on its first API call)")

    def accounts(self) -> list[dict[str, Any]]:
        """Every account with ``credits``, ``charged`` and ``refunded``."""
        return self._admin("GET", "/accounts")  # type: ignore[no-any-return]

    def set_outcome(self, project_id: str, outcome: str | dict[str, str]) -> dict[str, Any]:
        """Decide how an unfinished project ends: ``"complete"``, ``"canceled"``, ``"error:<code>"``."""
        return self._admin("PUT", f"/projects/{project_id}/outcome", {"outcome": outcome})  # type: ignore[no-any-return]

    def force(
        self, project_id: str, status: str, *, code: str | None = None, message: str | None = None
    ) -> dict[str, Any]:
        """Move an unfinished project to ``status`` now (``rendering``, ``complete``, ``error``, ``canceled``)."""
        body = {"status": status, **({"code": code} if code else {}), **({"message": message} if message else {})}
        return self._admin("POST", f"/projects/{project_id}/force", body)  # type: ignore[no-any-return]

    def add_scenario(self, outcome: str | dict[str, str], **match: Any) -> dict[str, Any]:
        """A rule for new jobs: ``outcome`` for those matching ``endpoint``, ``token``, ``name_contains``,
        ``prompt_contains``; ``times`` (None: forever) and ``timing`` ((queued, rendering) seconds)."""
        return self._admin("POST", "/scenarios", to_jsonable({"outcome": outcome, **match}))  # type: ignore[no-any-return]

    def fail_next(
        self, count: int = 1, code: str = "unknown_error", *, endpoint: str | None = None, **match: Any
    ) -> dict[str, Any]:
        """The next ``count`` jobs (of ``endpoint``) end in ``error`` with ``code``."""
        return self.add_scenario(f"error:{code}", times=count, **({"endpoint": endpoint} if endpoint else {}), **match)

    def fail_randomly(self, ratio: float, codes: list[str] | None = None) -> dict[str, Any]:
        """Seeded soak mode: a ``ratio`` of new jobs fail with one of ``codes`` (default: the audio catalogue)."""
        return self._admin("POST", "/scenarios", {"ratio": ratio, **({"codes": codes} if codes else {})})  # type: ignore[no-any-return]

    def scenarios(self) -> dict[str, Any]:
        """The rules (with what is left of their ``times``) and the random mode."""
        return self._admin("GET", "/scenarios")  # type: ignore[no-any-return]

    def clear_scenarios(self) -> None:
        """Drop every rule and the random mode."""
        self._admin("DELETE", "/scenarios")

    def add_fault(self, kind: str, **target: Any) -> dict[str, Any]:
        """Inject an HTTP fault (see :class:`mh_mock.faults.Fault` for ``target`` fields); returns it with its id."""
        return self._admin("POST", "/faults", {"kind": kind, **target})  # type: ignore[no-any-return]

    def faults(self) -> list[dict[str, Any]]:
        """Faults that have not struck yet (or strike every time)."""
        return self._admin("GET", "/faults")  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        """Drop every fault."""
        self._admin("DELETE", "/faults")

    def add_webhook(self, url: str, secret: str, events: list[str] | None = None) -> dict[str, Any]:
        """Register a webhook endpoint for ``events`` (default: audio.started, audio.completed, audio.errored)."""
        body: dict[str, Any] = {"url": url, "secret": secret, **({"events": events} if events is not None else {})}
        return self._admin("POST", "/webhooks", body)  # type: ignore[no-any-return]

    def webhooks(self) -> list[dict[str, Any]]:
        """Registered webhook endpoints."""
        return self._admin("GET", "/webhooks")  # type: ignore[no-any-return]

    def remove_webhook(self, webhook_id: str) -> None:
        """Unregister a webhook endpoint; its pending deliveries fail."""
        self._admin("DELETE", f"/webhooks/{webhook_id}")

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery, with state (pending, delivered, failed) and attempts."""
        return self._admin("GET", "/webhooks/deliveries")  # type: ignore[no-any-return]

    def deliver_webhooks(self) -> list[dict[str, Any]]:
        """Send every due delivery now (the server also does so on its own every 0.1 s); returns the log."""
        return self._admin("POST", "/webhooks/deliver")  # type: ignore[no-any-return]

    @property
    def journal(self) -> Journal:
        """Every API and storage call the fake served, with query helpers."""
        journal = Journal()
        for entry in self._admin("GET", "/journal"):
            entry.pop("seq")
            entry["at"] = parse_timestamp(entry["at"])
            journal.record(**entry)
        return journal


class RemoteControl(Control):
    """The control API of a running ``mh-mock serve``, over its admin routes."""

    def __init__(self, url: str, *, admin_token: str | None = None, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"x-mh-mock-admin-token": admin_token} if admin_token else {}
        self._client = client or httpx.Client(headers=headers, timeout=10)

    def _admin(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        response = self._client.request(
            method, f"{self.url}{ADMIN_PREFIX}{path}", params=query, content=None if body is None else json.dumps(body),
            headers={"content-type": "application/json"} if body is not None else None,
        )  # fmt: skip
        return decode_admin_answer(response.status_code, response.content)

    @property
    def api_url(self) -> str:
        """The server's URL: API, storage and admin routes are all served there."""
        return self.url

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


def decode_admin_answer(status: int, content: bytes) -> Any:
    """The JSON of an admin answer, or :class:`ControlError` for an error status."""
    data = json.loads(content) if content else None
    if status >= 400:
        raise ControlError(status, data.get("message", "") if isinstance(data, dict) else str(data))
    return data
