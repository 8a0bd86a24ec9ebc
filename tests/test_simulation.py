"""Scenarios, cancellation, HTTP faults and signed webhooks, through the SDK and the reference client."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import magic_hour
import pytest
from make_api_request import ApiError

from mh_mock.cli import main
from mh_mock.client import Client, MagicHourError
from mh_mock.control import Control, ControlError
from mh_mock.live import LiveServer, ThreadedServer
from mh_mock.mock import MhMock
from mh_mock.webhooks import sign, verify

from .conftest import TOKEN
from .contract_check import assert_valid_response
from .webhook_receiver import SECRET, Receiver

VOICE = {"prompt": "Hello there", "voice_name": "Elon Musk"}


@pytest.fixture
def sdk(fake: Control) -> Iterator[magic_hour.Client]:
    with httpx.Client(timeout=5) as http:
        yield magic_hour.Client(token=TOKEN, base_url=fake.api_url, httpx_client=http)


@pytest.fixture
def client(fake: Control) -> Iterator[Client]:
    with Client(TOKEN, base_url=fake.api_url, timeout=5) as client:
        yield client


def _run(sdk: magic_hour.Client) -> magic_hour.types.models.V1AudioProjectsGetResponse:
    return sdk.v1.ai_voice_generator.generate(style=VOICE, wait_for_completion=True, download_outputs=False)


# ---------------------------------------------------------------------------- scenarios


def test_the_next_two_voice_jobs_fail_with_a_code_then_jobs_complete(fake: Control, sdk: magic_hour.Client) -> None:
    fake.fail_next(2, "text_too_long", endpoint="voice_generator")
    music = sdk.v1.ai_music_generator.generate(
        duration=15, style={"prompt": "x"}, wait_for_completion=True, download_outputs=False
    )
    results = [_run(sdk) for _ in range(3)]
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


# ---------------------------------------------------------------------------- faults


def test_rate_limit_on_the_third_poll(fake: Control, sdk: magic_hour.Client) -> None:
    fake.add_fault("rate_limit", route="projects.get", nth=3, retry_after=7)
    created = sdk.v1.ai_voice_generator.create(style=VOICE)
    with pytest.raises(ApiError) as caught:
        sdk.v1.audio_projects.check_result(id=created.id, wait_for_completion=True, download_outputs=False)
    assert caught.value.status_code == 429
    assert caught.value.body == {"code": "rate_limited", "message": "Too Many Requests: retry after 7 s"}
    assert caught.value.response.headers["retry-after"] == "7"
    assert [c.fault for c in fake.journal.filter("projects.get")] == [None, None, "rate_limit"]
    assert sdk.v1.audio_projects.get(id=created.id).status == "complete"  # the third read did not count


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_on_create_creates_nothing(fake: Control, client: Client, status: int) -> None:
    fake.add_fault("server_error", route="voice_generator.create", status=status)
    with pytest.raises(MagicHourError) as caught:
        client.create_voice("Hi", "Elon Musk")
    assert caught.value.status == status
    assert set(caught.value.body) == {"code", "message"}
    if status == 500:
        assert_valid_response("aiVoiceGenerator.createAudio", 500, caught.value.body)
    assert fake.projects() == [] and client.account()["credits"] == 10_000
    assert fake.journal.filter("voice_generator.create")[0].fault == "server_error"


def test_a_connection_reset_during_download(fake: Control, client: Client, tmp_path: object) -> None:
    project = client.wait(client.create_voice("Hi", "Elon Musk")["id"], interval=0)
    fake.add_fault("reset", route="storage.download")
    with pytest.raises(httpx.TransportError):
        client.download(project, tmp_path)  # type: ignore[arg-type]
    assert client.download(client.get(project["id"]), tmp_path)  # type: ignore[arg-type]  # next try works


def test_connection_refused(fake: Control, client: Client) -> None:
    fake.add_fault("refused", route="account.get")
    expected = httpx.ConnectError if isinstance(fake, MhMock) else httpx.TransportError
    with pytest.raises(expected):
        client.account()


def test_read_timeout_after_the_fake_handled_the_create(fake: Control, base_url: str) -> None:
    fake.add_fault("timeout", route="voice_generator.create", after=True, seconds=2)
    with Client(TOKEN, base_url=base_url, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.create_voice("Hi", "Elon Musk")
    [call] = fake.journal.filter("voice_generator.create")
    assert (call.status, call.fault) == (200, "timeout")
    assert len(fake.projects()) == 1  # the documented rule: after=True means it was created


def test_latency_delays_but_answers(fake: Control, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    if isinstance(fake, MhMock):  # in-process the delay is a sleep of the calling thread
        monkeypatch.setattr("mh_mock.mock.time.sleep", slept.append)
    fake.add_fault("latency", route="account.get", seconds=0.05)
    started = time.monotonic()
    assert client.account()["credits"] == 10_000
    elapsed = time.monotonic() - started
    assert slept == [0.05] if isinstance(fake, MhMock) else elapsed >= 0.05  # a lower bound cannot flake
    assert fake.journal.last.fault == "latency"


def test_a_fault_with_a_probability_is_seeded(fake: Control, client: Client) -> None:
    def struck() -> list[bool]:
        fake.reset(seed=5)
        fake.add_fault("server_error", route="account.get", probability=0.5, times=None)
        results = []
        for _ in range(10):
            try:
                client.account()
                results.append(False)
            except MagicHourError:
                results.append(True)
        return results

    first = struck()
    assert first == struck() and True in first and False in first


def test_a_bad_fault_is_refused_with_the_valid_fields(fake: Control) -> None:
    with pytest.raises(ControlError, match="unknown fault field\\(s\\) rout; valid fields are: kind, route"):
        fake.add_fault("reset", rout="projects.get")
    with pytest.raises(ControlError, match="fault kind must be one of latency, rate_limit"):
        fake.add_fault("explode")


# ---------------------------------------------------------------------------- webhooks


@pytest.fixture
def receiver(fake: Control) -> Iterator[tuple[Receiver, str]]:
    """A real receiver server; in-process, respx lets its host through."""
    receiver = Receiver(fail_first=1)
    with ThreadedServer(receiver.app) as server:
        if isinstance(fake, MhMock):
            fake.router.route(host="127.0.0.1").pass_through()
        yield receiver, f"{server.url}/webhooks/magic-hour"


def test_webhooks_arrive_signed_once_per_transition_and_in_order(
    fake: Control, sdk: magic_hour.Client, receiver: tuple[Receiver, str]
) -> None:
    got, url = receiver
    fake.add_webhook(url, SECRET)
    ok = _run(sdk)
    fake.fail_next(1, "processing_timeout")
    failed = _run(sdk)
    canceled = sdk.v1.ai_voice_generator.create(style=VOICE)
    fake.cancel(canceled.id)
    fake.deliver_webhooks()
    # the very first delivery got a 500: it waits 1 s of the fake's clock, and completed waits behind it
    assert got.sequence(ok.id) == [] and got.requests == 3  # ok's started failed; failed's two went through
    fake.advance(1)
    fake.deliver_webhooks()
    assert got.sequence(ok.id) == ["audio.started", "audio.completed"]
    assert got.sequence(failed.id) == ["audio.started", "audio.errored"]
    assert got.sequence(canceled.id) == []
    assert got.rejected == 0
    completed = next(e for e in got.events if e["type"] == "audio.completed")
    assert completed["payload"]["status"] == "complete" and completed["payload"]["downloads"]
    log = fake.deliveries()
    assert [len(d["attempts"]) for d in log if d["project_id"] == ok.id] == [2, 1]
    assert all(d["state"] == "delivered" for d in log)


def test_an_unreachable_endpoint_is_retried_with_backoff_then_failed() -> None:
    statuses: list[int] = []

    def receiver(headers: object, body: bytes) -> int:
        statuses.append(503)
        return 503

    with MhMock() as fake:
        fake.add_webhook(receiver, "s", ["audio.completed"])
        created = fake.create_project("t")
        fake.finish(created["id"])
        attempts_at = []
        for _ in range(18):
            [delivery] = fake.deliveries()
            attempts_at.append(len(delivery["attempts"]))
            fake.advance(2 ** (len(delivery["attempts"]) - 1))
        [delivery] = fake.deliveries()
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) == 17  # 1 + retries after 1, 2, 4, … s while within 24 h
    assert attempts_at[:4] == [1, 2, 3, 4]


def test_sign_and_verify_follow_the_vendor_algorithm() -> None:
    body = b'{"type":"audio.completed","payload":{}}'
    signature = sign("whsec_x", 1730742038, body)
    expected = hmac.new(b"whsec_x", b"1730742038." + body, hashlib.sha256).hexdigest()  # the docs' recipe
    assert signature == expected
    assert verify("whsec_x", body, signature, "1730742038", now=1730742038 + 299)
    assert not verify("whsec_x", body, signature, "1730742038", now=1730742038 + 301)
    assert not verify("whsec_y", body, signature, "1730742038", tolerance=None)
    assert not verify("whsec_x", body + b" ", signature, "1730742038", tolerance=None)


# ---------------------------------------------------------------------------- admin API and CLI


def test_the_cli_changes_what_the_next_api_call_returns(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    live_server.reset()
    assert main(["fail-next", "1", "--code", "invalid_voice", "--url", live_server.url]) == 0
    assert '"outcome"' in capsys.readouterr().out
    with Client(TOKEN, base_url=live_server.url) as client:
        project = client.wait(client.create_voice("Hi", "Elon Musk")["id"], interval=0)
        assert project["error"]["code"] == "invalid_voice"
        created = client.create_voice("Hello", "Elon Musk")["id"]
        assert main(["cancel", created, "--url", live_server.url]) == 0
        assert client.get(created)["status"] == "canceled"
        assert main(["advance", "30", "--url", live_server.url]) == 0
    state = capsys.readouterr().out
    assert '"frozen": true' in state


def test_the_cli_reports_errors_clearly(live_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cancel", "nope", "--url", live_server.url]) == 1
    assert "No project 'nope' (404)" in capsys.readouterr().err
    assert main(["state", "--url", "http://127.0.0.1:9"]) == 1
    assert "Is `mh-mock serve` running?" in capsys.readouterr().err


def test_the_admin_api_needs_its_token_when_one_is_set() -> None:
    with LiveServer(admin_token="s3cret") as server:
        refused = httpx.get(f"{server.url}/mh-mock-api/state")
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        assert server.state()["projects"] == 0  # the control client sends the token
