"""HTTP faults as rules: which calls they strike, how often, and with what kind.

A :class:`Fault` targets calls by route name (:class:`~mh_mock.vendor.RouteName`, or a
``prefix*`` such as ``"storage.*"``), project id, token, namespace, the n-th matching call, or a
seeded probability. Its kind (:data:`~mh_mock.fault_kinds.FAULT_KINDS`) says what it does and
which fields it takes. The dispatcher asks :meth:`Faults.pick` before handling a call. By
default a fault strikes *before* the engine sees the call, so a faulted create creates nothing;
``after=True`` (kinds that drop the connection) lets the engine handle the call and then loses
the answer.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..fault_kinds import FAULT_KINDS, FaultKind, FaultSpec
from ..vendor import RouteName
from .rules import NumberedRules
from .tokens import token_problem

if TYPE_CHECKING:
    from ..schema import SchemaValidator

__all__ = ["TARGET_FIELDS", "Fault", "Faults", "kind_fields"]

TARGET_FIELDS: Mapping[str, Mapping[str, Any]] = {
    "route": {"type": "string", "maxLength": 100},
    "project_id": {"type": "string", "maxLength": 10_000},
    "token": {"type": "string"},
    "tenant": {"type": "string"},
    "nth": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
    "probability": {"type": "number", "minimum": 0, "maximum": 1},
    "times": {"type": ["integer", "null"], "minimum": 1, "maximum": 1_000_000},
    "after": {"type": "boolean"},
}
"""Fields every kind takes: what a fault targets and how often it strikes."""


def kind_fields() -> dict[str, Mapping[str, Any]]:
    """Every kind's own fields, with their schema (for the admin API)."""
    found: dict[str, Mapping[str, Any]] = {}
    for spec in FAULT_KINDS.values():
        for name, kind_field in spec.fields.items():
            found.setdefault(name, kind_field.schema)
    return found


@functools.cache
def _validator(kind: FaultKind, name: str) -> SchemaValidator:
    from ..schema import SchemaValidator

    schema = TARGET_FIELDS[name] if name in TARGET_FIELDS else FAULT_KINDS[kind].fields[name].schema
    return SchemaValidator(schema)


def _kind_of(data: Mapping[str, Any]) -> FaultSpec:
    """The kind a fault's JSON names, with every field known to some kind or to all."""
    if "kind" not in data:
        raise ConfigError(f"a fault needs a kind: {', '.join(FAULT_KINDS)}")
    kind = data["kind"]
    if kind not in FAULT_KINDS:
        raise ConfigError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, got {kind!r}")
    unknown = sorted(set(data) - {"kind", *TARGET_FIELDS, *kind_fields()})
    if unknown:
        valid = ", ".join(["kind", *TARGET_FIELDS, *kind_fields()])
        raise ConfigError(f"unknown fault field(s) {', '.join(unknown)}; valid fields are: {valid}")
    return FAULT_KINDS[FaultKind(kind)]


def _check_field(spec: FaultSpec, name: str, value: Any) -> None:
    """Refuse a value its field's schema refuses, or a field of another kind, naming it."""
    if name == "kind" or (value is None and name in TARGET_FIELDS):
        return
    if name not in TARGET_FIELDS and name not in spec.fields:
        takers = [str(k) for k, s in FAULT_KINDS.items() if name in s.fields]
        raise ConfigError(f"{name} only applies to {' and '.join(takers)} faults, not {spec.kind}")
    problem = token_problem(value) if name in ("token", "tenant") else _validator(spec.kind, name).error(value)
    if problem is not None:
        raise ConfigError(problem.replace("request body", name, 1))


@dataclass
class Fault:
    """One fault rule. ``times`` is how often it strikes (None: every match); ``values`` the kind's fields."""

    kind: FaultKind
    route: str | None = None
    project_id: str | None = None
    token: str | None = None
    tenant: str | None = None
    nth: int | None = None
    probability: float | None = None
    times: int | None = 1
    after: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    seen: int = 0
    """Matching calls so far."""

    @property
    def spec(self) -> FaultSpec:
        """What its kind does."""
        return FAULT_KINDS[self.kind]

    @property
    def delay(self) -> float | None:
        """Seconds to wait before answering or dropping; None: until the client gives up."""
        name = self.spec.delay
        if name is None:
            return 0.0
        value = self.values[name]
        return None if value is None else float(value)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build from admin-API or seed JSON; a field its kind does not take is an error naming the ones it does."""
        spec = _kind_of(data)
        for name, value in data.items():
            _check_field(spec, name, value)
        if data.get("after") and not spec.after_allowed:
            after = [str(k) for k, s in FAULT_KINDS.items() if s.after_allowed]
            raise ConfigError(f"after=True only applies to {' and '.join(after)} faults")
        route = data.get("route")
        if route is not None and not RouteName.matching(route):
            raise ConfigError(
                f"no route is named {route!r}; route names are: {', '.join(RouteName.values())} "
                "(or a prefix ending in *, such as storage.*)"
            )
        values = {name: data.get(name, kind_field.default) for name, kind_field in spec.fields.items()}
        targets = {name: data[name] for name in TARGET_FIELDS if name in data}
        return cls(kind=spec.kind, values=values, **targets)

    def to_json(self) -> dict[str, Any]:
        """The fault as JSON: its targets, the fields of its kind (defaults filled in), ``id`` and ``seen``."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "route": self.route,
            "project_id": self.project_id,
            "token": self.token,
            "tenant": self.tenant,
            "nth": self.nth,
            "probability": self.probability,
            "after": self.after,
            "times": self.times,
            **self.values,
            "seen": self.seen,
        }

    def matches(self, route: str, project_id: str | None, token: str | None, tenant: str | None) -> bool:
        """True if a call to ``route`` about ``project_id`` by ``token`` (of namespace ``tenant``) is targeted."""
        if self.route is not None:
            if self.route.endswith("*"):
                if not route.startswith(self.route[:-1]):
                    return False
            elif route != self.route:
                return False
        return (
            (self.project_id is None or self.project_id == project_id)
            and (self.token is None or self.token == token)
            and (self.tenant is None or self.tenant == tenant)
        )


class Faults(NumberedRules[Fault]):
    """The fault rules (ids ``fault-<n>``) of one engine, with a seeded stream for probabilities."""

    prefix = "fault"

    def __init__(self, seed: int | str | None = None) -> None:
        super().__init__()
        self._random = random.Random(seed)

    def restore(self, data: Mapping[str, Any]) -> Fault:
        """Re-add a saved fault (as :meth:`Fault.to_json` wrote it) with its id and counters."""
        fault = Fault.from_json({k: v for k, v in data.items() if k not in ("id", "seen")})
        fault.id, fault.seen = data["id"], data.get("seen", 0)
        return self.add(fault)

    def remove_scoped(self, tenant: str, tokens: Iterable[str]) -> None:
        """Drop every fault of namespace ``tenant`` or targeting one of its ``tokens``."""
        gone = set(tokens)
        self.rules = [fault for fault in self.rules if fault.tenant != tenant and fault.token not in gone]

    def pick(self, route: str, project_id: str | None, token: str | None, tenant: str | None) -> Fault | None:
        """The fault that strikes this call, if any (rules are tried in order)."""
        for fault in self.rules:
            if not fault.matches(route, project_id, token, tenant):
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
