"""The call journal: every request a fake saw, with queries and assertions that read well in tests.

Entries are lean: JSON bodies and answers are kept as their text (bytes) up to 8 KiB and parsed
only when read; binary bodies (uploads, downloads) only as their size and SHA-256; a rejected
body only as its size and a short prefix. With a ``limit`` only the most recent calls are kept.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

__all__ = ["Call", "Journal", "body_matches"]


def _loaded(kept: Any) -> Any:
    """A kept body: JSON text is parsed when read (memory holds bytes, not objects)."""
    return json.loads(kept) if isinstance(kept, bytes) else kept


class Call(NamedTuple):
    """One request the fake answered (or refused, or dropped): an immutable record (a named tuple: one
    is built per request, and a tuple is built fastest)."""

    seq: int
    """Position in the journal, from 0 (kept counting when old entries are dropped)."""
    at: float
    """The fake's clock when it arrived (epoch seconds)."""
    method: str
    url: str
    route: str | None
    """Name of the route that served it (``"projects.get"``, see :class:`~mh_mock.vocabulary.RouteName`);
    None when nothing matched."""
    token: str | None
    """The bearer token it carried."""
    kept_body: Any
    """The body as kept: JSON text, a summary, or None (read :attr:`body`)."""
    status: int
    """The status the client received; 0 when it received no answer (a dropped, refused or timed-out connection)."""
    project_id: str | None
    kept_response: Any = None
    """The answer as kept: JSON text, a summary, or None (read :attr:`response`)."""
    fault: str | None = None
    """The kind of fault injected into this call, if any."""
    handled: bool = True
    """False when a fault struck before the engine saw the call (nothing changed)."""
    owner: str | None = None
    """The token the call was about: the caller's, or for storage calls the owner of the upload or project."""
    tenant: str | None = None
    """The namespace of that token on a shared server (None: the fake's own)."""

    @property
    def body(self) -> Any:
        """The JSON body; ``{"bytes", "sha256"}`` for binary uploads; ``{"bytes", "prefix"}`` if refused."""
        return _loaded(self.kept_body)

    @property
    def response(self) -> Any:
        """The JSON answer the engine gave (also when a fault then lost it); ``{"bytes", "sha256"}`` for audio."""
        return _loaded(self.kept_response)

    def __str__(self) -> str:
        answer = f"no answer ({self.fault})" if self.status == 0 else str(self.status)
        text = f"{self.method} {self.url} -> {answer}"
        if self.body is not None and self.method in ("POST", "PUT"):
            body = json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))
            text += f" body={body[:120]}{'…' if len(body) > 120 else ''}"
        return text


def body_matches(body: Any, expected: Any) -> bool:
    """True if ``expected`` is contained in ``body``: every key of a mapping matches recursively, other values equal."""
    if isinstance(expected, Mapping):
        return isinstance(body, Mapping) and all(k in body and body_matches(body[k], v) for k, v in expected.items())
    return bool(body == expected)


class Journal:
    """A thread-safe list of :class:`Call`, with query helpers and assertions."""

    def __init__(self, limit: int | None = None) -> None:
        self._calls: deque[Call] = deque(maxlen=limit)
        self._next = 0
        self._lock = threading.Lock()

    @property
    def limit(self) -> int | None:
        """How many calls are kept (None: all)."""
        return self._calls.maxlen

    def record(self, *, body: Any = None, response: Any = None, **fields: Any) -> Call:
        """Append a call (fields as in :class:`Call`, without ``seq``; ``body`` and ``response`` as kept) and
        return it."""
        with self._lock:
            call = Call(seq=self._next, kept_body=body, kept_response=response, **fields)
            self._next += 1
            self._calls.append(call)
            return call

    def add(self, *fields: Any) -> Call:
        """Append a call given its fields in :class:`Call`'s order, all but ``seq`` (:meth:`record`'s fast
        twin, for the adapters: one call of it per request) and return it."""
        with self._lock:
            call = Call(self._next, *fields)
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

    def forget(self, tenant: str) -> None:
        """Drop the calls of namespace ``tenant`` (it was removed)."""
        with self._lock:
            kept = [call for call in self._calls if call.tenant != tenant]
            if len(kept) != len(self._calls):
                self._calls = deque(kept, maxlen=self._calls.maxlen)

    # ------------------------------------------------------------------ queries

    def filter(
        self,
        route: str | None = None,
        *,
        method: str | None = None,
        project_id: str | None = None,
        token: str | None = None,
        status: int | None = None,
        body: Any = None,
        fault: str | None = None,
        owner: str | None = None,
    ) -> list[Call]:
        """Calls matching every given criterion.

        ``route`` is a name (``RouteName.PROJECTS_GET``) or a prefix ending in ``*``
        (``"storage.*"``); ``body`` matches calls whose JSON body contains it (nested mappings
        match by their keys: ``body={"style": {"voice_name": "Elon Musk"}}``). ``token`` matches the
        calls made with that key and the calls about its uploads and projects (storage calls carry
        no key), as the admin API's filter does; ``owner`` only the latter.
        """
        wanted = {
            "method": None if method is None else method.upper(),
            "project_id": project_id,
            "status": status,
            "fault": fault,
        }
        checks = [(name, value) for name, value in wanted.items() if value is not None]
        return [
            call
            for call in self.calls
            if _route_matches(call.route, route)
            and all(getattr(call, name) == value for name, value in checks)
            and (token is None or token in (call.token, call.owner))
            and (owner is None or call.owner == owner)
            and (body is None or body_matches(call.body, body))
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

    # ------------------------------------------------------------------ assertions

    def assert_called(self, route: str | None = None, *, times: int | None = None, **criteria: Any) -> list[Call]:
        """Fail unless calls match (exactly ``times`` of them, if given); returns the matching calls.

        The message says what was expected and lists the calls that were seen.
        """
        found = self.filter(route, **criteria)
        if (times is None and not found) or (times is not None and len(found) != times):
            wanted = "at least one call" if times is None else f"{times} call{'' if times == 1 else 's'}"
            raise AssertionError(f"expected {wanted} {_describe(route, criteria)}, found {len(found)}.\n{self._seen()}")
        return found

    def assert_not_called(self, route: str | None = None, **criteria: Any) -> None:
        """Fail if any call matches; the message lists the ones that did."""
        found = self.filter(route, **criteria)
        if found:
            listed = "\n".join(f"  {call}" for call in found)
            raise AssertionError(f"expected no call {_describe(route, criteria)}, found {len(found)}:\n{listed}")

    def assert_no_calls_after_delete(self, project_id: str) -> None:
        """Fail if anything touched ``project_id`` after it was deleted (or if it never was)."""
        if not self.filter("projects.delete", project_id=project_id, status=204):
            mentioned = "; ".join(str(c) for c in self.calls if c.project_id == project_id) or "none"
            raise AssertionError(f"project {project_id} was never deleted; calls about it: {mentioned}")
        late = self.calls_after_delete(project_id)
        if late:
            raise AssertionError(
                f"{len(late)} call(s) touched project {project_id} after it was deleted: "
                + "; ".join(str(call) for call in late)
            )

    def _seen(self, most: int = 20) -> str:
        calls = self.calls
        if not calls:
            return "No calls were seen."
        shown = "\n".join(f"  {call}" for call in calls[-most:])
        more = f" (the last {most})" if len(calls) > most else ""
        return f"Calls seen{more}:\n{shown}"


def _route_matches(name: str | None, route: str | None) -> bool:
    if route is None:
        return True
    route = str(route)
    if route.endswith("*"):
        return (name or "").startswith(route[:-1])
    return name == route


def _describe(route: str | None, criteria: Mapping[str, Any]) -> str:
    parts = [f"to {route}" if route is not None else "to any route"]
    parts += [f"with {name}={value!r}" for name, value in criteria.items() if value is not None]
    return " ".join(parts)
