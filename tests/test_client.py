"""The reference client, sync and async, in both modes; and the cloner's inputs."""

from __future__ import annotations

import wave
from pathlib import Path

import httpx
import pytest

from mh_mock.client import AsyncClient, Client, MagicHourError
from mh_mock.control.remote import Control

from .conftest import TOKEN


@pytest.fixture
def client(base_url: str) -> Client:
    with Client(TOKEN, base_url=base_url) as client:
        yield client  # type: ignore[misc]


def test_full_lifecycle_with_the_sync_client(client: Client, fake: Control, tmp_path: Path) -> None:
    created = client.create_voice("Hello from the reference client", "Morgan Freeman", name="greeting")
    project = client.wait(created["id"], interval=0)
    assert (project["status"], project["name"]) == ("complete", "greeting")
    [path] = client.download(project, tmp_path)
    with wave.open(str(path)) as reader:
        assert reader.getnframes() > 0
    client.delete(created["id"])
    assert client.get(created["id"])["enabled"] is False
    assert fake.journal.downloaded(created["id"])
    assert [c.route for c in fake.journal.calls_after_delete(created["id"])] == ["projects.get"]
    with pytest.raises(AssertionError, match=r"1 call\(s\) touched project .* after it was deleted: GET "):
        fake.journal.assert_no_calls_after_delete(created["id"])


def test_wait_times_out_when_nothing_moves_the_job(client: Client, fake: Control) -> None:
    fake.set_progression("clock")  # the clock is frozen: the job stays queued
    created = client.create_music(15, "ambient")
    with pytest.raises(TimeoutError, match=f"project {created['id']} is still queued after 0 s"):
        client.wait(created["id"], timeout=0, interval=0)


def test_errors_raise_one_exception_type_with_status_code_and_message(client: Client, fake: Control) -> None:
    fake.set_balance(TOKEN, 0)
    with pytest.raises(MagicHourError) as caught:
        client.create_music(15, "ambient")
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        402,
        "insufficient_credits",
        "Payment required",
    )
    with pytest.raises(MagicHourError) as missing:
        client.get("nope")
    assert (missing.value.status, missing.value.code) == (404, "not_found")


def test_upload_then_clone_and_a_non_audio_upload_fails_the_job(
    client: Client, fake: Control, wav_file: Path, tmp_path: Path
) -> None:
    good = client.clone_voice(client.upload_file(wav_file), "Clone me")
    assert client.wait(good["id"], interval=0)["status"] == "complete"

    fake_audio = tmp_path / "notes.mp3"
    fake_audio.write_text("these are not audio bytes")
    bad = client.clone_voice(client.upload_file(fake_audio), "Clone me")
    project = client.wait(bad["id"], interval=0)
    assert project["status"] == "error"
    assert project["error"]["code"] == "invalid_file_format"
    assert project["credits_charged"] == 0


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("https://cdn.example.com/voice.mp3", "complete", None),
        ("https://magichour.ai/my-library?audioId=abc", "complete", None),
        ("https://cdn.example.com/voice", "error", "invalid_file_format"),
        ("voice.mp3", "error", "invalid_parameters"),
    ],
)
def test_cloner_accepts_urls_with_an_extension(client: Client, path: str, status: str, code: str | None) -> None:
    project = client.wait(client.clone_voice(path, "Hi")["id"], interval=0)
    assert project["status"] == status
    assert (project["error"] or {}).get("code") == code


def test_uploads_and_downloads_are_bound_to_their_owner(base_url: str, fake: Control, wav_file: Path) -> None:
    with Client("alice", base_url=base_url) as alice, Client("bob", base_url=base_url) as bob:
        file_path = alice.upload_file(wav_file)
        stolen = bob.wait(bob.clone_voice(file_path, "Mine now")["id"], interval=0)
        assert stolen["status"] == "error" and stolen["error"]["code"] == "invalid_parameters"
        project = alice.wait(alice.create_voice("private", "Elon Musk")["id"], interval=0)
        with pytest.raises(MagicHourError) as caught:
            bob.get(project["id"])
        assert caught.value.status == 404
        url = project["downloads"][0]["url"]
        forged = url.replace(project["id"], stolen["id"])
        assert httpx.get(forged).status_code == 404
        assert httpx.get(url).status_code == 200


def test_a_put_with_a_wrong_auth_value_stores_nothing(client: Client, fake: Control, base_url: str) -> None:
    item = httpx.post(
        f"{base_url}/v1/files/upload-urls",
        json={"items": [{"type": "audio", "extension": "wav"}]},
        headers={"authorization": f"Bearer {TOKEN}"},
    ).json()["items"][0]
    forged = item["upload_url"].split("?")[0] + "?auth-value=0000"
    assert httpx.put(forged, content=b"RIFF").status_code == 404
    project = client.wait(client.clone_voice(item["file_path"], "hi")["id"], interval=0)
    assert project["error"]["code"] == "invalid_parameters"


@pytest.mark.anyio
async def test_full_lifecycle_with_the_async_client(base_url: str, wav_file: Path, tmp_path: Path) -> None:
    async with AsyncClient(TOKEN, base_url=base_url) as client:
        asset = await client.upload_file(wav_file)
        created = await client.clone_voice(asset, "Async clone")
        project = await client.wait(created["id"], interval=0)
        assert project["status"] == "complete"
        [path] = await client.download(project, tmp_path)
        assert path.read_bytes()[:4] == b"RIFF"
        await client.delete(created["id"])
        with pytest.raises(MagicHourError) as caught:
            await client.download(project, tmp_path)
        assert caught.value.status == 404
        assert (await client.account())["credits"] == 10_000 - created["credits_charged"]
