"""The words of the API and of the fake, as string enums: one definition each.

The vendor's routes and job kinds are declared in :mod:`mh_mock.vendor`, fault kinds in
:mod:`mh_mock.fault_kinds`.

Every enum here is a ``str`` subclass whose ``str()`` is its value, so members compare equal to
the strings the API writes (``Status.COMPLETE == "complete"``) and serialise as them.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["TERMINAL_STATUSES", "Event", "Progression", "Status", "StrEnum", "Tier"]


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
