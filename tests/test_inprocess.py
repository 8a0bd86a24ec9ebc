"""The in-process fake beside the user's own app and mocks: ASGI/WSGI test clients, respx, pytest-httpx.

respx patches httpx for the whole process, so the fake must intercept only network requests to
its own hosts: in-memory transports pass untouched, and other mocking libraries keep answering
for theirs.
"""

from __future__ import annotations

import httpx
import httpx._transports.default as default_transport
import pytest

from mh_mock.inprocess import MhMock
from mh_mock.standalone.threaded import LiveServer

DOWNSTREAM = """
import httpx
import pytest
import respx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from mh_mock.webhooks import verify_request

SECRET = "whsec_test"
received = []


async def hook(request):
    body = await request.body()
    if not verify_request(SECRET, request.headers, body):
        return JSONResponse({"message": "bad signature"}, status_code=401)
    received.append(body)
    return JSONResponse({"ok": True})


async def health(request):
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/health", health)])


def test_starlette_testclient_reaches_the_users_app(mh_mock):
    with TestClient(app) as client:
        assert client.get("/health").json() == {"ok": True}


@pytest.mark.anyio
async def test_asgi_transport_reaches_the_users_app(mh_mock):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        assert (await client.get("/health")).json() == {"ok": True}


def test_a_webhook_callable_may_use_testclient(mh_mock, mh_client):
    with TestClient(app) as client:
        mh_mock.add_webhook(
            lambda headers, body: client.post("/hook", content=body, headers=dict(headers)).status_code, SECRET
        )
        mh_client.wait(mh_client.create_voice("Hi", "Elon Musk")["id"], interval=0)
    assert len(received) == 2 and all(d["state"] == "delivered" for d in mh_mock.deliveries())


def test_respx_mock_for_another_host_beside_the_sdk(respx_mock, mh_sdk):
    respx_mock.get("https://other.example/ping").respond(json={"pong": True})
    assert httpx.get("https://other.example/ping").json() == {"pong": True}
    created = mh_sdk.v1.ai_voice_generator.create(style={"prompt": "Hi", "voice_name": "Elon Musk"})
    assert mh_sdk.v1.audio_projects.get(id=created.id).status == "queued"
    assert httpx.get("https://other.example/ping").json() == {"pong": True}


def test_the_sdk_first_then_respx_mock(mh_sdk, respx_mock):
    created = mh_sdk.v1.ai_voice_generator.create(style={"prompt": "Hi", "voice_name": "Elon Musk"})
    respx_mock.post("https://other.example/hook").respond(204)
    assert httpx.post("https://other.example/hook").status_code == 204
    assert mh_sdk.v1.audio_projects.get(id=created.id).id == created.id


FAKE_HOSTS = {"api.magichour.ai", "videos.magichour.ai"}


@pytest.mark.httpx_mock(should_mock=lambda request: request.url.host not in FAKE_HOSTS)
def test_pytest_httpx_beside_the_fake(httpx_mock, mh_sdk):
    httpx_mock.add_response(url="https://other.example/ping", json={"pong": True})
    assert httpx.get("https://other.example/ping").json() == {"pong": True}
    result = mh_sdk.v1.ai_voice_generator.generate(
        style={"prompt": "Hi", "voice_name": "Elon Musk"}, wait_for_completion=True, download_outputs=False
    )
    assert result.status == "complete"


@pytest.mark.httpx_mock(should_mock=lambda request: request.url.host not in FAKE_HOSTS)
def test_the_fake_first_then_pytest_httpx(mh_sdk, httpx_mock):
    created = mh_sdk.v1.ai_voice_generator.create(style={"prompt": "Hi", "voice_name": "Elon Musk"})
    httpx_mock.add_response(url="https://other.example/ping", json={"pong": True})
    assert httpx.get("https://other.example/ping").json() == {"pong": True}
    assert mh_sdk.v1.audio_projects.get(id=created.id).status == "queued"


def test_unknown_hosts_are_refused_with_a_hint(mh_mock):
    with pytest.raises(AssertionError, match="passthrough_hosts"):
        httpx.get("https://unmocked.example/")


@pytest.mark.mh_mock(passthrough_hosts=["127.0.0.1"])
def test_passthrough_hosts_reach_the_network(mh_mock):
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://127.0.0.1:9/")  # the network answered: nothing listens on port 9


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


STRICT_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings =\n    error\n"
"""A downstream project's ini: every warning is an error (Starlette's TestClient on httpx2 warns nothing)."""

INLINE_ARGS = ("-p", "no:randomly", "-W", "ignore::pytest.PytestAssertRewriteWarning")
"""pytester runs in this process, where mh_mock is already imported (not rewritten: setuptools' editable
finder loads it); pytest now marks an editable plugin's package for rewriting (pytest#11783), then warns
that it cannot: a warning of this nested run, not of the downstream project."""


def test_the_fake_composes_with_the_users_app_respx_and_pytest_httpx(pytester: pytest.Pytester) -> None:
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_downstream=DOWNSTREAM)
    result = pytester.runpytest(*INLINE_ARGS)
    result.assert_outcomes(passed=DOWNSTREAM.count("\ndef test_") + DOWNSTREAM.count("\nasync def test_"))


def test_in_memory_transports_are_never_intercepted() -> None:
    answered = httpx.MockTransport(lambda request: httpx.Response(200, json={"mine": True}))
    with MhMock(), httpx.Client(transport=answered) as client:
        assert client.get("https://api.magichour.ai/v1/account").json() == {"mine": True}


def test_the_environment_mock_server_url_can_be_the_fake() -> None:
    magic_hour = pytest.importorskip("magic_hour")
    from magic_hour.environment import Environment

    with MhMock(api_url=Environment.MOCK_SERVER.value, preload="examples"):
        client = magic_hour.Client(token="anything", environment=Environment.MOCK_SERVER)
        assert client.v1.audio_projects.get(id="cuid-example").status == "complete"
        assert client.v1.account.list().credits == 12_500


def test_overlapping_fakes_restore_httpx_whatever_order_they_stop_in() -> None:
    original = default_transport.create_ssl_context
    first = MhMock().start()
    second = MhMock(api_url="https://api.example.test", storage_url="https://files.example.test").start()
    first.stop()
    assert default_transport.create_ssl_context is not original  # the second still shares
    second.stop()
    assert default_transport.create_ssl_context is original


def _context(client: httpx.Client) -> object:
    return client._transport._pool._ssl_context  # type: ignore[attr-defined]


def test_consecutive_fakes_share_one_ssl_context_and_restore_httpx_between_them() -> None:
    """Each test's fake stops; the next one must not pay ~20 ms to load the CA bundle again."""
    original = default_transport.create_ssl_context
    with MhMock(), httpx.Client() as first:
        shared = _context(first)
    assert default_transport.create_ssl_context is original
    with httpx.Client() as outside, httpx.Client() as other:
        assert _context(outside) is not _context(other)  # outside a fake, httpx is itself again
    with MhMock(), httpx.Client() as second:
        assert _context(second) is shared


def test_a_wrapper_left_behind_by_out_of_order_unpatching_is_harmless(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest-httpx's monkeypatch, undone after the fake stopped, puts the fake's wrapper back."""
    fake = MhMock().start()
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", httpx.HTTPTransport.handle_request)
    fake.stop()
    monkeypatch.undo()  # restores what it saw: the fake's wrapper, with no fake running any more
    assert httpx.get(f"{live_server.url}/mh-mock-api/state").status_code == 200  # it behaves as httpx
