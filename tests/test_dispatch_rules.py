"""HTTP rules of the dispatcher, in-process: auth header parsing, faults aimed at a token or a project,
error bodies, the Allow header, early refusals and what the journal keeps of each call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mh_mock.errors import ConfigError
from mh_mock.inprocess import MhMock
from mh_mock.routing.dispatch import ADMIN_BODY_LIMIT, Request, Response

T = "mhk_live_dispatch"
AUTH = {"authorization": f"Bearer {T}"}
VOICE = {"style": {"prompt": "Hello there", "voice_name": "Elon Musk"}}


@pytest.fixture
def fake() -> Iterator[MhMock]:
    with MhMock(start_time=1_767_225_600.0) as fake:
        yield fake


@pytest.fixture
def http(fake: MhMock) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.api_url, headers=AUTH) as client:
        yield client


def _finished(fake: MhMock, http: httpx.Client) -> dict[str, Any]:
    project_id = http.post("/v1/ai-voice-generator", json=VOICE).json()["id"]
    fake.finish(project_id)
    return http.get(f"/v1/audio-projects/{project_id}").json()  # type: ignore[no-any-return]


def test_a_bearer_token_may_be_followed_by_extra_spaces(fake: MhMock) -> None:
    answer = httpx.get(f"{fake.api_url}/v1/account", headers={"authorization": f"Bearer   {T}  "})
    assert answer.status_code == 200
    assert fake.journal.last.token == T


def test_a_fault_aimed_at_a_token_strikes_only_that_tokens_calls(fake: MhMock, http: httpx.Client) -> None:
    fake.add_fault("server_error", route="account.get", token=T, times=None)
    assert http.get("/v1/account").status_code == 500
    other = httpx.get(f"{fake.api_url}/v1/account", headers={"authorization": "Bearer someone-else"})
    assert other.status_code == 200


def test_a_fault_aimed_at_a_project_strikes_only_its_calls(fake: MhMock, http: httpx.Client) -> None:
    first = http.post("/v1/ai-voice-generator", json=VOICE).json()["id"]
    second = http.post("/v1/ai-voice-generator", json=VOICE).json()["id"]
    fake.add_fault("server_error", route="projects.get", project_id=second, times=None)
    assert http.get(f"/v1/audio-projects/{first}").status_code == 200
    assert http.get(f"/v1/audio-projects/{second}").status_code == 500


def test_a_storage_fault_aimed_at_the_owner_strikes_the_download_of_their_project(
    fake: MhMock, http: httpx.Client
) -> None:
    url = _finished(fake, http)["downloads"][0]["url"]
    fake.add_fault("server_error", route="storage.download", token="someone-else")
    assert httpx.get(url).status_code == 200
    fake.add_fault("server_error", route="storage.download", token=T)
    assert httpx.get(url).status_code == 500
    assert fake.journal.last.owner == T


def test_a_storage_fault_aimed_at_a_project_strikes_its_download(fake: MhMock, http: httpx.Client) -> None:
    body = _finished(fake, http)
    fake.add_fault("server_error", route="storage.download", project_id=body["id"])
    assert httpx.get(body["downloads"][0]["url"]).status_code == 500


def test_a_later_fault_strikes_when_an_earlier_one_does_not_match(fake: MhMock, http: httpx.Client) -> None:
    fake.add_fault("server_error", route="projects.get", times=None)
    fake.add_fault("rate_limit", route="account.get")
    answer = http.get("/v1/account")
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "1"
    assert answer.json() == {"code": "rate_limited", "message": "Too Many Requests: retry after 1 s"}


def test_a_rule_the_engine_refuses_is_a_400_invalid_request_with_its_message(
    fake: MhMock, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refusing(token: str | None) -> dict[str, Any]:
        raise ConfigError("that is not allowed here")

    monkeypatch.setattr(fake.engine.api, "account_body", refusing)
    answer = http.get("/v1/account")
    assert answer.status_code == 400
    assert answer.json() == {"code": "invalid_request", "message": "that is not allowed here"}


def test_a_bug_in_a_handler_is_a_500_naming_it_and_is_logged(
    fake: MhMock, http: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(token: str | None) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(fake.engine.api, "account_body", broken)
    answer = http.get("/v1/account")
    assert answer.status_code == 500
    assert answer.json() == {"code": "internal_server_error", "message": "mh-mock bug: RuntimeError: boom"}
    assert f"mh-mock failed on GET {fake.api_url}/v1/account" in caplog.messages


def test_a_wrong_method_answers_405_with_every_allowed_method(fake: MhMock, http: httpx.Client) -> None:
    answer = http.put("/v1/audio-projects/abc")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "DELETE, GET"


def test_the_journal_says_a_call_was_handled(fake: MhMock, http: httpx.Client) -> None:
    http.get("/v1/account")
    assert fake.journal.last.handled is True
    fake.add_fault("server_error", route="account.get")
    http.get("/v1/account")
    assert fake.journal.last.handled is False


def test_the_journal_keeps_the_size_and_start_of_a_body_it_could_not_parse(fake: MhMock, http: httpx.Client) -> None:
    answer = http.post("/v1/ai-voice-generator", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert fake.journal.last.body == {"bytes": 9, "prefix": "{not json"}


def test_the_journal_keeps_only_the_size_of_a_refused_upload(fake: MhMock, http: httpx.Client) -> None:
    [slot] = http.post("/v1/files/upload-urls", json={"items": [{"type": "audio", "extension": "wav"}]}).json()["items"]
    headers = httpx.Headers([("authorization", "Bearer a"), ("authorization", "Bearer b")])
    answer = httpx.put(slot["upload_url"], content=b"RIFF....", headers=headers)
    assert answer.status_code == 400
    assert fake.journal.last.body == {"bytes": 8}


def test_an_admin_query_value_outside_its_enum_is_a_400(fake: MhMock) -> None:
    answer = httpx.get(f"{fake.api_url}/mh-mock-api/projects", params={"status": "bogus"})
    assert answer.status_code == 400
    assert httpx.get(f"{fake.api_url}/mh-mock-api/projects", params={"status": "queued"}).json() == []


def _request(fake: MhMock, method: str, path: str, body: bytes = b"", **query: str) -> Request:
    return Request(method, f"{fake.api_url}{path}", path, query, httpx.Headers(AUTH), body, (AUTH["authorization"],))


def _refuse_early(fake: MhMock, method: str, path: str, declared: str, **query: str) -> Response | None:
    request = _request(fake, method, path, **query)
    return fake.dispatcher.refuse_early(request, fake.dispatcher.match(method, path), declared)


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(fake: MhMock) -> None:
    fake.reset(max_body_bytes=100)
    refused = _refuse_early(fake, "POST", "/v1/ai-voice-generator", "101")
    assert refused is not None and refused.status == 413
    assert fake.journal.last.status == 413 and fake.journal.last.handled is False
    assert _refuse_early(fake, "POST", "/v1/ai-voice-generator", "100") is None
    assert _refuse_early(fake, "POST", "/mh-mock-api/reset", "101") is None  # admin: later
    assert _refuse_early(fake, "GET", "/nowhere", "101") is None  # unrouted: later


def test_an_upload_to_a_url_that_is_not_valid_is_refused_before_its_body_is_read(fake: MhMock) -> None:
    path = "/api-assets/abc/audio.wav"
    refused = _refuse_early(fake, "PUT", path, "10", **{"auth-value": "forged"})
    assert refused is not None and refused.status == 404
    assert fake.journal.last.route == "storage.upload"


# ---------------------------------------------------------------------------- the admin API


def _admin(fake: MhMock, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{fake.api_url}/mh-mock-api{path}", **kwargs)


def test_the_admin_api_needs_the_admin_token_when_one_is_set() -> None:
    from mh_mock.standalone.threaded import LiveServer

    with LiveServer(admin_token="owner-secret") as server:
        refused = httpx.get(f"{server.url}/mh-mock-api/state")
        assert refused.status_code == 403
        assert refused.json() == {
            "code": "forbidden", "message": "The admin API needs the right x-mh-mock-admin-token header",
        }  # fmt: skip
        assert httpx.get(
            f"{server.url}/mh-mock-api/state", headers={"x-mh-mock-admin-token": "owner-secret"}
        ).is_success


def test_an_admin_body_as_long_as_the_admin_limit_is_taken_whatever_the_api_limit(fake: MhMock) -> None:
    fake.reset(max_body_bytes=0)  # the vendor API's limit: no option set over the admin API locks the admin API out
    body = b'{"seconds": 1}'.ljust(ADMIN_BODY_LIMIT)
    json_type = {"content-type": "application/json"}
    assert _admin(fake, "POST", "/clock/advance", content=body, headers=json_type).status_code == 200
    too_long = _admin(fake, "POST", "/clock/advance", content=body + b" ", headers=json_type)
    assert too_long.status_code == 413


def test_an_admin_call_may_send_no_body_when_none_is_needed(fake: MhMock) -> None:
    json_type = {"content-type": "application/json"}
    answer = _admin(fake, "POST", "/webhooks/deliver", headers=json_type)
    assert answer.status_code == 200 and answer.json() == []
    fake.advance(5)
    assert _admin(fake, "POST", "/reset", headers=json_type).status_code == 200  # every option is optional
    assert fake.now() == 1_767_225_600.0  # the reset restarted the clock


def test_a_value_the_engine_refuses_in_an_admin_call_is_a_400_invalid_request(fake: MhMock) -> None:
    answer = _admin(fake, "POST", "/faults", json={"kind": "reset", "route": "nowhere"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_request"
    assert answer.json()["message"].startswith("no route is named 'nowhere'")


def test_a_bug_in_an_admin_operation_is_a_500_naming_it_and_is_logged(
    fake: MhMock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(fake.engine.controls, "advance", broken)
    answer = _admin(fake, "POST", "/clock/advance", json={"seconds": 1})
    assert answer.status_code == 500
    assert answer.json() == {"code": "internal_server_error", "message": "mh-mock bug: RuntimeError: boom"}
    assert f"mh-mock failed on POST {fake.api_url}/mh-mock-api/clock/advance" in caplog.messages


def test_an_answer_that_cannot_be_encoded_is_a_500_and_is_logged(
    fake: MhMock, http: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(fake.engine.api, "account_body", lambda token: {"credits": object()})
    answer = http.get("/v1/account")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"code": "internal_server_error", "message": "mh-mock bug: TypeError"}
    assert f"mh-mock could not encode its answer to GET {fake.api_url}/v1/account" in caplog.messages


def test_uploads_may_be_as_large_as_the_upload_limit_and_other_bodies_the_body_limit(fake: MhMock) -> None:
    fake.reset(max_body_bytes=100, max_upload_bytes=1000)
    limit = fake.dispatcher.body_limit
    assert limit(fake.dispatcher.match("PUT", "/api-assets/abc/audio.wav").route) == 1000
    assert limit(fake.dispatcher.match("POST", "/v1/ai-voice-generator").route) == 100
    assert limit(fake.dispatcher.match("GET", "/nowhere").route) == 100


def test_the_journal_times_a_tenants_call_on_the_tenants_clock(fake: MhMock, http: httpx.Client) -> None:
    fake.reset_tenant(T)
    fake.engine.controls.advance(50, tenant=T)
    http.get("/v1/account")
    assert fake.journal.last.at == 1_767_225_600.0 + 50


def test_the_journal_keeps_the_answer_to_a_call_no_route_matches(fake: MhMock) -> None:
    httpx.get(f"{fake.api_url}/v1/nowhere")
    assert fake.journal.last.status == 404
    assert fake.journal.last.response["code"] == "not_found"


def test_the_journal_keeps_only_the_size_of_a_large_answer(fake: MhMock, http: httpx.Client) -> None:
    project_id = http.post("/v1/ai-voice-generator", json={**VOICE, "name": "n" * 9000}).json()["id"]
    answer = http.get(f"/v1/audio-projects/{project_id}")
    assert fake.journal.last.response == {"bytes": len(answer.content)}


def test_the_journal_keeps_an_answer_of_exactly_the_limit_in_full(fake: MhMock, http: httpx.Client) -> None:
    from mh_mock.routing.dispatch import JOURNAL_BODY_LIMIT

    fake.set_progression("clock")  # reading moves nothing: every GET of a project answers the same

    def answer_length(name: str) -> int:
        project_id = http.post("/v1/ai-voice-generator", json={**VOICE, "name": name}).json()["id"]
        return len(http.get(f"/v1/audio-projects/{project_id}").content)

    name = "n" * (1 + JOURNAL_BODY_LIMIT - answer_length("n"))
    assert answer_length(name) == JOURNAL_BODY_LIMIT
    assert fake.journal.last.response["name"] == name
