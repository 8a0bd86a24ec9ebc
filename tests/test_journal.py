"""The call journal's helpers and its size limit."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from mh_mock.audio import render_wav
from mh_mock.control.remote import Control
from mh_mock.inprocess import MhMock
from mh_mock.journal import Journal
from mh_mock.vendor import RouteName

from .conftest import TOKEN


def _record(
    journal: Journal, route: str | None, status: int = 200, project_id: str | None = None, method: str = "GET"
) -> None:
    journal.record(
        at=0.0,
        method=method,
        url=f"https://x/{route}",
        route=route,
        token="t",
        body=None,
        status=status,
        project_id=project_id,
    )


def test_filters_by_route_prefix_method_status_and_project() -> None:
    journal = Journal()
    _record(journal, "projects.get", project_id="p")
    _record(journal, "projects.delete", 204, "p", "DELETE")
    _record(journal, "storage.download", 404, "p")
    _record(journal, None, 404)
    assert [c.route for c in journal.filter("projects.*")] == ["projects.get", "projects.delete"]
    assert len(journal.filter(method="delete")) == 1
    assert journal.downloads("p") == [] and not journal.downloaded("p")
    assert [c.seq for c in journal.unmatched()] == [3]
    assert journal.polls("p") == 1
    assert [c.route for c in journal.calls_after_delete("p")] == ["storage.download"]


def test_assert_no_calls_after_delete_explains_itself() -> None:
    journal = Journal()
    _record(journal, "projects.get", project_id="p")
    with pytest.raises(
        AssertionError, match=r"project p was never deleted; calls about it: GET https://x/projects.get -> 200"
    ):
        journal.assert_no_calls_after_delete("p")
    _record(journal, "projects.delete", 204, "p", "DELETE")
    journal.assert_no_calls_after_delete("p")


def test_a_limited_journal_keeps_the_newest_calls_and_counts_on() -> None:
    journal = Journal(limit=3)
    for _ in range(5):
        _record(journal, "account.get")
    assert [c.seq for c in journal] == [2, 3, 4]
    assert journal.last.seq == 4 and len(journal) == 3


def test_assertions_say_what_was_expected_and_what_was_seen() -> None:
    with MhMock() as fake, httpx.Client(headers={"authorization": "Bearer t"}) as http:
        http.post(f"{fake.api_url}/v1/ai-voice-generator", json={"style": {"prompt": "Hi", "voice_name": "Elon Musk"}})
        journal = fake.journal
        [call] = journal.assert_called(RouteName.VOICE_GENERATOR_CREATE, body={"style": {"voice_name": "Elon Musk"}})
        assert call.status == 200
        journal.assert_called(RouteName.VOICE_GENERATOR_CREATE, times=1)
        journal.assert_not_called(RouteName.PROJECTS_DELETE)
        with pytest.raises(AssertionError) as missing:
            journal.assert_called(RouteName.MUSIC_GENERATOR_CREATE, body={"duration": 30})
        assert str(missing.value).startswith(
            "expected at least one call to music_generator.create with body={'duration': 30}, found 0.\n"
            "Calls seen:\n  POST https://api.magichour.ai/v1/ai-voice-generator -> 200 "
            'body={"style":{"prompt":"Hi","voice_name":"Elon Musk"}}'
        )
        with pytest.raises(AssertionError, match=r"expected 2 calls to voice_generator\.create, found 1"):
            journal.assert_called(RouteName.VOICE_GENERATOR_CREATE, times=2)
        with pytest.raises(AssertionError, match=r"expected no call to voice_generator\.\*, found 1:\n  POST"):
            journal.assert_not_called("voice_generator.*")


def test_entries_keep_binary_bodies_as_size_and_digest_only() -> None:
    data = render_wav("upload", 1.0)
    with MhMock() as fake, httpx.Client(headers={"authorization": "Bearer t"}) as http:
        [item] = http.post(
            f"{fake.api_url}/v1/files/upload-urls", json={"items": [{"type": "audio", "extension": "wav"}]}
        ).json()["items"]
        assert http.put(item["upload_url"], content=data).status_code == 200
        assert http.put(item["upload_url"].replace("auth-value=", "auth-value=x"), content=data).status_code == 404
        accepted, refused = fake.journal.filter(RouteName.STORAGE_UPLOAD)
        assert accepted.body == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        assert refused.body == {"bytes": len(data)}  # a refused body leaves no trace but its size
        assert accepted.owner == refused.owner == "t"  # storage calls carry no token: the owner is noted


def test_the_journal_is_bounded_by_default() -> None:
    assert MhMock().journal.limit == 10_000
    with MhMock(journal_limit=3) as fake, httpx.Client(headers={"authorization": "Bearer t"}) as http:
        for _ in range(5):
            http.get(f"{fake.api_url}/v1/account")
        assert [call.seq for call in fake.journal] == [2, 3, 4]


def test_a_token_finds_its_calls_and_the_storage_calls_about_its_projects_in_both_modes(
    fake: Control, http: httpx.Client
) -> None:
    project_id = http.post(
        "/v1/ai-voice-generator", json={"style": {"prompt": "Hi", "voice_name": "Elon Musk"}}
    ).json()["id"]
    fake.finish(project_id)
    download = http.get(f"/v1/audio-projects/{project_id}").json()["downloads"][0]["url"]
    with httpx.Client() as plain:  # a download carries no key, as a browser or the SDK fetches it
        assert plain.get(download).status_code == 200
    journal = fake.journal  # standalone: fetched over the admin API, whose listing shortens keys
    journal.assert_called(RouteName.VOICE_GENERATOR_CREATE, token=TOKEN, times=1)
    assert len(journal.filter("storage.*", method="GET", status=200, token=TOKEN)) == 1  # the download, by owner
    journal.assert_not_called(RouteName.VOICE_GENERATOR_CREATE, token="mhk_live_someone_else")
    journal.assert_called("storage.download", owner=TOKEN)


def test_keys_that_list_alike_are_told_apart_in_both_modes(fake: Control, base_url: str) -> None:
    alice, carol = "mhk_live_alice_token", "mhk_live_carol_token"  # a live server lists both as mhk…ken
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {alice}"}) as http:
        project_id = http.post(
            "/v1/ai-voice-generator", json={"style": {"prompt": "Hi", "voice_name": "Elon Musk"}}
        ).json()["id"]
    fake.finish(project_id)
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {carol}"}) as http:
        assert http.get(f"/v1/audio-projects/{project_id}").status_code == 404  # not hers
    journal = fake.journal
    journal.assert_called(RouteName.VOICE_GENERATOR_CREATE, token=alice, times=1)
    journal.assert_not_called(RouteName.VOICE_GENERATOR_CREATE, token=carol)
    [refused] = journal.assert_called(RouteName.PROJECTS_GET, token=carol, times=1)
    assert refused.status == 404 and refused.token == carol  # asked about her key: shown whole
    assert journal.filter(token="ab") == []
