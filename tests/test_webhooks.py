"""Signed webhooks: one delivery per transition and endpoint, in order, retried on the fake's clock."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import magic_hour
import pytest

from mh_mock.control.remote import Control
from mh_mock.inprocess import MhMock
from mh_mock.standalone.threaded import ThreadedServer
from mh_mock.webhooks import sign, verify

from .conftest import TOKEN, VOICE, run_sdk_voice
from .webhook_receiver import SECRET, Receiver


@pytest.fixture
def receiver(fake: Control) -> Iterator[tuple[Receiver, str]]:
    """A real receiver server; in-process, respx lets its host through."""
    receiver = Receiver(fail_first=1)
    with ThreadedServer(receiver.app) as server:
        if isinstance(fake, MhMock):
            fake.router.route(host="127.0.0.1").pass_through()
        yield receiver, f"{server.url}/webhooks/magic-hour"


def test_webhooks_arrive_signed_once_per_transition_and_in_order(
    fake: Control, sdk: magic_hour.Client, receiver: tuple[Receiver, str]
) -> None:
    got, url = receiver
    fake.add_webhook(url, SECRET)
    ok = run_sdk_voice(sdk)
    fake.fail_next(1, "processing_timeout")
    failed = run_sdk_voice(sdk)
    canceled = sdk.v1.ai_voice_generator.create(style=VOICE)
    fake.cancel(canceled.id)
    fake.deliver_webhooks()
    # the very first delivery got a 500: it waits 1 s of the fake's clock, and completed waits behind it
    assert got.sequence(ok.id) == [] and got.requests == 3  # ok's started failed; failed's two went through
    fake.advance(1)
    fake.deliver_webhooks()
    assert got.sequence(ok.id) == ["audio.started", "audio.completed"]
    assert got.sequence(failed.id) == ["audio.started", "audio.errored"]
    assert got.sequence(canceled.id) == []
    assert got.rejected == 0
    completed = next(e for e in got.events if e["type"] == "audio.completed")
    assert completed["payload"]["status"] == "complete" and completed["payload"]["downloads"]
    log = fake.deliveries()
    assert [len(d["attempts"]) for d in log if d["project_id"] == ok.id] == [2, 1]
    assert all(d["state"] == "delivered" for d in log)


def test_an_unreachable_endpoint_is_retried_with_backoff_then_failed() -> None:
    statuses: list[int] = []

    def receiver(headers: object, body: bytes) -> int:
        statuses.append(503)
        return 503

    with MhMock() as fake:
        fake.add_webhook(receiver, "s", ["audio.completed"])
        created = fake.create_project("t")
        fake.finish(created["id"])
        attempts_at = []
        for _ in range(18):
            [delivery] = fake.deliveries()
            attempts_at.append(len(delivery["attempts"]))
            fake.advance(2 ** (len(delivery["attempts"]) - 1))
        [delivery] = fake.deliveries()
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) == 17  # 1 + retries after 1, 2, 4, … s while within 24 h
    assert attempts_at[:4] == [1, 2, 3, 4]


def test_sign_and_verify_follow_the_vendor_algorithm() -> None:
    body = b'{"type":"audio.completed","payload":{}}'
    signature = sign("whsec_x", 1730742038, body)
    expected = hmac.new(b"whsec_x", b"1730742038." + body, hashlib.sha256).hexdigest()  # the docs' recipe
    assert signature == expected
    assert verify("whsec_x", body, signature, "1730742038", now=1730742038 + 299)
    assert not verify("whsec_x", body, signature, "1730742038", now=1730742038 + 301)
    assert not verify("whsec_y", body, signature, "1730742038", tolerance=None)
    assert not verify("whsec_x", body + b" ", signature, "1730742038", tolerance=None)


def test_a_webhook_receiver_may_call_back_into_the_fake() -> None:
    """In-process delivery is re-entrant: a receiver that fetches the audio does not deadlock."""
    fetched: list[int] = []

    def receiver(headers: Mapping[str, str], body: bytes) -> int:
        payload = json.loads(body)["payload"]
        if payload["downloads"]:
            fetched.append(len(httpx.get(payload["downloads"][0]["url"]).content))
        with httpx.Client() as client:  # and another API call, which delivers again, re-entrantly
            client.get(
                f"https://api.magichour.ai/v1/audio-projects/{payload['id']}",
                headers={"authorization": f"Bearer {TOKEN}"},
            )
        return 200

    with MhMock() as fake, httpx.Client(headers={"authorization": f"Bearer {TOKEN}"}) as http:
        fake.add_webhook(receiver, "secret")
        project_id = http.post(
            "https://api.magichour.ai/v1/ai-voice-generator",
            json={"style": {"prompt": "Hi", "voice_name": "Elon Musk"}},
        ).json()["id"]
        for _ in range(3):
            http.get(f"https://api.magichour.ai/v1/audio-projects/{project_id}")
        assert fetched and fetched[0] > 44
        assert [d["state"] for d in fake.deliveries()] == ["delivered", "delivered"]


def test_every_endpoint_gets_each_projects_events_in_order_on_a_frozen_clock() -> None:
    """Many jobs finishing at the same fake instant: per endpoint and project, started always comes first."""
    received: dict[str, list[tuple[str, str]]] = {"a": [], "b": []}

    def receiver(name: str) -> Any:
        def receive(headers: Mapping[str, str], body: bytes) -> int:
            event = json.loads(body)
            received[name].append((event["payload"]["id"], event["type"]))
            return 200

        return receive

    with MhMock() as fake:
        fake.add_webhook(receiver("a"), "s")
        fake.add_webhook(receiver("b"), "s")
        ids = [fake.create_project(TOKEN)["id"] for _ in range(12)]  # delivery ids pass delivery-10 here
        fake.finish()
    for name, events in received.items():
        for project_id in ids:
            assert [e for p, e in events if p == project_id] == ["audio.started", "audio.completed"], name
        assert len(events) == 24


def test_a_retried_event_holds_back_only_its_own_projects_later_events() -> None:
    failing: set[str] = set()
    received: list[tuple[str, str]] = []

    def receive(headers: Mapping[str, str], body: bytes) -> int:
        event = json.loads(body)
        if event["payload"]["id"] in failing and event["type"] == "audio.started":
            failing.discard(event["payload"]["id"])
            return 500
        received.append((event["payload"]["id"], event["type"]))
        return 200

    with MhMock() as fake:
        fake.add_webhook(receive, "s")
        first, second = fake.create_project(TOKEN)["id"], fake.create_project(TOKEN)["id"]
        failing.add(first)
        fake.finish()
        assert received == [(second, "audio.started"), (second, "audio.completed")]  # first waits for its retry
        fake.advance(1)
        assert received[2:] == [(first, "audio.started"), (first, "audio.completed")]


def test_the_delivery_log_keeps_the_pending_and_a_bounded_tail_of_the_rest() -> None:
    with MhMock(delivery_log_limit=3) as fake:
        fake.add_webhook(lambda headers, body: 200, "s", ["audio.completed"])
        for _ in range(5):
            fake.finish(fake.create_project(TOKEN)["id"])
        assert [d["state"] for d in fake.deliveries()] == ["delivered"] * 3
        assert [d["seq"] for d in fake.deliveries()] == [3, 4, 5]


def test_a_delivery_can_be_sent_again(fake: Control, sdk: magic_hour.Client, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    got.fail_first = 0
    fake.add_webhook(url, SECRET, ["audio.completed"])
    done = run_sdk_voice(sdk)
    fake.deliver_webhooks()
    [first] = fake.deliveries()
    again = fake.redeliver(first["id"])
    assert (again["redelivery_of"], again["event"], again["state"]) == (first["id"], "audio.completed", "pending")
    fake.deliver_webhooks()
    assert got.sequence(done.id) == ["audio.completed", "audio.completed"]
    assert [d["state"] for d in fake.deliveries()] == ["delivered", "delivered"]


@pytest.mark.slow
def test_a_receiver_that_never_answers_delays_no_other_endpoint() -> None:
    import socket

    from mh_mock.standalone.threaded import LiveServer

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts connections (the kernel does), never answers
    healthy = Receiver()
    six = healthy.expect(6)
    try:
        with ThreadedServer(healthy.app) as good, LiveServer(webhook_timeout=30, progression="poll") as server:
            dead = server.add_webhook(f"http://127.0.0.1:{silent.getsockname()[1]}/hook", SECRET)
            server.add_webhook(f"{good.url}/webhooks/magic-hour", SECRET)
            for _ in range(3):
                server.finish(server.create_project(TOKEN)["id"])
            assert six.wait(timeout=20), healthy.events
            stuck = [d for d in server.deliveries() if d["endpoint_id"] == dead["id"]]
            assert stuck and all(d["attempts"] == [] for d in stuck)  # its first attempt is still waiting
    finally:
        silent.close()
