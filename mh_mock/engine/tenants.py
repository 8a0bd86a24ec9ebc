"""Namespaces: the fake's own, and one per test run on a shared server.

A :class:`Tenant` is a set of tokens with their own clock, progression, options and random
failure mode. Every token belongs to the fake's own namespace (key None) unless it joined
another; a token's projects run on its namespace's clock, and rules, faults and webhook
endpoints made for a namespace act on its tokens only. A namespace may hold a *lease*: when no
call has touched it for that many (real) seconds, the engine forgets it, so a test run that was
killed leaves nothing behind.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..vocabulary import Progression

if TYPE_CHECKING:
    from ..config import Config
    from .scenarios import RandomFailures

__all__ = ["Due", "Tenant"]

Due = tuple[float, int, str, int]
"""A scheduled clock transition: (when, sequence, project id, the project's step it was scheduled at)."""


@dataclass(slots=True, eq=False)
class Tenant:
    """A namespace: its tokens, clock, progression and options (``key`` None: the fake's own)."""

    key: str | None
    clock: Clock
    config: Config
    """The options in force for its tokens: the fake's, with :attr:`options` over them."""
    progression: Progression
    options: dict[str, Any] = field(default_factory=dict)
    """The namespace's own options, as JSON (saved; a restart lays them over the fake's again)."""
    tokens: set[str] = field(default_factory=set)
    lease: float | None = None
    """Seconds without a call after which the namespace is forgotten (None: never)."""
    expires: float = math.inf
    """When the lease runs out (``time.monotonic()``)."""
    random: RandomFailures | None = None
    due: list[Due] = field(default_factory=list)

    def touch(self) -> None:
        """A call of one of its tokens: the lease starts again."""
        if self.lease is not None:
            self.expires = time.monotonic() + self.lease

    def to_json(self) -> dict[str, Any]:
        """As saved in the state file (its tokens' accounts, projects and rules are saved elsewhere)."""
        random = self.random
        return {
            "key": self.key,
            "clock": self.clock.snapshot(),
            "progression": self.progression.value,
            "options": self.options,
            "tokens": sorted(self.tokens),
            "lease": self.lease,
            "random": None if random is None else [random.ratio, list(random.codes)],
        }
