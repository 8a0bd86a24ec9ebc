"""What tests steer: clocks, progression, outcomes, cancellation, accounts, scenarios, faults, webhooks.

The engine's control operations (``engine.controls``), each one transaction. The admin API,
the control clients and the CLI reach them through the operation table of
:mod:`mh_mock.control.operations`. Unknown objects raise :class:`~mh_mock.errors.NotFound`
naming them; bad values raise :class:`~mh_mock.errors.ConfigError` naming the field and the
valid values.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..catalogue import AUDIO_ERROR_CODES
from ..clock import Clock, format_timestamp
from ..config import Outcome
from ..errors import ConfigError, NotFound
from ..vocabulary import Endpoint, Progression, Status, Tier
from ..webhooks import Receiver
from .checks import check_credits, check_token
from .faults import Fault
from .hub import Delivery, WebhookEndpoint
from .models import Account, Project, Upload
from .scenarios import RandomFailures, Rule
from .state import PUBLIC, Tenant

if TYPE_CHECKING:
    from .context import Context

__all__ = ["TENANT_OPTIONS", "Controls"]

TENANT_OPTIONS = ("progression", "frozen_clock", "reads_per_step", "starting_balance")
"""Options a token can have of its own on a shared server (see :meth:`Controls.reset_tenant`)."""

_FORWARD = ("rendering", "complete", "error", "canceled")


class Controls:
    """The control operations of one engine (``engine.controls``)."""

    def __init__(self, context: Context) -> None:
        self._context = context

    # ------------------------------------------------------------------ looking

    def project(self, project_id: str) -> Project:
        """A project by id, whoever owns it (reading it here counts no poll)."""
        with self._context.transaction() as state:
            state.settle()
            return state.project(project_id)

    def projects(
        self, token: str | None = None, status: str | None = None, *, account: str | None = None,
        limit: int | None = None,
    ) -> list[Project]:  # fmt: skip
        """Every project (of ``token``, of the account whose id is ``account``, in ``status``, if
        given), oldest first; with ``limit``, only the newest ``limit`` of them (found from the
        newest end, so a page of a large fake costs the page, not the fake)."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"limit must be a whole number of at least 1, not {limit!r}")
        with self._context.transaction() as state:
            state.settle()
            if account is not None:
                owner = next((a.token for a in state.accounts.values() if a.id == account), None)
                if owner is None:
                    raise NotFound(f"No account with id {account!r}")
                if token is not None and token != owner:
                    return []
                token = owner
            wanted = (
                p for p in reversed(state.projects.values())
                if (token is None or p.owner == token) and (status is None or p.status == status)
            )  # fmt: skip
            newest = list(itertools.islice(wanted, limit))
            newest.reverse()
            return newest

    def accounts(self) -> list[Account]:
        """Every account, in creation order, after any refund that is due."""
        with self._context.transaction() as state:
            state.settle()
            return list(state.accounts.values())

    def account(self, token: str) -> Account:
        """The account of ``token``; :class:`NotFound` if it has made no call yet."""
        with self._context.transaction() as state:
            state.settle()
            found = state.accounts.get(token)
            if found is None:
                raise NotFound("No account for this token (accounts are created on their first API call)")
            return found

    def upload_data(self, file_path: str) -> bytes | None:
        """The bytes PUT to ``file_path``, or None."""
        upload = self._context.state.uploads.get(file_path)
        return None if upload is None else upload.data

    # ------------------------------------------------------------------ time and progress

    def advance(self, seconds: float, *, token: str | None = None) -> float:
        """Move a clock forward (``token``'s own, or the fake's) and apply what falls due; returns its time."""
        with self._context.transaction() as state:
            clock = self._tenant(token).clock
            now = clock.advance(seconds)
            state.settle()
            return now

    def set_progression(self, progression: Progression | str, *, token: str | None = None) -> None:
        """Switch between clock- and poll-driven progression; timers restart from now."""
        if progression not in Progression.values():
            raise ConfigError(f"progression must be one of {', '.join(Progression.values())}, got {progression!r}")
        with self._context.transaction() as state:
            state.settle()
            tenant = self._tenant(token)
            mode = Progression(progression)
            if mode is not tenant.progression:
                tenant.progression = mode
                state.reschedule(tenant)

    def finish(self, project_id: str | None = None, *, token: str | None = None) -> list[Project]:
        """Run one project (or every unfinished one, of ``token`` if given) to its terminal status now."""
        with self._context.transaction() as state:
            state.settle()
            selected = [state.project(project_id)] if project_id is not None else state.active_projects(token)
            for project in selected:
                now = state.now(project.owner)
                while not project.terminal:
                    state.step(project, now)
            return selected

    def step(self, project_id: str) -> Project:
        """Move one unfinished project one status on now, without counting a read."""
        with self._context.transaction() as state:
            project = self._unfinished(project_id, "it cannot move on")
            state.step(project, state.now(project.owner))
            return project

    def set_outcome(self, project_id: str, outcome: Outcome | str | Mapping[str, Any]) -> Project:
        """Decide how an unfinished project will end."""
        parsed = Outcome.parse(outcome)
        with self._context.transaction() as state:
            project = self._unfinished(project_id, "its outcome is fixed")
            project.outcome = parsed
            state.changed("projects", project_id, False)
            return project

    def force(self, project_id: str, status: str, *, code: str | None = None, message: str | None = None) -> Project:
        """Move an unfinished project straight to ``status`` now (``rendering`` or a terminal one)."""
        if status not in _FORWARD:
            raise ConfigError(f"status must be one of {', '.join(_FORWARD)}, got {status!r}")
        outcome = Outcome(status, code, message) if status in ("complete", "error") else None
        with self._context.transaction() as state:
            project = self._unfinished(project_id, "statuses only move forward")
            if status == "canceled":
                return self.cancel(project_id)
            if status == "rendering":
                if project.status is not Status.QUEUED:
                    raise ConfigError(f"project {project_id} is {project.status}; statuses only move forward")
                state.step(project, state.now(project.owner))
                return project
            assert outcome is not None
            project.outcome = outcome
            return self.finish(project_id)[0]

    def cancel(self, project_id: str) -> Project:
        """Cancel a queued or rendering job, as the web app does (no webhook fires)."""
        with self._context.transaction() as state:
            project = self._unfinished(project_id, "only queued or rendering projects can be canceled")
            state.enter(project, Status.CANCELED, state.now(project.owner))
            return project

    def delete(self, project_id: str) -> Project:
        """Delete a project as its owner would; returns it."""
        with self._context.transaction() as state:
            state.settle()
            project = state.project(project_id)
            state.disable(project)
            return project

    def _unfinished(self, project_id: str, why: str) -> Project:
        state = self._context.state
        state.settle()
        project = state.project(project_id)
        if project.terminal:
            raise ConfigError(f"project {project_id} is already {project.status}; {why}")
        return project

    # ------------------------------------------------------------------ accounts

    def add_account(
        self, token: str, credits: int | None = None, *, email: str | None = None, tier: str | None = None
    ) -> Account:
        """Register ``token`` (required in strict auth) with ``credits`` (default: starting balance)."""
        check_token(token)
        if tier is not None and tier not in Tier.values():
            raise ConfigError(f"tier must be one of {', '.join(Tier.values())}, got {tier!r}")
        check_credits(credits, allow_none=True)
        with self._context.transaction() as state:
            if token in state.accounts:
                raise ConfigError("an account for this token already exists (set_balance changes its credits)")
            account = state.new_account(token, state.config.starting_balance if credits is None else credits)
            account.email = email if email is not None else account.email
            account.tier = tier if tier is not None else account.tier
            return account

    def set_balance(self, token: str, credits: int) -> Account:
        """Set the credits of ``token``'s account (created if needed)."""
        check_credits(credits, allow_none=False)
        with self._context.transaction() as state:
            account = state.accounts.get(token) or self.add_account(token, credits)
            account.credits = credits
            state.changed("accounts", token, False)
            return account

    def set_balance_by_id(self, account_id: str, credits: int) -> Account:
        """Set the credits of the account with this public ``id`` (listings show ids, not whole tokens)."""
        check_credits(credits, allow_none=False)
        with self._context.transaction() as state:
            account = next((a for a in state.accounts.values() if a.id == account_id), None)
            if account is None:
                raise NotFound(f"No account with id {account_id!r}")
            account.credits = credits
            state.changed("accounts", account.token, False)
            return account

    # ------------------------------------------------------------------ tenants

    def reset_tenant(self, token: str, **options: Any) -> Tenant:
        """Forget everything of ``token`` (projects, uploads, account, its rules, faults, webhooks and
        deliveries) and give it its own clock and progression (options: :data:`TENANT_OPTIONS`)."""
        check_token(token)
        unknown = sorted(set(options) - set(TENANT_OPTIONS))
        if unknown:
            raise ConfigError(
                f"option(s) {', '.join(unknown)} cannot be set per token on a shared server; "
                f"per-token options are: {', '.join(TENANT_OPTIONS)}"
            )
        with self._context.transaction() as state:
            self.remove_tenant(token)
            progression = Progression(options.get("progression", state.default.progression))
            clock = Clock(state.now(), frozen=bool(options.get("frozen_clock", state.default.clock.frozen)))
            tenant = Tenant(
                token, clock, progression, int(options.get("reads_per_step", state.config.reads_per_step)),
                options.get("starting_balance"),
            )  # fmt: skip
            state.tenants[token] = tenant
            return tenant

    def remove_tenant(self, token: str) -> None:
        """Forget everything of ``token`` and its own clock (the end of a test on a shared server)."""
        check_token(token)
        with self._context.transaction() as state:
            for project_id in [p.id for p in state.projects.values() if p.owner == token]:
                del state.projects[project_id]
                state.active.pop(project_id, None)
                state.changed("projects", project_id, True)
            for path in [u.file_path for u in state.uploads.values() if u.owner == token]:
                del state.uploads[path]
                state.changed("uploads", path, True)
            if state.accounts.pop(token, None) is not None:
                state.changed("accounts", token, True)
            state.scenarios.remove_scoped(token)
            state.faults.remove_scoped(token)
            state.hub.remove_scoped(token)
            state.tenants.pop(token, None)

    def _tenant(self, token: str | None) -> Tenant:
        state = self._context.state
        if token is None:
            return state.default
        tenant = state.tenants.get(token)
        if tenant is None:
            raise ConfigError("this token has no clock of its own: reset it as a tenant first")
        return tenant

    # ------------------------------------------------------------------ scenarios and faults

    def add_rule(self, rule: Rule | Mapping[str, Any]) -> Rule:
        """Add an outcome rule (a :class:`Rule` or its JSON, as the admin API takes it)."""
        built = rule if isinstance(rule, Rule) else Rule.from_json(rule, "")
        check_token(built.token, optional=True)
        with self._context.transaction() as state:
            return state.scenarios.add(built)

    def remove_rule(self, rule_id: str) -> None:
        """Drop one rule; :class:`NotFound` if there is none with that id."""
        with self._context.transaction() as state:
            state.scenarios.remove(rule_id)

    def set_random_failures(self, ratio: float | None, codes: Iterable[str] | None = None) -> None:
        """Seeded soak mode: ``ratio`` of new jobs fail with ``codes`` (None turns it off)."""
        with self._context.transaction() as state:
            state.scenarios.random = (
                None
                if ratio is None
                else RandomFailures.build(ratio, AUDIO_ERROR_CODES if codes is None else codes, state.config.seed)
            )

    def clear_scenarios(self, *, token: str | None = None) -> None:
        """Drop every rule and the random mode (or only the rules targeting ``token``)."""
        with self._context.transaction() as state:
            if token is None:
                state.scenarios.clear()
            else:
                state.scenarios.remove_scoped(token)

    def add_fault(self, fault: Fault | Mapping[str, Any]) -> Fault:
        """Add an HTTP fault (a :class:`Fault` or its JSON)."""
        built = fault if isinstance(fault, Fault) else Fault.from_json(fault)
        check_token(built.token, optional=True)
        with self._context.transaction() as state:
            return state.faults.add(built)

    def remove_fault(self, fault_id: str) -> None:
        """Drop one fault; :class:`NotFound` if there is none with that id."""
        with self._context.transaction() as state:
            state.faults.remove(fault_id)

    def clear_faults(self, *, token: str | None = None) -> None:
        """Drop every fault (or only those targeting ``token``)."""
        with self._context.transaction() as state:
            if token is None:
                state.faults.clear()
            else:
                state.faults.remove_scoped(token)

    def pick_fault(self, route: str, project_id: str | None, token: str | None) -> Fault | None:
        """The fault that strikes this call, if any (the dispatcher asks before every call)."""
        state = self._context.state
        if not state.faults.rules:
            return None
        with self._context.transaction():
            return state.faults.pick(route, project_id, token)

    # ------------------------------------------------------------------ webhooks

    def add_webhook(
        self, target: str | Receiver, secret: str, events: Iterable[str] | None = None, *, token: str | None = None
    ) -> WebhookEndpoint:
        """Register a webhook endpoint (a URL, or in-process a callable), for ``token``'s projects only if given."""
        check_token(token, optional=True)
        with self._context.transaction() as state:
            return state.hub.add_endpoint(target, secret, events, token=token)

    def remove_webhook(self, endpoint_id: str) -> None:
        """Unregister an endpoint; its pending deliveries fail. :class:`NotFound` if unknown."""
        with self._context.transaction() as state:
            state.hub.remove_endpoint(endpoint_id)

    def redeliver(self, delivery_id: str) -> Delivery:
        """Send a delivery's event again (a new delivery, at the end of its queue)."""
        with self._context.transaction() as state:
            original = state.hub.get(delivery_id)
            owner = None if original is None else original.owner
            return state.hub.redeliver(delivery_id, state.now_of(state.clock_key(owner or "")))

    # ------------------------------------------------------------------ seeding

    def import_project(
        self, *, project_id: str, owner: str, endpoint: Endpoint, status: str, name: str | None = None,
        charge: int = 0, seconds: float = 10.0, outcome: Outcome | None = None, enabled: bool = True,
    ) -> Project:  # fmt: skip
        """Put a project straight into the store (seed files); ``owner`` may be ``"*"`` (public).

        Nobody paid for it: a later error or cancel shows ``credits_charged`` 0 but credits nothing.
        """
        if status not in Status.values():
            raise ConfigError(f"status must be one of {', '.join(Status.values())}, got {status!r}")
        owner = PUBLIC if owner == "*" else owner
        with self._context.transaction() as state:
            if project_id in state.projects:
                raise ConfigError(f"a project with id {project_id!r} already exists")
            if not enabled and owner == PUBLIC:
                raise ConfigError(f"a public project cannot be deleted ({project_id})")
            if status == "error":
                outcome = outcome if outcome is not None and outcome.status == "error" else Outcome.error()
            elif status in ("complete", "canceled"):
                outcome = Outcome(status)
            else:
                outcome = outcome or state.config.default_outcome
            now = state.now(owner)
            project = Project(
                id=project_id, owner=owner, endpoint=endpoint, created_at=now, charge=charge, seconds=seconds,
                name=name if name is not None else f"{endpoint.label} - {format_timestamp(now)}",
                outcome=outcome, timing=state.config.timings[endpoint], paid=False,
            )  # fmt: skip
            state.add_project(project)
            while project.status != status:
                state.step(project, now)
            if not enabled:
                state.disable(project)
            return project

    def import_upload(self, file_path: str, owner: str, data: bytes) -> Upload:
        """Store an already-uploaded asset (seed files); ``owner`` may be ``"*"`` (public)."""
        if not file_path.startswith("api-assets/"):
            raise ConfigError(f"uploaded file paths start with 'api-assets/', got {file_path!r}")
        extension = file_path.rsplit(".", 1)[-1].lower()
        with self._context.transaction() as state:
            upload = Upload(file_path, PUBLIC if owner == "*" else owner, "audio", extension, float("inf"), bytes(data))
            state.uploads[file_path] = upload
            state.changed("uploads", file_path, False)
            return upload
