"""The words of the API and of the fake, as string enums: one definition each.

Every enum here is a ``str`` subclass whose ``str()`` is its value, so members compare equal to
the strings the API writes (``Status.COMPLETE == "complete"``) and serialise as them.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "TERMINAL_STATUSES",
    "Endpoint",
    "Event",
    "FaultKind",
    "Progression",
    "RouteName",
    "Status",
    "StrEnum",
    "Tier",
]


class StrEnum(str, Enum):
    """A string enum whose ``str()`` and ``format()`` are its value (as ``enum.StrEnum`` on 3.11)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Every value, in declaration order."""
        return tuple(member.value for member in cls)


class Status(StrEnum):
    """Where a project is in its life (contract: GET /v1/audio-projects/{id} ``status``; ``draft`` is never used)."""

    QUEUED = "queued"
    RENDERING = "rendering"
    COMPLETE = "complete"
    ERROR = "error"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        """True for the statuses a project never leaves."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({Status.COMPLETE, Status.ERROR, Status.CANCELED})
"""Statuses a project never leaves."""


class Event(StrEnum):
    """Webhook event types (contract: webhooks-audio.json)."""

    STARTED = "audio.started"
    COMPLETED = "audio.completed"
    ERRORED = "audio.errored"

    @classmethod
    def for_status(cls, status: str) -> Event | None:
        """The event a project fires on entering ``status`` (none for queued and canceled)."""
        return _EVENT_OF_STATUS.get(status)


_EVENT_OF_STATUS: dict[str, Event] = {
    Status.RENDERING: Event.STARTED,
    Status.COMPLETE: Event.COMPLETED,
    Status.ERROR: Event.ERRORED,
}


class Endpoint(StrEnum):
    """The three audio-creating endpoints."""

    VOICE_GENERATOR = "voice_generator"
    VOICE_CLONER = "voice_cloner"
    MUSIC_GENERATOR = "music_generator"

    @property
    def project_type(self) -> str:
        """The ``type`` field of projects made by this endpoint."""
        return self.value.upper()

    @property
    def label(self) -> str:
        """Human name, used in default project names ("Voice Generator - …")."""
        return self.value.replace("_", " ").title()


class Progression(StrEnum):
    """What moves a project from one status to the next."""

    CLOCK = "clock"
    """The fake's clock: a status lasts its timing."""
    POLL = "poll"
    """Reads: every ``reads_per_step`` GETs of a project move it one status on."""


class Tier(StrEnum):
    """Account tiers (contract: GET /v1/account ``tier``)."""

    FREE = "free"
    CREATOR = "creator"
    PRO = "pro"
    BUSINESS = "business"


class FaultKind(StrEnum):
    """What an injected HTTP fault does."""

    LATENCY = "latency"
    """Answer normally, after ``seconds`` of delay."""
    RATE_LIMIT = "rate_limit"
    """Answer 429 with ``Retry-After``."""
    SERVER_ERROR = "server_error"
    """Answer 500, 502 or 503."""
    RESET = "reset"
    """Drop the connection (in-process: ``httpx.ReadError``)."""
    REFUSED = "refused"
    """Refuse the connection (in-process: ``httpx.ConnectError``)."""
    TIMEOUT = "timeout"
    """Stall, then drop (in-process: ``httpx.ReadTimeout``)."""

    @property
    def answers(self) -> bool:
        """True if the fault still sends an HTTP answer (an error status or a late one)."""
        return self in (FaultKind.LATENCY, FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR)


class RouteName(StrEnum):
    """Names of the vendor and storage routes, as the journal and fault targets use them."""

    VOICE_GENERATOR_CREATE = "voice_generator.create"
    VOICE_CLONER_CREATE = "voice_cloner.create"
    MUSIC_GENERATOR_CREATE = "music_generator.create"
    PROJECTS_GET = "projects.get"
    PROJECTS_DELETE = "projects.delete"
    FILES_UPLOAD_URLS = "files.upload_urls"
    ACCOUNT_GET = "account.get"
    STORAGE_UPLOAD = "storage.upload"
    STORAGE_DOWNLOAD = "storage.download"

    @classmethod
    def matching(cls, pattern: str) -> list[RouteName]:
        """The routes a name or a ``prefix*`` pattern selects."""
        if pattern.endswith("*"):
            return [name for name in cls if name.value.startswith(pattern[:-1])]
        return [name for name in cls if name.value == pattern]
