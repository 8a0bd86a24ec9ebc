"""Error paths: every bad request gets the contract's status and a JSON body naming the problem."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mh_mock.control.remote import Control

from .conftest import TOKEN

VOICE = "/v1/ai-voice-generator"
GOOD_VOICE = {"style": {"prompt": "Hello", "voice_name": "Elon Musk"}}


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message"}
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": ""}, {"authorization": "Bearer"}, {"authorization": "Basic abc"}]
)
def test_missing_or_blank_token_is_401_with_the_contract_body(base_url: str, headers: dict[str, str]) -> None:
    response = httpx.get(f"{base_url}/v1/account", headers=headers)
    assert response.status_code == 401
    assert response.content == b'{"code":"unauthorized","message":"Unauthorized"}'


def test_auth_is_checked_before_the_body(base_url: str) -> None:
    response = httpx.post(f"{base_url}{VOICE}", content=b"not json")
    assert response.status_code == 401


def test_strict_auth_accepts_only_registered_tokens(fake: Control, base_url: str) -> None:
    fake.reset(strict_auth=True)
    fake.add_account("registered", 50)
    refused = httpx.get(f"{base_url}/v1/account", headers={"authorization": "Bearer stranger"})
    accepted = httpx.get(f"{base_url}/v1/account", headers={"authorization": "Bearer registered"})
    assert refused.status_code == 401
    assert (accepted.status_code, accepted.json()["credits"]) == (200, 50)


def test_insufficient_credits_is_402_and_creates_nothing(fake: Control, http: httpx.Client) -> None:
    fake.set_balance(TOKEN, 3)
    response = http.post("/v1/ai-music-generator", json={"duration": 15, "style": {"prompt": "jazz"}})
    assert response.status_code == 402
    assert response.content == b'{"code":"insufficient_credits","message":"Payment required"}'
    assert fake.projects() == []
    assert http.get("/v1/account").json()["credits"] == 3


def test_a_first_call_refused_with_402_leaves_an_account_whose_balance_reads(fake: Control, http: httpx.Client) -> None:
    fake.reset(starting_balance=5)
    response = http.post("/v1/ai-music-generator", json={"duration": 15, "style": {"prompt": "jazz"}})
    assert response.status_code == 402
    assert fake.balance(TOKEN) == 5  # the token's first call was refused for its credits: its account is there
    assert (fake.account(TOKEN)["charged"], fake.projects()) == (0, [])


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "application/json", "Missing request body"),
        (b"{not json", "application/json", "The request body is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
        (b"[1, 2]", "application/json", "Invalid type for request body: expected object, got array"),
        (b'{"style": {"prompt": "hi", "voice_name": "Elon Musk"}}', "text/plain", "Content-Type must be application/json, got 'text/plain'"),
        (b"\xff\xfe{}", "application/json", "The request body is not valid UTF-8 (byte 0)"),
        (b'{"style": {"prompt": NaN, "voice_name": "Elon Musk"}}', "application/json", "The request body is not valid JSON: NaN is not valid JSON"),
        (b"{}", "application/json", "Missing required field: style"),
        (b'{"style": {"voice_name": "Elon Musk"}}', "application/json", "Missing required field: style.prompt"),
        (b'{"style": {"prompt": 5, "voice_name": "Elon Musk"}}', "application/json", "Invalid type for style.prompt: expected string, got integer"),
        (b'{"style": {"prompt": "", "voice_name": "Elon Musk"}}', "application/json", "style.prompt must not be empty"),
        (b'{"style": {"prompt": "hi", "voice_name": "Nobody"}}', "application/json", "Invalid value for style.voice_name: 'Nobody' is not one of the 1266 allowed values"),
        (b'{"name": 3, "style": {"prompt": "hi", "voice_name": "Elon Musk"}}', "application/json", "Invalid type for name: expected string, got integer"),
    ],
)  # fmt: skip
def test_bad_voice_bodies_are_400_naming_the_problem(
    fake: Control, http: httpx.Client, body: bytes, content_type: str, message: str
) -> None:
    response = http.post(VOICE, content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert _error(response) == {"code": "invalid_request", "message": message}
    assert fake.projects() == []


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v1/ai-music-generator", {"duration": 14, "style": {"prompt": "x"}}, "duration must be at least 15 (got 14)"),
        ("/v1/ai-music-generator", {"duration": 301, "style": {"prompt": "x"}}, "duration must be at most 300 (got 301)"),
        ("/v1/ai-music-generator", {"duration": "60", "style": {"prompt": "x"}}, "Invalid type for duration: expected integer, got string"),
        ("/v1/ai-music-generator", {"duration": True, "style": {"prompt": "x"}}, "Invalid type for duration: expected integer, got boolean"),
        ("/v1/ai-voice-cloner", {"assets": {"audio_file_path": "a.mp3"}, "style": {"prompt": "x" * 1001}}, "style.prompt must be at most 1000 characters long (got 1001)"),
        ("/v1/ai-voice-cloner", {"assets": {}, "style": {"prompt": "x"}}, "Missing required field: assets.audio_file_path"),
        ("/v1/files/upload-urls", {"items": []}, "items must contain at least 1 item"),
        ("/v1/files/upload-urls", {"items": [{"type": "audio", "extension": "MP3"}]}, "Invalid value for items[0].extension: 'MP3' does not match ^[a-z0-9]+$"),
        ("/v1/files/upload-urls", {"items": [{"type": "gif", "extension": "gif"}]}, "Invalid value for items[0].type: 'gif' is not one of 'video', 'audio', 'image'"),
    ],
)  # fmt: skip
def test_limits_and_types_are_400_naming_the_field(
    fake: Control, http: httpx.Client, path: str, body: Any, message: str
) -> None:
    response = http.post(path, json=body)
    assert response.status_code == 400
    assert _error(response) == {"code": "invalid_request", "message": message}
    assert fake.projects() == []


def test_wrong_extension_for_the_type_is_422_with_the_vendor_message(http: httpx.Client) -> None:
    response = http.post("/v1/files/upload-urls", json={"items": [{"type": "audio", "extension": "mp4"}]})
    assert response.status_code == 422
    assert _error(response) == {
        "code": "unprocessable_entity",
        "message": "'mp4' is an invalid audio extension. Possible extensions are "
        "'mp3, wav, aac, flac, webm, weba, m4a, opus, ogg, oga, aiff, amr'",
    }


def test_unknown_and_other_tenants_projects_are_404(fake: Control, base_url: str, http: httpx.Client) -> None:
    project_id = http.post(VOICE, json=GOOD_VOICE).json()["id"]
    other = {"authorization": "Bearer someone-else"}
    for method in ("GET", "DELETE"):
        assert httpx.request(method, f"{base_url}/v1/audio-projects/{project_id}", headers=other).status_code == 404
        assert http.request(method, "/v1/audio-projects/nope").status_code == 404
    assert http.get(f"/v1/audio-projects/{project_id}").json()["enabled"] is True


def test_unknown_path_is_404_listing_what_the_fake_serves(base_url: str, http: httpx.Client) -> None:
    response = http.post("/v1/ai-image-generator", json={})
    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "not_found"
    intro = f"No mh-mock route matches POST {base_url}/v1/ai-image-generator. This host serves: "
    assert error["message"].startswith(
        intro + "POST /v1/ai-voice-generator, POST /v1/ai-voice-cloner, POST /v1/ai-music-generator, "
        "GET /v1/audio-projects/{id}, DELETE /v1/audio-projects/{id}, POST /v1/files/upload-urls, GET /v1/account, "
    )
    served = error["message"][len(intro) :].split(", ")
    assert "POST /mh-mock-api/reset" in served and "GET /mh-mock-api/journal" in served  # admin routes are served
    standalone = base_url != "https://api.magichour.ai"
    assert ("GET /openapi.json" in served) is standalone  # in-process no document is served
    assert ("GET /outputs/{id}/{name}" in served) is standalone  # in-process storage is another host


def test_wrong_method_is_405_with_allow(http: httpx.Client) -> None:
    response = http.patch("/v1/account")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert _error(response)["message"] == "PATCH is not allowed on /v1/account; allowed: GET"


def test_request_body_over_the_limit_is_413(fake: Control, http: httpx.Client) -> None:
    fake.reset(max_body_bytes=100)
    response = http.post(VOICE, json={"name": "n" * 200, **GOOD_VOICE})
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"
    assert fake.projects() == []
