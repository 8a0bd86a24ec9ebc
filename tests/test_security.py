"""The standalone server as an attacker meets it: a web page, a stranger's token, a hostile body or seed.

Browser-side attacks are plain HTTP requests with the headers a browser would send. What the
server trusts is loopback and its owner's command line; everything else is refused with a 4xx
that says why, and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mh_mock.control.remote import ControlError, RemoteControl
from mh_mock.inprocess import MhMock
from mh_mock.standalone.threaded import LiveServer

from .serving import free_port, serve, serving

TOKEN = "mhk_live_owner"
FORM = {"content-type": "application/x-www-form-urlencoded"}
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(frozen_clock=True, progression="poll", allow_host=("mh-mock.internal",)) as server:
        yield server


@pytest.fixture
def live(server: LiveServer) -> LiveServer:
    server.reset()
    httpx.get(f"{server.url}/v1/account", headers={"authorization": f"Bearer {TOKEN}"})
    return server


def _refused(answer: httpx.Response, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"code", "message"} and words in body["message"], body


# ---------------------------------------------------------------------------- CSRF and DNS rebinding


def test_a_form_on_another_site_cannot_reset_the_fake(live: LiveServer) -> None:
    answer = httpx.post(f"{live.url}/mh-mock-api/reset", content=b"x=1", headers={**FORM, "origin": EVIL})
    _refused(answer, 403, "refuses requests from the web page at http://evil.example")
    _refused(httpx.post(f"{live.url}/mh-mock-api/reset", content=b"x=1", headers=FORM), 415, "application/json")
    assert live.state()["accounts"] == 1  # nothing was reset


def test_a_fetch_with_a_blob_body_cannot_redirect_uploads(live: LiveServer) -> None:
    """``fetch(url, {method: "POST", body: new Blob([json])})`` sends no Content-Type at all."""
    hijack = json.dumps({"storage_url": "http://evil.example"}).encode()
    _refused(httpx.post(f"{live.url}/mh-mock-api/reset", content=hijack), 415, "Content-Type: application/json")
    cross_site = {"content-type": "application/json", "sec-fetch-site": "cross-site"}
    _refused(httpx.post(f"{live.url}/mh-mock-api/reset", content=hijack, headers=cross_site), 403, "cross-site")
    same_site = {"content-type": "application/json", "sec-fetch-site": "same-site", "origin": "http://localhost:3000"}
    _refused(httpx.post(f"{live.url}/mh-mock-api/finish", content=b"{}", headers=same_site), 403, "same-site")
    # and the option itself cannot be changed over HTTP: the storage host is the owner's setting
    with pytest.raises(ControlError, match="storage_url"):
        live.reset(storage_url="http://evil.example")


def test_a_page_cannot_create_jobs_with_its_own_requests(live: LiveServer) -> None:
    body = json.dumps({"style": {"prompt": "spam", "voice_name": "Elon Musk"}}).encode()
    headers = {"authorization": "Bearer x", "origin": EVIL}
    _refused(httpx.post(f"{live.url}/v1/ai-voice-generator", content=body, headers=headers), 403, "change state")
    assert live.state()["projects"] == 0


def test_the_dashboards_own_origin_is_allowed(live: LiveServer) -> None:
    same = {"content-type": "application/json", "origin": live.url, "sec-fetch-site": "same-origin"}
    assert httpx.post(f"{live.url}/mh-mock-api/clock/advance", json={"seconds": 1}, headers=same).status_code == 200


def test_no_permissive_cors_headers_are_sent(live: LiveServer) -> None:
    preflight = httpx.options(
        f"{live.url}/mh-mock-api/reset",
        headers={
            "origin": EVIL,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    answers = [preflight, httpx.get(f"{live.url}/mh-mock-api/state", headers={"origin": live.url})]
    for answer in answers:
        assert not [name for name in answer.headers if name.lower().startswith("access-control-")]


def test_dns_rebinding_cannot_read_the_admin_api(live: LiveServer) -> None:
    rebound = httpx.get(f"{live.url}/mh-mock-api/accounts", headers={"host": "evil.example"})
    _refused(rebound, 403, "does not answer for Host 'evil.example'")
    _refused(httpx.get(f"{live.url}/v1/account", headers={"host": "evil.example:80"}), 403, "--allow-host")
    port = live.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"mh-mock.internal:{port}"):
        assert httpx.get(f"{live.url}/mh-mock-api/state", headers={"host": host}).status_code == 200, host


def test_listings_never_show_a_whole_token(live: LiveServer) -> None:
    [account] = live.accounts()
    assert account["token"] == "mh…er" and len(account["id"]) == 25  # a third of the key at most
    assert live.account(TOKEN)["token"] == TOKEN  # who names the token may see it
    httpx.post(
        f"{live.url}/v1/ai-music-generator", json={"duration": 15, "style": {"prompt": "x"}},
        headers={"authorization": f"Bearer {TOKEN}"},
    )  # fmt: skip
    assert [p["owner"] for p in live.projects()] == ["mh…er"]
    assert [c["token"] for c in live.call("journal")] == ["mh…er", "mh…er"]


def test_rules_faults_and_webhooks_aimed_at_a_key_list_it_shortened(live: LiveServer) -> None:
    secret = "mhk_live_SECRETKEY_alice_123456"
    fault = live.add_fault("rate_limit", token=secret, times=None)
    assert fault["token"] == secret  # the caller named it
    live.add_scenario("error", token=secret)
    hook = live.call("add_webhook", url="http://127.0.0.1:9/hook", secret="whsec_x", token=secret)
    listed = [*live.faults(), *live.scenarios()["rules"], *live.webhooks()]
    assert [item["token"] for item in listed] == ["mhk_…3456"] * 3
    assert [f["token"] for f in live.call("faults", token=secret)] == [secret]  # asked about it: shown whole
    assert live.remove_fault(fault["id"]) == []
    assert live.remove_webhook(hook["id"]) == []
    assert secret not in json.dumps([live.scenarios(), live.call("deliveries")])


# ---------------------------------------------------------------------------- the admin token


def test_the_admin_token_cannot_be_set_or_cleared_over_http(tmp_path: Path) -> None:
    with LiveServer(admin_token="owner-secret", state=tmp_path / "s.db") as server:
        for value in ("attacker", None, True):
            answer = httpx.post(
                f"{server.url}/mh-mock-api/reset", json={"admin_token": value},
                headers={"x-mh-mock-admin-token": "owner-secret"},
            )  # fmt: skip
            _refused(answer, 400, "Unknown field(s) admin_token")
        assert server.state()["projects"] == 0  # the owner still gets in
    with LiveServer(admin_token="new-secret", state=tmp_path / "s.db") as server:  # the command line wins
        assert httpx.get(f"{server.url}/mh-mock-api/state").status_code == 403
        assert server.state()["accounts"] == 0


def test_an_empty_admin_token_is_refused_at_start() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "mh_mock", "serve", "--admin-token", ""], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--admin-token must not be empty" in done.stderr


# ---------------------------------------------------------------------------- hostile input


def test_a_huge_token_is_refused_and_rejected_calls_create_no_account(live: LiveServer) -> None:
    _refused(
        httpx.get(f"{live.url}/v1/account", headers={"authorization": "Bearer " + "k" * 60_000}), 401, "at most 256"
    )
    before = live.state()["accounts"]
    for n in range(20):
        headers = {"authorization": f"Bearer stranger-{n}"}
        assert httpx.get(f"{live.url}/v1/audio-projects/nope", headers=headers).status_code == 404
        assert httpx.post(f"{live.url}/v1/ai-voice-generator", json={}, headers=headers).status_code == 400
        assert httpx.post(f"{live.url}/v1/files/upload-urls", headers=headers,
                          json={"items": [{"type": "audio", "extension": "exe"}]}).status_code == 422  # fmt: skip
    assert live.state()["accounts"] == before  # only calls that succeed create an account


def test_two_authorization_headers_are_refused_in_both_modes(live: LiveServer) -> None:
    headers = [("authorization", "Bearer a"), ("authorization", "Bearer b")]
    _refused(httpx.get(f"{live.url}/v1/account", headers=headers), 400, "more than one Authorization header")
    with MhMock():
        _refused(httpx.get("https://api.magichour.ai/v1/account", headers=headers), 400, "more than one Authorization")


def _forwarded_call(base_url: str) -> str:
    headers = {"authorization": f"Bearer {TOKEN}", "x-forwarded-proto": "https", "x-forwarded-for": "6.6.6.6"}
    assert httpx.get(f"{base_url}/v1/account", headers=headers).status_code == 200
    control = RemoteControl(base_url)
    try:
        return str(list(control.journal)[-1].url)
    finally:
        control.close()


def test_forwarded_headers_from_a_client_do_not_rewrite_what_the_journal_shows(live: LiveServer) -> None:
    assert _forwarded_call(live.url).startswith(f"{live.url}/v1/account")


@pytest.mark.slow
def test_a_crowd_of_deliver_calls_cannot_wedge_the_server() -> None:
    # Each POST /webhooks/deliver holds a worker thread while it waits for the sender; the sender's own
    # thread hops must not queue behind them (they did: a crowd at once hung the server for good).
    served = serve()
    try:
        admin = RemoteControl(served.url)
        admin.add_webhook(f"http://127.0.0.1:{free_port()}/hook", "whsec_crowd")  # nobody listens there
        admin.finish(admin.create_project("mhk_test_crowd")["id"])
        admin.close()

        async def crowd() -> list[int]:
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(base_url=served.url, timeout=30, limits=limits) as client:
                answers = await asyncio.gather(
                    *(client.post("/mh-mock-api/webhooks/deliver", json={}) for _ in range(200))
                )
            return [answer.status_code for answer in answers]

        assert asyncio.run(crowd()) == [200] * 200
        with httpx.Client(base_url=served.url, timeout=5) as http:
            assert http.get("/v1/account", headers={"authorization": "Bearer mhk_test_crowd"}).status_code == 200
            assert http.get("/mh-mock-api/state").status_code == 200
        assert served.stop() == 0
    finally:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait()


@pytest.mark.slow
def test_mh_mock_serve_trusts_no_forwarded_headers() -> None:
    with serving() as served:
        assert _forwarded_call(served.url).startswith(f"{served.url}/v1/account")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"preload": True}, "Invalid type for preload"),
        ({"preload": 0}, "Invalid type for preload"),
        ({"preload": []}, "Invalid type for preload"),
        ({"preload": ""}, "preload must not be empty"),
        ({"preload": "\u0000"}, "preload is a bundled seed name"),
        ({"preload": "/"}, "preload '/' is not a bundled seed"),
        ({"preload": "/etc/passwd"}, "preload '/etc/passwd' is not a bundled seed"),
        ({"preload": "/dev/zero"}, "not a bundled seed"),
        ({"journal_limit": 10**30}, "journal_limit must be at most 1000000"),
        ({"preload": {"uploads": [{"token": "t", "file_path": "api-assets/x/a.wav", "seconds": 1e9}]}}, "seconds"),
        ({"preload": {"projects": [{"id": "x", "token": "t"}]}}, "Missing required field"),
        ({"preload": {"config": {"api_url": "http://evil.example"}}}, "Unknown field(s) api_url"),
    ],
)
def test_reset_refuses_hostile_input_with_a_4xx_naming_the_field(live: LiveServer, body: Any, words: str) -> None:
    answer = httpx.post(f"{live.url}/mh-mock-api/reset", json=body)
    _refused(answer, 400, words)
    assert live.state()["accounts"] == 1  # nothing changed


def test_a_seed_file_is_read_only_from_the_owners_seeds_dir_and_never_echoed(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "mine.json").write_text(json.dumps({"accounts": [{"token": "from-seed", "credits": 7}]}))
    (seeds / "wrong-shape.json").write_text(json.dumps({"accounts": "TOP-SECRET-CONTENT"}))
    (seeds / "binary.json").write_bytes(os.urandom(64) + b"\xff\xfe")
    (seeds / "zero.json").symlink_to("/dev/zero")
    os.mkfifo(seeds / "fifo.json")
    (tmp_path / "outside.json").write_text("{}")
    from mh_mock.engine import Engine
    from mh_mock.standalone.app import create_app, standalone_config
    from mh_mock.standalone.options import ServeOptions
    from mh_mock.standalone.threaded import ThreadedServer

    engine = Engine(standalone_config("http://127.0.0.1:1"))
    with ThreadedServer(create_app(engine, ServeOptions(public_url="http://127.0.0.1:1", seeds_dir=seeds))) as threaded:

        def reset(preload: str) -> httpx.Response:
            return httpx.post(f"{threaded.url}/mh-mock-api/reset", json={"preload": preload}, timeout=10)

        assert reset("mine.json").status_code == 200 and engine.accounts.account("from-seed").credits == 7
        wrong = reset("wrong-shape.json")
        assert wrong.status_code == 400 and "TOP-SECRET" not in wrong.text and "accounts" in wrong.text
        for name, words in [
            ("binary.json", "is not a JSON document"),
            ("zero.json", "outside the server's --seeds-dir"),  # the link leads out of the directory
            ("fifo.json", "is not a regular file"),  # and opening it does not wait for a writer
            ("../outside.json", "outside the server's --seeds-dir"),
            ("missing.json", "no seed file"),
        ]:
            _refused(reset(name), 400, words)


def test_declared_bodies_over_the_limit_are_refused_before_they_are_read(live: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", int(live.url.rsplit(":", 1)[1])), timeout=10) as raw:
        raw.sendall(
            b"POST /v1/ai-voice-generator HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 31457280\r\n\r\n"  # 30 MiB declared, none sent
        )
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413") and b"the limit is 1048576 bytes" in answer
    chunked = httpx.post(
        f"{live.url}/mh-mock-api/reset", content=iter([b"{" + b" " * (9 << 20)] * 2),
        headers={"content-type": "application/json"},
    )  # fmt: skip
    _refused(chunked, 413, "over the limit of 16777216 bytes")  # counted while streaming (admin calls: 16 MiB)


@pytest.mark.slow
def test_hostile_bodies_do_not_grow_the_servers_memory() -> None:
    with serving() as served:
        before = served.rss_bytes()
        bogus = f"{served.url}/api-assets/cxxxxxxxxxxxxxxxxxxxxxxxx/audio.wav?auth-value=forged"
        blob = b"\0" * (40 * 1024 * 1024)
        for _ in range(6):
            with httpx.Client(timeout=30) as client:
                try:
                    answer = client.put(bogus, content=blob)
                    assert answer.status_code == 404
                except httpx.TransportError:
                    pass  # refused before the upload finished sending: the server stopped reading
        heads = [
            b"POST /v1/ai-voice-generator HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 31457280\r\n\r\n"
        ] * 10
        for head in heads:
            with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
                raw.sendall(head + b"{" * 65536)
                assert raw.recv(64).startswith(b"HTTP/1.1 413")
        grown = served.rss_bytes() - before
        assert grown < 40 * 1024 * 1024, f"RSS grew by {grown / 2**20:.0f} MiB"
        journal = httpx.get(f"{served.url}/mh-mock-api/journal").json()
        assert {json.dumps(c["body"]) for c in journal if c["route"] == "storage.upload"} <= {"null"}


# ---------------------------------------------------------------------------- smaller holes


def test_nested_fakes_on_one_host_are_refused_clearly() -> None:
    with (
        MhMock(),
        pytest.raises(RuntimeError, match=r"another MhMock is already intercepting https://api\.magichour\.ai"),
    ):
        MhMock().start()
    with MhMock(), MhMock(api_url="https://api.example.test", storage_url="https://files.example.test") as other:
        assert other.state()["projects"] == 0  # fakes on other hosts live side by side


# ---------------------------------------------------------------------------- availability


@pytest.mark.slow
def test_a_slow_admin_call_does_not_stop_other_requests(tmp_path: Path) -> None:
    """A reset that loads a large seed takes seconds; API calls are answered all the while."""
    import threading
    import time

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    projects = [{"id": f"p{n}", "token": "seeded", "endpoint": "voice_generator", "status": "complete"}
                for n in range(120_000)]  # fmt: skip
    (seeds / "large.json").write_text(json.dumps({"projects": projects}))
    with serving("--seeds-dir", str(seeds)) as served:
        auth = {"authorization": "Bearer busy"}
        httpx.get(f"{served.url}/v1/account", headers=auth)
        finished: list[float] = []

        def slow_reset() -> None:
            answer = httpx.post(f"{served.url}/mh-mock-api/reset", json={"preload": "large.json"}, timeout=120)
            assert answer.status_code == 200, answer.text
            finished.append(time.monotonic())

        thread = threading.Thread(target=slow_reset)
        started = time.monotonic()
        thread.start()
        answered: list[float] = []
        with httpx.Client(timeout=60) as client:
            while thread.is_alive():
                assert client.get(f"{served.url}/v1/account", headers=auth).status_code == 200
                answered.append(time.monotonic())
                assert client.get(f"{served.url}/openapi.json").status_code == 200
        thread.join()
        during = [at for at in answered if at < finished[0]]
        assert finished[0] - started > 0.5, "the reset was too quick to prove anything"
        assert len(during) >= 5, f"only {len(during)} calls were answered during a {finished[0] - started:.1f} s reset"
        assert httpx.get(f"{served.url}/mh-mock-api/state").json()["projects"] == 120_000


@pytest.mark.slow
def test_a_busy_database_does_not_stop_the_server_answering(tmp_path: Path) -> None:
    import sqlite3
    import threading

    state = tmp_path / "s.db"
    with serving("--state", str(state), "--state-timeout", "3") as served:
        auth = {"authorization": "Bearer waiting"}
        blocker = sqlite3.connect(state, timeout=0, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        results: list[int] = []
        writer = threading.Thread(
            target=lambda: results.append(httpx.get(f"{served.url}/v1/account", headers=auth, timeout=30).status_code)
        )
        writer.start()  # a new account must be saved: it waits for the lock, then is refused
        answered_meanwhile = 0
        try:
            while writer.is_alive():
                assert httpx.get(f"{served.url}/openapi.json", timeout=2).status_code == 200  # the loop is free
                answered_meanwhile += writer.is_alive()
        finally:
            writer.join()
            blocker.execute("ROLLBACK")
            blocker.close()
        assert results == [503]  # refused, not acknowledged
        assert answered_meanwhile >= 5
        assert httpx.get(f"{served.url}/v1/account", headers=auth).status_code == 200
