"""The state of one fake and the rules that move it: tenants, transitions, refunds, the GET body.

A :class:`State` holds everything an engine knows. :mod:`mh_mock.engine.api` and
:mod:`mh_mock.engine.controls` operate on it; :class:`~mh_mock.engine.engine.Engine` swaps a
whole new one in on reset (and back, if the reset fails). Every project runs on its owner's
:class:`Tenant`: the fake's own clock and progression, or a token's own (a test's, on a shared
server), so one test moving its clock never moves another's jobs.
"""

from __future__ import annotations

import heapq
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .._json import Encoded
from ..clock import Clock, format_timestamp
from ..config import Config
from ..errors import NotFound, Unauthorized
from ..vocabulary import Progression, Status
from .faults import Faults
from .hub import WebhookHub
from .ids import IdFactory, Signer
from .models import Account, Project, Transition, Upload
from .scenarios import Scenarios

__all__ = ["EXTENSIONS", "MAX_TOKEN_LENGTH", "OUTPUT_NAME", "PUBLIC", "State", "Tenant", "TransitionListener"]

EXTENSIONS = MappingProxyType(
    {
        "video": ("mp4", "m4v", "mov", "webm"),
        "audio": ("mp3", "wav", "aac", "flac", "webm", "weba", "m4a", "opus", "ogg", "oga", "aiff", "amr"),
        "image": ("png", "jpg", "jpeg", "jfif", "heic", "heif", "webp", "avif", "jp2", "tiff", "tif", "bmp"),
    }
)
"""Valid upload extensions per asset type (contract: upload-urls description)."""

OUTPUT_NAME = "output.wav"

PUBLIC = "\x00public"
"""Owner of seeded example objects every token may read (seed files write it ``"*"``). No bearer
token can be this value: HTTP headers cannot carry a NUL."""

MAX_TOKEN_LENGTH = 256
"""Longest API key accepted (real keys are ~50 characters); longer ones are refused with 401."""

_ANSWERS_KEPT = 1024
"""Encoded GET answers kept (the projects read most recently)."""

TransitionListener = Callable[[Project, Transition], None]
"""Called with the project and its new transition, in order, whenever a status changes."""

Changed = Callable[[str, str, bool], None]
"""``changed(table, key, removed)``: a row of the state file changed (or left)."""


@dataclass(slots=True)
class Tenant:
    """The clock and progression a token's projects run on (``token`` None: the fake's own)."""

    token: str | None
    clock: Clock
    progression: Progression
    reads_per_step: int
    starting_balance: int | None = None
    due: list[tuple[float, int, str, int]] = field(default_factory=list)
    """Clock transitions: (when, sequence, project id, the project's step it was scheduled at)."""

    def to_json(self) -> dict[str, Any]:
        """As saved in the state file."""
        return {
            "token": self.token, "clock": self.clock.snapshot(), "progression": self.progression.value,
            "reads_per_step": self.reads_per_step, "starting_balance": self.starting_balance,
        }  # fmt: skip


class State:
    """Accounts, projects, uploads, tenants and the simulation rules of one fake."""

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
            None, clock or Clock(config.start_time, frozen=config.frozen_clock), config.progression,
            config.reads_per_step,
        )  # fmt: skip
        self.tenants: dict[str, Tenant] = {}
        self.scenarios = Scenarios()
        self.faults = Faults(config.seed)
        self.hub = WebhookHub(
            clock_key=self.clock_key, fake_timestamps=config.webhook_timestamps == "fake",
            log_limit=config.delivery_log_limit, changed=changed,
        )  # fmt: skip
        self._changed = changed
        self.publish: Callable[[Project, Transition], None] = lambda project, transition: None
        """Where transitions go (the engine's stream once this state is live)."""
        self.restarts = 0
        """How often this state was loaded back from a state file (seeded ids continue on a new stream)."""
        self.seed_options: dict[str, Any] = {}
        """The options a seed's ``config`` gave (saved, so a restart needs no seed file)."""
        """How often this state was loaded back from a state file (seeded ids continue on a new stream)."""
        self._sequence = 0
        self._answers: dict[str, tuple[Project, int, Encoded]] = {}

    def changed(self, table: str, key: str, removed: bool) -> None:
        """Report a changed (or removed) row; a changed project's encoded answer is dropped."""
        if table == "projects":
            self._answers.pop(key, None)
        self._changed(table, key, removed)

    # ------------------------------------------------------------------ tenants and time

    def tenant(self, token: str | None) -> Tenant:
        """The tenant ``token``'s projects run on."""
        return self.default if token is None else self.tenants.get(token, self.default)

    def clock_key(self, owner: str) -> str:
        """Which clock ``owner``'s projects use: the owner's own, or ``""`` for the fake's."""
        return owner if owner in self.tenants else ""

    def now(self, token: str | None = None) -> float:
        """The time of ``token``'s clock (the fake's clock if it has none of its own)."""
        return self.tenant(token).clock.now()

    def now_of(self, clock_key: str) -> float:
        """The time of a :meth:`clock_key`."""
        return self.now(clock_key or None)

    # ------------------------------------------------------------------ accounts and ownership

    def check_token(self, token: str | None) -> str:
        """``token`` if it may call the API (not blank, not too long, registered under strict auth)."""
        if token is None or not token.strip() or token == PUBLIC:
            raise Unauthorized()
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized(f"The API key is {len(token)} characters long; keys have at most {MAX_TOKEN_LENGTH}")
        if self.config.strict_auth and token not in self.accounts:
            raise Unauthorized()
        return token

    def account_of(self, token: str | None) -> Account:
        """The account of ``token``, created on its first successful call unless auth is strict."""
        found = self.accounts.get(self.check_token(token))
        if found is None:
            assert token is not None
            found = self.new_account(token, self.starting_balance(token))
        return found

    def credits_of(self, token: str | None) -> int:
        """What ``token``'s account holds, or would start with (nothing is created)."""
        found = self.accounts.get(self.check_token(token))
        return self.starting_balance(token) if found is None else found.credits

    def starting_balance(self, token: str | None) -> int:
        """The credits a new account of ``token`` starts with (its tenant's, else the fake's)."""
        tenant = self.tenant(token)
        return self.config.starting_balance if tenant.starting_balance is None else tenant.starting_balance

    def new_account(self, token: str, credits: int) -> Account:
        account = Account(token, self.ids.new(), credits, self.config.account_email, self.config.account_tier.value)
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
        self.changed("projects", project.id, False)

    # ------------------------------------------------------------------ the GET body

    def project_body(self, project: Project) -> dict[str, Any]:
        """The contract's GET body for ``project``, with fresh download URLs when complete."""
        downloads = []
        if project.status is Status.COMPLETE and project.enabled:
            expires = self._expires(project)
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
            "type": project.endpoint.project_type,
            "created_at": format_timestamp(project.created_at),
            "enabled": project.enabled,
            "credits_charged": project.credits_charged,
            "downloads": downloads,
            "error": {"message": outcome.message, "code": outcome.code} if project.status is Status.ERROR else None,
        }

    def _expires(self, project: Project) -> int:
        """When a download URL issued now expires, in epoch milliseconds, rounded up to the second
        (so the answers of one second are one answer, encoded once)."""
        return math.ceil(self.now(project.owner) + self.config.download_ttl) * 1000

    def project_answer(self, project: Project) -> Encoded:
        """:meth:`project_body`, encoded, from a small cache: a project's body changes only when
        the project does (every change passes :meth:`changed`) or, once complete, with its
        download URL, new every second."""
        expires = self._expires(project) if project.status is Status.COMPLETE and project.enabled else 0
        cached = self._answers.get(project.id)
        if cached is not None and cached[0] is project and cached[1] == expires:
            return cached[2]
        answer = Encoded(self.project_body(project))
        self._answers[project.id] = (project, expires, answer)
        if len(self._answers) > _ANSWERS_KEPT:
            del self._answers[next(iter(self._answers))]  # the oldest entry
        return answer

    # ------------------------------------------------------------------ transitions

    def add_project(self, project: Project) -> None:
        """Store a new project and enter it as ``queued``."""
        self.projects[project.id] = project
        self.active[project.id] = None
        self.enter(project, Status.QUEUED, project.created_at)

    def active_projects(self, token: str | None = None) -> list[Project]:
        """Unfinished projects (of ``token`` if given), in creation order (also on a frozen clock)."""
        return [self.projects[pid] for pid in self.active if token is None or self.projects[pid].owner == token]

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
        self.changed("projects", project.id, False)
        if project.terminal:
            self.active.pop(project.id, None)
            if status is Status.ERROR or (status is Status.CANCELED and self.config.refund_on_cancel):
                self.refund(project)
        else:
            self.schedule(project)
        self.publish(project, transition)

    def refund(self, project: Project) -> None:
        """Give a project's charge back to its owner (once; seeded projects were never paid)."""
        if project.refunded:
            return
        project.refunded = True
        self.changed("projects", project.id, False)
        account = self.accounts.get(project.owner)
        if account is None or not project.paid:
            return
        account.credits += project.charge
        account.refunded += project.charge
        self.changed("accounts", account.token, False)

    def schedule(self, project: Project) -> None:
        """Under clock progression, queue the project's next transition on its tenant's clock."""
        tenant = self.tenant(project.owner)
        if tenant.progression is not Progression.CLOCK:
            return
        duration = project.timing.queued if project.status is Status.QUEUED else project.timing.rendering
        self._sequence += 1
        heapq.heappush(tenant.due, (project.status_since + duration, self._sequence, project.id, project.step))

    def reschedule(self, tenant: Tenant) -> None:
        """After a progression switch: the tenant's unfinished jobs restart their status's timer now."""
        tenant.due.clear()
        now = tenant.clock.now()
        for project in self.active_projects():
            if self.tenant(project.owner) is tenant:
                project.status_since, project.reads = now, 0
                self.changed("projects", project.id, False)
                self.schedule(project)

    def settle(self) -> None:
        """Apply, in time order per clock, every clock transition due by now."""
        for tenant in (self.default, *self.tenants.values()):
            if not tenant.due:
                continue
            now = tenant.clock.now()
            due = tenant.due
            while due and due[0][0] <= now:
                when, _, project_id, step = heapq.heappop(due)
                project = self.projects.get(project_id)
                if project is not None and project.step == step and not project.terminal:
                    self.step(project, when)

    def read(self, project: Project) -> None:
        """Count a GET of an unfinished project (poll progression moves it on)."""
        tenant = self.tenant(project.owner)
        if tenant.progression is Progression.POLL and not project.terminal:
            project.reads += 1
            self.changed("projects", project.id, False)
            if project.reads >= tenant.reads_per_step:
                self.step(project, tenant.clock.now())
