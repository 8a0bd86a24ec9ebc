"""The job lifecycle, driven by the fake's clock or by polls, straight on the engine."""

from __future__ import annotations

import io
import wave

import pytest

from mh_mock.audio import sniff_audio
from mh_mock.clock import format_timestamp
from mh_mock.config import Config, Outcome
from mh_mock.engine import Engine
from mh_mock.errors import ConfigError, NotFound, StorageError, Unauthorized

from .contract_check import TIMESTAMP, assert_valid_response

T = "token"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _engine(**options: object) -> Engine:
    return Engine(Config(start_time=START, **options))  # type: ignore[arg-type]


def _voice(engine: Engine, prompt: str = "Hello there", **kw: object) -> str:
    return engine.api.create(T, "voice_generator", prompt=prompt, voice_name="Elon Musk", **kw).id  # type: ignore[arg-type]


def _status(engine: Engine, project_id: str) -> str:
    return engine.controls.project(project_id).status


def test_clock_progression_follows_the_durations_of_each_endpoint() -> None:
    engine = _engine(progression="clock", timings={"voice_generator": (2, 10)})
    project_id = _voice(engine)
    assert _status(engine, project_id) == "queued"
    engine.controls.advance(1.999)
    assert _status(engine, project_id) == "queued"
    engine.controls.advance(0.001)
    assert _status(engine, project_id) == "rendering"
    engine.controls.advance(9.9)
    assert _status(engine, project_id) == "rendering"
    engine.controls.advance(0.1)
    assert _status(engine, project_id) == "complete"
    assert [(t.status, t.at - START) for t in engine.controls.project(project_id).history] == [
        ("queued", 0.0),
        ("rendering", 2.0),
        ("complete", 12.0),
    ]


def test_one_big_advance_applies_every_transition_at_its_own_time_and_in_order() -> None:
    engine = _engine(progression="clock")
    seen: list[tuple[str, str, float]] = []
    engine.subscribe(lambda project, t: seen.append((project.endpoint.value, t.status, t.at - START)))
    engine.api.create(T, "music_generator", duration=15, prompt="jazz")
    engine.controls.advance(0.5)
    _voice(engine)
    seen.clear()
    engine.controls.advance(100)
    assert seen == [
        ("music_generator", "rendering", 1.0),
        ("voice_generator", "rendering", 1.5),
        ("voice_generator", "complete", 4.5),
        ("music_generator", "complete", 6.0),
    ]


def test_poll_progression_moves_one_step_per_read_and_the_first_read_shows_queued() -> None:
    engine = _engine()
    project_id = _voice(engine)
    assert [engine.api.get_project(T, project_id)["status"] for _ in range(4)] == [
        "queued",
        "rendering",
        "complete",
        "complete",
    ]


def test_reads_per_step_slows_poll_progression() -> None:
    engine = _engine(reads_per_step=2)
    project_id = _voice(engine)
    assert [engine.api.get_project(T, project_id)["status"] for _ in range(5)] == [
        "queued", "queued", "rendering", "rendering", "complete",
    ]  # fmt: skip


def test_switching_to_clock_progression_restarts_timers_from_now() -> None:
    engine = _engine(timings={"voice_generator": (3, 3)})
    project_id = _voice(engine)
    engine.controls.advance(100)  # poll mode: time alone moves nothing
    assert _status(engine, project_id) == "queued"
    engine.controls.set_progression("clock")
    engine.controls.advance(2.9)
    assert _status(engine, project_id) == "queued"
    engine.controls.advance(3.1)
    assert _status(engine, project_id) == "complete"


def test_finish_runs_every_unfinished_project_to_its_outcome() -> None:
    engine = _engine()
    ok, failing = _voice(engine), _voice(engine, outcome="error:invalid_voice")
    engine.controls.finish()
    assert (_status(engine, ok), _status(engine, failing)) == ("complete", "error")
    body = engine.api.get_project(T, failing)
    assert body["error"] == {"message": "The selected voice is not available", "code": "invalid_voice"}
    assert body["credits_charged"] == 0


def test_error_refunds_the_charge_and_updates_the_ledger() -> None:
    engine = _engine(starting_balance=100, default_outcome=Outcome.error("processing_timeout"))
    project_id = _voice(engine, prompt="x" * 95)
    assert engine.accounts.account(T).credits == 90
    engine.controls.finish(project_id)
    account = engine.accounts.account(T)
    assert (account.credits, account.charged, account.refunded) == (100, 10, 10)
    assert engine.api.get_project(T, project_id)["credits_charged"] == 0


@pytest.mark.parametrize(
    ("rate", "characters", "charge"),
    [("0.1", 19, 2), ("0.1", 30, 3), ("0.05", 100, 5), ("0.05", 2000, 100), ("0.1", 1, 1)],
)
def test_voice_charge_is_per_character_rounded_up(rate: str, characters: int, charge: int) -> None:
    engine = _engine(voice_credit_rate=rate)
    assert engine.api.create(T, "voice_generator", prompt="a" * characters, voice_name="Elon Musk").charge == charge


def test_cancel_refunds_by_default_and_can_be_configured_not_to() -> None:
    for refund, expected in [(True, 0), (False, 2)]:
        engine = _engine(refund_on_cancel=refund)
        project_id = _voice(engine, prompt="x" * 20)
        engine.controls.cancel(project_id)
        assert engine.api.get_project(T, project_id)["status"] == "canceled"
        assert engine.api.get_project(T, project_id)["credits_charged"] == expected


def test_canceling_a_finished_project_is_refused_with_a_reason() -> None:
    engine = _engine()
    project_id = _voice(engine)
    engine.controls.finish(project_id)
    with pytest.raises(ConfigError, match="already complete; only queued or rendering"):
        engine.controls.cancel(project_id)


def test_deleting_an_unfinished_job_cancels_it_so_pollers_stop() -> None:
    engine = _engine()
    project_id = _voice(engine, prompt="x" * 20)
    engine.api.delete_project(T, project_id)
    body = engine.api.get_project(T, project_id)
    assert (body["status"], body["enabled"], body["downloads"], body["credits_charged"]) == ("canceled", False, [], 0)


def test_download_urls_expire_after_24_hours_and_a_new_get_gives_a_fresh_one() -> None:
    engine = _engine()
    project_id = _voice(engine)
    engine.controls.finish(project_id)
    first = engine.api.get_project(T, project_id)["downloads"][0]
    assert first["expires_at"] == format_timestamp(START + 24 * 3600)
    engine.controls.advance(24 * 3600 + 1)
    query = dict(part.split("=") for part in first["url"].split("?")[1].split("&"))
    with pytest.raises(StorageError) as expired:
        engine.api.download(project_id, "output.wav", query["expires"], query["signature"])
    assert expired.value.status == 403 and expired.value.code == "url_expired"
    fresh = engine.api.get_project(T, project_id)["downloads"][0]
    query = dict(part.split("=") for part in fresh["url"].split("?")[1].split("&"))
    assert bytes(engine.api.download(project_id, "output.wav", query["expires"], query["signature"]))[:4] == b"RIFF"


def test_gets_within_one_second_share_a_url_and_every_change_shows_at_once() -> None:
    engine = Engine(Config(start_time=START + 0.25, progression="clock", frozen_clock=True))
    project_id = _voice(engine)
    queued = engine.api.get_project(T, project_id)
    engine.controls.step(project_id)
    assert engine.api.get_project(T, project_id)["status"] == "rendering" != queued["status"]
    engine.controls.finish(project_id)
    first = engine.api.get_project(T, project_id)
    assert first["downloads"][0]["expires_at"] == format_timestamp(START + 1 + 24 * 3600)  # rounded up
    engine.controls.advance(0.5)
    assert engine.api.get_project(T, project_id) == first
    engine.controls.advance(0.5)
    later = engine.api.get_project(T, project_id)["downloads"][0]
    assert later["url"] != first["downloads"][0]["url"]
    assert later["expires_at"] == format_timestamp(START + 2 + 24 * 3600)
    engine.api.delete_project(T, project_id)
    gone = engine.api.get_project(T, project_id)
    assert (gone["enabled"], gone["downloads"]) == (False, [])


def test_a_tampered_download_url_looks_like_nothing_is_there() -> None:
    engine = _engine()
    project_id = _voice(engine)
    engine.controls.finish(project_id)
    url = engine.api.get_project(T, project_id)["downloads"][0]["url"]
    expires = url.split("expires=")[1].split("&")[0]
    with pytest.raises(StorageError) as caught:
        engine.api.download(project_id, "output.wav", expires, "0" * 32)
    assert caught.value.status == 404


def _audio_seconds(engine: Engine, project_id: str) -> float:
    engine.controls.finish(project_id)
    url = engine.api.get_project(T, project_id)["downloads"][0]["url"]
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    data = bytes(engine.api.download(project_id, "output.wav", query["expires"], query["signature"]))
    with wave.open(io.BytesIO(data)) as reader:
        return reader.getnframes() / reader.getframerate()


def test_rendered_audio_length_follows_text_length_and_music_duration() -> None:
    engine = _engine()
    assert _audio_seconds(engine, _voice(engine, prompt="x" * 150)) == 10.0  # 15 characters per second
    assert _audio_seconds(engine, _voice(engine, prompt="x" * 300)) == 20.0
    assert _audio_seconds(engine, engine.api.create(T, "music_generator", duration=42, prompt="rock").id) == 42.0


def test_the_same_seed_gives_the_same_ids_and_audio_and_a_given_secret_the_same_urls() -> None:
    def run(**options: object) -> tuple[str, str, bytes]:
        engine = _engine(seed=7, **options)
        project_id = _voice(engine)
        engine.controls.finish(project_id)
        url = engine.api.get_project(T, project_id)["downloads"][0]["url"]
        query = dict(part.split("=") for part in url.split("?")[1].split("&"))
        return (
            project_id,
            url,
            bytes(engine.api.download(project_id, "output.wav", query["expires"], query["signature"])),
        )

    first, second = run(), run()
    assert first[0] == second[0] and first[2] == second[2]  # same ids, same audio
    assert first[1] != second[1]  # the URL-signing secret is random unless given: URLs cannot be forged
    assert run(signing_secret="s" * 16)[1] == run(signing_secret="s" * 16)[1]
    assert _engine(seed=8).api.create(T, "voice_generator", prompt="Hi", voice_name="Elon Musk").id != first[0]


def test_ids_are_cuid_shaped_and_timestamps_have_milliseconds() -> None:
    engine = _engine()
    body = engine.api.get_project(T, _voice(engine))
    assert len(body["id"]) == 25 and body["id"][0] == "c" and body["id"].isalnum() and body["id"].islower()
    assert TIMESTAMP.match(body["created_at"])
    assert body["name"] == "Voice Generator - 2026-01-01T00:00:00.000Z"
    assert_valid_response("audioProjects.getDetails", 200, body)


def test_reset_forgets_everything_and_restarts_the_id_sequence() -> None:
    engine = _engine(seed=3)
    first = _voice(engine)
    engine.reset()
    with pytest.raises(NotFound):
        engine.api.get_project(T, first)
    assert engine.controls.projects() == [] and _voice(engine) == first


def test_reset_options_last_until_the_next_reset() -> None:
    engine = _engine()
    engine.reset(starting_balance=5)
    assert engine.api.account_body(T)["credits"] == 5
    engine.reset()
    assert engine.api.account_body(T)["credits"] == 10_000


def test_the_clock_never_moves_backwards() -> None:
    engine = _engine()
    with pytest.raises(ValueError, match="only moves forward"):
        engine.controls.advance(-1)
    with pytest.raises(ValueError, match="only moves forward"):
        engine.clock.set(START - 1)


def test_every_project_renders_audio_of_its_own() -> None:
    engine = _engine(seed=3)
    audio = set()
    for _ in range(200):
        project = engine.api.create(T, "music_generator", duration=15, prompt="the same prompt")
        engine.controls.finish(project.id)
        url = engine.api.get_project(T, project.id)["downloads"][0]["url"]
        query = dict(part.split("=") for part in url.split("?")[1].split("&"))
        data = bytes(engine.api.download(project.id, "output.wav", query["expires"], query["signature"]))
        assert sniff_audio(data) == "wav"
        audio.add(data[data.index(b"data") :])  # the samples themselves differ, not only the file's comment
    assert len(audio) == 200


def test_accounts_registered_up_front_are_the_only_ones_under_strict_auth() -> None:
    engine = _engine(strict_auth=True, accounts={"mhk_live_me": 500})
    assert engine.api.account_body("mhk_live_me")["credits"] == 500
    with pytest.raises(Unauthorized):
        engine.api.account_body("mhk_live_stranger")
    engine.reset()  # registered again on every reset
    assert engine.api.account_body("mhk_live_me")["credits"] == 500
