"""HTTP faults: 429 with Retry-After, 5xx, dropped, refused and stalled connections, latency."""

from __future__ import annotations

import asyncio
import time

import httpx
import magic_hour
import pytest
from make_api_request import ApiError

from mh_mock.client import Client, MagicHourError
from mh_mock.control.remote import Control, ControlError
from mh_mock.inprocess import MhMock

from .conftest import TOKEN, VOICE
from .contract_check import assert_valid_response


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


def test_a_faulted_read_of_a_project_is_journalled_about_that_project(fake: Control, client: Client) -> None:
    project_id = client.create_voice("Hi", "Elon Musk")["id"]
    fake.add_fault("rate_limit", route="projects.get", times=2)
    fake.add_fault("timeout", route="projects.get", seconds=0)
    for _ in range(3):
        with pytest.raises((MagicHourError, httpx.TransportError)):
            client.get(project_id)
    assert fake.journal.polls(project_id) == 3  # the faulted reads are reads of that project
    assert [c.fault for c in fake.journal.filter(project_id=project_id)][1:] == ["rate_limit", "rate_limit", "timeout"]
    client.delete(project_id)
    with pytest.raises(AssertionError, match="1 call"):
        fake.add_fault("server_error", route="projects.get")
        with pytest.raises(MagicHourError):
            client.get(project_id)
        fake.journal.assert_no_calls_after_delete(project_id)


@pytest.mark.parametrize("stall", [None, 5.0])
def test_a_timeout_longer_than_the_clients_read_timeout_is_its_read_timeout_in_both_modes(
    fake: Control, base_url: str, stall: float | None
) -> None:
    """The same ``pytest.raises`` covers both modes: the client's own read timeout, as on a socket."""
    fake.add_fault("timeout", route="account.get", **({} if stall is None else {"seconds": stall}))
    with Client(TOKEN, base_url=base_url, timeout=0.3) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.account()


def test_a_stall_shorter_than_the_read_timeout_ends_with_the_server_hanging_up_in_both_modes(
    fake: Control, base_url: str
) -> None:
    fake.add_fault("timeout", route="account.get", seconds=0.05)
    with Client(TOKEN, base_url=base_url, timeout=5) as patient, pytest.raises(httpx.RemoteProtocolError):
        patient.account()


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
    assert (call.status, call.fault, call.handled) == (0, "timeout", True)  # the client got no answer
    assert call.response["id"] == fake.projects()[0]["id"]  # but the engine did create it


def test_latency_delays_but_answers(fake: Control, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    if isinstance(fake, MhMock):  # in-process the delay is a sleep of the calling thread
        monkeypatch.setattr("mh_mock.clients.time.sleep", slept.append)
    fake.add_fault("latency", route="account.get", seconds=0.05)
    started = time.monotonic()
    assert client.account()["credits"] == 10_000
    elapsed = time.monotonic() - started
    assert slept == [0.05] if isinstance(fake, MhMock) else elapsed >= 0.05  # a lower bound cannot flake
    assert fake.journal.last.fault == "latency"


def test_latency_longer_than_the_read_timeout_times_the_client_out(
    fake: Control, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    if isinstance(fake, MhMock):  # in-process the wait is a sleep of the calling thread, up to the timeout
        monkeypatch.setattr("mh_mock.clients.time.sleep", slept.append)
    fake.add_fault("latency", route="account.get", seconds=1)
    with Client(TOKEN, base_url=base_url, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.account()
    assert slept == ([0.2] if isinstance(fake, MhMock) else [])


@pytest.mark.anyio
async def test_in_process_latency_lets_other_tasks_run_meanwhile() -> None:
    order: list[str] = []
    with MhMock() as fake:
        fake.add_fault("latency", route="account.get", seconds=0.05)
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {TOKEN}"}) as client:

            async def call() -> None:
                assert (await client.get(f"{fake.api_url}/v1/account")).status_code == 200
                order.append("answered")

            async def other() -> None:
                order.append("another task ran")

            await asyncio.gather(call(), other())
    assert order == ["another task ran", "answered"]  # the delay did not block the event loop


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
    with pytest.raises(ControlError, match="Unknown field\\(s\\) rout in request body; valid fields are: after, kind"):
        fake.add_fault("reset", rout="projects.get")
    with pytest.raises(ControlError, match="Invalid value for kind: 'explode' is not one of 'latency', 'rate_limit'"):
        fake.add_fault("explode")


def test_one_fault_can_be_removed_by_id_and_the_others_stay(fake: Control, client: Client) -> None:
    first = fake.add_fault("server_error", route="account.get", times=None)
    second = fake.add_fault("rate_limit", route="projects.get", times=None)
    assert [f["id"] for f in fake.remove_fault(first["id"])] == [second["id"]]
    assert client.account()["credits"] == 10_000  # the removed fault no longer strikes
    with pytest.raises(ControlError, match=f"No fault '{first['id']}'"):
        fake.remove_fault(first["id"])
