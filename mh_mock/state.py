"""The state of one fake and the rules that move it: transitions, refunds, the GET body.

:class:`EngineState` holds everything an engine knows and the primitives every part of the engine
builds on. The public operations live in :mod:`mh_mock.engine` (the API), :mod:`mh_mock.controls`
(what tests steer) and :mod:`mh_mock.persistence` (saving and restoring).
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any

from .clock import Clock, format_timestamp
from .config import Config, Progression
from .errors import NotFound, Unauthorized
from .faults import Faults
from .ids import IdFactory, Signer
from .journal import Journal
from .models import Account, Project, Transition, Upload
from .scenarios import Scenarios
from .store import Store
from .webhooks import WebhookHub

__all__ = ["EXTENSIONS", "OUTPUT_NAME", "PUBLIC", "EngineState", "TransitionListener"]

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

TransitionListener = Callable[[Project, Transition], None]
"""Called with the project and its new transition, in order, whenever a status changes."""


class EngineState:
    """Accounts, projects, uploads, the clock and the simulation controls of one fake.

    Every attribute is replaced (never mutated in place) by a reset, so a reset that fails can put
    the previous state back whole.
    """

    config: Config
    clock: Clock
    progression: Progression
    journal: Journal
    webhooks: WebhookHub
    """Webhook endpoints and the delivery log (see :mod:`mh_mock.webhooks`)."""
    faults: Faults
    """HTTP-layer faults the dispatcher injects (see :mod:`mh_mock.faults`)."""
    scenarios: Scenarios
    """Rules and random failures deciding how new jobs end (see :mod:`mh_mock.scenarios`)."""

    def __init__(self, config: Config | None, clock: Clock | None, store: Store | None) -> None:
        self.base_config = self.config = config or Config()
        self._injected_clock = clock
        self._store = store
        self._lock = threading.RLock()
        self._listeners: list[TransitionListener] = []
        self._touched: dict[str, set[str]] = {"accounts": set(), "projects": set(), "uploads": set()}
        self._effective_options: dict[str, Any] = {}
        self._saved_meta: dict[str, Any] | None = None
        self._restarts = 0
        self.deliver_inline = True
        """Send due webhooks right after each call (in-process); the server sets False and ticks."""

    def _fresh(self, cfg: Config, id_seed: int | str | None) -> None:
        """Empty state for ``cfg`` (a reset, or the base a restore fills in)."""
        self.config = cfg
        self.journal = Journal(cfg.journal_limit)
        self.clock = self._injected_clock or Clock(cfg.start_time, frozen=cfg.frozen_clock)
        self._ids = IdFactory(id_seed)
        self._secret = self._ids.token().encode()
        self._signer = Signer(self._secret)
        self._accounts: dict[str, Account] = {}
        self._projects: dict[str, Project] = {}
        self._uploads: dict[str, Upload] = {}
        self._active: set[str] = set()
        self._due: list[tuple[float, int, str, int]] = []
        """Clock transitions: (when, sequence, project id, the project's step it was scheduled at)."""
        self._sequence = 0
        self.progression = cfg.progression
        self.webhooks = WebhookHub(self.now, fake_timestamps=cfg.webhook_timestamps == "fake")
        self.faults = Faults(id_seed)
        self.scenarios = Scenarios()

    def now(self) -> float:
        """The fake's current time (epoch seconds)."""
        return self.clock.now()

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]:
        """Call ``listener`` on every status change; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.remove(listener)

        return unsubscribe

    def tick(self) -> None:
        """Apply every transition due by now and send due webhooks (the standalone server's ticker)."""
        with self._lock:
            self._settle()
        self.after_call()
        self.commit()

    def after_call(self) -> None:
        """Run what is due after each served call (webhook deliveries); adapters call it."""
        hub = self.webhooks
        if hub.pending:
            hub.deliver_due(self.now())

    def commit(self) -> None:
        """Save what changed (see :mod:`mh_mock.persistence`); without a store, nothing to do."""

    # ------------------------------------------------------------------ the GET body

    def project_body(self, project: Project) -> dict[str, Any]:
        """The contract's GET body for ``project``, with fresh download URLs when complete."""
        with self._lock:
            downloads = []
            if project.status == "complete" and project.enabled:
                expires = round((self.now() + self.config.download_ttl) * 1000)
                signature = self._signer.sign("output", project.id, expires)
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
                "status": project.status,
                "type": project.endpoint.project_type,
                "created_at": format_timestamp(project.created_at),
                "enabled": project.enabled,
                "credits_charged": project.credits_charged,
                "downloads": downloads,
                "error": {"message": outcome.message, "code": outcome.code} if project.status == "error" else None,
            }

    def _account_of(self, token: str | None) -> Account:
        """The account of ``token`` (created on first use unless auth is strict); 401 otherwise."""
        if token is None or not token.strip() or token == PUBLIC:
            raise Unauthorized()
        found = self._accounts.get(token)
        if found is None:
            if self.config.strict_auth:
                raise Unauthorized()
            found = self._new_account(token, self.config.starting_balance)
        return found

    def _new_account(self, token: str, credits: int) -> Account:
        config = self.config
        account = Account(token, self._ids.new(), credits, config.account_email, config.account_tier)
        self._accounts[token] = account
        self._touch("accounts", token)
        return account

    def _owned(self, token: str | None, project_id: str) -> Project:
        account = self._account_of(token)
        project = self._projects.get(project_id)
        if project is None or project.owner not in (account.token, PUBLIC):
            raise NotFound()
        return project

    def _disable(self, project: Project) -> None:
        if project.owner == PUBLIC:
            return  # a public example stays for everyone, as on the vendor's stateless mock
        if not project.terminal:
            self._enter(project, "canceled", self.now())
        project.enabled = False
        self._touch("projects", project.id)

    # ------------------------------------------------------------------ transitions

    def _touch(self, table: str, key: str) -> None:
        if self._store is not None:
            self._touched[table].add(key)

    def _iter_active(self) -> Iterable[Project]:
        return [self._projects[pid] for pid in sorted(self._active, key=self._order)]

    def _order(self, project_id: str) -> tuple[float, str]:
        project = self._projects[project_id]
        return (project.created_at, project_id)

    def _step(self, project: Project, at: float) -> None:
        following = "rendering" if project.status == "queued" else project.outcome.status
        self._enter(project, following, at)

    def _enter(self, project: Project, status: str, at: float) -> None:
        project.status, project.status_since, project.reads = status, at, 0
        project.step += 1
        self._touch("projects", project.id)
        transition = Transition(project.id, status, at)
        project.history.append(transition)
        if project.terminal:
            self._active.discard(project.id)
            if status == "error" or (status == "canceled" and self.config.refund_on_cancel):
                self._refund(project)
        else:
            self._schedule(project)
        for listener in list(self._listeners):
            listener(project, transition)
        if self.webhooks.endpoints:
            self.webhooks.on_transition(project, transition, self.project_body(project))

    def _refund(self, project: Project) -> None:
        if project.refunded:
            return
        project.refunded = True
        account = self._accounts.get(project.owner)
        if account is None or not project.paid:  # a seeded project: nobody paid for it
            return
        account.credits += project.charge
        account.refunded += project.charge
        self._touch("accounts", account.token)

    def _schedule(self, project: Project) -> None:
        if self.progression is not Progression.CLOCK:
            return
        timing = project.timing
        duration = timing.queued if project.status == "queued" else timing.rendering
        self._sequence += 1
        heapq.heappush(self._due, (project.status_since + duration, self._sequence, project.id, project.step))

    def _settle(self) -> None:
        """Apply, in time order, every clock transition due by now."""
        if not self._due:
            return
        now = self.now()
        while self._due and self._due[0][0] <= now:
            due, _, project_id, step = heapq.heappop(self._due)
            project = self._projects.get(project_id)
            if project is not None and project.step == step and not project.terminal:
                self._step(project, due)
