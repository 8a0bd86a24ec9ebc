"""The official magic-hour SDK, unmodified, driven through the fake in both modes."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import magic_hour
import pytest
from make_api_request import ApiError

from mh_mock.control.remote import Control

from .conftest import TOKEN


def _base(fake: Control) -> dict[str, str]:
    """In-process the SDK keeps its default base URL; the live server needs ``base_url=``."""
    return {} if fake.api_url == "https://api.magichour.ai" else {"base_url": fake.api_url}


@pytest.fixture
def sdk(fake: Control) -> Iterator[magic_hour.Client]:
    """The official SDK pointed at the fake (its httpx client is closed afterwards)."""
    with httpx.Client(timeout=10) as http:
        yield magic_hour.Client(token=TOKEN, httpx_client=http, **_base(fake))


def _frames(path: str) -> int:
    with wave.open(path) as reader:
        return reader.getnframes()


def test_voice_generator_generate_waits_and_downloads_a_wav(sdk: magic_hour.Client, tmp_path: Path) -> None:
    result = sdk.v1.ai_voice_generator.generate(
        style={"prompt": "Hello, how are you?", "voice_name": "Morgan Freeman"},
        wait_for_completion=True,
        download_outputs=True,
        download_directory=str(tmp_path),
    )
    assert result.status == "complete"
    assert result.credits_charged == 2  # 19 characters x 0.1 credit, rounded up
    assert result.downloaded_paths == [str(tmp_path / "output.wav")]
    assert _frames(result.downloaded_paths[0]) > 0


def test_music_generator_generate_renders_the_requested_duration(sdk: magic_hour.Client, tmp_path: Path) -> None:
    result = sdk.v1.ai_music_generator.generate(
        duration=20,
        style={"prompt": "Dreamy synthwave", "instrumental": True},
        wait_for_completion=True,
        download_outputs=True,
        download_directory=str(tmp_path),
    )
    assert (result.status, result.credits_charged, result.type_) == ("complete", 20, "MUSIC_GENERATOR")
    with wave.open(result.downloaded_paths[0]) as reader:
        assert reader.getnframes() / reader.getframerate() == 20


def test_voice_cloner_uploads_a_local_file_then_clones(
    sdk: magic_hour.Client, fake: Control, wav_file: Path, tmp_path: Path
) -> None:
    result = sdk.v1.ai_voice_cloner.generate(
        assets={"audio_file_path": str(wav_file)},
        style={"prompt": "This is my cloned voice."},
        wait_for_completion=True,
        download_outputs=True,
        download_directory=str(tmp_path),
    )
    assert result.status == "complete", result.error
    assert _frames(result.downloaded_paths[0]) > 0
    routes = [call.route for call in fake.journal]
    assert routes[:3] == ["files.upload_urls", "storage.upload", "voice_cloner.create"]


def test_voice_cloner_with_a_path_never_uploaded_fails_the_job_and_refunds(
    sdk: magic_hour.Client, fake: Control
) -> None:
    before = sdk.v1.account.list().credits
    result = sdk.v1.ai_voice_cloner.generate(
        assets={"audio_file_path": "api-assets/never/uploaded.mp3"},
        style={"prompt": "Hello"},
        wait_for_completion=True,
        download_outputs=True,
    )
    assert result.status == "error"
    assert result.error is not None and result.error.code == "invalid_parameters"
    assert "never/uploaded.mp3" in result.error.message
    assert result.credits_charged == 0
    assert result.downloaded_paths is None
    assert sdk.v1.account.list().credits == before


def test_delete_disables_the_project_and_kills_its_download_url(sdk: magic_hour.Client) -> None:
    done = sdk.v1.ai_voice_generator.generate(
        style={"prompt": "Delete me", "voice_name": "Elon Musk"}, wait_for_completion=True, download_outputs=False
    )
    old_url = done.downloads[0].url
    assert httpx.get(old_url).status_code == 200

    sdk.v1.audio_projects.delete(id=done.id)
    after = sdk.v1.audio_projects.get(id=done.id)

    assert (after.enabled, after.downloads, after.status) == (False, [], "complete")
    assert httpx.get(old_url).status_code == 404
    sdk.v1.audio_projects.delete(id=done.id)  # deleting twice is still 204


def test_account_shows_balance_after_charges_and_refunds(sdk: magic_hour.Client, fake: Control) -> None:
    start = sdk.v1.account.list().credits
    sdk.v1.ai_music_generator.generate(
        duration=30, style={"prompt": "lofi"}, wait_for_completion=True, download_outputs=False
    )
    failed = sdk.v1.ai_voice_generator.create(style={"prompt": "x" * 1001, "voice_name": "Elon Musk"})
    assert failed.credits_charged == 101
    assert sdk.v1.account.list().credits == start - 30 - 101  # charged at request time

    final = sdk.v1.audio_projects.check_result(id=failed.id, wait_for_completion=True, download_outputs=False)

    assert final.status == "error" and final.error is not None and final.error.code == "text_too_long"
    assert final.credits_charged == 0
    assert sdk.v1.account.list().credits == start - 30


def test_unknown_project_raises_api_error_404(sdk: magic_hour.Client) -> None:
    with pytest.raises(ApiError) as caught:
        sdk.v1.audio_projects.get(id="cuid-does-not-exist")
    assert caught.value.status_code == 404
    assert caught.value.body == {"code": "not_found", "message": "Not Found"}


def test_sdk_without_a_token_gets_401(fake: Control) -> None:
    with httpx.Client() as http, pytest.raises(ApiError) as caught:
        # token=None: the SDK sends no Authorization header at all
        magic_hour.Client(httpx_client=http, **_base(fake)).v1.account.list()
    assert (caught.value.status_code, caught.value.body) == (401, {"code": "unauthorized", "message": "Unauthorized"})


@pytest.mark.anyio
async def test_async_sdk_generate(fake: Control, tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        client = magic_hour.AsyncClient(token=TOKEN, httpx_client=http, **_base(fake))
        result = await client.v1.ai_voice_generator.generate(
            style={"prompt": "Async hello", "voice_name": "Elon Musk"},
            wait_for_completion=True,
            download_outputs=True,
            download_directory=str(tmp_path),
        )
    assert result.status == "complete"
    assert _frames(result.downloaded_paths[0]) > 0
