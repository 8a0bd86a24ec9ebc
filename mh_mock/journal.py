"""The call journal: every request a fake saw, and helpers that read naturally in tests."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Call", "Journal"]


@dataclass(frozen=True, slots=True)
class Call:
    """One request the fake answered (or refused)."""

    seq: int
    """Position in the journal, from 0."""
    at: float
    """The fake's clock when it arrived (epoch seconds)."""
    method: str
    url: str
    route: str | None
    """Name of the route that served it (``"projects.get"``, …); None when nothing matched."""
    token: str | None
    body: Any
    """The parsed JSON body, the raw bytes for storage uploads, or None."""
    status: int
    project_id: str | None
    response: Any = None
    """The parsed JSON answer, if it was JSON."""
    fault: str | None = None
    """The kind of fault injected into this call, if any (status 0: no answer was sent)."""

    def __str__(self) -> str:
        answer = f"fault {self.fault}" if self.status == 0 else str(self.status)
        return f"{self.method} {self.url} -> {answer}"


class Journal:
    """An append-only, thread-safe list of :class:`Call`, with query helpers.

    With a ``limit``, only the most recent calls are kept (a long-running server stays small);
    ``seq`` keeps counting, so gaps show what was dropped.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._calls: deque[Call] = deque(maxlen=limit)
        self._next = 0
        self._lock = threading.Lock()

    def record(self, **fields: Any) -> Call:
        """Append a call (fields as in :class:`Call`, without ``seq``) and return it."""
        with self._lock:
            call = Call(seq=self._next, **fields)
            self._next += 1
            self._calls.append(call)
            return call

    def clear(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._calls.clear()
            self._next = 0

    def __iter__(self) -> Iterator[Call]:
        return iter(self.calls)

    def __len__(self) -> int:
        return len(self._calls)

    def __getitem__(self, index: int) -> Call:
        return self._calls[index]

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call, oldest first."""
        with self._lock:
            return list(self._calls)

    @property
    def last(self) -> Call:
        """The most recent call (IndexError if none)."""
        return self._calls[-1]

    def filter(
        self, route: str | None = None, *, method: str | None = None,
        project_id: str | None = None, token: str | None = None, status: int | None = None,
    ) -> list[Call]:  # fmt: skip
        """Calls matching every given criterion; ``route`` may end in ``*`` (``"storage.*"``)."""
        prefix = route[:-1] if route is not None and route.endswith("*") else None
        return [
            call
            for call in self.calls
            if (route is None or call.route == route or (prefix is not None and (call.route or "").startswith(prefix)))
            and (method is None or call.method == method.upper())
            and (project_id is None or call.project_id == project_id)
            and (token is None or call.token == token)
            and (status is None or call.status == status)
        ]

    def polls(self, project_id: str) -> int:
        """How many times ``GET /v1/audio-projects/{project_id}`` was called."""
        return len(self.filter("projects.get", project_id=project_id))

    def downloads(self, project_id: str | None = None) -> list[Call]:
        """Successful downloads of rendered audio (of one project if given)."""
        return self.filter("storage.download", project_id=project_id, status=200)

    def downloaded(self, project_id: str) -> bool:
        """True if the project's audio was fetched successfully at least once."""
        return bool(self.downloads(project_id))

    def unmatched(self) -> list[Call]:
        """Requests to the fake's hosts that matched no route."""
        return [call for call in self.calls if call.route is None]

    def calls_after_delete(self, project_id: str) -> list[Call]:
        """Calls about ``project_id`` made after its first successful DELETE."""
        about = [call for call in self.calls if call.project_id == project_id]
        for index, call in enumerate(about):
            if call.route == "projects.delete" and call.status == 204:
                return about[index + 1 :]
        return []

    def assert_no_calls_after_delete(self, project_id: str) -> None:
        """Fail if anything touched ``project_id`` after it was deleted (or if it never was)."""
        if not self.filter("projects.delete", project_id=project_id, status=204):
            raise AssertionError(f"project {project_id} was never deleted; calls: {self._list(project_id)}")
        late = self.calls_after_delete(project_id)
        if late:
            raise AssertionError(
                f"{len(late)} call(s) touched project {project_id} after it was deleted: "
                + "; ".join(str(call) for call in late)
            )

    def _list(self, project_id: str) -> str:
        return "; ".join(str(c) for c in self.calls if c.project_id == project_id) or "none"
