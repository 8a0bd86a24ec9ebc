"""The records the engine keeps: accounts, projects and uploads, and how each is saved."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

from ..blob import Blob
from ..config import Outcome, Timing
from ..vendor import Endpoint
from ..vocabulary import TERMINAL_STATUSES, Status

__all__ = ["Account", "DownloadBody", "ErrorBody", "Project", "ProjectBody", "Transition", "Upload"]


class DownloadBody(TypedDict):
    url: str
    expires_at: str


class ErrorBody(TypedDict):
    message: str | None
    code: str | None


class ProjectBody(TypedDict):
    """A project as ``GET /v1/audio-projects/{id}`` answers it (the contract's schema)."""

    id: str
    name: str
    status: str
    type: str
    created_at: str
    enabled: bool
    credits_charged: int
    downloads: list[DownloadBody]
    error: ErrorBody | None


@dataclass(slots=True)
class Account:
    """One API key's account. ``charged`` and ``refunded`` keep the credit ledger."""

    token: str
    id: str
    credits: int
    email: str | None = None
    tier: str = "creator"
    charged: int = 0
    refunded: int = 0

    def to_json(self) -> dict[str, Any]:
        """As saved in the state file (the inverse of ``Account(**data)``)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Transition:
    """A status change of a project at a moment of its namespace's clock."""

    project_id: str
    status: Status
    at: float


@dataclass(slots=True, eq=False)
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
    status: Status = Status.QUEUED
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
    version: int = 0
    """Bumped on every change (an encoded answer of an older version is stale)."""

    @property
    def terminal(self) -> bool:
        """True once the project is ``complete``, ``error`` or ``canceled``."""
        return self.status in TERMINAL_STATUSES

    @property
    def credits_charged(self) -> int:
        """Net credits after any refund, as GET reports them."""
        return 0 if self.refunded else self.charge

    def to_json(self) -> dict[str, Any]:
        """As saved in the state file (the inverse of :meth:`from_json`)."""
        outcome = self.outcome
        return {
            "id": self.id,
            "owner": self.owner,
            "endpoint": self.endpoint.value,
            "name": self.name,
            "created_at": self.created_at,
            "charge": self.charge,
            "seconds": self.seconds,
            "outcome": [str(outcome.status), outcome.code, outcome.message],
            "timing": [self.timing.queued, self.timing.rendering],
            "status": self.status.value,
            "status_since": self.status_since,
            "step": self.step,
            "reads": self.reads,
            "enabled": self.enabled,
            "refunded": self.refunded,
            "paid": self.paid,
            "history": [[t.status.value, t.at] for t in self.history],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Project:
        """Inverse of :meth:`to_json`."""
        fields = dict(data)
        fields["endpoint"] = Endpoint(fields["endpoint"])
        fields["outcome"] = Outcome(*fields["outcome"])
        fields["timing"] = Timing(*fields["timing"])
        fields["status"] = Status(fields["status"])
        fields["history"] = [Transition(fields["id"], Status(status), at) for status, at in fields["history"]]
        return cls(**fields)


@dataclass(slots=True)
class Upload:
    """An asset slot handed out by ``POST /v1/files/upload-urls``; ``file`` is None until PUT."""

    file_path: str
    owner: str
    expires_at: float
    file: Blob | None = None
    """What the fake keeps of the file: size, digest and first bytes."""

    def to_json(self) -> dict[str, Any]:
        """The row saved in the state file (the file's head is saved as a blob beside it)."""
        file = self.file
        return {
            "file_path": self.file_path,
            "owner": self.owner,
            "expires_at": self.expires_at,
            "file": None if file is None else {"size": file.size, "sha256": file.sha256},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], head: bytes | None) -> Upload:
        """Inverse of :meth:`to_json`."""
        file = data["file"]
        blob = None if file is None else Blob(file["size"], file["sha256"], head or b"")
        return cls(data["file_path"], data["owner"], data["expires_at"], blob)
