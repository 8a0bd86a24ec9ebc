"""The admin API: the engine's control surface over HTTP, under a prefix the vendor cannot use.

Every route here calls one control method of :class:`~mh_mock.engine.Engine`; the remote
control client (:mod:`mh_mock.remote`) is its mirror image. Served by the standalone server and
on the in-process API host alike, protected by ``Config.admin_token`` when one is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .clock import format_timestamp
from .config import Endpoint
from .engine import Engine
from .errors import InvalidRequest, NotFound
from .journal import Call
from .models import Project
from .routes import Exchange, Handler, Result, Route, Surface

__all__ = ["ADMIN_PREFIX", "ADMIN_ROUTES", "call_body", "project_summary", "state_body"]

ADMIN_PREFIX = "/mh-mock-api"


def _arg(x: Exchange, name: str, kind: type | tuple[type, ...], default: Any = ..., *, required: bool = True) -> Any:
    body = x.body or {}
    if name not in body:
        if default is not ... or not required:
            return None if default is ... else default
        raise InvalidRequest(f"Missing required field: {name}")
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise InvalidRequest(f"Invalid type for {name}: got {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _project(engine: Engine, project_id: str) -> Project:
    try:
        return engine.project(project_id)
    except KeyError:
        raise NotFound(f"No project {project_id!r}") from None


def state_body(engine: Engine) -> dict[str, Any]:
    """The clock and counters, as ``GET /mh-mock-api/state`` answers."""
    now = engine.now()
    return {
        "now": format_timestamp(now),
        "epoch": now,
        "frozen": engine.clock.frozen,
        "progression": engine.progression.value,
        **engine.counts(),
    }


def project_summary(engine: Engine, project: Project) -> dict[str, Any]:
    """The GET body of ``project`` plus its owner and timeline (reading it moves nothing)."""
    return {
        **engine.project_body(project),
        "owner": project.owner,
        "history": [{"status": t.status, "at": format_timestamp(t.at)} for t in project.history],
    }


def call_body(call: Call) -> dict[str, Any]:
    """A journal entry as JSON (raw bodies are reduced to their size)."""
    return {
        "seq": call.seq,
        "at": format_timestamp(call.at),
        "method": call.method,
        "url": call.url,
        "route": call.route,
        "token": call.token,
        "body": {"bytes": len(call.body)} if isinstance(call.body, bytes) else call.body,
        "status": call.status,
        "project_id": call.project_id,
        "response": call.response,
        "fault": call.fault,
    }


def _reset(x: Exchange) -> Result:
    x.engine.reset(**(x.body or {}))
    return 200, state_body(x.engine)


def _state(x: Exchange) -> Result:
    return 200, state_body(x.engine)


def _advance(x: Exchange) -> Result:
    seconds = _arg(x, "seconds", (int, float))
    if seconds < 0:
        raise InvalidRequest(f"seconds must be >= 0, got {seconds}")
    x.engine.advance(seconds)
    return 200, state_body(x.engine)


def _progression(x: Exchange) -> Result:
    mode = _arg(x, "progression", str)
    if mode not in ("clock", "poll"):
        raise InvalidRequest(f"progression must be 'clock' or 'poll', got {mode!r}")
    x.engine.set_progression(mode)
    return 200, state_body(x.engine)


def _projects(x: Exchange) -> Result:
    token = x.query.get("token")
    return 200, [project_summary(x.engine, p) for p in x.engine.projects(token)]


def _one_project(x: Exchange) -> Result:
    return 200, project_summary(x.engine, _project(x.engine, x.params["id"]))


def _create_project(x: Exchange) -> Result:
    token = _arg(x, "token", str)
    endpoint = _arg(x, "endpoint", str, "voice_generator")
    outcome = _arg(x, "outcome", str, required=False)
    name = _arg(x, "name", str, required=False)
    prompt = _arg(x, "prompt", str, "Hello from mh-mock")
    if endpoint == Endpoint.VOICE_GENERATOR.value:
        project = x.engine.create_voice(
            token, prompt=prompt, voice_name=_arg(x, "voice_name", str, "Morgan Freeman"), name=name, outcome=outcome
        )
    elif endpoint == Endpoint.VOICE_CLONER.value:
        path = _arg(x, "audio_file_path", str, "https://example.com/voice.mp3")
        project = x.engine.clone_voice(token, audio_file_path=path, prompt=prompt, name=name, outcome=outcome)
    elif endpoint == Endpoint.MUSIC_GENERATOR.value:
        duration = _arg(x, "duration", int, 15)
        project = x.engine.create_music(token, duration=duration, prompt=prompt, name=name, outcome=outcome)
    else:
        raise InvalidRequest(f"endpoint must be one of {', '.join(e.value for e in Endpoint)}, got {endpoint!r}")
    return 200, project_summary(x.engine, project)


def _finish(x: Exchange) -> Result:
    project_id = x.params.get("id")
    if project_id is not None:
        _project(x.engine, project_id)
    finished = x.engine.finish(project_id)
    return 200, [project_summary(x.engine, p) for p in finished]


def _cancel(x: Exchange) -> Result:
    _project(x.engine, x.params["id"])
    return 200, project_summary(x.engine, x.engine.cancel(x.params["id"]))


def _step(x: Exchange) -> Result:
    _project(x.engine, x.params["id"])
    return 200, project_summary(x.engine, x.engine.step(x.params["id"]))


def _delete(x: Exchange) -> Result:
    _project(x.engine, x.params["id"])
    return 200, project_summary(x.engine, x.engine.delete(x.params["id"]))


def _set_outcome(x: Exchange) -> Result:
    _project(x.engine, x.params["id"])
    outcome = x.body.get("outcome") if isinstance(x.body, dict) else None
    if outcome is None:
        raise InvalidRequest("Missing required field: outcome")
    return 200, project_summary(x.engine, x.engine.set_outcome(x.params["id"], outcome))


def _force(x: Exchange) -> Result:
    _project(x.engine, x.params["id"])
    status = _arg(x, "status", str)
    project = x.engine.force(
        x.params["id"],
        status,
        code=_arg(x, "code", str, required=False),
        message=_arg(x, "message", str, required=False),
    )
    return 200, project_summary(x.engine, project)


def _scenarios(x: Exchange) -> Result:
    random = x.engine.scenarios.random
    return 200, {
        "rules": [rule.describe() for rule in x.engine.scenarios.rules],
        "random": None if random is None else {"ratio": random.ratio, "codes": list(random.codes)},
    }


def _add_scenario(x: Exchange) -> Result:
    body = dict(x.body or {})
    if "ratio" in body:  # the seeded random mode
        unknown = sorted(set(body) - {"ratio", "codes"})
        if unknown:
            raise InvalidRequest(f"unknown random-mode field(s) {', '.join(unknown)}; valid fields are: ratio, codes")
        x.engine.set_random_failures(body["ratio"], body.get("codes"))
        return _scenarios(x)
    return 200, x.engine.add_rule(body).describe()


def _clear_scenarios(x: Exchange) -> Result:
    x.engine.clear_scenarios()
    return _scenarios(x)


def _removing(remove: Callable[[Engine, str], None], what: str, listing: Handler) -> Handler:
    """A handler that removes the object named by the path's id, then answers ``listing``."""

    def handler(x: Exchange) -> Result:
        try:
            remove(x.engine, x.params["id"])
        except KeyError:
            raise NotFound(f"No {what} {x.params['id']!r}") from None
        return listing(x)

    return handler


def _faults(x: Exchange) -> Result:
    return 200, [fault.describe() for fault in x.engine.faults.rules]


def _add_fault(x: Exchange) -> Result:
    return 200, x.engine.add_fault(x.body or {}).describe()


def _clear_faults(x: Exchange) -> Result:
    x.engine.clear_faults()
    return 200, []


def _webhooks(x: Exchange) -> Result:
    return 200, [endpoint.describe() for endpoint in x.engine.webhooks.endpoints.values()]


def _add_webhook(x: Exchange) -> Result:
    events = _arg(x, "events", list, required=False)
    endpoint = x.engine.add_webhook(_arg(x, "url", str), _arg(x, "secret", str), events)
    return 200, endpoint.describe()


def _deliveries(x: Exchange) -> Result:
    return 200, [delivery.describe() for delivery in x.engine.webhooks.deliveries]


def _deliver(x: Exchange) -> Result:
    x.engine.tick()
    return _deliveries(x)


def _account_summary(x: Exchange, token: str) -> dict[str, Any]:
    account = x.engine.account(token)
    return {"token": token, **x.engine.account_body(token), "charged": account.charged, "refunded": account.refunded}


def _accounts(x: Exchange) -> Result:
    return 200, [_account_summary(x, a.token) for a in x.engine.accounts()]


def _add_account(x: Exchange) -> Result:
    token = _arg(x, "token", str)
    x.engine.add_account(
        token,
        _arg(x, "credits", int, required=False),
        email=_arg(x, "email", str, required=False),
        tier=_arg(x, "tier", str, required=False),
    )
    return 200, _account_summary(x, token)


def _set_credits(x: Exchange) -> Result:
    token = x.params["token"]
    x.engine.set_balance(token, _arg(x, "credits", int))
    return 200, _account_summary(x, token)


def _journal(x: Exchange) -> Result:
    return 200, [call_body(call) for call in x.engine.journal]


def _admin(method: str, path: str, name: str, handler: Handler, summary: str) -> Route:
    return Route(method, ADMIN_PREFIX + path, "admin." + name, handler, surface=Surface.ADMIN, summary=summary)


ADMIN_ROUTES: tuple[Route, ...] = (
    _admin("POST", "/reset", "reset", _reset, "Forget all state; the JSON body may override config options"),
    _admin("GET", "/state", "state", _state, "Clock, progression mode and counters"),
    _admin("POST", "/clock/advance", "advance", _advance, 'Move the clock forward by {"seconds": n}'),
    _admin("PUT", "/progression", "progression", _progression, 'Set {"progression": "clock"|"poll"}'),
    _admin("GET", "/projects", "projects", _projects, "Every project with owner and timeline (?token= filters)"),
    _admin("POST", "/projects", "create_project", _create_project, "Create a project directly, with an outcome"),
    _admin("GET", "/projects/{id}", "project", _one_project, "One project without counting a read"),
    _admin("POST", "/projects/{id}/finish", "finish_one", _finish, "Run one project to its terminal status"),
    _admin("POST", "/projects/{id}/cancel", "cancel", _cancel, "Cancel a queued or rendering project"),
    _admin("POST", "/projects/{id}/step", "step", _step, "Move an unfinished project one status on"),
    _admin("DELETE", "/projects/{id}", "delete", _delete, "Delete a project as its owner would"),
    _admin("POST", "/finish", "finish_all", _finish, "Run every unfinished project to its terminal status"),
    _admin("GET", "/accounts", "accounts", _accounts, "Every account with its ledger"),
    _admin("POST", "/accounts", "add_account", _add_account, "Register a token {token, credits?, email?, tier?}"),
    _admin("PUT", "/accounts/{token}/credits", "set_credits", _set_credits, 'Set {"credits": n}'),
    _admin("GET", "/journal", "journal", _journal, "Every API and storage call the fake served"),
    _admin("PUT", "/projects/{id}/outcome", "set_outcome", _set_outcome, "Decide how an unfinished project ends"),
    _admin("POST", "/projects/{id}/force", "force", _force, "Move a project to {status, code?, message?} now"),
    _admin("GET", "/scenarios", "scenarios", _scenarios, "Outcome rules and the random failure mode"),
    _admin(
        "POST",
        "/scenarios",
        "add_scenario",
        _add_scenario,
        "Add a rule {outcome, endpoint?, token?, name_contains?, prompt_contains?, times?, timing?} or set {ratio, codes?}",
    ),
    _admin("DELETE", "/scenarios", "clear_scenarios", _clear_scenarios, "Drop every rule and the random mode"),
    _admin(
        "DELETE",
        "/scenarios/{id}",
        "remove_scenario",
        _removing(Engine.remove_rule, "scenario", _scenarios),
        "Drop one rule",
    ),
    _admin("GET", "/faults", "faults", _faults, "HTTP-layer faults waiting to strike"),
    _admin(
        "POST",
        "/faults",
        "add_fault",
        _add_fault,
        "Add a fault {kind, route?, project_id?, token?, nth?, probability?, times?, status?, retry_after?, seconds?, after?}",
    ),
    _admin("DELETE", "/faults", "clear_faults", _clear_faults, "Drop every fault"),
    _admin(
        "DELETE", "/faults/{id}", "remove_fault", _removing(Engine.remove_fault, "fault", _faults), "Drop one fault"
    ),
    _admin("GET", "/webhooks", "webhooks", _webhooks, "Registered webhook endpoints"),
    _admin("POST", "/webhooks", "add_webhook", _add_webhook, "Register {url, secret, events?}"),
    _admin(
        "DELETE",
        "/webhooks/{id}",
        "remove_webhook",
        _removing(Engine.remove_webhook, "webhook", _webhooks),
        "Unregister an endpoint",
    ),
    _admin("GET", "/webhooks/deliveries", "deliveries", _deliveries, "Every delivery with its attempts"),
    _admin("POST", "/webhooks/deliver", "deliver", _deliver, "Send every due delivery now and return the log"),
)
"""The control API, under :data:`ADMIN_PREFIX`."""
