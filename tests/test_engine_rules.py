"""Engine rules a user relies on: music durations, upload and download URLs on the owner's clock,
poll counting per tenant, deletes, and what happens when the state file cannot be written."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mh_mock.config import Config
from mh_mock.engine import Engine
from mh_mock.engine.seeds import import_project, import_upload
from mh_mock.engine.store import Store
from mh_mock.errors import ConfigError, InsufficientCredits, StorageError, Unavailable

from .engines import START, T, uploaded
from .engines import create_voice as _voice
from .engines import new_engine as _engine


def _slot(engine: Engine, token: str = T) -> tuple[str, str]:
    [item] = engine.api.create_upload_urls(token, [("audio", "wav")])
    return item["file_path"], parse_qs(urlsplit(item["upload_url"]).query)["auth-value"][0]


def _download_args(engine: Engine, token: str, project_id: str) -> tuple[str, str, str]:
    url = urlsplit(engine.api.get_project(token, project_id)["downloads"][0]["url"])
    query = parse_qs(url.query)
    return url.path.rsplit("/", 1)[-1], query["expires"][0], query["signature"][0]


# ---------------------------------------------------------------------------- music durations


@pytest.mark.parametrize("duration", [1, 3600])
def test_music_takes_every_whole_duration_from_one_second_to_an_hour(duration: int) -> None:
    engine = _engine()
    project = engine.api.create(T, "music_generator", duration=duration, prompt="waltz")
    assert (project.charge, project.seconds) == (duration, duration)


@pytest.mark.parametrize("duration", [0, 3601, True, 2.5])
def test_music_refuses_a_duration_outside_one_second_to_an_hour(duration: Any) -> None:
    engine = _engine()
    with pytest.raises(
        ConfigError, match=re.escape(f"duration must be whole seconds between 1 and 3600, got {duration!r}")
    ):
        engine.api.create(T, "music_generator", duration=duration, prompt="waltz")
    assert engine.controls.projects() == []


# ---------------------------------------------------------------------------- uploads and downloads


def test_cloning_from_a_slot_never_put_fails_the_job_and_says_to_put_the_file_first() -> None:
    engine = _engine()
    path, _ = _slot(engine)
    project = engine.api.create(T, "voice_cloner", audio_file_path=path, prompt="hi")
    outcome = engine.controls.finish(project.id)[0].outcome
    assert outcome.code == "invalid_parameters"
    assert outcome.message == f"audio_file_path {path!r} was never uploaded: PUT the file to its upload_url first"


def test_an_upload_url_expires_on_its_owners_clock() -> None:
    engine = _engine(upload_ttl=60)
    engine.accounts.reset_tenant("mine")
    path, auth = _slot(engine, "mine")
    engine.controls.advance(61)  # the fake's clock: not the owner's
    engine.api.put_upload(path, auth, b"early")
    engine.controls.advance(61, tenant="mine")
    with pytest.raises(StorageError) as refused:
        engine.api.put_upload(path, auth, b"late")
    assert refused.value.status == 403 and refused.value.code == "url_expired"
    assert refused.value.message == (
        "This upload URL expired at 2026-01-01T00:01:00.000Z; request a new one with POST /v1/files/upload-urls"
    )
    assert uploaded(engine, path) == b"early"


def test_an_upload_over_the_limit_is_413_payload_too_large_and_stores_nothing() -> None:
    engine = _engine(max_upload_bytes=4)
    path, auth = _slot(engine)
    engine.api.put_upload(path, auth, b"four")
    with pytest.raises(StorageError) as refused:
        engine.api.put_upload(path, auth, b"fives")
    assert (refused.value.status, refused.value.code) == (413, "payload_too_large")
    assert refused.value.message == "The upload is 5 bytes; the limit is 4 bytes"
    assert uploaded(engine, path) == b"four"


def test_a_download_url_expires_on_its_owners_clock() -> None:
    engine = _engine(download_ttl=60)
    engine.accounts.reset_tenant("mine")
    project_id = _voice(engine, "mine")
    engine.controls.finish(project_id)
    name, expires, signature = _download_args(engine, "mine", project_id)
    engine.controls.advance(61)  # the fake's clock: not the owner's
    assert bytes(engine.api.download(project_id, name, expires, signature))[:4] == b"RIFF"
    engine.controls.advance(61, tenant="mine")
    with pytest.raises(StorageError) as refused:
        engine.api.download(project_id, name, expires, signature)
    assert (refused.value.status, refused.value.code) == (403, "url_expired")
    assert refused.value.message == (
        f"This download URL expired at 2026-01-01T00:01:00.000Z; GET /v1/audio-projects/{project_id} returns a fresh one"
    )


def test_the_owner_of_a_project_and_of_an_upload_is_known_for_storage_calls() -> None:
    engine = _engine()
    project_id = _voice(engine, "alice")
    path, _ = _slot(engine, "bob")
    assert engine.api.owner_of(project_id=project_id) == "alice"
    assert engine.api.owner_of(file_path=path) == "bob"
    assert engine.api.owner_of(project_id="nope") is None
    assert engine.api.owner_of(file_path="api-assets/nope/x.wav") is None


# ---------------------------------------------------------------------------- tenants: polls, deletes, progression


def test_a_tenants_polls_move_its_projects_even_when_the_fake_runs_on_the_clock() -> None:
    engine = _engine(progression="clock")
    engine.accounts.reset_tenant("poller", progression="poll", reads_per_step=2)
    project_id = _voice(engine, "poller")
    assert [engine.api.get_project("poller", project_id)["status"] for _ in range(5)] == [
        "queued", "queued", "rendering", "rendering", "complete",
    ]  # fmt: skip


def test_deleting_an_unfinished_project_cancels_it_at_its_owners_time() -> None:
    engine = _engine()
    engine.accounts.reset_tenant("mine")
    project_id = _voice(engine, "mine")
    engine.controls.advance(50, tenant="mine")
    engine.api.delete_project("mine", project_id)
    last = engine.controls.project(project_id).history[-1]
    assert (last.status, last.at) == ("canceled", START + 50)


def test_switching_to_poll_progression_restarts_the_read_count() -> None:
    engine = _engine(progression="clock", reads_per_step=2)
    project_id = _voice(engine)
    engine.controls.set_progression("poll")
    assert [engine.api.get_project(T, project_id)["status"] for _ in range(3)] == ["queued", "queued", "rendering"]


# ---------------------------------------------------------------------------- a state file that fails


class _FlakyStore(Store):
    """A real store whose next saves (and, if asked, loads) fail, as a full disk would."""

    fail_saves = 0
    fail_loads = False

    def save(self, meta: Any, changes: Any) -> None:
        if self.fail_saves:
            self.fail_saves -= 1
            raise OSError("disk full")
        super().save(meta, changes)

    def load(self) -> dict[str, Any]:
        if self.fail_loads:
            raise OSError("disk gone")
        return super().load()


def test_after_a_failed_save_is_rolled_back_transitions_are_published_again(tmp_path: Path) -> None:
    store = _FlakyStore(tmp_path / "s.db")
    engine = Engine(Config(start_time=START), store=store)
    try:
        store.fail_saves = 1
        with pytest.raises(Unavailable, match="nothing was changed"):
            _voice(engine)
        seen: list[str] = []
        engine.subscribe(lambda project, transition: seen.append(transition.status))
        project_id = _voice(engine)
        engine.controls.finish(project_id)
        assert seen == ["queued", "rendering", "complete"]
        assert [p.id for p in engine.controls.projects()] == [project_id]
    finally:
        engine.close()


def test_a_state_file_that_cannot_be_read_back_makes_every_later_call_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _FlakyStore(tmp_path / "s.db")
    engine = Engine(Config(start_time=START), store=store)
    try:
        store.fail_saves, store.fail_loads = 1, True
        with caplog.at_level(logging.ERROR, logger="mh_mock"), pytest.raises(Unavailable):
            _voice(engine)
        assert "mh-mock could not reload its state file; refusing every call from now on" in caplog.messages
        with pytest.raises(Unavailable, match=re.escape("cannot read its state file any more (disk full); restart it")):
            engine.api.account_body(T)
        store.fail_loads = False
        engine.reset()  # a reset that saves makes the fake usable again
        assert engine.api.account_body(T)["credits"] == 10_000
    finally:
        engine.close()


def test_a_reset_that_cannot_be_saved_changes_nothing(tmp_path: Path) -> None:
    class _FailingReplace(Store):
        fail = False

        def replace(self, meta: Any, rows: Any) -> None:
            if self.fail:
                raise OSError("disk full")
            super().replace(meta, rows)

    store = _FailingReplace(tmp_path / "s.db")
    engine = Engine(Config(start_time=START), store=store)
    try:
        project_id = _voice(engine)
        store.fail = True
        with pytest.raises(Unavailable, match=re.escape("could not save the reset (disk full); nothing was changed")):
            engine.reset(starting_balance=1)
        assert [p.id for p in engine.controls.projects()] == [project_id]
        assert engine.config.starting_balance == 10_000
    finally:
        engine.close()


# ---------------------------------------------------------------------------- charges, clocks and the stream


def test_a_balance_equal_to_the_charge_is_enough() -> None:
    engine = _engine()
    engine.accounts.set_balance(T, 2)
    engine.api.create(T, "voice_generator", prompt="x" * 20, voice_name="Elon Musk")  # 20 characters cost 2 credits
    assert engine.api.account_body(T)["credits"] == 0


def test_an_engine_runs_on_the_clock_it_is_given_also_after_a_reset() -> None:
    from mh_mock.clock import Clock

    clock = Clock(START + 500, frozen=True)
    engine = Engine(Config(), clock=clock)
    assert engine.now() == START + 500
    clock.advance(10)
    engine.reset()
    assert engine.now() == START + 510


def test_the_hosts_and_signing_secret_cannot_change_on_reset() -> None:
    with pytest.raises(ConfigError, match=re.escape("api_url, signing_secret cannot change after the fake is created")):
        _engine().reset(signing_secret="s", api_url="http://elsewhere")


def test_an_unsubscribed_listener_hears_nothing_more() -> None:
    engine = _engine()
    seen: list[str] = []
    unsubscribe = engine.subscribe(lambda project, transition: seen.append(transition.status))
    project_id = _voice(engine)
    unsubscribe()
    engine.controls.finish(project_id)
    assert seen == ["queued"]


def _due_job(engine: Engine) -> str:
    """A voice job whose every transition is due: the clock moved on by an hour without anyone looking."""
    project_id = _voice(engine)
    engine.clock.advance(3600)
    return project_id


def test_the_ticker_leaves_a_transition_nobody_observes_to_the_next_look_and_the_look_sees_it_done() -> None:
    engine = _engine(progression="clock")
    project_id = _due_job(engine)
    engine.tick()
    assert engine.state.projects[project_id].status == "queued"  # no work for the ticker: nobody watches
    assert engine.api.get_project(T, project_id)["status"] == "complete"  # a look applies what was due
    other = _due_job(engine)
    assert {p.id: p.status for p in engine.controls.projects()}[other] == "complete"  # a listing too


def test_the_ticker_applies_each_transition_when_due_for_a_subscriber_and_for_webhooks() -> None:
    engine = _engine(progression="clock")
    heard: list[str] = []
    engine.subscribe(lambda project, transition: heard.append(transition.status))
    _due_job(engine)
    engine.tick()
    assert heard == ["queued", "rendering", "complete"]

    engine = _engine(progression="clock")
    engine.webhooks.add("http://127.0.0.1:9/hook", "whsec_test")
    project_id = _due_job(engine)
    engine.tick()
    assert engine.state.projects[project_id].status == "complete"
    assert [d.event for d in engine.webhooks.deliveries()] == ["audio.started", "audio.completed"]


def test_a_webhook_endpoint_or_subscriber_added_late_hears_nothing_of_what_was_due_before() -> None:
    engine = _engine(progression="clock")
    project_id = _due_job(engine)  # complete by now, though nobody looked
    engine.webhooks.add("http://127.0.0.1:9/hook", "whsec_test")
    heard: list[str] = []
    engine.subscribe(lambda project, transition: heard.append(transition.status))
    assert engine.api.get_project(T, project_id)["status"] == "complete"
    assert (engine.webhooks.deliveries(), heard) == ([], [])


def test_a_balance_set_after_a_due_refund_is_the_balance_given() -> None:
    engine = _engine(progression="clock")
    engine.api.create(T, "voice_generator", prompt="x" * 100, voice_name="Elon Musk", outcome="error")
    engine.clock.advance(3600)  # the job failed and its refund fell due, unseen
    engine.accounts.set_balance(T, 500)
    assert engine.api.account_body(T)["credits"] == 500


def test_a_webhook_endpoint_or_subscriber_leaving_late_still_hears_what_fell_due_while_it_listened() -> None:
    engine = _engine(progression="clock")
    endpoint = engine.webhooks.add("http://127.0.0.1:9/hook", "whsec_test")
    heard: list[str] = []
    leave = engine.subscribe(lambda project, transition: heard.append(transition.status))
    _due_job(engine)
    leave()
    engine.webhooks.remove(endpoint.id)
    assert heard == ["queued", "rendering", "complete"]
    assert [d.event for d in engine.webhooks.deliveries()] == ["audio.started", "audio.completed"]


def test_jobs_read_one_by_one_while_nobody_observes_leave_no_pile_of_timers_behind() -> None:
    engine = _engine(progression="clock")
    for _ in range(3):
        ids = [_voice(engine) for _ in range(200)]
        engine.clock.advance(3600)
        assert {engine.api.get_project(T, i)["status"] for i in ids} == {"complete"}
    assert len(engine.state.default.due) <= 200 + 64  # not two timers per job ever read


def test_unseeded_fakes_render_different_audio_for_the_same_project_id() -> None:
    from mh_mock.vendor import Endpoint

    def audio(engine: Engine) -> bytes:
        import_project(engine, project_id="p", owner="a", endpoint=Endpoint.VOICE_GENERATOR, status="complete")
        return bytes(engine.api.download("p", *_download_args(engine, "a", "p")))

    assert audio(_engine()) != audio(_engine())
    assert audio(_engine(seed=5)) == audio(_engine(seed=5))


def test_fake_webhook_timestamps_come_from_the_projects_clock() -> None:
    engine = _engine(webhook_timestamps="fake")
    engine.webhooks.add(lambda headers, body: 200, "s", ["audio.completed"])
    engine.controls.advance(42)
    engine.controls.finish(_voice(engine))
    [attempt] = engine.webhooks.take_due()
    assert attempt.headers["magic-hour-event-timestamp"] == str(int(START + 42))


def test_finishing_everything_returns_only_what_was_unfinished() -> None:
    engine = _engine()
    done = _voice(engine)
    engine.controls.finish(done)
    pending = _voice(engine)
    assert [p.id for p in engine.controls.finish()] == [pending]
    assert engine.controls.finish() == []


def test_jobs_due_at_the_same_moment_move_in_the_order_they_were_created() -> None:
    engine = _engine(progression="clock", seed=11)
    created = [_voice(engine) for _ in range(6)]
    assert created != sorted(created)  # the ids alone would give another order
    seen: list[str] = []
    engine.subscribe(lambda project, transition: seen.append(project.id))
    engine.controls.advance(1)
    assert seen == created


def test_a_project_stepped_by_hand_keeps_the_timing_of_its_new_status() -> None:
    engine = _engine(progression="clock", timings={"voice_generator": (2, 10)})
    project_id = _voice(engine)
    engine.controls.step(project_id)  # rendering now, not after 2 s
    engine.controls.advance(2)  # when it would have started rendering: nothing more happens
    assert engine.controls.project(project_id).status == "rendering"
    engine.controls.advance(8)
    assert engine.controls.project(project_id).status == "complete"


def test_finishing_everything_runs_jobs_created_at_the_same_moment_in_creation_order() -> None:
    engine = _engine(seed=11)  # the clock is frozen: every job is created at the same moment
    created = [_voice(engine) for _ in range(4)]
    assert created != sorted(created)
    assert [p.id for p in engine.controls.finish()] == created


# ---------------------------------------------------------------------------- inputs that fail a job, and limits


def test_a_clone_from_a_plain_http_url_with_an_audio_extension_is_accepted() -> None:
    engine = _engine()
    project = engine.api.create(T, "voice_cloner", audio_file_path="http://example.com/voice.mp3", prompt="hi")
    assert engine.controls.finish(project.id)[0].status == "complete"


@pytest.mark.parametrize(
    ("path", "code", "message"),
    [
        ("https://example.com/voice.txt", "invalid_file_format",
         "The audio_file_path URL must end in an audio file extension, got 'https://example.com/voice.txt'"),
        ("api-assets/nope/voice.wav", "invalid_parameters",
         "audio_file_path 'api-assets/nope/voice.wav' is not an uploaded file: request an upload URL with "
         "POST /v1/files/upload-urls and PUT the file there first"),
        ("api-assets/x/noise.wav", "invalid_file_format", "'api-assets/x/noise.wav' does not hold audio"),
        ("http://[::1/voice.mp3", "invalid_file_format",
         "The audio_file_path URL is not valid (Invalid IPv6 URL): 'http://[::1/voice.mp3'"),
    ],
)  # fmt: skip
def test_a_clone_input_that_is_not_usable_fails_the_job_saying_why(path: str, code: str, message: str) -> None:
    engine = _engine()
    import_upload(engine, "api-assets/x/noise.wav", T, b"not audio at all")
    project = engine.api.create(T, "voice_cloner", audio_file_path=path, prompt="hi")
    outcome = engine.controls.finish(project.id)[0].outcome
    assert (outcome.code, outcome.message) == (code, message)


def test_an_imported_upload_of_one_token_is_not_another_tokens_input() -> None:
    engine = _engine()
    import_upload(engine, "api-assets/x/voice.wav", "alice", b"RIFF")
    project = engine.api.create("bob", "voice_cloner", audio_file_path="api-assets/x/voice.wav", prompt="hi")
    assert engine.controls.finish(project.id)[0].outcome.code == "invalid_parameters"


def test_a_prompt_over_the_limit_fails_the_job_naming_its_length() -> None:
    engine = _engine(voice_prompt_limit=5)
    project = engine.api.create(T, "voice_generator", prompt="x" * 6, voice_name="Elon Musk")
    outcome = engine.controls.finish(project.id)[0].outcome
    assert (outcome.code, outcome.message) == ("text_too_long", "The text is 6 characters long; the limit is 5")


def test_an_upload_url_of_an_unknown_asset_type_is_refused() -> None:
    from mh_mock.errors import Unprocessable

    with pytest.raises(Unprocessable, match=re.escape("'pdf' is an invalid document extension. Possible extensions")):
        _engine().api.create_upload_urls(T, [("document", "pdf")])


def test_a_download_url_works_up_to_the_moment_it_expires() -> None:
    engine = _engine(download_ttl=60)
    project_id = _voice(engine)
    engine.controls.finish(project_id)
    args = _download_args(engine, T, project_id)
    engine.controls.advance(60)
    assert bytes(engine.api.download(project_id, *args))[:4] == b"RIFF"


def test_a_token_of_the_longest_length_is_accepted() -> None:
    engine = _engine()
    assert engine.api.account_body("k" * 256)["credits"] == 10_000


@pytest.mark.parametrize("frozen", [True, False])
def test_the_fakes_clock_is_frozen_only_when_asked(frozen: bool) -> None:
    assert _engine(frozen_clock=frozen).clock.frozen is frozen


def test_the_options_in_force_are_described_as_json() -> None:
    described = _engine(starting_balance=5).describe_options()
    assert described["starting_balance"] == 5 and described["progression"] == "poll"


def test_a_first_call_refused_for_credits_opens_the_account_it_was_refused_for() -> None:
    engine = _engine(starting_balance=5)
    with pytest.raises(InsufficientCredits):
        engine.api.create("newcomer", "music_generator", duration=15, prompt="a tune")
    [account] = engine.accounts.accounts()  # the 402 was about this account: it is there, charged nothing
    assert (account.token, account.credits, account.charged) == ("newcomer", 5, 0)
    engine.api.create("newcomer", "voice_generator", prompt="Hi", voice_name="Elon Musk")  # 1 credit: affordable
    assert engine.accounts.account("newcomer").credits == 4


def test_a_call_refused_for_its_input_opens_no_account() -> None:
    engine = _engine()
    with pytest.raises(ConfigError):
        engine.api.create("newcomer", "music_generator", duration=0, prompt="a tune")
    assert engine.accounts.accounts() == []
