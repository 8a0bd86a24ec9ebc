"""The records the engine keeps: accounts, projects and uploads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import TERMINAL_STATUSES, Endpoint, Outcome, Timing

__all__ = ["Account", "Project", "Transition", "Upload", "project_from_json", "project_to_json"]


@dataclass
class Account:
    """One API key's account. ``charged`` and ``refunded`` keep the credit ledger."""

    token: str
    id: str
    credits: int
    email: str | None = None
    tier: str = "creator"
    charged: int = 0
    refunded: int = 0


@dataclass(frozen=True)
class Transition:
    """A status change of a project at a moment of the fake's clock."""

    project_id: str
    status: str
    at: float


@dataclass
class Project:
    """An audio project and its timeline."""

    id: str
    owner: str
    endpoint: Endpoint
    name: str
    created_at: float
    charge: int
    seconds: float
    """Length of the audio it renders."""
    outcome: Outcome
    timing: Timing
    status: str = "queued"
    status_since: float = 0.0
    step: int = 0
    """How many transitions it has made (stale clock entries are recognised by it)."""
    reads: int = 0
    """GETs since the last transition (poll progression)."""
    enabled: bool = True
    refunded: bool = False
    paid: bool = True
    """False for seeded projects: a refund gives nothing back, since nothing was charged."""
    history: list[Transition] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        """True once the project is ``complete``, ``error`` or ``canceled``."""
        return self.status in TERMINAL_STATUSES

    @property
    def credits_charged(self) -> int:
        """Net credits after any refund, as GET reports them."""
        return 0 if self.refunded else self.charge


@dataclass
class Upload:
    """An asset slot handed out by ``POST /v1/files/upload-urls``; ``data`` is None until PUT."""

    file_path: str
    owner: str
    kind: str
    extension: str
    expires_at: float
    data: bytes | None = None


def project_to_json(project: Project) -> dict[str, Any]:
    """A project as a JSON-able dict (persistence)."""
    outcome = project.outcome
    return {
        **{k: v for k, v in project.__dict__.items() if k not in ("endpoint", "outcome", "timing", "history")},
        "endpoint": project.endpoint.value,
        "outcome": [outcome.status, outcome.code, outcome.message],
        "timing": [project.timing.queued, project.timing.rendering],
        "history": [[t.status, t.at] for t in project.history],
    }


def project_from_json(data: dict[str, Any]) -> Project:
    """Inverse of :func:`project_to_json`."""
    fields = dict(data)
    fields["endpoint"] = Endpoint(fields["endpoint"])
    fields["outcome"] = Outcome(*fields["outcome"])
    fields["timing"] = Timing(*fields["timing"])
    fields["history"] = [Transition(fields["id"], status, at) for status, at in fields["history"]]
    return Project(**fields)
