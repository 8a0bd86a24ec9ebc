"""The state of one fake and the rules that move it: namespaces, transitions, refunds, the GET body.

A :class:`State` holds everything an engine knows. The engine's operation classes act on it; the
:class:`~mh_mock.engine.engine.Engine` swaps a whole new one in on reset (and back, if the reset
fails). Every project runs on its owner's :class:`~mh_mock.engine.tenants.Tenant`: the fake's own
clock and progression, or a namespace's (a test's, on a shared server), so one test moving its
clock never moves another's jobs.
"""

from __future__ import annotations

import heapq
import math
import secrets
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from ..clock import Clock, format_timestamp
from ..config import Config
from ..errors import NotFound, Unauthorized
from ..vendor import JOBS
from ..vocabulary import Progression, Status
from .faults import Faults
from .hub import WebhookHub
from .ids import IdFactory, Signer
from .models import Account, DownloadBody, Project, ProjectBody, Transition, Upload
from .scenarios import Scenarios
from .tenants import Tenant
from .tokens import MAX_TOKEN_LENGTH, PUBLIC

__all__ = ["EXTENSIONS", "OUTPUT_NAME", "State", "TransitionListener"]

EXTENSIONS = MappingProxyType(
    {
        "video": ("mp4", "m4v", "mov", "webm"),
        "audio": ("mp3", "wav", "aac", "flac", "webm", "weba", "m4a", "opus", "ogg", "oga", "aiff", "amr"),
        "image": ("png", "jpg", "jpeg", "jfif", "heic", "heif", "webp", "avif", "jp2", "tiff", "tif", "bmp"),
    }
)
"""Valid upload extensions per asset type (contract: upload-urls description)."""

OUTPUT_NAME = "output.wav"

TransitionListener = Callable[[Project, Transition], None]
"""Called with the project and its new transition, in order, whenever a status changes."""

Changed = Callable[[str, str, bool], None]
"""``changed(table, key, removed)``: a row of the state file changed (or left)."""


class State:
    """Accounts, projects, uploads, namespaces and the simulation rules of one fake."""

    def __init__(self, config: Config, *, clock: Clock | None, changed: Changed) -> None:
        self.config = config
        self.ids = IdFactory(config.seed)
        self.signing_secret = config.signing_secret or secrets.token_hex(16)
        self.signer = Signer(self.signing_secret.encode())
        self.audio_key = f"seed:{config.seed}" if config.seed is not None else secrets.token_hex(8)
        self.accounts: dict[str, Account] = {}
        self.projects: dict[str, Project] = {}
        self.uploads: dict[str, Upload] = {}
        self.active: dict[str, None] = {}
        """Ids of unfinished projects, in creation order (a dict as an ordered set)."""
        self.default = Tenant(
            None, clock or Clock(config.start_time, frozen=config.frozen_clock), config, config.progression
        )
        self.tenants: dict[str, Tenant] = {}
        """Namespaces other than the fake's own, by key."""
        self.members: dict[str, Tenant] = {}
        """The namespace of every token that joined one."""
        self.scenarios = Scenarios()
        self.faults = Faults(config.seed)
        self.hub = WebhookHub(
            clock_key=self.clock_key,
            fake_timestamps=config.webhook_timestamps == "fake",
            log_limit=config.delivery_log_limit,
            changed=changed,
        )
        self._changed = changed
        self.publish: TransitionListener = lambda project, transition: None
        """Where transitions go (the engine's stream once this state is live)."""
        self.watched: Callable[[], bool] = lambda: False
        """Whether someone subscribed to that stream (the engine's answer once this state is live)."""
        self.restarts = 0
        """How often this state was loaded back from a state file (seeded ids continue on a new stream)."""
        self.seed_options: dict[str, Any] = {}
        """The options a seed's ``config`` gave (saved, so a restart needs no seed file)."""
        self.generation = 0
        """Which state of its engine this is (the engine numbers each one it installs)."""
        self._sequence = 0

    def changed(self, table: str, key: str, removed: bool) -> None:
        """Report a changed (or removed) row to the saver."""
        self._changed(table, key, removed)

    def touch(self, project: Project) -> None:
        """Report a changed project: its version moves on, and the saver is told."""
        project.version += 1
        self._changed("projects", project.id, False)

    # ------------------------------------------------------------------ namespaces and time

    def tenant(self, token: str | None) -> Tenant:
        """The namespace ``token`` belongs to (the fake's own unless it joined another)."""
        if token is None:
            return self.default
        return self.members.get(token, self.default)

    def config_of(self, token: str | None) -> Config:
        """The options in force for ``token`` (its namespace's)."""
        return self.tenant(token).config

    def clock_key(self, owner: str) -> str:
        """Which clock ``owner``'s projects use: its namespace's key, or ``""`` for the fake's."""
        tenant = self.members.get(owner)
        return "" if tenant is None or tenant.key is None else tenant.key

    def now(self, token: str | None = None) -> float:
        """The time of ``token``'s clock (the fake's clock if it has none of its own)."""
        return self.tenant(token).clock.now()

    def now_of(self, clock_key: str) -> float:
        """The time of a :meth:`clock_key`."""
        tenant = self.tenants.get(clock_key) if clock_key else None
        return (tenant or self.default).clock.now()

    def expire_tenants(self) -> list[str]:
        """Keys of the namespaces whose lease has run out (the caller removes them)."""
        now = time.monotonic()
        return [key for key, tenant in self.tenants.items() if tenant.expires <= now]

    # ------------------------------------------------------------------ accounts and ownership

    def check_token(self, token: str | None) -> str:
        """``token`` if it may call the API (not blank, not too long, registered under strict auth)."""
        if token is None or token == PUBLIC or not token.strip():
            raise Unauthorized()
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized(f"The API key is {len(token)} characters long; keys have at most {MAX_TOKEN_LENGTH}")
        if self.config.strict_auth and token not in self.accounts:
            raise Unauthorized()
        tenant = self.members.get(token)
        if tenant is not None:
            tenant.touch()  # a call of one of its tokens keeps a namespace alive
        return token

    def account_of(self, token: str | None) -> Account:
        """The account of ``token``, created on its first call unless auth is strict."""
        found = self.accounts.get(self.check_token(token))
        if found is None:
            assert token is not None
            found = self.new_account(token, self.config_of(token).starting_balance)
        return found

    def new_account(self, token: str, credits: int) -> Account:
        """Open an account for ``token`` (its namespace's tier and email)."""
        config = self.config_of(token)
        account = Account(token, self.ids.new(), credits, config.account_email, config.account_tier.value)
        self.accounts[token] = account
        self.changed("accounts", token, False)
        return account

    def owned(self, token: str | None, project_id: str) -> Project:
        """``token``'s project (or a public one); 404 for an unknown or foreign id."""
        self.check_token(token)
        project = self.projects.get(project_id)
        if project is None or project.owner not in (token, PUBLIC):
            raise NotFound()
        return project

    def project(self, project_id: str) -> Project:
        """A project by id, whoever owns it; :class:`NotFound` naming it if unknown."""
        project = self.projects.get(project_id)
        if project is None:
            raise NotFound(f"No project {project_id!r}")
        return project

    def disable(self, project: Project) -> None:
        """Delete a project (an unfinished job is canceled first); public examples stay for everyone."""
        if project.owner == PUBLIC:
            return
        if not project.terminal:
            self.enter(project, Status.CANCELED, self.now(project.owner))
        project.enabled = False
        self.touch(project)

    # ------------------------------------------------------------------ the GET body

    def project_body(self, project: Project) -> ProjectBody:
        """The contract's GET body for ``project``, with fresh download URLs when complete."""
        downloads: list[DownloadBody] = []
        if project.status is Status.COMPLETE and project.enabled:
            expires = self.download_expiry(project)
            signature = self.signer.sign("output", project.id, expires)
            downloads.append(
                {
                    "url": f"{self.config.storage_url}/outputs/{project.id}/{OUTPUT_NAME}"
                    f"?expires={expires}&signature={signature}",
                    "expires_at": format_timestamp(expires / 1000),
                }
            )
        outcome = project.outcome
        return {
            "id": project.id,
            "name": project.name,
            "status": project.status.value,
            "type": JOBS[project.endpoint].project_type,
            "created_at": format_timestamp(project.created_at),
            "enabled": project.enabled,
            "credits_charged": project.credits_charged,
            "downloads": downloads,
            "error": {"message": outcome.message, "code": outcome.code} if project.status is Status.ERROR else None,
        }

    def download_expiry(self, project: Project) -> int:
        """When a download URL issued now expires, in epoch milliseconds, rounded up to the second
        (so the answers of one second are one answer); 0 for a project with no download."""
        if project.status is not Status.COMPLETE or not project.enabled:
            return 0
        return math.ceil(self.now(project.owner) + self.config_of(project.owner).download_ttl) * 1000

    # ------------------------------------------------------------------ transitions

    def add_project(self, project: Project) -> None:
        """Store a new project and enter it as ``queued``."""
        self.projects[project.id] = project
        self.active[project.id] = None
        self.enter(project, Status.QUEUED, project.created_at)

    def active_projects(self, tenant: Tenant | None = None) -> list[Project]:
        """Unfinished projects (of ``tenant``'s tokens, if given), in creation order."""
        projects = (self.projects[pid] for pid in self.active)
        return [p for p in projects if tenant is None or self.tenant(p.owner) is tenant]

    def step(self, project: Project, at: float) -> None:
        """Move an unfinished project one status on."""
        following = Status.RENDERING if project.status is Status.QUEUED else Status(project.outcome.status)
        self.enter(project, following, at)

    def enter(self, project: Project, status: Status, at: float) -> None:
        """Put ``project`` in ``status`` at ``at``: refund, schedule, and publish the transition."""
        project.status, project.status_since, project.reads = status, at, 0
        project.step += 1
        transition = Transition(project.id, status, at)
        project.history.append(transition)
        self.touch(project)
        if project.terminal:
            self.active.pop(project.id, None)
            refund = self.config_of(project.owner).refund_on_cancel
            if status is Status.ERROR or (status is Status.CANCELED and refund):
                self.refund(project)
        else:
            self.schedule(project)
        self.publish(project, transition)

    def refund(self, project: Project) -> None:
        """Give a project's charge back to its owner (once; seeded projects were never paid)."""
        if project.refunded:
            return
        project.refunded = True
        self.touch(project)
        account = self.accounts.get(project.owner)
        if account is None or not project.paid:
            return
        account.credits += project.charge
        account.refunded += project.charge
        self.changed("accounts", account.token, False)

    def schedule(self, project: Project) -> None:
        """Under clock progression, queue the project's next transition on its namespace's clock."""
        tenant = self.tenant(project.owner)
        if tenant.progression is not Progression.CLOCK:
            return
        self._sequence += 1
        heapq.heappush(tenant.due, (_due_at(project), self._sequence, project.id, project.step))
        if len(tenant.due) > 2 * len(self.active) + _SLACK:
            # Entries of transitions a look applied early stay behind (nobody pops them while nobody
            # observes): rebuild from what is unfinished, so the heap stays as large as the work.
            # (In place: a settle may be popping this very list.)
            rebuilt = []
            for unfinished in self.active_projects(tenant):
                self._sequence += 1
                rebuilt.append((_due_at(unfinished), self._sequence, unfinished.id, unfinished.step))
            heapq.heapify(rebuilt)
            tenant.due[:] = rebuilt

    def reschedule(self, tenant: Tenant) -> None:
        """After a progression switch: the namespace's unfinished jobs restart their status's timer now."""
        tenant.due.clear()
        now = tenant.clock.now()
        for project in self.active_projects(tenant):
            project.status_since, project.reads = now, 0
            self.touch(project)
            self.schedule(project)

    def settle(self, budget: int | None = None) -> bool:
        """Apply, in time order per clock, the clock transitions due by now (``budget``: at most that many);
        True if none is left due."""
        left = self._settle(self.default, budget)
        for tenant in self.tenants.values():
            if left == 0:
                return False
            left = self._settle(tenant, left)
        return left != 0

    def _settle(self, tenant: Tenant, budget: int | None) -> int | None:
        """Apply ``tenant``'s due transitions; what is left of ``budget`` (0: maybe more are due)."""
        due = tenant.due
        if not due:
            return budget
        now = tenant.clock.now()
        while due and due[0][0] <= now:
            if budget == 0:
                return 0
            when, _, project_id, step = heapq.heappop(due)
            project = self.projects.get(project_id)
            if project is not None and project.step == step and not project.terminal:
                self.step(project, when)
                budget = None if budget is None else budget - 1
        return budget

    def observed(self) -> bool:
        """Whether transitions are observed as they happen (webhook endpoints, or subscribers to the engine's
        stream): then each is applied when due, in order; otherwise it waits until someone looks."""
        return bool(self.hub.endpoints) or self.watched()

    def catch_up(self, project: Project | None = None) -> None:
        """Bring what a call shows up to date: every due transition while transitions are :meth:`observed`,
        else only those of ``project`` (a transition nobody observes waits for a look)."""
        if self.observed():
            self.settle()
        elif project is not None:
            self.settle_project(project)

    def settle_project(self, project: Project) -> None:
        """Apply the transitions of one project that are due by now (what a read of it must show); the
        others wait for whoever looks at them, or for the ticker."""
        tenant = self.tenant(project.owner)
        if tenant.progression is not Progression.CLOCK:
            return
        now = tenant.clock.now()
        while not project.terminal:
            due = _due_at(project)
            if due > now:
                return
            self.step(project, due)

    def read(self, project: Project) -> None:
        """Count a GET of an unfinished project (poll progression moves it on)."""
        tenant = self.tenant(project.owner)
        if tenant.progression is Progression.POLL and not project.terminal:
            project.reads += 1
            self.touch(project)
            if project.reads >= tenant.config.reads_per_step:
                self.step(project, tenant.clock.now())


_SLACK = 64
"""Stale entries a namespace's heap may hold beyond twice the unfinished projects before it is rebuilt."""


def _due_at(project: Project) -> float:
    """When an unfinished project leaves its status, under clock progression."""
    timing = project.timing
    return project.status_since + (timing.queued if project.status is Status.QUEUED else timing.rendering)
