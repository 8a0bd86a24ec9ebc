"""Faults at the HTTP layer: latency, 429, 5xx, dropped connections and stalled answers.

A :class:`Fault` targets calls by route (``"projects.get"``, ``"storage.*"``), project id, token,
the n-th matching call, or a seeded probability. The dispatcher asks :meth:`Faults.pick` before
handling a call. By default every fault strikes *before* the engine sees the call, so a faulted
create creates nothing; ``after=True`` (``reset`` and ``timeout`` only) lets the engine handle
the call and then loses the answer, as when a network drops a response already processed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from .errors import ConfigError
from .ids import NumberedRules

__all__ = ["FAULT_KINDS", "Fault", "Faults"]

FAULT_KINDS = ("latency", "rate_limit", "server_error", "reset", "refused", "timeout")
"""What a fault does: add delay; answer 429; answer 500/502/503; drop the connection; refuse it; stall."""

_SERVER_ERRORS = MappingProxyType(
    {
        500: ("internal_server_error", "Internal Server Error"),
        502: ("bad_gateway", "Bad Gateway"),
        503: ("service_unavailable", "Service Unavailable"),
    }
)


_TYPES: Mapping[str, tuple[type, ...]] = MappingProxyType(
    {
        "kind": (str,), "route": (str,), "project_id": (str,), "token": (str,), "nth": (int,),
        "probability": (int, float), "times": (int,), "status": (int,), "retry_after": (int,),
        "seconds": (int, float), "after": (bool,),
    }
)  # fmt: skip
_TYPE_WORDS = MappingProxyType(
    {
        name: "a string" if kinds == (str,) else "true or false" if kinds == (bool,) else "a number"
        for name, kinds in _TYPES.items()
    }
)


@dataclass
class Fault:
    """One fault rule. ``times`` is how often it strikes (None: every match)."""

    kind: str
    route: str | None = None
    project_id: str | None = None
    token: str | None = None
    nth: int | None = None
    """Strike only on the n-th matching call (1-based)."""
    probability: float | None = None
    times: int | None = 1
    status: int = 500
    """``server_error``: 500, 502 or 503."""
    retry_after: int = 1
    """``rate_limit``: seconds in the ``Retry-After`` header."""
    seconds: float = 0.0
    """``latency``: added delay; ``timeout``: how long the standalone server stalls (default 30 s)."""
    after: bool = False
    id: str = ""
    seen: int = 0
    """Matching calls so far."""

    def __post_init__(self) -> None:
        for name, kinds in _TYPES.items():
            value = getattr(self, name)
            if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
                raise ConfigError(f"fault field {name} must be {_TYPE_WORDS[name]}, got {value!r}")
        if self.seconds < 0 or self.retry_after < 0:
            raise ConfigError("seconds and retry_after must be >= 0")
        if self.kind not in FAULT_KINDS:
            raise ConfigError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, got {self.kind!r}")
        if self.kind == "server_error" and self.status not in _SERVER_ERRORS:
            raise ConfigError(f"a server_error status is 500, 502 or 503, got {self.status}")
        if self.after and self.kind not in ("reset", "timeout"):
            raise ConfigError("after=True only applies to 'reset' and 'timeout' faults")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ConfigError(f"probability must be between 0 and 1, got {self.probability}")
        if self.nth is not None and self.nth < 1:
            raise ConfigError(f"nth counts from 1, got {self.nth}")
        if self.times is not None and self.times < 1:
            raise ConfigError(f"times must be >= 1 or null (every match), got {self.times}")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build from admin-API JSON; unknown fields are an error naming the valid ones."""
        valid = [f.name for f in fields(cls) if f.name not in ("id", "seen")]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ConfigError(f"unknown fault field(s) {', '.join(unknown)}; valid fields are: {', '.join(valid)}")
        try:
            return cls(**data)
        except TypeError as error:
            raise ConfigError(f"bad fault {dict(data)!r}: {error}") from None

    def describe(self) -> dict[str, Any]:
        """The fault as JSON."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

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

    def error_body(self) -> tuple[int, dict[str, str], dict[str, str]]:
        """Status, JSON body and headers of a ``rate_limit`` or ``server_error`` answer."""
        if self.kind == "rate_limit":
            message = f"Too Many Requests: retry after {self.retry_after} s"
            return 429, {"code": "rate_limited", "message": message}, {"retry-after": str(self.retry_after)}
        code, message = _SERVER_ERRORS[self.status]
        return self.status, {"code": code, "message": message}, {}


class Faults(NumberedRules[Fault]):
    """The fault rules (ids ``fault-<n>``) of one engine, with a seeded stream for probabilities."""

    prefix = "fault"

    def __init__(self, seed: int | str | None = None) -> None:
        super().__init__()
        self._random = random.Random(seed)

    def restore(self, data: Mapping[str, Any]) -> Fault:
        """Re-add a saved fault with its id and counters."""
        fields_ = dict(data)
        fault_id, seen = fields_.pop("id"), fields_.pop("seen", 0)
        fault = Fault(**fields_)
        fault.id, fault.seen = fault_id, seen
        return self.add(fault)

    def pick(self, route: str, project_id: str | None, token: str | None) -> Fault | None:
        """The fault that strikes this call, if any (rules are tried in order)."""
        if not self.rules:
            return None
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
