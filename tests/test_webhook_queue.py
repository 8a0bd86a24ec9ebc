"""The webhook queue on the engine: retries on the owner's clock, the 24 h window, endpoints removed
mid-flight, busy endpoints, redeliveries and a tenant's reset."""

from __future__ import annotations

import json
import re

import pytest

from mh_mock.engine import Engine
from mh_mock.engine.hub import RETRY_WINDOW, Outgoing
from mh_mock.errors import NotFound

from .engines import START
from .engines import create_voice as _voice
from .engines import new_engine as _engine


def _answer(engine: Engine, attempts: list[Outgoing], status: int) -> None:
    for attempt in attempts:
        engine.webhooks.record(attempt.delivery_id, status, None, attempt.at)


def _events(attempts: list[Outgoing]) -> list[str]:
    return [json.loads(a.body)["type"] for a in attempts]


def _hook(engine: Engine, events: list[str] | None = None, token: str | None = None) -> str:
    return engine.webhooks.add(lambda headers, body: 200, "s", events, token=token).id


def test_a_tenants_failed_delivery_is_retried_on_the_tenants_clock() -> None:
    engine = _engine()
    engine.accounts.reset_tenant("mine")
    _hook(engine, ["audio.completed"])
    engine.controls.finish(_voice(engine, "mine"))
    _answer(engine, engine.webhooks.take_due(), 500)
    engine.controls.advance(5)  # the fake's clock: not the owner's
    assert engine.webhooks.take_due() == []
    engine.controls.advance(1, tenant="mine")
    [retry] = engine.webhooks.take_due()
    assert retry.at == START + 1


def test_removing_an_endpoint_does_not_hold_up_the_others() -> None:
    engine = _engine()
    gone = _hook(engine)
    kept = _hook(engine)
    engine.controls.finish(_voice(engine))  # started and completed, for each endpoint
    engine.webhooks.remove(gone)
    due = engine.webhooks.take_due()
    assert [(a.endpoint.id, json.loads(a.body)["type"]) for a in due] == [(kept, "audio.started")]


def test_a_busy_endpoint_is_skipped_and_its_delivery_waits() -> None:
    engine = _engine()
    busy = _hook(engine, ["audio.completed"])
    engine.controls.finish(_voice(engine))
    assert engine.webhooks.take_due(skip_endpoints=frozenset({busy})) == []
    assert _events(engine.webhooks.take_due()) == ["audio.completed"]


def test_an_endpoint_removed_while_its_attempt_is_in_flight_fails_the_delivery() -> None:
    engine = _engine()
    endpoint = _hook(engine, ["audio.completed"])
    engine.controls.finish(_voice(engine))
    [attempt] = engine.webhooks.take_due()
    engine.webhooks.remove(endpoint)
    engine.webhooks.record(attempt.delivery_id, 200, None, attempt.at)
    [delivery] = engine.state.hub.deliveries()
    assert (delivery.state, [a.status for a in delivery.attempts]) == ("failed", [200])


def test_a_retry_due_exactly_at_the_end_of_the_window_is_still_made() -> None:
    engine = _engine()
    _hook(engine, ["audio.completed"])
    engine.controls.finish(_voice(engine))
    _answer(engine, engine.webhooks.take_due(), 500)  # next try in 1 s
    engine.controls.advance(RETRY_WINDOW - 2)
    _answer(engine, engine.webhooks.take_due(), 500)  # second failure: next try in 2 s, at the window's end
    [delivery] = engine.state.hub.deliveries()
    assert (delivery.state, delivery.next_attempt_at) == ("pending", START + RETRY_WINDOW)
    engine.controls.advance(2)
    _answer(engine, engine.webhooks.take_due(), 500)  # third failure: beyond the window
    assert engine.state.hub.deliveries()[0].state == "failed"


def test_a_redelivery_is_queued_at_the_owners_time() -> None:
    engine = _engine()
    engine.accounts.reset_tenant("mine")
    _hook(engine, ["audio.completed"])
    engine.controls.finish(_voice(engine, "mine"))
    [attempt] = engine.webhooks.take_due()
    _answer(engine, [attempt], 200)
    engine.controls.advance(100, tenant="mine")
    again = engine.webhooks.redeliver(attempt.delivery_id)
    assert (again.created_at, again.redelivery_of) == (START + 100, attempt.delivery_id)
    with pytest.raises(NotFound, match=re.escape("No webhook delivery 'delivery-99'")):
        engine.webhooks.redeliver("delivery-99")


def test_removing_a_tenant_keeps_the_other_tokens_deliveries() -> None:
    engine = _engine(delivery_log_limit=2)
    _hook(engine)
    engine.accounts.reset_tenant("gone")
    engine.controls.finish(_voice(engine, "gone"))
    engine.controls.finish(_voice(engine, "kept"))
    started = engine.webhooks.take_due()
    _answer(engine, started, 200)  # each project's started event is logged; completed ones are pending
    engine.accounts.remove_tenant("gone")
    assert [(d.owner, d.event.value, d.state) for d in engine.state.hub.deliveries()] == [
        ("kept", "audio.started", "delivered"), ("kept", "audio.completed", "pending"),
    ]  # fmt: skip
    for _ in range(3):
        engine.controls.finish(_voice(engine, "kept"))
    for _ in range(3):
        _answer(engine, engine.webhooks.take_due(), 200)
    assert len([d for d in engine.state.hub.deliveries() if d.state == "delivered"]) == 2  # the log limit holds


def test_deliveries_can_be_listed_for_one_token() -> None:
    engine = _engine()
    _hook(engine, ["audio.completed"])
    engine.controls.finish(_voice(engine, "a"))
    engine.controls.finish(_voice(engine, "b"))
    assert [d.owner for d in engine.state.hub.deliveries("a")] == ["a"]
    assert [d.owner for d in engine.state.hub.deliveries()] == ["a", "b"]


def test_endpoints_are_numbered_one_by_one() -> None:
    engine = _engine()
    assert [_hook(engine), _hook(engine)] == ["webhook-1", "webhook-2"]


@pytest.mark.parametrize(
    ("secret", "target", "message"),
    [
        ("", "http://127.0.0.1:9/hook", "a webhook needs a secret to sign with"),
        ("s", "ftp://127.0.0.1/hook", "a webhook URL starts with http:// or https://, got 'ftp://127.0.0.1/hook'"),
    ],
)
def test_a_bad_webhook_is_refused_with_exactly_this_message(secret: str, target: str, message: str) -> None:
    from mh_mock.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        _engine().webhooks.add(target, secret)
    assert str(refused.value) == message


def test_unknown_endpoints_and_redeliveries_to_removed_endpoints_are_not_found_by_name() -> None:
    engine = _engine()
    endpoint = _hook(engine, ["audio.completed"])
    engine.controls.finish(_voice(engine))
    [attempt] = engine.webhooks.take_due()
    _answer(engine, [attempt], 200)
    engine.webhooks.remove(endpoint)
    with pytest.raises(NotFound) as gone:
        engine.webhooks.redeliver(attempt.delivery_id)
    assert gone.value.message == f"webhook endpoint {endpoint} of {attempt.delivery_id} is gone"
    with pytest.raises(NotFound) as unknown:
        engine.webhooks.remove(endpoint)
    assert unknown.value.message == f"No webhook endpoint {endpoint!r}"
