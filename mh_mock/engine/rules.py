"""Ordered, numbered rule lists: the shape shared by outcome scenarios and HTTP faults."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from ..errors import NotFound
from .ids import counter_of

__all__ = ["NumberedRules"]


class Identified(Protocol):
    """Anything with a settable ``id``."""

    id: str


T = TypeVar("T", bound=Identified)


class NumberedRules(Generic[T]):
    """An ordered list of rules, each with an id ``<prefix>-<n>`` (kept if it already has one)."""

    prefix = "rule"

    def __init__(self) -> None:
        self.rules: list[T] = []
        self._counter = 0

    @property
    def issued(self) -> int:
        """How many ids have been given out (a restart carries it on, so no id is ever reused)."""
        return self._counter

    def carry_on_from(self, issued: int) -> None:
        """Number new rules after ``issued`` (saved by an earlier run) at least."""
        self._counter = max(self._counter, issued)

    def add(self, rule: T) -> T:
        """Append ``rule``, giving it the next id unless it has one."""
        if rule.id:
            self._counter = max(self._counter, counter_of(rule.id))
        else:
            self._counter += 1
            rule.id = f"{self.prefix}-{self._counter}"
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> None:
        """Drop one rule; :class:`~mh_mock.errors.NotFound` naming it if there is none with that id."""
        kept = [rule for rule in self.rules if rule.id != rule_id]
        if len(kept) == len(self.rules):
            raise NotFound(f"No {self.prefix} {rule_id!r}")
        self.rules = kept

    def clear(self) -> None:
        """Drop every rule."""
        self.rules.clear()
