"""Scenarios: outcome rules, seeded random failures, forced outcomes and cancellation."""

from __future__ import annotations

import magic_hour
import pytest

from mh_mock.client import Client
from mh_mock.config import Config
from mh_mock.control.remote import Control, ControlError
from mh_mock.engine import Engine

from .conftest import TOKEN, run_sdk_voice


def test_the_next_two_voice_jobs_fail_with_a_code_then_jobs_complete(fake: Control, sdk: magic_hour.Client) -> None:
    fake.fail_next(2, "text_too_long", endpoint="voice_generator")
    music = sdk.v1.ai_music_generator.generate(
        duration=15, style={"prompt": "x"}, wait_for_completion=True, download_outputs=False
    )
    results = [run_sdk_voice(sdk) for _ in range(3)]
    assert music.status == "complete"
    assert [r.status for r in results] == ["error", "error", "complete"]
    assert results[0].error is not None and results[0].error.code == "text_too_long"
    assert [r.credits_charged for r in results] == [0, 0, 2]  # failed jobs are refunded
    assert sdk.v1.account.list().credits == 10_000 - 15 - 2
    assert fake.scenarios()["rules"] == []  # used up


def test_rules_match_on_token_and_prompt_and_can_set_durations(fake: Control, client: Client) -> None:
    fake.add_scenario("error:invalid_voice", prompt_contains="[fail]")
    fake.add_scenario("complete", token=TOKEN, timing=(5, 5))
    fake.set_progression("clock")
    failing = client.create_voice("please [fail] now", "Elon Musk")["id"]
    slow = client.create_voice("fine", "Elon Musk")["id"]
    fake.advance(2)
    assert client.get(failing)["status"] == "rendering"  # default durations: 1 s queued + 3 s rendering
    fake.advance(2)
    assert client.get(failing)["error"]["code"] == "invalid_voice"
    assert client.get(slow)["status"] == "queued"
    fake.advance(6)
    assert client.get(slow)["status"] == "complete"


def test_seeded_random_failures_are_reproducible(fake: Control, client: Client) -> None:
    def outcomes() -> list[str]:
        fake.reset(seed=11)
        fake.fail_randomly(0.5, ["processing_timeout"])
        return [client.wait(client.create_voice("Hi", "Elon Musk")["id"], interval=0)["status"] for _ in range(12)]

    first = outcomes()
    assert first == outcomes()
    assert {"complete", "error"} == set(first)


def test_force_and_set_outcome(fake: Control, client: Client) -> None:
    a, b = client.create_voice("a", "Elon Musk")["id"], client.create_voice("b", "Elon Musk")["id"]
    fake.set_outcome(a, "error:processing_timeout")
    fake.force(b, "error", code="invalid_voice", message="Voice retired")
    assert client.wait(a, interval=0)["error"]["code"] == "processing_timeout"
    assert client.get(b)["error"] == {"message": "Voice retired", "code": "invalid_voice"}
    with pytest.raises(ControlError, match="statuses only move forward"):
        fake.force(b, "rendering")


def test_cancel_as_the_web_app_does(fake: Control, sdk: magic_hour.Client) -> None:
    created = sdk.v1.ai_voice_generator.create(style={"prompt": "x" * 50, "voice_name": "Elon Musk"})
    fake.cancel(created.id)
    result = sdk.v1.audio_projects.check_result(id=created.id, wait_for_completion=True, download_outputs=True)
    assert (result.status, result.credits_charged, result.downloaded_paths) == ("canceled", 0, None)
    assert sdk.v1.account.list().credits == 10_000
    with pytest.raises(ControlError, match="already canceled"):
        fake.cancel(created.id)


def test_an_explicit_outcome_uses_up_no_rule() -> None:
    engine = Engine(Config())
    engine.simulation.add_rule({"outcome": "error:invalid_voice", "times": 1})
    explicit = engine.api.create(TOKEN, "voice_generator", prompt="a", voice_name="Elon Musk", outcome="complete")
    ruled = engine.api.create(TOKEN, "voice_generator", prompt="b", voice_name="Elon Musk")
    assert (explicit.outcome.status, ruled.outcome.code) == ("complete", "invalid_voice")


def test_force_canceled_skips_rendering_and_fires_nothing() -> None:
    engine = Engine(Config())
    statuses: list[str] = []
    engine.subscribe(lambda project, transition: statuses.append(transition.status))
    project_id = engine.api.create(TOKEN, "voice_generator", prompt="a", voice_name="Elon Musk").id
    engine.controls.force(project_id, "canceled")
    assert statuses == ["queued", "canceled"]


def test_failure_ratio_from_the_config_fails_that_share_of_jobs() -> None:
    every = Engine(Config(failure_ratio=1.0, seed=2))
    never = Engine(Config(failure_ratio=0.0, seed=2))
    for engine, expected in ((every, "error"), (never, "complete")):
        ids = [engine.api.create(TOKEN, "voice_generator", prompt="Hi", voice_name="Elon Musk").id for _ in range(5)]
        engine.controls.finish()
        assert {engine.controls.project(i).status for i in ids} == {expected}


def test_the_voice_prompt_limit_is_inclusive() -> None:
    engine = Engine(Config())
    at_limit = engine.api.create(TOKEN, "voice_generator", prompt="x" * 1000, voice_name="Elon Musk")
    over = engine.api.create(TOKEN, "voice_generator", prompt="x" * 1001, voice_name="Elon Musk")
    engine.controls.finish()
    assert engine.controls.project(at_limit.id).status == "complete"
    assert engine.controls.project(over.id).outcome.code == "text_too_long"
