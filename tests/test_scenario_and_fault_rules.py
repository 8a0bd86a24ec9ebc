"""Outcome rules, random failures and HTTP faults: what they match, how they are listed, and the
errors that name the field and the valid values when one is written wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mh_mock.config import Config
from mh_mock.engine import Engine
from mh_mock.errors import ConfigError
from mh_mock.inprocess import MhMock

T = "token"


def _engine(**options: object) -> Engine:
    return Engine(Config(**options))  # type: ignore[arg-type]


def _ends(engine: Engine, name: str | None = None, prompt: str = "Hello there") -> str | None:
    project = engine.api.create(T, "voice_generator", prompt=prompt, voice_name="Elon Musk", name=name)
    return engine.controls.finish(project.id)[0].outcome.code


# ---------------------------------------------------------------------------- scenario rules


def test_a_name_rule_matches_only_jobs_whose_name_contains_it() -> None:
    engine = _engine()
    engine.simulation.add_rule({"outcome": "error:invalid_voice", "name_contains": "X"})
    assert _ends(engine) is None  # no name: nothing to contain it
    assert _ends(engine, name="plain") is None
    assert _ends(engine, name="aXb") == "invalid_voice"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"outcome": "error", "colour": 1, "weight": 2}, "unknown scenario field(s) colour, weight; valid fields are: "
         "endpoint, name_contains, outcome, prompt_contains, tenant, times, timing, token"),
        ({"outcome": "error", "token": 5}, "token must be a string, got 5"),
        ({"outcome": "error", "name_contains": 5}, "name_contains must be a string, got 5"),
        ({"outcome": "error", "endpoint": "video"},
         "endpoint must be one of voice_generator, voice_cloner, music_generator, got 'video'"),
        ({"outcome": "error", "timing": "slow"}, "timing is [queued, rendering] seconds, got 'slow'"),
        ({"outcome": "error", "timing": [1, 2, 3]}, "timing is [queued, rendering] seconds, got [1, 2, 3]"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_refused_naming_what_is_wrong(rule: dict[str, Any], message: str) -> None:
    engine = _engine()
    with pytest.raises(ConfigError, match=re.escape(message)):
        engine.simulation.add_rule(rule)


def test_random_failures_draw_from_the_codes_given() -> None:
    engine = _engine(seed=1)
    engine.simulation.set_random_failures(1.0, ["invalid_voice"])
    assert {_ends(engine) for _ in range(5)} == {"invalid_voice"}


def test_a_failure_ratio_of_zero_fails_nothing() -> None:
    engine = _engine(seed=1)
    engine.simulation.set_random_failures(0)
    assert {_ends(engine) for _ in range(5)} == {None}


@pytest.mark.parametrize(
    ("ratio", "codes", "message"),
    [
        (1.5, None, "the failure ratio must be a number between 0 and 1, got 1.5"),
        (-0.1, None, "the failure ratio must be a number between 0 and 1, got -0.1"),
        (0.5, [""], "random failures need a list of error codes, got ('',)"),
        (0.5, ["nope"], "unknown job error code(s) nope; known codes are: text_too_long, invalid_voice"),
    ],
)
def test_bad_random_failures_are_refused_naming_what_is_wrong(ratio: float, codes: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        _engine().simulation.set_random_failures(ratio, codes)


# ---------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"kind": "gremlin"}, "fault kind must be one of latency, rate_limit, server_error, reset, refused, timeout, "
         "got 'gremlin'"),
        ({"kind": "reset", "token": 5}, "a token must be a non-blank string, got 5"),
        ({"kind": "reset", "route": "nowhere"}, "no route is named 'nowhere'; route names are: voice_generator.create, "
         "voice_cloner.create"),
        ({"kind": "reset", "probability": 1.5}, "probability must be at most 1 (got 1.5)"),
        ({"kind": "reset", "nth": 0}, "nth must be at least 1 (got 0)"),
        ({"kind": "reset", "times": 0}, "times must be at least 1 (got 0)"),
        ({"kind": "reset", "status": 500}, "status only applies to server_error faults, not reset"),
        ({"kind": "rate_limit", "retry_after": -1},
         "retry_after must be at least 0 (got -1)"),
        ({"kind": "rate_limit", "after": True}, "after=True only applies to reset and timeout faults"),
        ({"kind": "reset", "id": "fault-9"}, "unknown fault field(s) id; valid fields are: kind, route"),
        ({"route": "account.get"}, "a fault needs a kind: latency, rate_limit, server_error, reset"),
    ],
)  # fmt: skip
def test_a_bad_fault_is_refused_naming_what_is_wrong(fault: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        _engine().simulation.add_fault(fault)


@pytest.mark.parametrize(("field", "value"), [("probability", 1), ("probability", 0), ("nth", 1)])
def test_fault_bounds_are_inclusive(field: str, value: int) -> None:
    fault = _engine().simulation.add_fault({"kind": "reset", field: value})
    assert getattr(fault, field) == value


def test_faults_are_listed_with_the_fields_of_their_kind() -> None:
    with MhMock() as fake:
        fake.add_fault("rate_limit", route="account.get", retry_after=5)
        fake.add_fault("rate_limit", route="account.get")
        fake.add_fault("server_error", route="account.get")
        fake.add_fault("server_error", route="account.get", status=503)
        fake.add_fault("latency", route="account.get", seconds=2)
        fake.add_fault("timeout", route="account.get")
        listed = fake.faults()
    assert [(f["kind"], f.get("status"), f.get("retry_after"), f.get("seconds")) for f in listed] == [
        ("rate_limit", None, 5, None),
        ("rate_limit", None, 1, None),
        ("server_error", 500, None, None),
        ("server_error", 503, None, None),
        ("latency", None, None, 2.0),
        ("timeout", None, None, None),
    ]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"kind": "reset", "nth": "x"}, "Invalid type for nth: expected integer, got string"),
        ({"kind": "server_error", "status": 404}, "Invalid value for status: 404 is not one of 500, 502, 503"),
        ({"kind": "rate_limit", "after": True}, "after=True only applies to reset and timeout faults"),
        ({"kind": "reset", "seen": 3, "colour": 1}, "unknown fault field(s) colour, seen; valid fields are: kind, route, "
         "project_id, token, tenant, nth, probability, times, after, seconds, retry_after, status"),
    ],
)  # fmt: skip
def test_a_bad_fault_is_refused_with_exactly_this_message(fault: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _engine().simulation.add_fault(fault)
    assert str(refused.value) == message


def test_a_rule_without_an_outcome_is_refused_saying_which_outcomes_there_are() -> None:
    with pytest.raises(ConfigError) as refused:
        _engine().simulation.add_rule({"token": "a"})
    assert str(refused.value) == "a scenario needs an outcome: complete, canceled, error or error:<code>"


def test_a_route_prefix_fault_strikes_every_route_under_it_and_no_other() -> None:
    engine = _engine()
    engine.simulation.add_fault({"kind": "reset", "route": "storage.*", "times": None})
    assert engine.simulation.pick_fault("storage.download", None, T) is not None
    assert engine.simulation.pick_fault("storage.upload", None, T) is not None
    assert engine.simulation.pick_fault("account.get", None, T) is None
