"""Isolation: one token can neither see nor touch another token's objects, on any route.

Every API and storage route is probed by token B against token A's project, upload and download
URL, in both modes (the ``fake`` fixture). B gets 404 (or, in the cloner, a job that fails with
``invalid_parameters``), and A's project, balance and upload are unchanged afterwards. A table
keyed by route name makes sure no route of the route table is left out.

The admin API refuses every call without the right ``x-mh-mock-admin-token`` header when an admin
token is set (403 JSON, nothing done), in-process and standalone, while the fake's own control
API keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mh_mock.audio import render_wav
from mh_mock.control.operations import ADMIN_PREFIX, OPERATIONS
from mh_mock.control.remote import Control
from mh_mock.standalone.threaded import LiveServer
from mh_mock.vendor import ROUTES

from .engines import uploaded

A, B = "mhk_live_alice", "mhk_live_bob"
SECRET = "s3cret"
AUDIO = render_wav("alice's voice", 1.0)


@dataclass
class World:
    """Token A's objects (each kind of object a route can touch) and clients for A and B."""

    fake: Control
    a: httpx.Client
    b: httpx.Client
    raw: httpx.Client
    """No Authorization header: storage URLs need none."""
    queued: str
    """A's voice project, never polled (poll progression: a read would move it)."""
    complete: str
    """A's finished music project."""
    download_url: str
    upload_path: str
    b_project: str
    """B's own finished project (for swapping ids in download URLs)."""
    b_download_url: str

    def snapshot(self) -> Any:
        """A's side of the world, as the control API sees it (reads here count no poll)."""
        account = self.fake.account(A)
        return (
            [
                (p["id"], p["status"], p["enabled"], p["credits_charged"], len(p["history"]))
                for p in self.fake.projects(A)
            ],
            (account["credits"], account["charged"], account["refunded"]),
            uploaded(self.fake.engine, self.upload_path),
        )


@pytest.fixture
def world(fake: Control, base_url: str) -> Iterator[World]:
    with (
        httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {A}"}) as a,
        httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {B}"}) as b,
        httpx.Client() as raw,
    ):
        queued = a.post("/v1/ai-voice-generator", json={"style": {"prompt": "Hi", "voice_name": "Elon Musk"}}).json()
        complete = a.post("/v1/ai-music-generator", json={"duration": 15, "style": {"prompt": "jazz"}}).json()
        fake.finish(complete["id"])
        (download,) = a.get(f"/v1/audio-projects/{complete['id']}").json()["downloads"]
        (item,) = a.post("/v1/files/upload-urls", json={"items": [{"type": "audio", "extension": "wav"}]}).json()[
            "items"
        ]
        assert raw.put(item["upload_url"], content=AUDIO).status_code == 200
        mine = b.post("/v1/ai-voice-generator", json={"style": {"prompt": "Yo", "voice_name": "Elon Musk"}}).json()
        fake.finish(mine["id"])
        (b_download,) = b.get(f"/v1/audio-projects/{mine['id']}").json()["downloads"]
        yield World(
            fake,
            a,
            b,
            raw,
            queued["id"],
            complete["id"],
            download["url"],
            item["file_path"],
            mine["id"],
            b_download["url"],
        )


def _not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text[:200]
    assert response.json() == {"code": "not_found", "message": "Not Found"}


def _swap(url: str, old: str, new: str) -> str:
    return url.replace(f"/outputs/{old}/", f"/outputs/{new}/")


# ---------------------------------------------------------------------------- one probe per route


def _get_project(w: World) -> None:
    for project_id in (w.queued, w.complete):
        _not_found(w.b.get(f"/v1/audio-projects/{project_id}"))
    assert w.fake.project(w.queued)["status"] == "queued"  # B's reads did not move A's job


def _delete_project(w: World) -> None:
    for project_id in (w.queued, w.complete):
        _not_found(w.b.delete(f"/v1/audio-projects/{project_id}"))
    assert w.fake.project(w.queued)["enabled"] and w.fake.project(w.complete)["enabled"]


def _account(w: World) -> None:
    mine, theirs = w.b.get("/v1/account").json(), w.a.get("/v1/account").json()
    assert mine["id"] != theirs["id"]
    assert mine["credits"] == 10_000 - 1  # B's own charge only


def _upload_urls(w: World) -> None:
    (item,) = w.b.post("/v1/files/upload-urls", json={"items": [{"type": "audio", "extension": "wav"}]}).json()["items"]
    assert item["file_path"] != w.upload_path
    b_auth = parse_qs(urlsplit(item["upload_url"]).query)["auth-value"][0]
    # B's signature does not open A's slot, on the same storage host
    a_slot = item["upload_url"].replace(item["file_path"], w.upload_path)
    assert b_auth in a_slot
    _not_found(w.raw.put(a_slot, content=b"overwritten by B"))


def _create(route: str, body: Callable[[World], dict[str, Any]]) -> Callable[[World], None]:
    def probe(w: World) -> None:
        answer = w.b.post(route, json=body(w))
        assert answer.status_code == 200
        assert w.fake.project(answer.json()["id"])["account_id"] == w.fake.account(B)["id"]

    return probe


def _cloner_with_a_foreign_upload(w: World) -> None:
    answer = w.b.post(
        "/v1/ai-voice-cloner", json={"assets": {"audio_file_path": w.upload_path}, "style": {"prompt": "steal"}}
    )
    assert answer.status_code == 200  # the create succeeds; the job fails
    project_id = answer.json()["id"]
    w.fake.finish(project_id)
    body = w.b.get(f"/v1/audio-projects/{project_id}").json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "invalid_parameters"
    assert body["credits_charged"] == 0
    assert body["downloads"] == []


def _put_upload(w: World) -> None:
    # A's upload URL needs no auth header, so it is the signature that guards it: another
    # path with A's auth-value, or A's path with a guessed one, is 404
    storage = w.download_url.split("/outputs/")[0]
    (item,) = w.a.post("/v1/files/upload-urls", json={"items": [{"type": "audio", "extension": "wav"}]}).json()["items"]
    a_auth = parse_qs(urlsplit(item["upload_url"]).query)["auth-value"][0]
    _not_found(w.raw.put(f"{storage}/{w.upload_path}?auth-value={a_auth}", content=b"x"))
    _not_found(w.raw.put(f"{storage}/{w.upload_path}?auth-value={'0' * len(a_auth)}", content=b"x"))


def _download(w: World) -> None:
    # A's URL with B's project id swapped in, and B's URL with A's id: both 404
    _not_found(w.raw.get(_swap(w.download_url, w.complete, w.b_project)))
    _not_found(w.raw.get(_swap(w.b_download_url, w.b_project, w.complete)))
    _not_found(w.raw.get(w.download_url.replace("signature=", "signature=0")))
    assert w.raw.get(w.download_url).content[:4] == b"RIFF"  # A's own URL still works


PROBES: dict[str, Callable[[World], None]] = {
    "projects.get": _get_project,
    "projects.delete": _delete_project,
    "account.get": _account,
    "files.upload_urls": _upload_urls,
    "voice_generator.create": _create(
        "/v1/ai-voice-generator", lambda w: {"style": {"prompt": "mine", "voice_name": "Elon Musk"}}
    ),
    "voice_cloner.create": _cloner_with_a_foreign_upload,
    "music_generator.create": _create("/v1/ai-music-generator", lambda w: {"duration": 15, "style": {"prompt": "x"}}),
    "storage.upload": _put_upload,
    "storage.download": _download,
}


def test_every_api_and_storage_route_has_an_isolation_probe() -> None:
    assert set(PROBES) == {route.name for route in ROUTES}


@pytest.mark.parametrize("route", sorted(PROBES))
def test_token_b_cannot_see_or_touch_token_a_objects(world: World, route: str) -> None:
    before = world.snapshot()
    PROBES[route](world)
    assert world.snapshot() == before, f"{route} as B changed A's objects"


def test_every_probe_in_a_row_leaves_a_untouched(world: World) -> None:
    before = world.snapshot()
    for route in sorted(PROBES):
        if route != "account.get":  # it checks B's balance, which the creates change
            PROBES[route](world)
    assert world.snapshot() == before
    assert {p["owner"] for p in world.fake.projects(B)} == {B}  # a token named in the query is shown whole
    a_id = world.fake.account(A)["id"]
    assert all(world.fake.project(pid)["account_id"] == a_id for pid in (world.queued, world.complete))


def test_a_deleted_project_stays_invisible_to_others_and_its_urls_die(world: World) -> None:
    assert world.a.delete(f"/v1/audio-projects/{world.complete}").status_code == 204
    _not_found(world.b.get(f"/v1/audio-projects/{world.complete}"))
    _not_found(world.b.delete(f"/v1/audio-projects/{world.complete}"))
    _not_found(world.raw.get(world.download_url))
    assert world.a.get(f"/v1/audio-projects/{world.complete}").json()["enabled"] is False


# ---------------------------------------------------------------------------- admin token


def _admin_probes() -> list[tuple[str, str, dict[str, Any] | None]]:
    bodies: dict[str, dict[str, Any]] = {
        "reset": {},
        "advance": {"seconds": 3600},
        "set_progression": {"progression": "clock"},
        "create_project": {"token": "intruder"},
        "add_account": {"token": "intruder", "credits": 1},
        "set_balance": {"credits": 0},
    }
    return [
        (
            op.method,
            ADMIN_PREFIX + op.path.replace("{id}", "some-id").replace("{token}", A).replace("{tenant}", A),
            bodies.get(op.name),
        )
        for op in OPERATIONS
    ]


def _assert_admin_is_locked(base_url: str, control: Control) -> None:
    with httpx.Client(base_url=base_url) as http:
        _locked(http, control)


def _locked(http: httpx.Client, control: Control) -> None:
    state = control.state()
    accounts = control.accounts()
    for method, path, body in _admin_probes():
        for headers in ({}, {"x-mh-mock-admin-token": "wrong"}, {"x-mh-mock-admin-token": ""}):
            answer = http.request(method, path, json=body, headers=headers)
            assert answer.status_code == 403, (method, path, headers, answer.text)
            assert answer.headers["content-type"] == "application/json"
            assert answer.json()["code"] == "forbidden"
            assert set(answer.json()) == {"code", "message"}
    assert control.state() == state  # no reset, no clock move, no progression switch
    assert control.accounts() == accounts  # no account added, no balance set
    good = http.get("/mh-mock-api/state", headers={"x-mh-mock-admin-token": SECRET})
    assert good.status_code == 200
    assert good.json()["progression"] == state["progression"]
    # the API itself needs no admin token
    assert http.get("/v1/account", headers={"authorization": f"Bearer {A}"}).status_code == 200


def test_the_admin_api_needs_the_admin_token_standalone() -> None:
    with LiveServer(admin_token=SECRET, progression="poll", frozen_clock=True) as server:
        server.add_account(A, 50)
        _assert_admin_is_locked(server.url, server)
        assert server.balance(A) == 50


def test_without_an_admin_token_the_admin_api_is_open(fake: Control, http: httpx.Client) -> None:
    assert http.get("/mh-mock-api/state").status_code == 200
