"""Regressions found in review: each test names the rule it keeps."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
import httpx._transports.default as default_transport
import pytest

from mh_mock.config import Config, Outcome
from mh_mock.engine import Engine
from mh_mock.errors import ConfigError, NotFound
from mh_mock.live import LiveServer
from mh_mock.mock import MhMock
from mh_mock.store import Store

T = "token"


def test_a_webhook_receiver_may_call_back_into_the_fake() -> None:
    """In-process delivery is re-entrant: a receiver that fetches the audio does not deadlock."""
    fetched: list[int] = []

    def receiver(headers: Mapping[str, str], body: bytes) -> int:
        import json

        payload = json.loads(body)["payload"]
        if payload["downloads"]:
            fetched.append(len(httpx.get(payload["downloads"][0]["url"]).content))
        with httpx.Client() as client:  # and another API call, which delivers again, re-entrantly
            client.get(
                f"https://api.magichour.ai/v1/audio-projects/{payload['id']}", headers={"authorization": f"Bearer {T}"}
            )
        return 200

    with MhMock() as fake, httpx.Client(headers={"authorization": f"Bearer {T}"}) as http:
        fake.add_webhook(receiver, "secret")
        project_id = http.post(
            "https://api.magichour.ai/v1/ai-voice-generator",
            json={"style": {"prompt": "Hi", "voice_name": "Elon Musk"}},
        ).json()["id"]
        for _ in range(3):
            http.get(f"https://api.magichour.ai/v1/audio-projects/{project_id}")
        assert fetched and fetched[0] > 44
        assert [d["state"] for d in fake.deliveries()] == ["delivered", "delivered"]


def test_an_explicit_outcome_uses_up_no_rule() -> None:
    engine = Engine(Config())
    engine.add_rule({"outcome": "error:invalid_voice", "times": 1})
    explicit = engine.create_voice(T, prompt="a", voice_name="Elon Musk", outcome="complete")
    ruled = engine.create_voice(T, prompt="b", voice_name="Elon Musk")
    assert (explicit.outcome.status, ruled.outcome.code) == ("complete", "invalid_voice")


def test_the_factory_makes_what_it_is_asked_even_with_a_rule_pending(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
def test_it(mh_mock, mh_factory):
    mh_mock.fail_next(1, "invalid_voice")
    assert mh_factory.project("complete")["status"] == "complete"
    assert mh_mock.scenarios()["rules"][0]["times"] == 1
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_the_token_star_is_an_ordinary_private_account() -> None:
    with MhMock() as fake:
        created = httpx.post(
            "https://api.magichour.ai/v1/ai-music-generator",
            json={"duration": 15, "style": {"prompt": "x"}},
            headers={"authorization": "Bearer *"},
        ).json()
        other = httpx.get(
            f"https://api.magichour.ai/v1/audio-projects/{created['id']}", headers={"authorization": "Bearer b"}
        )
        assert other.status_code == 404
        assert fake.project(created["id"])["owner"] == "*"


def test_a_public_example_survives_any_tokens_delete() -> None:
    with MhMock(preload="examples") as fake:
        for token in ("a", "b"):
            answer = httpx.delete(
                "https://api.magichour.ai/v1/audio-projects/cuid-example", headers={"authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 204
        assert fake.project("cuid-example")["enabled"] is True


def test_canceling_a_seeded_unfinished_project_credits_nothing() -> None:
    engine = Engine(Config(preload="every-status"))
    before = engine.account("mhk_live_apikey").credits
    engine.cancel("cuid-queued")
    assert engine.account("mhk_live_apikey").credits == before
    assert engine.project_body(engine.project("cuid-queued"))["credits_charged"] == 0


def test_a_failed_reset_changes_nothing() -> None:
    engine = Engine(Config())
    kept = engine.create_voice(T, prompt="keep me", voice_name="Elon Musk").id
    duplicate = {"projects": [{"id": "x", "token": "t", "endpoint": "voice_generator", "status": "complete"}] * 2}
    with pytest.raises(ConfigError, match="already exists"):
        engine.reset(preload=duplicate)
    assert engine.project(kept).id == kept and engine.config.preload is None
    with pytest.raises(ConfigError):
        engine.reset(failure_ratio=2)
    assert engine.get_project(T, kept)["status"] == "queued"


def test_force_canceled_skips_rendering_and_fires_nothing() -> None:
    engine = Engine(Config())
    statuses: list[str] = []
    engine.subscribe(lambda project, transition: statuses.append(transition.status))
    project_id = engine.create_voice(T, prompt="a", voice_name="Elon Musk").id
    engine.force(project_id, "canceled")
    assert statuses == ["queued", "canceled"]


def test_deliveries_and_removed_endpoints_survive_a_restart(tmp_path: Path) -> None:
    engine = Engine(Config(), store=Store(tmp_path / "s.db"))
    kept = engine.add_webhook("http://127.0.0.1:9/kept", "s")
    gone = engine.add_webhook("http://127.0.0.1:9/gone", "s")
    project = engine.create_voice(T, prompt="a", voice_name="Elon Musk")
    engine.finish(project.id)  # started + completed for each endpoint, not yet attempted
    engine.remove_webhook(gone.id)
    engine.commit()
    engine.close()
    again = Engine(Config(), store=Store(tmp_path / "s.db"))
    states = sorted((d.endpoint_id, d.event, d.state) for d in again.webhooks.deliveries)
    assert states == sorted(
        [
            (gone.id, "audio.completed", "failed"),
            (gone.id, "audio.started", "failed"),
            (kept.id, "audio.completed", "pending"),
            (kept.id, "audio.started", "pending"),
        ]
    )
    try:
        again.after_call()  # attempts what is due (refused), and does not trip on the removed endpoint
        attempts = {d.event: len(d.attempts) for d in again.webhooks.deliveries if d.endpoint_id == kept.id}
        assert attempts == {"audio.started": 1, "audio.completed": 0}  # completed waits behind started
    finally:
        again.close()


def test_a_seed_files_config_survives_a_restart_and_explicit_options_win(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    with LiveServer(state=state, preload="examples", frozen_clock=True) as server:
        server.reset(strict_auth=False)
        server.reset(strict_auth=False)  # the same reset twice is still saved
        assert server.add_account("before")["tier"] == "pro"
    with LiveServer(state=state, preload="examples", frozen_clock=True) as server:
        after = server.add_account("after")
        assert (after["tier"], after["credits"]) == ("pro", 12_500)
    with LiveServer(preload="examples", starting_balance=5) as server:
        assert server.add_account("explicit")["credits"] == 5


def test_a_repeated_reset_with_options_is_what_a_restart_resumes(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    options = {"state": state, "frozen_clock": True, "seed": 1, "start_time": 1_767_225_600.0}
    with LiveServer(**options) as server:
        server.reset(strict_auth=True)
        server.reset(strict_auth=True)
    with LiveServer(**options) as server:
        assert httpx.get(f"{server.url}/v1/account", headers={"authorization": "Bearer stranger"}).status_code == 401


def test_overlapping_fakes_restore_httpx_whatever_order_they_stop_in() -> None:
    original = default_transport.create_ssl_context
    first, second = MhMock().start(), MhMock().start()
    first.stop()
    assert default_transport.create_ssl_context is not original  # the second still shares
    second.stop()
    assert default_transport.create_ssl_context is original


def test_outcome_mappings_with_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="not bogus"):
        Outcome.parse({"bogus": 1})
    with pytest.raises(NotFound):
        Engine(Config()).get_project(T, "nope")
