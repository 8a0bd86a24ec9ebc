"""The ``mh_time`` fixture's object: the fake's clock and progression, for one test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mh_mock.control.remote import Control
    from mh_mock.control.views import ProjectView

__all__ = ["TimeControl"]


class TimeControl:
    """Move the fake's clock, finish jobs, and choose what drives progress (clock or polls)."""

    def __init__(self, control: Control) -> None:
        self._control = control

    def now(self) -> float:
        """The fake's current time, in epoch seconds."""
        return self._control.now()

    def advance(self, seconds: float) -> float:
        """Move the clock forward; transitions that fall due happen in order. Returns the new time."""
        return float(self._control.advance(seconds)["epoch"])

    def finish(self, project_id: str | None = None) -> list[ProjectView]:
        """Run a project (or every unfinished one) to its terminal status now."""
        return self._control.finish(project_id)

    def step(self, project_id: str) -> ProjectView:
        """Move one project a single status on."""
        return self._control.step(project_id)

    @property
    def progression(self) -> str:
        """``"poll"`` or ``"clock"``."""
        return str(self._control.state()["progression"])

    @progression.setter
    def progression(self, mode: str) -> None:
        self._control.set_progression(mode)

    @contextmanager
    def clock_driven(self) -> Iterator[TimeControl]:
        """Inside the block, only the clock moves jobs on (``advance``); the old mode comes back after."""
        yield from self._switched("clock")

    @contextmanager
    def poll_driven(self) -> Iterator[TimeControl]:
        """Inside the block, each GET moves a job one status on; the old mode comes back after."""
        yield from self._switched("poll")

    def _switched(self, mode: str) -> Iterator[TimeControl]:
        previous = self.progression
        self.progression = mode
        try:
            yield self
        finally:
            self.progression = previous
