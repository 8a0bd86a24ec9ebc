"""The ready data in fixtures/: up to date, valid against the contract, and loadable."""

from __future__ import annotations

import wave
from pathlib import Path

import httpx
import magic_hour
import pytest
from mh_mock.fixtures.generate import render_all

from mh_mock import fixtures
from mh_mock.standalone.threaded import LiveServer

from .contract_check import assert_valid_response

ROOT = Path(fixtures.__file__).parent


def test_every_generated_fixture_is_up_to_date() -> None:
    """Run ``python -m mh_mock.fixtures.generate`` if this fails after an engine change."""
    for name, content in render_all().items():
        assert (ROOT / name).read_bytes() == content, f"fixtures/{name} is stale"


def test_every_fixture_file_is_checked() -> None:
    on_disk = {
        str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and p.suffix in (".json", ".wav", ".mp3")
    }
    assert on_disk == set(render_all()) | {"seeds/examples.json"}


@pytest.mark.parametrize("status", fixtures.PROJECT_STATUSES)
def test_project_bodies_validate_against_the_contract(status: str) -> None:
    body = fixtures.project_body(status)
    assert_valid_response("audioProjects.getDetails", 200, body)
    expected = "complete" if status == "deleted" else status
    assert body["status"] == expected and body["enabled"] is (status != "deleted")
    assert bool(body["downloads"]) is (status == "complete")
    assert (body["error"] is not None) is (status == "error")


def test_account_bodies_validate_against_the_contract() -> None:
    for kind in ("default", "subscribed"):
        assert_valid_response("account.get", 200, fixtures.account_body(kind))


def test_api_error_bodies_match_the_contract_for_their_status() -> None:
    operation = {"400": "aiVoiceGenerator.createAudio", "401": "account.get", "402": "aiVoiceGenerator.createAudio",
                 "404": "audioProjects.getDetails", "422": "videoAssets.generatePresignedUrl"}  # fmt: skip
    errors = fixtures.api_errors()
    for status, op in operation.items():
        assert_valid_response(op, int(status), errors[status])
    assert errors["413"]["code"] == "payload_too_large"
    every = ["400", "401", "402", "403", "404", "405", "413", "415", "422", "429", "500", "502", "503"]
    assert sorted(errors) == every  # every status the fake answers with
    assert all(set(body) == {"code", "message"} for body in errors.values())


def test_job_error_catalogue_has_every_documented_code() -> None:
    codes = set(fixtures.job_errors())
    assert {"text_too_long", "invalid_voice", "insufficient_credits", "processing_timeout"} <= codes
    assert {"no_source_face", "invalid_file_format", "file_too_large", "invalid_parameters", "unknown_error"} <= codes


def test_audio_files_open_with_the_wave_module_and_the_decoy_does_not() -> None:
    with wave.open(str(fixtures.audio_path("music-15s.wav"))) as reader:
        assert reader.getnframes() / reader.getframerate() == 15
    with pytest.raises(wave.Error), wave.open(str(fixtures.audio_path("not-audio.mp3"))):
        pass
    with pytest.raises(FileNotFoundError, match=r"there are: music-15s\.wav"):
        fixtures.audio_path("nope.wav")


def test_code_written_for_the_vendor_mock_server_runs_against_the_examples_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the SDK README does against Environment.MOCK_SERVER, unchanged but for base_url."""
    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", "0")
    with LiveServer(preload="examples", progression="poll") as server, httpx.Client() as http:
        client = magic_hour.Client(token="mhk_live_apikey", base_url=server.url, httpx_client=http)
        project = client.v1.audio_projects.get(id="cuid-example")
        assert (project.status, project.name, project.credits_charged) == ("complete", "Example Name", 2)
        account = client.v1.account.list()
        assert (account.credits, account.tier, account.email) == (12500, "pro", "user@example.com")
        clone = client.v1.ai_voice_cloner.generate(
            assets={"audio_file_path": "api-assets/id/1234.mp3"}, style={"prompt": "Hello"},
            wait_for_completion=True, download_outputs=True, download_directory=str(tmp_path),
        )  # fmt: skip
        assert clone.status == "complete"
        server.reset()
        assert client.v1.audio_projects.get(id="cuid-example").status == "complete"  # a reset reseeds
