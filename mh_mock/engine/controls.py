"""What tests steer about projects and time: clocks, progression, outcomes, cancellation, deletion.

The engine's control operations on projects (``engine.controls``), each one transaction. The
admin API, the control clients and the CLI reach them through the operation table of
:mod:`mh_mock.control.operations`. Unknown objects raise :class:`~mh_mock.errors.NotFound`
naming them; bad values raise :class:`~mh_mock.errors.ConfigError` naming the field and the
valid values. ``tenant`` arguments act on one namespace of a shared server (its clock, its
tokens' projects) instead of the fake's own.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..config import Outcome
from ..errors import ConfigError, NotFound
from ..vocabulary import Progression, Status
from .models import Project
from .tenants import Tenant

if TYPE_CHECKING:
    from .context import Context
    from .state import State

__all__ = ["Controls", "tenant_of"]

_FORWARD = ("rendering", "complete", "error", "canceled")


def tenant_of(state: State, key: str | None) -> Tenant:
    """The namespace called ``key`` (None: the fake's own); ConfigError if there is none."""
    if key is None:
        return state.default
    tenant = state.tenants.get(key)
    if tenant is None:
        raise ConfigError(f"there is no namespace {key!r}: reset it first (reset_tenant)")
    tenant.touch()
    return tenant


class Controls:
    """The project and time operations of one engine (``engine.controls``)."""

    def __init__(self, context: Context) -> None:
        self._context = context

    # ------------------------------------------------------------------ looking

    def project(self, project_id: str) -> Project:
        """A project by id, whoever owns it (reading it here counts no poll)."""
        with self._context.settled() as state:
            return state.project(project_id)

    def projects(
        self,
        token: str | None = None,
        status: str | None = None,
        *,
        account: str | None = None,
        limit: int | None = None,
        tenant: str | None = None,
    ) -> list[Project]:
        """Every project (of ``token``, of the account whose id is ``account``, of namespace
        ``tenant``, in ``status``, if given), oldest first; with ``limit``, only the newest ``limit``
        of them (found from the newest end, so a page of a large fake costs the page, not the fake)."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"limit must be a whole number of at least 1, not {limit!r}")
        with self._context.settled() as state:
            scope = None if tenant is None else tenant_of(state, tenant)
            if account is not None:
                owner = next((a.token for a in state.accounts.values() if a.id == account), None)
                if owner is None:
                    raise NotFound(f"No account with id {account!r}")
                if token is not None and token != owner:
                    return []
                token = owner
            wanted = (
                p
                for p in reversed(state.projects.values())
                if (token is None or p.owner == token)
                and (status is None or p.status == status)
                and (scope is None or p.owner in scope.tokens)
            )
            newest = list(itertools.islice(wanted, limit))
            newest.reverse()
            return newest

    # ------------------------------------------------------------------ time and progress

    def advance(self, seconds: float, *, tenant: str | None = None) -> float:
        """Move a clock forward (``tenant``'s, or the fake's) and apply what falls due; returns its time."""
        with self._context.settled() as state:
            now = tenant_of(state, tenant).clock.advance(seconds)
            state.settle()
            return now

    def set_progression(self, progression: Progression | str, *, tenant: str | None = None) -> None:
        """Switch between clock- and poll-driven progression; timers restart from now."""
        if progression not in Progression.values():
            raise ConfigError(f"progression must be one of {', '.join(Progression.values())}, got {progression!r}")
        with self._context.settled() as state:
            scope = tenant_of(state, tenant)
            mode = Progression(progression)
            if mode is not scope.progression:
                scope.progression = mode
                state.reschedule(scope)

    def finish(self, project_id: str | None = None, *, tenant: str | None = None) -> list[Project]:
        """Run one project (or every unfinished one, of namespace ``tenant`` if given) to its terminal status now."""
        with self._context.settled() as state:
            if project_id is not None:
                selected = [state.project(project_id)]
            else:
                selected = state.active_projects(None if tenant is None else tenant_of(state, tenant))
            for project in selected:
                now = state.now(project.owner)
                while not project.terminal:
                    state.step(project, now)
            return selected

    def step(self, project_id: str) -> Project:
        """Move one unfinished project one status on now, without counting a read."""
        with self._context.settled() as state:
            project = self._unfinished(state, project_id, "it cannot move on")
            state.step(project, state.now(project.owner))
            return project

    def set_outcome(self, project_id: str, outcome: Outcome | str | Mapping[str, Any]) -> Project:
        """Decide how an unfinished project will end."""
        parsed = Outcome.parse(outcome)
        with self._context.settled() as state:
            project = self._unfinished(state, project_id, "its outcome is fixed")
            project.outcome = parsed
            state.touch(project)
            return project

    def force(self, project_id: str, status: str, *, code: str | None = None, message: str | None = None) -> Project:
        """Move an unfinished project straight to ``status`` now (``rendering`` or a terminal one)."""
        if status not in _FORWARD:
            raise ConfigError(f"status must be one of {', '.join(_FORWARD)}, got {status!r}")
        outcome = Outcome(status, code, message) if status in ("complete", "error") else None
        with self._context.settled() as state:
            project = self._unfinished(state, project_id, "statuses only move forward")
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
        with self._context.settled() as state:
            project = self._unfinished(state, project_id, "only queued or rendering projects can be canceled")
            state.enter(project, Status.CANCELED, state.now(project.owner))
            return project

    def delete(self, project_id: str) -> Project:
        """Delete a project as its owner would; returns it."""
        with self._context.settled() as state:
            project = state.project(project_id)
            state.disable(project)
            return project

    @staticmethod
    def _unfinished(state: State, project_id: str, why: str) -> Project:
        project = state.project(project_id)
        if project.terminal:
            raise ConfigError(f"project {project_id} is already {project.status}; {why}")
        return project
