"""httpx2 in-process, as httpx (issue 19), with the network blocked.

Sync and async clients, fresh clients and custom transports, the API and storage hosts: answered by
the same dispatcher, recorded in the same journal, struck by the same faults (raising httpx2's own
errors). Other hosts are refused with httpx's message, or let through; the user's in-memory
transports (Starlette's TestClient, ASGITransport, MockTransport) and pytest-httpx2 are never
touched; httpx2 is restored exactly when the fakes stop, and never imported when it cannot be.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

pytest.importorskip("httpx2")

import httpx2
import httpx2._transports.default as transports
import starlette
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from mh_mock.audio import render_wav
from mh_mock.inprocess import MhMock

from .conftest import TOKEN, VOICE
from .contract_check import assert_journal_valid
from .engines import uploaded
from .test_inprocess import INLINE_ARGS, STRICT_INI

API = "https://api.magichour.ai"
STORAGE_HOST = "videos.magichour.ai"
OTHER = "https://other.example/ping"
AUTH = {"authorization": f"Bearer {TOKEN}"}
WAV = render_wav("upload", 0.1)
BLOCKED = "network blocked by the test"
UPLOAD = {"items": [{"type": "audio", "extension": "wav"}]}

ORIGINALS = {
    (transports.HTTPTransport, "handle_request"): vars(transports.HTTPTransport)["handle_request"],
    (transports.AsyncHTTPTransport, "handle_async_request"): vars(transports.AsyncHTTPTransport)[
        "handle_async_request"
    ],
}
"""httpx2's own methods, as collection found them (no fake runs then)."""

ROUND_TRIP = [
    ("voice_generator.create", 200),
    ("projects.get", 200),
    ("files.upload_urls", 200),
    ("storage.download", 200),
    ("storage.upload", 200),
]
"""What :func:`_round_trip` journals: a job, its download, an upload."""


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name resolves and no socket connects: whatever reaches the network raises."""

    def blocked(*args: Any, **kwargs: Any) -> Any:
        raise OSError(BLOCKED)

    monkeypatch.setattr(socket, "getaddrinfo", blocked)
    monkeypatch.setattr(socket.socket, "connect", blocked)


@pytest.fixture
def fake(offline: None) -> Iterator[MhMock]:
    """An in-process fake, offline; every answer it gave is checked against the contract afterwards."""
    with MhMock() as fake:
        yield fake
    assert_journal_valid(fake.journal.calls)


def _round_trip(fake: MhMock, client: httpx2.Client) -> None:
    """A voice job, its download from the storage host and an upload PUT there, all over ``client``."""
    project_id = client.post(f"{API}/v1/ai-voice-generator", json={"style": VOICE}).json()["id"]
    fake.finish(project_id)
    (download,) = client.get(f"{API}/v1/audio-projects/{project_id}").json()["downloads"]
    (slot,) = client.post(f"{API}/v1/files/upload-urls", json=UPLOAD).json()["items"]
    assert urlsplit(download["url"]).hostname == urlsplit(slot["upload_url"]).hostname == STORAGE_HOST
    audio = client.get(download["url"])
    assert (audio.status_code, audio.headers["content-type"], audio.content[:4]) == (200, "audio/wav", b"RIFF")
    assert client.put(slot["upload_url"], content=WAV).status_code == 200
    assert uploaded(fake.engine, slot["file_path"]) == WAV


async def _round_trip_async(fake: MhMock, client: httpx2.AsyncClient) -> None:
    """:func:`_round_trip` over an async client."""
    project_id = (await client.post(f"{API}/v1/ai-voice-generator", json={"style": VOICE})).json()["id"]
    fake.finish(project_id)
    (download,) = (await client.get(f"{API}/v1/audio-projects/{project_id}")).json()["downloads"]
    uploads = await client.post(f"{API}/v1/files/upload-urls", json=UPLOAD)
    (slot,) = uploads.json()["items"]
    assert urlsplit(download["url"]).hostname == urlsplit(slot["upload_url"]).hostname == STORAGE_HOST
    audio = await client.get(download["url"])
    assert (audio.status_code, audio.headers["content-type"], audio.content[:4]) == (200, "audio/wav", b"RIFF")
    assert (await client.put(slot["upload_url"], content=WAV)).status_code == 200
    assert uploaded(fake.engine, slot["file_path"]) == WAV


def _journalled(fake: MhMock) -> list[tuple[str | None, int]]:
    return [(call.route, call.status) for call in fake.journal.calls]


# ---------------------------------------------------------------------------- clients and hosts


@pytest.mark.parametrize("custom", [False, True], ids=["fresh-client", "custom-transport"])
def test_sync_clients_reach_both_hosts_and_are_journalled(fake: MhMock, custom: bool) -> None:
    transport = httpx2.HTTPTransport(retries=2) if custom else None
    with httpx2.Client(transport=transport, headers=AUTH) as client:
        _round_trip(fake, client)
    assert _journalled(fake) == ROUND_TRIP


@pytest.mark.anyio
@pytest.mark.parametrize("custom", [False, True], ids=["fresh-client", "custom-transport"])
async def test_async_clients_reach_both_hosts_and_are_journalled(fake: MhMock, custom: bool) -> None:
    transport = httpx2.AsyncHTTPTransport(retries=2) if custom else None
    async with httpx2.AsyncClient(transport=transport, headers=AUTH) as client:
        await _round_trip_async(fake, client)
    assert _journalled(fake) == ROUND_TRIP


def test_the_module_functions_open_fresh_clients_that_are_answered(fake: MhMock) -> None:
    """``httpx2.get`` and friends open a client inside the library, as the SDKs do for downloads."""
    assert httpx2.get(f"{API}/v1/account", headers=AUTH).json()["credits"] == 10_000
    (slot,) = httpx2.post(f"{API}/v1/files/upload-urls", json=UPLOAD, headers=AUTH).json()["items"]
    assert httpx2.put(slot["upload_url"], content=WAV).status_code == 200
    assert _journalled(fake) == [("account.get", 200), ("files.upload_urls", 200), ("storage.upload", 200)]


def test_httpx_and_httpx2_share_one_fake(fake: MhMock) -> None:
    """One dispatcher, one state, one journal, whichever library calls."""
    created = httpx.post(f"{API}/v1/ai-voice-generator", json={"style": VOICE}, headers=AUTH).json()
    assert httpx2.get(f"{API}/v1/audio-projects/{created['id']}", headers=AUTH).json()["id"] == created["id"]
    assert httpx.get(f"{API}/v1/account", headers=AUTH).json()["credits"] == 10_000 - created["credits_charged"]
    assert _journalled(fake) == [("voice_generator.create", 200), ("projects.get", 200), ("account.get", 200)]


# ---------------------------------------------------------------------------- faults


@pytest.mark.anyio
async def test_latency_lets_other_tasks_run_meanwhile(fake: MhMock) -> None:
    order: list[str] = []
    fake.add_fault("latency", route="account.get", seconds=0.05)
    async with httpx2.AsyncClient(headers=AUTH) as client:

        async def call() -> None:
            assert (await client.get(f"{API}/v1/account")).status_code == 200
            order.append("answered")

        async def other() -> None:
            await asyncio.sleep(0)
            order.append("another task ran")

        await asyncio.gather(call(), other())
    assert order == ["another task ran", "answered"]  # the delay did not block the event loop
    assert fake.journal.last.fault == "latency"


def test_latency_in_a_sync_client_waits_in_the_calling_thread(fake: MhMock, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("mh_mock.clients.time.sleep", slept.append)
    fake.add_fault("latency", route="account.get", seconds=0.05)
    assert httpx2.get(f"{API}/v1/account", headers=AUTH).status_code == 200
    assert slept == [0.05]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["latency", "timeout"])
async def test_a_wait_past_the_read_timeout_raises_httpx2s_read_timeout(fake: MhMock, kind: str) -> None:
    fake.add_fault(kind, route="account.get", seconds=30)
    with httpx2.Client(headers=AUTH, timeout=0.05) as client, pytest.raises(httpx2.ReadTimeout):
        client.get(f"{API}/v1/account")
    fake.add_fault(kind, route="account.get", seconds=30)
    async with httpx2.AsyncClient(headers=AUTH, timeout=0.05) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get(f"{API}/v1/account")
    assert [(call.route, call.fault) for call in fake.journal.calls] == [("account.get", kind)] * 2


DROPS = [
    ("reset", httpx2.ReadError, "Connection reset by peer"),
    ("refused", httpx2.ConnectError, "Connection refused"),
    ("timeout", httpx2.ReadTimeout, "timed out"),  # a stall until the client's read timeout
]


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "error", "message"), DROPS, ids=[kind for kind, _, _ in DROPS])
async def test_a_dropped_connection_raises_httpx2s_own_error(
    fake: MhMock, kind: str, error: type[Exception], message: str
) -> None:
    fake.add_fault(kind, route="account.get", times=2)
    with httpx2.Client(headers=AUTH, timeout=0.05) as client, pytest.raises(error, match=message) as sync_caught:
        client.get(f"{API}/v1/account")
    async with httpx2.AsyncClient(headers=AUTH, timeout=0.05) as client:
        with pytest.raises(error, match=message) as async_caught:
            await client.get(f"{API}/v1/account")
        assert (await client.get(f"{API}/v1/account")).status_code == 200  # the fault is spent
    for caught in (sync_caught, async_caught):
        assert not isinstance(caught.value, httpx.HTTPError)  # httpx2's class, not httpx's
    assert [(c.status, c.fault) for c in fake.journal.calls] == [(0, kind), (0, kind), (200, None)]


def test_a_reset_during_a_download_from_the_storage_host(fake: MhMock) -> None:
    with httpx2.Client(headers=AUTH) as client:
        project_id = client.post(f"{API}/v1/ai-voice-generator", json={"style": VOICE}).json()["id"]
        fake.finish(project_id)
        (download,) = client.get(f"{API}/v1/audio-projects/{project_id}").json()["downloads"]
        fake.add_fault("reset", route="storage.download")
        with pytest.raises(httpx2.ReadError):
            client.get(download["url"])
        assert client.get(download["url"]).status_code == 200
    assert _journalled(fake)[-2:] == [("storage.download", 0), ("storage.download", 200)]


@pytest.mark.anyio
async def test_429_and_5xx_answers(fake: MhMock) -> None:
    fake.add_fault("rate_limit", route="account.get", retry_after=7)
    fake.add_fault("server_error", route="voice_generator.create", status=503)
    limited = httpx2.get(f"{API}/v1/account", headers=AUTH)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
    assert limited.json() == {"code": "rate_limited", "message": "Too Many Requests: retry after 7 s"}
    async with httpx2.AsyncClient(headers=AUTH) as client:
        failed = await client.post(f"{API}/v1/ai-voice-generator", json={"style": VOICE})
    assert (failed.status_code, failed.json()["code"]) == (503, "service_unavailable")
    assert fake.projects() == []
    assert [(c.route, c.status, c.fault) for c in fake.journal.calls] == [
        ("account.get", 429, "rate_limit"),
        ("voice_generator.create", 503, "server_error"),
    ]


# ---------------------------------------------------------------------------- other hosts


@pytest.mark.anyio
async def test_another_host_is_refused_with_the_message_httpx_gets(fake: MhMock) -> None:
    with pytest.raises(AssertionError) as for_httpx:
        httpx.get(OTHER)
    with pytest.raises(AssertionError) as for_httpx2:
        httpx2.get(OTHER)
    async with httpx2.AsyncClient(transport=httpx2.AsyncHTTPTransport(retries=2)) as client:
        with pytest.raises(AssertionError) as for_async:
            await client.get(OTHER)
    assert "passthrough_hosts" in str(for_httpx2.value)  # (not the blocked network's error: never reached)
    assert str(for_httpx2.value) == str(for_async.value) == str(for_httpx.value)
    assert fake.journal.calls == []


@pytest.mark.anyio
async def test_passthrough_hosts_reach_the_network(offline: None) -> None:
    with MhMock(passthrough_hosts=["other.example"]):
        with pytest.raises(httpx2.ConnectError, match=BLOCKED):  # it tried the network, which the test blocks
            httpx2.get(OTHER)
        async with httpx2.AsyncClient() as client:
            with pytest.raises(httpx2.ConnectError, match=BLOCKED):
                await client.get(OTHER)
        with pytest.raises(AssertionError, match="passthrough_hosts"):
            httpx2.get("https://another.example/")  # only the hosts named


@pytest.mark.anyio
async def test_without_assert_all_mocked_other_hosts_get_an_empty_200(offline: None) -> None:
    with MhMock(assert_all_mocked=False) as fake:
        answered = httpx2.get(OTHER)
        async with httpx2.AsyncClient() as client:
            answered_async = await client.get(OTHER)
        assert httpx2.get(f"{API}/v1/account", headers=AUTH).json()["credits"] == 10_000  # the fake's own still are
    for answer in (answered, answered_async):
        assert (answer.status_code, answer.content) == (200, b"")
    assert _journalled(fake) == [("account.get", 200)]


# ---------------------------------------------------------------------------- the user's own transports and mocks


async def _health(request: Request) -> JSONResponse:
    return JSONResponse({"app": True})


async def _credits(request: Request) -> JSONResponse:
    """The user's app calls Magic Hour (the fake) itself."""
    async with httpx2.AsyncClient(headers=AUTH) as client:
        account = (await client.get(f"{API}/v1/account")).json()
    return JSONResponse({"credits": account["credits"]})


APP = Starlette(routes=[Route("/v1/account", _health), Route("/credits", _credits)])
"""The user's app; it even answers ``/v1/account``, served at the fake's own host below."""


def test_starlettes_testclient_answers_from_the_app(fake: MhMock) -> None:
    with TestClient(APP, base_url=API) as client:  # the fake's host: the app answers, not the fake
        assert client.get("/v1/account").json() == {"app": True}
        assert client.get("/credits").json() == {"credits": 10_000}
    if int(starlette.__version__.split(".")[0]) >= 1:
        assert isinstance(client, httpx2.Client)  # Starlette 1.x's TestClient is httpx2's (no deprecation warning)
    assert _journalled(fake) == [("account.get", 200)]  # only the app's own call reached the fake


@pytest.mark.anyio
async def test_asgi_transport_reaches_the_users_app(fake: MhMock) -> None:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=APP), base_url=API) as client:
        assert (await client.get("/v1/account")).json() == {"app": True}
        assert (await client.get("/credits")).json() == {"credits": 10_000}
    assert _journalled(fake) == [("account.get", 200)]


def test_a_mock_transport_answers_for_itself(fake: MhMock) -> None:
    answered = httpx2.MockTransport(lambda request: httpx2.Response(200, json={"mine": True}))
    with httpx2.Client(transport=answered) as client:
        assert client.get(f"{API}/v1/account").json() == {"mine": True}
    assert fake.journal.calls == []


DOWNSTREAM = """
import httpx2
import pytest

API = "https://api.magichour.ai"
PING = "https://other.example/ping"


def _both(httpx2_mock, mh_mock, mh_token):
    httpx2_mock.get(PING).respond(json={"pong": True})
    assert httpx2.get(PING).json() == {"pong": True}
    assert httpx2.get(f"{API}/v1/account", headers={"authorization": f"Bearer {mh_token}"}).status_code == 200
    assert mh_mock.journal.last.route == "account.get"
    assert len(httpx2_mock.calls) == 1  # the fake's host never reached the user's mock
    with pytest.raises(AssertionError):
        httpx2.get("https://unmocked.example/")  # neither mocks it: refused, never sent


def test_httpx2_mock_then_the_fake(httpx2_mock, mh_mock, mh_token):
    _both(httpx2_mock, mh_mock, mh_token)


def test_the_fake_then_httpx2_mock(mh_mock, httpx2_mock, mh_token):
    _both(httpx2_mock, mh_mock, mh_token)


@pytest.mark.anyio
async def test_async_clients_with_both(mh_mock, httpx2_mock, mh_token):
    httpx2_mock.post(PING).respond(204)
    async with httpx2.AsyncClient(transport=httpx2.AsyncHTTPTransport(retries=2)) as client:
        assert (await client.post(PING)).status_code == 204
        created = await client.post(
            f"{API}/v1/ai-voice-generator",
            json={"style": {"prompt": "Hi", "voice_name": "Elon Musk"}},
            headers={"authorization": f"Bearer {mh_token}"},
        )
    assert created.status_code == 200 and mh_mock.projects()[0]["id"] == created.json()["id"]


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def test_pytest_httpx2_beside_the_fake_in_either_order(pytester: pytest.Pytester) -> None:
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_downstream=DOWNSTREAM)
    result = pytester.runpytest(*INLINE_ARGS)
    result.assert_outcomes(passed=DOWNSTREAM.count("\ndef test_") + DOWNSTREAM.count("\nasync def test_"))


# ---------------------------------------------------------------------------- httpx2 itself


def _current() -> dict[tuple[type, str], Any]:
    return {(cls, name): vars(cls)[name] for cls, name in ORIGINALS}


@pytest.mark.parametrize("first_stops_first", [True, False])
def test_httpx2_is_restored_exactly_when_the_last_fake_stops(first_stops_first: bool) -> None:
    assert _current() == ORIGINALS
    first = MhMock().start()
    second = MhMock(api_url="https://api.example.test", storage_url="https://files.example.test").start()
    patched = _current()
    assert all(patched[key] is not original for key, original in ORIGINALS.items())
    (first if first_stops_first else second).stop()
    assert _current() == patched  # one fake still runs
    (second if first_stops_first else first).stop()
    assert all(vars(cls)[name] is ORIGINALS[cls, name] for cls, name in ORIGINALS)
    assert httpx2.HTTPTransport.handle_request is ORIGINALS[transports.HTTPTransport, "handle_request"]


BLOCKERS = {
    "sys.modules": "sys.modules['httpx2'] = None",
    "meta_path": (
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('httpx2', 'httpcore2'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Absent())"
    ),
}

WITHOUT_HTTPX2 = """
import socket, sys
{blocker}
def blocked(*args, **kwargs):
    raise OSError("network blocked")
socket.getaddrinfo = blocked
import httpx
from mh_mock import MhMock
MhMock().start().stop()
with MhMock() as fake:
    answer = httpx.get(fake.api_url + "/v1/account", headers={{"authorization": "Bearer t"}})
    assert (answer.status_code, fake.journal.last.route) == (200, "account.get"), answer
loaded = sorted(name for name, module in sys.modules.items() if module is not None and name.split(".")[0] in ("httpx2", "httpcore2"))
assert not loaded, loaded
print("intercepted httpx without httpx2")
"""


@pytest.mark.parametrize("blocker", ["sys.modules", "meta_path"])
def test_without_httpx2_nothing_of_it_is_imported_and_httpx_is_intercepted(blocker: str) -> None:
    script = WITHOUT_HTTPX2.format(blocker=BLOCKERS[blocker])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "intercepted httpx without httpx2"
