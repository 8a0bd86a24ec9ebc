"""Scenarios: rules that decide how jobs end, and a seeded random failure mode.

A :class:`Rule` matches new jobs by endpoint, token, namespace, name or prompt (substring), for a
number of jobs or forever, and gives them an :class:`~mh_mock.config.Outcome` and optionally
durations. Rules are tried in the order they were added; the first that matches wins and uses
up one of its ``times``. Without a matching rule, the namespace's :class:`RandomFailures` (if
set) fails a seeded fraction.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..catalogue import AUDIO_ERROR_CODES, JOB_ERRORS
from ..config import Outcome, Timing, to_jsonable
from ..errors import ConfigError
from ..vendor import JOBS, Endpoint
from .rules import NumberedRules

__all__ = ["RandomFailures", "Rule", "Scenarios"]


@dataclass
class Rule:
    """Give matching new jobs ``outcome`` (and ``timing``), ``times`` times or forever (None).

    ``token`` targets one token's jobs; ``tenant`` keeps the rule to one namespace's tokens."""

    outcome: Outcome
    endpoint: Endpoint | None = None
    token: str | None = None
    tenant: str | None = None
    name_contains: str | None = None
    prompt_contains: str | None = None
    times: int | None = None
    timing: Timing | None = None
    id: str = ""

    def matches(self, endpoint: Endpoint, token: str, tenant: str | None, name: str | None, prompt: str) -> bool:
        """True if a new job with these properties is one this rule decides."""
        return (
            (self.times is None or self.times > 0)
            and (self.endpoint is None or self.endpoint is endpoint)
            and (self.token is None or self.token == token)
            and (self.tenant is None or self.tenant == tenant)
            and (self.name_contains is None or self.name_contains in (name or ""))
            and (self.prompt_contains is None or self.prompt_contains in prompt)
        )

    def to_json(self) -> dict[str, Any]:
        """The rule as JSON (what :meth:`from_json` reads back, plus ``id``)."""
        return {key: to_jsonable(value) for key, value in self.__dict__.items() if value is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], rule_id: str) -> Rule:
        """Build a rule from admin-API or seed JSON; unknown keys are an error naming the valid ones."""
        valid = {"outcome", "endpoint", "token", "tenant", "name_contains", "prompt_contains", "times", "timing"}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ConfigError(
                f"unknown scenario field(s) {', '.join(unknown)}; valid fields are: {', '.join(sorted(valid))}"
            )
        if "outcome" not in data:
            raise ConfigError("a scenario needs an outcome: complete, canceled, error or error:<code>")
        times = data.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ConfigError(f"times must be a positive integer or null (forever), got {times!r}")
        for name in ("token", "tenant", "name_contains", "prompt_contains", "endpoint"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ConfigError(f"{name} must be a string, got {data[name]!r}")
        endpoint = data.get("endpoint")
        if endpoint and endpoint not in JOBS:
            raise ConfigError(f"endpoint must be one of {', '.join(JOBS)}, got {endpoint!r}")
        timing = data.get("timing")
        try:
            return cls(
                outcome=Outcome.parse(data["outcome"]),
                endpoint=Endpoint(endpoint) if endpoint else None,
                token=data.get("token"),
                tenant=data.get("tenant"),
                name_contains=data.get("name_contains"),
                prompt_contains=data.get("prompt_contains"),
                times=times,
                timing=_timing(timing),
                id=rule_id,
            )
        except ConfigError:
            raise
        except (TypeError, ValueError) as error:
            raise ConfigError(f"bad scenario {dict(data)!r}: {error}") from None


def _timing(value: Any) -> Timing | None:
    if value is None:
        return None
    if isinstance(value, (Timing, Mapping)) or (
        isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
    ):
        return Timing.parse(value)
    raise ConfigError(f"timing is [queued, rendering] seconds, got {value!r}")


@dataclass
class RandomFailures:
    """Fail a seeded fraction ``ratio`` of jobs with codes drawn from ``codes``."""

    ratio: float
    codes: tuple[str, ...] = AUDIO_ERROR_CODES
    seed: int | str | None = None
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.ratio, (int, float)) or isinstance(self.ratio, bool) or not 0 <= self.ratio <= 1:
            raise ConfigError(f"the failure ratio must be a number between 0 and 1, got {self.ratio!r}")
        if not self.codes or not all(isinstance(code, str) and code for code in self.codes):
            raise ConfigError(f"random failures need a list of error codes, got {self.codes!r}")
        unknown = sorted(set(self.codes) - set(JOB_ERRORS))
        if unknown:
            raise ConfigError(
                f"unknown job error code(s) {', '.join(unknown)}; known codes are: {', '.join(JOB_ERRORS)}"
            )
        self._random = random.Random(self.seed)

    @classmethod
    def build(cls, ratio: Any, codes: Any, seed: int | str | None) -> RandomFailures:
        """From JSON-ish values: ``codes`` must be a list of strings, not one string."""
        if isinstance(codes, str) or not isinstance(codes, Iterable):
            raise ConfigError(f"codes must be a list of error codes, got {codes!r}")
        return cls(ratio, tuple(codes), seed)

    def draw(self) -> Outcome | None:
        """An error outcome for a ``ratio`` of calls, None for the rest."""
        if self._random.random() < self.ratio:
            return Outcome.error(self._random.choice(self.codes))
        return None


class Scenarios(NumberedRules[Rule]):
    """The outcome rules (ids ``rule-<n>``) of one engine (reset with it)."""

    prefix = "rule"

    def remove_scoped(self, tenant: str, tokens: Iterable[str]) -> None:
        """Drop every rule of namespace ``tenant`` or targeting one of its ``tokens``."""
        gone = set(tokens)
        self.rules = [rule for rule in self.rules if rule.tenant != tenant and rule.token not in gone]

    def decide(
        self,
        endpoint: Endpoint,
        token: str,
        tenant: str | None,
        name: str | None,
        prompt: str,
        random: RandomFailures | None,
    ) -> tuple[Outcome | None, Timing | None]:
        """Outcome and timing for a new job, or ``(None, None)`` if no rule (or ``random`` mode) decides it."""
        for rule in self.rules:
            if rule.matches(endpoint, token, tenant, name, prompt):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self.rules.remove(rule)
                return rule.outcome, rule.timing
        return (random.draw() if random else None), None
