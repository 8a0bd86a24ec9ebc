"""Behaviours users rely on that no test checked before (found by a held-out mutation sample)."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mh_mock.config import Config
from mh_mock.engine import Engine
from mh_mock.errors import ConfigError
from mh_mock.inprocess import MhMock
from mh_mock.standalone.limits import default_max_connections
from mh_mock.standalone.threaded import LiveServer

from .engines import START, T
from .serving import serving

HEADERS = {"authorization": f"Bearer {T}"}


def test_an_in_process_download_settles_other_due_jobs_and_sends_their_webhooks() -> None:
    received: list[str] = []
    with MhMock(progression="clock", start_time=START) as fake:
        done = fake.create_project(T)
        fake.finish(done["id"])
        url = httpx.get(f"https://api.magichour.ai/v1/audio-projects/{done['id']}", headers=HEADERS).json()
        waiting = fake.create_project(T)
        fake.add_webhook(lambda headers, body: received.append(json.loads(body)["type"]) or 200, "whsec_x")
        fake.engine.clock.advance(10)  # time passes; nothing has looked at the engine since
        assert httpx.get(url["downloads"][0]["url"]).status_code == 200
        assert received == ["audio.started", "audio.completed"]  # the download settled the other job: its webhooks went
        assert fake.project(waiting["id"])["status"] == "complete"


def test_every_numeric_lower_bound_the_served_openapi_allows_the_server_accepts(live_server: LiveServer) -> None:
    """The document says what the server takes: its boundary values are accepted, the ones beyond refused."""
    document = httpx.get(f"{live_server.url}/openapi.json").json()
    schema = document["paths"]["/mh-mock-api/reset"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    checked = 0
    for name, field in schema["properties"].items():
        if field.get("type") not in ("number", "integer") or "minimum" not in field:
            continue
        lowest = field["minimum"] + (1e-9 if field.get("exclusiveMinimum") else 0)
        lowest = int(lowest) if field["type"] == "integer" else lowest
        answer = httpx.post(f"{live_server.url}/mh-mock-api/reset", json={name: lowest})
        assert answer.status_code == 200, (name, lowest, answer.text)
        below = field["minimum"] - (0 if field.get("exclusiveMinimum") else 1)
        assert httpx.post(f"{live_server.url}/mh-mock-api/reset", json={name: below}).status_code == 400, name
        checked += 1
    live_server.reset()
    assert checked >= 10


def test_an_admin_created_music_project_lasts_fifteen_seconds_unless_told() -> None:
    with MhMock(start_time=START) as fake:
        made = fake.create_project(T, endpoint="music_generator")
        assert made["credits_charged"] == 15
        assert fake.engine.controls.project(made["id"]).seconds == 15.0
        assert fake.create_project(T, endpoint="music_generator", duration=40)["credits_charged"] == 40


def test_a_forced_error_message_may_have_a_thousand_characters_but_not_more() -> None:
    with MhMock(start_time=START) as fake:
        first = fake.create_project(T)
        assert fake.force(first["id"], "error", code="my_code", message="x" * 1000)["error"]["message"] == "x" * 1000
        second = fake.create_project(T)
        with pytest.raises(Exception, match="message must be at most 1000 characters"):
            fake.force(second["id"], "error", code="my_code", message="x" * 1001)


def test_the_connection_cap_follows_the_descriptor_limit() -> None:
    code = "from mh_mock.standalone.connections import guarded_protocol; print(guarded_protocol().max_connections)"
    for soft in (256, 1024, 4096):
        done = subprocess.run(
            ["prlimit", f"--nofile={soft}:{soft}", sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
        )
        assert int(done.stdout) == default_max_connections(soft) < soft


@pytest.mark.parametrize("verify", ["off", "own context"])
def test_a_client_with_its_own_tls_settings_keeps_them_while_a_fake_is_active(verify: str) -> None:
    own = ssl.create_default_context()
    own.check_hostname = False
    with MhMock():
        client = httpx.Client(verify=False if verify == "off" else own)
        context = client._transport._pool._ssl_context  # type: ignore[attr-defined]
        if verify == "off":
            assert context.verify_mode == ssl.CERT_NONE
        else:
            assert context is own
        shared = httpx.Client()._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert shared is httpx.Client()._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert shared is not context and shared.verify_mode == ssl.CERT_REQUIRED
        client.close()


AUDIO_HEADS = {
    "mp3": b"ID3\x03\x00\x00\x00\x00\x00\x00",
    "flac": b"fLaC\x00\x00\x00\x22",
    "ogg": b"OggS\x00\x02\x00\x00",
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81",
    "m4a": b"\x00\x00\x00\x20ftypM4A ",
    "amr": b"#!AMR\n",
}


@pytest.mark.parametrize("extension", list(AUDIO_HEADS))
def test_a_voice_can_be_cloned_from_an_uploaded_file_of_every_audio_container(extension: str) -> None:
    engine = Engine(Config(start_time=START))
    [slot] = engine.api.create_upload_urls(T, [("audio", extension)])
    auth = parse_qs(urlsplit(slot["upload_url"]).query)["auth-value"][0]
    engine.api.put_upload(slot["file_path"], auth, AUDIO_HEADS[extension] + b"\x00" * 100)
    cloned = engine.api.create(T, "voice_cloner", audio_file_path=slot["file_path"], prompt="Clone me")
    assert engine.controls.finish(cloned.id)[0].status == "complete"
    [text] = engine.api.create_upload_urls(T, [("audio", extension)])
    engine.api.put_upload(text["file_path"], parse_qs(urlsplit(text["upload_url"]).query)["auth-value"][0], b"hello")
    refused = engine.api.create(T, "voice_cloner", audio_file_path=text["file_path"], prompt="Clone me")
    assert engine.controls.finish(refused.id)[0].outcome.code == "invalid_file_format"


def test_a_job_kind_refuses_the_fields_of_another_kind() -> None:
    with pytest.raises(ConfigError, match="duration do\\(es\\) not apply to voice_generator jobs; they take: prompt"):
        Engine(Config()).api.create(T, "voice_generator", prompt="Hi", duration=15)


@pytest.mark.slow
def test_no_queueing_at_all_is_a_job_rendering_at_once() -> None:
    with serving("--queued", "0", "--rendering", "60") as served:
        created = httpx.post(
            f"{served.url}/v1/ai-voice-generator",
            headers=HEADERS,
            json={"style": {"prompt": "Hi", "voice_name": "Elon Musk"}},
        ).json()
        project = httpx.get(f"{served.url}/v1/audio-projects/{created['id']}", headers=HEADERS).json()
        assert project["status"] == "rendering"


def test_an_api_url_naming_its_schemes_default_port_is_served() -> None:
    """Clients leave the default port out of request URLs: the fake must not wait for it."""
    with MhMock(api_url="https://api.example.test:443") as fake:
        for url in ("https://api.example.test/v1/account", "https://api.example.test:443/v1/account"):
            assert httpx.get(url, headers=HEADERS).status_code == 200
        assert len(fake.journal) == 2
