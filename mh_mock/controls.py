"""What tests steer: the clock, progression, outcomes, cancellation, scenarios, faults, webhooks.

These are the engine's control methods (the admin API and :class:`~mh_mock.control.Control`
call them). Each takes the engine lock, so they are safe next to requests being served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .catalogue import AUDIO_ERROR_CODES
from .clock import format_timestamp
from .config import STATUSES, Endpoint, Outcome, Progression
from .errors import ConfigError
from .faults import Fault
from .models import Project, Upload
from .scenarios import RandomFailures, Rule
from .state import PUBLIC, EngineState
from .webhooks import Receiver, WebhookEndpoint

__all__ = ["Controls"]


class Controls(EngineState):
    """The control half of :class:`~mh_mock.engine.Engine`."""

    # ------------------------------------------------------------------ looking

    def project(self, project_id: str) -> Project:
        """A project by id, whoever owns it; KeyError if unknown."""
        with self._lock:
            self._settle()
            return self._projects[project_id]

    def projects(self, token: str | None = None) -> list[Project]:
        """Every project (of ``token`` if given), oldest first."""
        with self._lock:
            self._settle()
            return [p for p in self._projects.values() if token is None or p.owner == token]

    def counts(self) -> dict[str, int]:
        """How many projects and accounts there are."""
        with self._lock:
            return {"projects": len(self._projects), "accounts": len(self._accounts)}

    def upload_data(self, file_path: str) -> bytes | None:
        """The bytes PUT to ``file_path``, or None."""
        with self._lock:
            upload = self._uploads.get(file_path)
            return None if upload is None else upload.data

    # ------------------------------------------------------------------ time and progress

    def advance(self, seconds: float) -> float:
        """Move the clock forward and apply every transition that falls due; returns the time."""
        with self._lock:
            now = self.clock.advance(seconds)
            self._settle()
            return now

    def set_progression(self, progression: Progression | str) -> None:
        """Switch between clock- and poll-driven progression; timers restart from now."""
        with self._lock:
            self._settle()
            mode = Progression(progression)
            if mode is self.progression:
                return
            self.progression = mode
            self._due.clear()
            now = self.now()
            for project in self._iter_active():
                project.status_since, project.reads = now, 0
                self._touch("projects", project.id)
                self._schedule(project)

    def finish(self, project_id: str | None = None) -> list[Project]:
        """Run one project (or every unfinished one) to its terminal status now."""
        with self._lock:
            self._settle()
            selected = [self._projects[project_id]] if project_id is not None else list(self._iter_active())
            now = self.now()
            for project in selected:
                while not project.terminal:
                    self._step(project, now)
            return selected

    def step(self, project_id: str) -> Project:
        """Move one unfinished project one status on now, without counting a read."""
        with self._lock:
            project = self._unfinished(project_id, "it cannot move on")
            self._step(project, self.now())
            return project

    def set_outcome(self, project_id: str, outcome: Outcome | str | Mapping[str, Any]) -> Project:
        """Decide how an unfinished project will end."""
        with self._lock:
            project = self._unfinished(project_id, "its outcome is fixed")
            project.outcome = Outcome.parse(outcome)
            self._touch("projects", project_id)
            return project

    def force(self, project_id: str, status: str, *, code: str | None = None, message: str | None = None) -> Project:
        """Move an unfinished project straight to ``status`` now (``rendering`` or a terminal one)."""
        with self._lock:
            project = self._unfinished(project_id, "statuses only move forward")
            if status == "canceled":
                return self.cancel(project_id)
            if status not in ("rendering", "complete", "error") or (
                status == "rendering" and project.status != "queued"
            ):
                raise ConfigError(
                    f"project {project_id} is {project.status}; statuses only move forward, not to {status!r}"
                )
            if status == "rendering":
                self._step(project, self.now())
                return project
            project.outcome = Outcome(status, code, message) if status == "error" else Outcome(status)
            self.finish(project_id)
            return project

    def cancel(self, project_id: str) -> Project:
        """Cancel a queued or rendering job, as the web app does (no webhook fires)."""
        with self._lock:
            project = self._unfinished(project_id, "only queued or rendering projects can be canceled")
            self._enter(project, "canceled", self.now())
            return project

    def delete(self, project_id: str) -> Project:
        """Delete a project as its owner would; returns it."""
        with self._lock:
            self._settle()
            project = self._projects[project_id]
            self._disable(project)
            return project

    def _unfinished(self, project_id: str, why: str) -> Project:
        self._settle()
        project = self._projects[project_id]
        if project.terminal:
            raise ConfigError(f"project {project_id} is already {project.status}; {why}")
        return project

    # ------------------------------------------------------------------ scenarios and faults

    def add_rule(self, rule: Rule | Mapping[str, Any]) -> Rule:
        """Add an outcome rule (a :class:`Rule` or its JSON, as the admin API takes it)."""
        with self._lock:
            return self.scenarios.add(rule if isinstance(rule, Rule) else Rule.from_json(rule, ""))

    def remove_rule(self, rule_id: str) -> None:
        """Drop one rule; KeyError if there is none with that id."""
        with self._lock:
            self.scenarios.remove(rule_id)

    def set_random_failures(self, ratio: float | None, codes: Iterable[str] | None = None) -> None:
        """Seeded soak mode: ``ratio`` of new jobs fail with ``codes`` (None turns it off)."""
        with self._lock:
            self.scenarios.random = (
                None if ratio is None else RandomFailures.build(ratio, codes or AUDIO_ERROR_CODES, self.config.seed)
            )

    def clear_scenarios(self) -> None:
        """Drop every rule and the random mode."""
        with self._lock:
            self.scenarios.clear()

    def add_fault(self, fault: Fault | Mapping[str, Any]) -> Fault:
        """Add an HTTP fault (a :class:`Fault` or its JSON)."""
        with self._lock:
            return self.faults.add(fault if isinstance(fault, Fault) else Fault.from_json(fault))

    def remove_fault(self, fault_id: str) -> None:
        """Drop one fault; KeyError if there is none with that id."""
        with self._lock:
            self.faults.remove(fault_id)

    def clear_faults(self) -> None:
        """Drop every fault."""
        with self._lock:
            self.faults.clear()

    def pick_fault(self, route: str, project_id: str | None, token: str | None) -> Fault | None:
        """The fault that strikes this call, if any (the dispatcher asks before every call)."""
        if not self.faults.rules:
            return None
        with self._lock:
            return self.faults.pick(route, project_id, token)

    def add_webhook(self, target: str | Receiver, secret: str, events: Iterable[str] | None = None) -> WebhookEndpoint:
        """Register a webhook endpoint: a URL, or (in-process) a callable."""
        with self._lock:
            return self.webhooks.add_endpoint(target, secret, events)

    def remove_webhook(self, endpoint_id: str) -> None:
        """Unregister an endpoint; its pending deliveries fail. KeyError if unknown."""
        with self._lock:
            self.webhooks.remove_endpoint(endpoint_id)

    # ------------------------------------------------------------------ seeding

    def import_project(
        self, *, project_id: str, owner: str, endpoint: Endpoint, status: str, name: str | None = None,
        charge: int = 0, seconds: float = 10.0, outcome: Outcome | None = None, enabled: bool = True,
    ) -> Project:  # fmt: skip
        """Put a project straight into the store (seed files); ``owner`` may be ``"*"`` (public).

        Nobody paid for it: a later error or cancel shows ``credits_charged`` 0 but credits nothing.
        """
        if status not in STATUSES:
            raise ConfigError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        owner = PUBLIC if owner == "*" else owner
        with self._lock:
            if project_id in self._projects:
                raise ConfigError(f"a project with id {project_id!r} already exists")
            now = self.now()
            if outcome is None or (status in ("complete", "canceled") and outcome.status != status):
                outcome = Outcome(status) if status in ("complete", "canceled") else self.config.default_outcome
            if status == "error" and outcome.status != "error":
                outcome = Outcome.error()
            project = Project(
                id=project_id, owner=owner, endpoint=endpoint, created_at=now, charge=charge, seconds=seconds,
                name=name if name is not None else f"{endpoint.label} - {format_timestamp(now)}",
                outcome=outcome, timing=self.config.timings[endpoint], enabled=True, paid=False,
            )  # fmt: skip
            self._projects[project_id] = project
            self._active.add(project_id)
            self._enter(project, "queued", now)
            while project.status != status:
                self._step(project, now)
            if not enabled:
                if owner == PUBLIC:
                    raise ConfigError(f"a public project cannot be deleted ({project_id})")
                self._disable(project)
            return project

    def import_upload(self, file_path: str, owner: str, data: bytes) -> Upload:
        """Store an already-uploaded asset (seed files); ``owner`` may be ``"*"`` (public)."""
        if not file_path.startswith("api-assets/"):
            raise ConfigError(f"uploaded file paths start with 'api-assets/', got {file_path!r}")
        extension = file_path.rsplit(".", 1)[-1].lower()
        with self._lock:
            upload = Upload(file_path, PUBLIC if owner == "*" else owner, "audio", extension, float("inf"), bytes(data))
            self._uploads[file_path] = upload
            self._touch("uploads", file_path)
            return upload
