"""What tests steer about outcomes and the network: scenario rules, the random failure mode, HTTP faults.

``engine.simulation``: each method one transaction. With ``tenant``, a rule, fault or random
mode acts on that namespace's tokens only (a test's own, on a shared server).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..catalogue import AUDIO_ERROR_CODES
from .accounts import check_token
from .controls import tenant_of
from .faults import Fault
from .scenarios import RandomFailures, Rule

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Simulation"]


class Simulation:
    """The rule and fault operations of one engine (``engine.simulation``)."""

    def __init__(self, context: Context) -> None:
        self._context = context

    # ------------------------------------------------------------------ scenarios

    def rules(self, *, tenant: str | None = None) -> tuple[list[Rule], RandomFailures | None]:
        """The outcome rules (of namespace ``tenant``, if given) and its random mode."""
        with self._context.transaction() as state:
            scope = tenant_of(state, tenant)
            rules = [rule for rule in state.scenarios.rules if tenant is None or rule.tenant == tenant]
            return rules, scope.random

    def add_rule(self, rule: Rule | Mapping[str, Any]) -> Rule:
        """Add an outcome rule (a :class:`Rule` or its JSON, as the admin API takes it)."""
        built = rule if isinstance(rule, Rule) else Rule.from_json(rule, "")
        check_token(built.token, optional=True)
        with self._context.transaction() as state:
            if built.tenant is not None:
                tenant_of(state, built.tenant)
            return state.scenarios.add(built)

    def remove_rule(self, rule_id: str) -> None:
        """Drop one rule; :class:`NotFound` if there is none with that id."""
        with self._context.transaction() as state:
            state.scenarios.remove(rule_id)

    def set_random_failures(
        self, ratio: float | None, codes: Iterable[str] | None = None, *, tenant: str | None = None
    ) -> None:
        """Seeded soak mode: ``ratio`` of new jobs (of namespace ``tenant``) fail with ``codes`` (None: off)."""
        with self._context.transaction() as state:
            random = (
                None
                if ratio is None
                else RandomFailures.build(ratio, AUDIO_ERROR_CODES if codes is None else codes, state.config.seed)
            )
            tenant_of(state, tenant).random = random

    def clear_scenarios(self, *, tenant: str | None = None) -> None:
        """Drop every rule and the random mode (or only those of namespace ``tenant``)."""
        with self._context.transaction() as state:
            scope = tenant_of(state, tenant)
            scope.random = None
            if tenant is None:
                state.scenarios.clear()
            else:
                state.scenarios.remove_scoped(tenant, ())

    # ------------------------------------------------------------------ faults

    def faults(self, *, tenant: str | None = None) -> list[Fault]:
        """The faults waiting to strike (of namespace ``tenant``, if given)."""
        with self._context.transaction() as state:
            if tenant is not None:
                tenant_of(state, tenant)
            return [fault for fault in state.faults.rules if tenant is None or fault.tenant == tenant]

    def add_fault(self, fault: Fault | Mapping[str, Any]) -> Fault:
        """Add an HTTP fault (a :class:`Fault` or its JSON)."""
        built = fault if isinstance(fault, Fault) else Fault.from_json(fault)
        check_token(built.token, optional=True)
        with self._context.transaction() as state:
            if built.tenant is not None:
                tenant_of(state, built.tenant)
            return state.faults.add(built)

    def remove_fault(self, fault_id: str) -> None:
        """Drop one fault; :class:`NotFound` if there is none with that id."""
        with self._context.transaction() as state:
            state.faults.remove(fault_id)

    def clear_faults(self, *, tenant: str | None = None) -> None:
        """Drop every fault (or only those of namespace ``tenant``)."""
        with self._context.transaction() as state:
            if tenant is None:
                state.faults.clear()
            else:
                state.faults.remove_scoped(tenant, ())

    def pick_fault(self, route: str, project_id: str | None, token: str | None) -> Fault | None:
        """The fault that strikes this call, if any (the dispatcher asks before every call)."""
        state = self._context.state
        if not state.faults.rules:
            return None
        with self._context.transaction() as state:
            key = None if token is None else state.clock_key(token) or None
            return state.faults.pick(route, project_id, token, key)
