"""HTTP-layer faults as data: which calls they strike, how often, and what kind they are.

A :class:`Fault` targets calls by route name (:class:`~mh_mock.vocabulary.RouteName`, or a
``prefix*`` such as ``"storage.*"``), project id, token, the n-th matching call, or a seeded
probability. The dispatcher asks :meth:`Faults.pick` before handling a call and gives the fault
its HTTP meaning (a 429, a 5xx, a dropped connection). By default a fault strikes *before* the
engine sees the call, so a faulted create creates nothing; ``after=True`` (``reset`` and
``timeout`` only) lets the engine handle the call and then loses the answer.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError
from ..vocabulary import FaultKind, RouteName
from .rules import NumberedRules

__all__ = ["SERVER_ERROR_STATUSES", "Fault", "Faults"]

SERVER_ERROR_STATUSES = (500, 502, 503)
"""Statuses a ``server_error`` fault may answer with."""

_NUMBERS = ("nth", "probability", "times", "status", "retry_after", "seconds")


@dataclass
class Fault:
    """One fault rule. ``times`` is how often it strikes (None: every match)."""

    kind: FaultKind
    route: str | None = None
    """A route name (``projects.get``) or a prefix ending in ``*`` (``storage.*``)."""
    project_id: str | None = None
    token: str | None = None
    nth: int | None = None
    """Strike only on the n-th matching call (1-based)."""
    probability: float | None = None
    times: int | None = 1
    status: int | None = None
    """``server_error``: 500 (default), 502 or 503; ``rate_limit``: always 429."""
    retry_after: int | None = None
    """``rate_limit``: seconds in the ``Retry-After`` header (default 1)."""
    seconds: float | None = None
    """``latency``: added delay (default 0); ``timeout``: how long a standalone server stalls (default 30)."""
    after: bool = False
    id: str = ""
    seen: int = 0
    """Matching calls so far."""

    def __post_init__(self) -> None:
        if self.kind not in FaultKind.values():
            raise ConfigError(f"fault kind must be one of {', '.join(FaultKind.values())}, got {self.kind!r}")
        self.kind = FaultKind(self.kind)
        for name in ("route", "project_id", "token"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ConfigError(f"fault field {name} must be a string, got {getattr(self, name)!r}")
        for name in _NUMBERS:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
                raise ConfigError(f"fault field {name} must be a number, got {value!r}")
        if self.route is not None and not RouteName.matching(self.route):
            raise ConfigError(
                f"no route is named {self.route!r}; route names are: {', '.join(RouteName.values())} "
                "(or a prefix ending in *, such as storage.*)"
            )
        self._check_kind_fields()
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ConfigError(f"probability must be between 0 and 1, got {self.probability}")
        if self.nth is not None and self.nth < 1:
            raise ConfigError(f"nth counts from 1, got {self.nth}")
        if self.times is not None and self.times < 1:
            raise ConfigError(f"times must be >= 1 or null (every match), got {self.times}")

    def _check_kind_fields(self) -> None:
        kind = self.kind
        if self.status is not None and kind is not FaultKind.SERVER_ERROR:
            raise ConfigError(f"status only applies to server_error faults, not {kind}")
        if kind is FaultKind.SERVER_ERROR and self.status is not None and self.status not in SERVER_ERROR_STATUSES:
            raise ConfigError(f"a server_error status is 500, 502 or 503, got {self.status}")
        if self.retry_after is not None and (kind is not FaultKind.RATE_LIMIT or self.retry_after < 0):
            raise ConfigError(f"retry_after is a number of seconds >= 0 for rate_limit faults, got {self.retry_after}")
        if self.seconds is not None and (kind not in (FaultKind.LATENCY, FaultKind.TIMEOUT) or self.seconds < 0):
            raise ConfigError(f"seconds is a delay >= 0 for latency and timeout faults, got {self.seconds}")
        if self.after and kind not in (FaultKind.RESET, FaultKind.TIMEOUT):
            raise ConfigError("after=True only applies to 'reset' and 'timeout' faults")

    @property
    def http_status(self) -> int | None:
        """The status a ``rate_limit`` or ``server_error`` fault answers with (None for the others)."""
        if self.kind is FaultKind.RATE_LIMIT:
            return 429
        if self.kind is FaultKind.SERVER_ERROR:
            return self.status or 500
        return None

    @property
    def delay(self) -> float:
        """Seconds of latency, or of the stall before a timeout."""
        default = 30.0 if self.kind is FaultKind.TIMEOUT else 0.0
        return default if self.seconds is None else float(self.seconds)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build from admin-API or seed JSON; unknown fields are an error naming the valid ones."""
        valid = [f.name for f in fields(cls) if f.name not in ("id", "seen")]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ConfigError(f"unknown fault field(s) {', '.join(unknown)}; valid fields are: {', '.join(valid)}")
        if "kind" not in data:
            raise ConfigError(f"a fault needs a kind: {', '.join(FaultKind.values())}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        """The fault as JSON: the fields that apply to its kind, plus ``id`` and ``seen``."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind.value}
        for name in ("route", "project_id", "token", "nth", "probability", "after"):
            out[name] = getattr(self, name)
        out["times"] = self.times
        if self.kind is FaultKind.RATE_LIMIT:
            out["status"], out["retry_after"] = 429, 1 if self.retry_after is None else self.retry_after
        elif self.kind is FaultKind.SERVER_ERROR:
            out["status"] = self.http_status
        elif self.kind in (FaultKind.LATENCY, FaultKind.TIMEOUT):
            out["seconds"] = self.delay
        out["seen"] = self.seen
        return out

    def matches(self, route: str, project_id: str | None, token: str | None) -> bool:
        """True if a call to ``route`` about ``project_id`` by ``token`` is targeted."""
        if self.route is not None:
            if self.route.endswith("*"):
                if not route.startswith(self.route[:-1]):
                    return False
            elif route != self.route:
                return False
        return (self.project_id is None or self.project_id == project_id) and (
            self.token is None or self.token == token
        )


class Faults(NumberedRules[Fault]):
    """The fault rules (ids ``fault-<n>``) of one engine, with a seeded stream for probabilities."""

    prefix = "fault"

    def __init__(self, seed: int | str | None = None) -> None:
        super().__init__()
        self._random = random.Random(seed)

    def restore(self, data: Mapping[str, Any]) -> Fault:
        """Re-add a saved fault (as :meth:`Fault.to_json` wrote it) with its id and counters."""
        fields_ = {k: v for k, v in data.items() if k not in ("id", "seen")}
        if fields_.get("kind") == FaultKind.RATE_LIMIT:
            fields_.pop("status", None)
        fault = Fault.from_json(fields_)
        fault.id, fault.seen = data["id"], data.get("seen", 0)
        return self.add(fault)

    def remove_scoped(self, token: str) -> None:
        """Drop every fault that targets ``token`` (a tenant's reset)."""
        self.rules = [fault for fault in self.rules if fault.token != token]

    def pick(self, route: str, project_id: str | None, token: str | None) -> Fault | None:
        """The fault that strikes this call, if any (rules are tried in order)."""
        for fault in self.rules:
            if not fault.matches(route, project_id, token):
                continue
            fault.seen += 1
            if fault.nth is not None and fault.seen != fault.nth:
                continue
            if fault.probability is not None and self._random.random() >= fault.probability:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times == 0:
                    self.rules.remove(fault)
            return fault
        return None
