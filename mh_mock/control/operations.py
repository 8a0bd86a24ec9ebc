"""The control operations, each declared once: name, HTTP method and path, body schema, engine call, help.

Everything else is derived from :data:`OPERATIONS`: the admin routes under ``/mh-mock-api``
(bodies checked by the same validator as API bodies), their entries in ``/openapi.json``, the
``mh-mock`` CLI subcommands, the dashboard's forms, and the typed methods of
:class:`~mh_mock.control.remote.Control` (hand-written, checked against this table by a test).

To add an operation: write its engine method in :mod:`mh_mock.engine.controls`, add one
:class:`Operation` here, and one typed method on ``Control``.

This module imports nothing heavy, so ``from mh_mock import RemoteControl`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..config import HTTP_FIXED_OPTIONS, OPTION_SCHEMAS
from ..vocabulary import Endpoint, Event, FaultKind, Progression, RouteName, Status, Tier
from .views import account_view, call_view, delivery_view, mask, project_view, state_view

if TYPE_CHECKING:
    from ..engine.engine import Engine
    from ..engine.seeds import SeedPolicy

__all__ = ["ADMIN_PREFIX", "OPERATIONS", "OpContext", "Operation", "operation"]

ADMIN_PREFIX = "/mh-mock-api"
"""Where the admin API is served (a prefix the vendor's API cannot use)."""

Args = dict[str, Any]


@dataclass
class OpContext:
    """What an operation runs with: the engine, and what the adapter allows and provides."""

    engine: Engine
    trusted: bool
    """The caller owns the fake (in-process): seed files may come from anywhere."""
    seed_policy: SeedPolicy
    deliver_now: Callable[[], None]
    """Send every due webhook now (the adapter's sender)."""

    def reveal(self, args: Args) -> str | None:
        """The token an answer may show whole: the one the caller named (others are shortened)."""
        token = args.get("token")
        return token if isinstance(token, str) else None


@dataclass(frozen=True)
class Operation:
    """One control operation."""

    name: str
    method: str
    path: str
    """Under :data:`ADMIN_PREFIX`; ``{name}`` segments are path parameters."""
    summary: str
    call: Callable[[OpContext, Args], Any]
    body: Mapping[str, Any] = field(default_factory=dict)
    """JSON Schema of each body field."""
    required: tuple[str, ...] = ()
    query: Mapping[str, Any] = field(default_factory=dict)
    """JSON Schema of each query parameter (GET and DELETE)."""
    cli: str | None = ""
    """The CLI subcommand ("": the name with dashes; None: none)."""
    positional: tuple[str, ...] = ()
    """Body or query fields taken positionally on the CLI, after the path parameters."""
    scoped: bool = False
    """Takes ``token`` to act only for that token (a test's own on a shared server)."""

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))

    @property
    def body_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the whole body (None: the operation takes no body)."""
        if not self.body:
            return None
        schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": dict(self.body)}
        if self.required:
            schema["required"] = list(self.required)
        return schema

    @property
    def command(self) -> str | None:
        return self.name.replace("_", "-") if self.cli == "" else self.cli


# ---------------------------------------------------------------------------- schemas of fields


def _described(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description}


_TOKEN = {"type": "string", "minLength": 1, "maxLength": 256, "description": "an API key"}
_SCOPE = _described(_TOKEN, "act only for this token (its own clock, rules, faults, webhooks and calls)")
_SECONDS = {"type": "number", "minimum": 0, "maximum": 10 * 365 * 86400, "description": "seconds"}
_CODE = {"type": "string", "minLength": 1, "maxLength": 64, "description": "a job error code (see the catalogue)"}
_OUTCOME = _described(OPTION_SCHEMAS["default_outcome"], "complete, canceled, error or error:<code>")
_STRING = {"type": "string", "maxLength": 10_000}
_COUNT = {"type": "integer", "minimum": 1, "maximum": 1_000_000}
_TIMES = {**_COUNT, "type": ["integer", "null"]}
_ENDPOINT = {"enum": Endpoint.values(), "description": "only jobs of this endpoint"}


def _projects(c: OpContext, a: Args) -> list[dict[str, Any]]:
    state, reveal = c.engine.state, c.reveal(a)
    found = c.engine.controls.projects(a.get("token"), a.get("status"), account=a.get("account"), limit=a.get("limit"))
    return [project_view(state, p, reveal) for p in found]


def _project(c: OpContext, project: Any) -> dict[str, Any]:
    return project_view(c.engine.state, project, None)


def _create_project(c: OpContext, a: Args) -> dict[str, Any]:
    api, endpoint = c.engine.api, a.get("endpoint", Endpoint.VOICE_GENERATOR.value)
    common = {"name": a.get("name"), "outcome": a.get("outcome"), "prompt": a.get("prompt", "Hello from mh-mock")}
    if endpoint == Endpoint.VOICE_GENERATOR:
        project = api.create_voice(a["token"], voice_name=a.get("voice_name", "Morgan Freeman"), **common)
    elif endpoint == Endpoint.VOICE_CLONER:
        path = a.get("audio_file_path", "https://example.com/voice.mp3")
        project = api.clone_voice(a["token"], audio_file_path=path, **common)
    else:
        project = api.create_music(a["token"], duration=a.get("duration", 15), **common)
    return project_view(c.engine.state, project, c.reveal(a))


def _account(c: OpContext, a: Args) -> dict[str, Any]:
    return account_view(c.engine.controls.account(a["token"]), c.reveal(a))


def _journal(c: OpContext, a: Args) -> list[dict[str, Any]]:
    criteria = {k: a[k] for k in ("route", "status", "method", "project_id") if k in a}
    calls = c.engine.journal.filter(**criteria)
    if "token" in a:  # the token's own calls, and storage calls about its uploads and projects
        calls = [call for call in calls if a["token"] in (call.token, call.owner)]
    if "since" in a:
        calls = [call for call in calls if call.seq > a["since"]]
    if "limit" in a:
        calls = calls[-a["limit"] :]
    return [call_view(call, c.reveal(a)) for call in calls]


def _shortened(item: dict[str, Any], reveal: str | None) -> dict[str, Any]:
    """A rule, fault or endpoint as JSON, its token shortened unless the caller named it (listings
    never show whole API keys)."""
    token = item.get("token")
    return {**item, "token": mask(token, reveal)} if isinstance(token, str) else item


def _scenarios(c: OpContext, a: Args) -> dict[str, Any]:
    scenarios = c.engine.state.scenarios
    token, random = a.get("token"), scenarios.random
    return {
        "rules": [
            _shortened(rule.to_json(), token) for rule in scenarios.rules if token is None or rule.token == token
        ],
        "random": None if random is None else {"ratio": random.ratio, "codes": list(random.codes)},
    }


def _deliveries(c: OpContext, a: Args) -> list[dict[str, Any]]:
    found = c.engine.state.hub.deliveries(a.get("token"))
    return [delivery_view(d) for d in found if "state" not in a or d.state == a["state"]]


def _webhooks(c: OpContext, a: Args) -> list[dict[str, Any]]:
    token = a.get("token")
    return [
        _shortened(e.to_json(), token)
        for e in c.engine.state.hub.endpoints.values()
        if token is None or e.token == token
    ]


def _faults(c: OpContext, a: Args) -> list[dict[str, Any]]:
    token = a.get("token")
    return [_shortened(f.to_json(), token) for f in c.engine.state.faults.rules if token is None or f.token == token]


def _deliver(c: OpContext, a: Args) -> list[dict[str, Any]]:
    c.deliver_now()
    return _deliveries(c, a)


def _seeds(c: OpContext, a: Args) -> list[dict[str, Any]]:
    from ..engine.seeds import bundled_seeds, load_seed

    return [{"name": name, "description": load_seed(name).get("description", "")} for name in bundled_seeds()]


def _then(action: Callable[[OpContext, Args], Any], answer: Callable[[OpContext, Args], Any]) -> Callable[..., Any]:
    def run(c: OpContext, a: Args) -> Any:
        action(c, a)
        return answer(c, a)

    return run


def _state(c: OpContext, a: Args) -> dict[str, Any]:
    return state_view(c.engine, a.get("token"))


def _reset_tenant(c: OpContext, a: Args) -> dict[str, Any]:
    token = a["token"]
    c.engine.controls.reset_tenant(token, **{k: v for k, v in a.items() if k != "token"})
    return state_view(c.engine, token)


_RESET_OPTIONS = {name: schema for name, schema in OPTION_SCHEMAS.items() if name not in HTTP_FIXED_OPTIONS}

OPERATIONS: tuple[Operation, ...] = (
    Operation("reset", "POST", "/reset", "Forget all state; options given here last until the next reset",
              _then(lambda c, a: c.engine.reset(seed_policy=c.seed_policy, **a), _state), body=_RESET_OPTIONS),
    Operation("state", "GET", "/state", "The clock, progression and counters", _state,
              query={"token": _SCOPE}, scoped=True),
    Operation("advance", "POST", "/clock/advance", "Move the clock forward; what falls due happens in order",
              _then(lambda c, a: c.engine.controls.advance(a["seconds"], token=a.get("token")), _state),
              body={"seconds": _SECONDS, "token": _SCOPE}, required=("seconds",), positional=("seconds",), scoped=True),
    Operation("set_progression", "PUT", "/progression", "Choose what moves jobs on: the clock, or each GET",
              _then(lambda c, a: c.engine.controls.set_progression(a["progression"], token=a.get("token")), _state),
              body={"progression": {"enum": Progression.values()}, "token": _SCOPE}, required=("progression",),
              cli="progression", positional=("progression",), scoped=True),
    Operation("projects", "GET", "/projects", "Every project with owner and timeline", _projects,
              query={"token": _SCOPE, "status": _described({"enum": Status.values()}, "only projects in this status"),
                     "account": {"type": "string", "minLength": 1, "maxLength": 64,
                                 "description": "only projects of the account with this id"},
                     "limit": _described(_COUNT, "only the newest N matching projects (still oldest first)")},
              scoped=True),
    Operation("project", "GET", "/projects/{id}", "One project (reading it here counts no poll)",
              lambda c, a: _project(c, c.engine.controls.project(a["id"]))),
    Operation("create_project", "POST", "/projects", "Create a project as a token would, charging credits",
              _create_project, body={
                  "token": _TOKEN, "endpoint": _described({"enum": Endpoint.values()}, "default: voice_generator"),
                  "outcome": _OUTCOME, "name": _described(_STRING, "the project's name"),
                  "prompt": _described({**_STRING, "minLength": 1}, "the text (its length sets the charge)"),
                  "voice_name": _described(_STRING, "voice generator: the voice (default: Morgan Freeman)"),
                  "audio_file_path": _described(_STRING, "voice cloner: an api-assets/ path or a URL"),
                  "duration": {"type": "integer", "minimum": 1, "maximum": 3600,
                               "description": "music generator: seconds (one credit each; default 15)"}},
              required=("token",),
              positional=("token",)),
    Operation("finish", "POST", "/projects/{id}/finish", "Run one project to its terminal status now",
              lambda c, a: [_project(c, p) for p in c.engine.controls.finish(a["id"])]),
    Operation("finish_all", "POST", "/finish", "Run every unfinished project to its terminal status now",
              lambda c, a: [_project(c, p) for p in c.engine.controls.finish(token=a.get("token"))],
              body={"token": _SCOPE}, scoped=True),
    Operation("step", "POST", "/projects/{id}/step", "Move an unfinished project one status on",
              lambda c, a: _project(c, c.engine.controls.step(a["id"]))),
    Operation("cancel", "POST", "/projects/{id}/cancel", "Cancel a queued or rendering project, as the web app does",
              lambda c, a: _project(c, c.engine.controls.cancel(a["id"]))),
    Operation("delete", "DELETE", "/projects/{id}", "Delete a project as its owner would",
              lambda c, a: _project(c, c.engine.controls.delete(a["id"]))),
    Operation("set_outcome", "PUT", "/projects/{id}/outcome", "Decide how an unfinished project ends",
              lambda c, a: _project(c, c.engine.controls.set_outcome(a["id"], a["outcome"])),
              body={"outcome": _OUTCOME}, required=("outcome",), cli="outcome", positional=("outcome",)),
    Operation("force", "POST", "/projects/{id}/force", "Move an unfinished project to a status now",
              lambda c, a: _project(c, c.engine.controls.force(a["id"], a["status"], code=a.get("code"),
                                                               message=a.get("message"))),
              body={"status": {"enum": ["rendering", "complete", "error", "canceled"]},
                    "code": _described(_CODE, "the error code (status error)"),
                    "message": {"type": "string", "maxLength": 1000, "description": "the error message (status error)"}},
              required=("status",), positional=("status",)),
    Operation("accounts", "GET", "/accounts", "Every account with its ledger (tokens shortened)",
              lambda c, a: [account_view(x, c.reveal(a)) for x in c.engine.controls.accounts()]),
    Operation("account", "GET", "/accounts/{token}", "The account of a token, with its ledger", _account),
    Operation("add_account", "POST", "/accounts", "Register a token (needed with strict auth)",
              _then(lambda c, a: c.engine.controls.add_account(a["token"], a.get("credits"), email=a.get("email"),
                                                               tier=a.get("tier")), _account),
              body={"token": _TOKEN, "credits": _described(OPTION_SCHEMAS["starting_balance"], "default: the starting balance"),
                    "email": {"type": "string", "maxLength": 320}, "tier": {"enum": Tier.values()}},
              required=("token",), positional=("token",)),
    Operation("set_balance", "PUT", "/accounts/{token}/credits", "Set the credits of a token's account",
              _then(lambda c, a: c.engine.controls.set_balance(a["token"], a["credits"]), _account),
              body={"credits": OPTION_SCHEMAS["starting_balance"]}, required=("credits",), cli="balance",
              positional=("credits",)),
    Operation("set_balance_by_id", "PUT", "/accounts/by-id/{id}/credits", "Set the credits of an account by its id",
              lambda c, a: account_view(c.engine.controls.set_balance_by_id(a["id"], a["credits"]), None),
              body={"credits": OPTION_SCHEMAS["starting_balance"]}, required=("credits",), positional=("credits",)),
    Operation("journal", "GET", "/journal", "API and storage calls the fake served, oldest first", _journal,
              query={"limit": _described(_COUNT, "only the last N calls"),
                     "since": {"type": "integer", "minimum": -1, "description": "only calls after this seq"},
                     "route": _described(_STRING, "a route name, or a prefix ending in * (storage.*)"),
                     "token": _SCOPE, "status": {"type": "integer", "minimum": 0, "maximum": 599,
                                                 "description": "only calls answered with this status (0: none)"},
                     "method": {"enum": ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]},
                     "project_id": _described(_STRING, "only calls about this project")}, scoped=True),
    Operation("scenarios", "GET", "/scenarios", "Outcome rules and the random failure mode", _scenarios,
              query={"token": _SCOPE}, scoped=True),
    Operation("add_scenario", "POST", "/scenarios", "Add an outcome rule for new jobs",
              lambda c, a: c.engine.controls.add_rule(a).to_json(),
              body={"outcome": _OUTCOME, "endpoint": _ENDPOINT, "token": _SCOPE,
                    "name_contains": _described(_STRING, "only jobs whose name contains this"),
                    "prompt_contains": _described(_STRING, "only jobs whose prompt contains this"),
                    "times": _described(_TIMES, "how many jobs it decides (default and null: every one)"),
                    "timing": _described(OPTION_SCHEMAS["timings"]["additionalProperties"],
                                         "[queued, rendering] seconds for those jobs")},
              required=("outcome",), cli="scenario", positional=("outcome",), scoped=True),
    Operation("fail_next", "POST", "/scenarios/fail-next", "Make the next N jobs end in error",
              lambda c, a: c.engine.controls.add_rule({
                  "outcome": f"error:{a.get('code', 'unknown_error')}", "times": a["count"],
                  **{k: a[k] for k in ("endpoint", "token") if k in a}}).to_json(),
              body={"count": _described(_COUNT, "how many jobs"), "code": _described(_CODE, "default: unknown_error"),
                    "endpoint": _ENDPOINT, "token": _SCOPE},
              required=("count",), positional=("count",), scoped=True),
    Operation("fail_randomly", "PUT", "/scenarios/random", "Seeded soak mode: a fraction of new jobs fails (null: off)",
              _then(lambda c, a: c.engine.controls.set_random_failures(a["ratio"], a.get("codes")), _scenarios),
              body={"ratio": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                              "description": "the fraction of jobs that fail, 0 to 1"},
                    "codes": {"type": "array", "items": _CODE, "minItems": 1,
                              "description": "codes to draw from (default: the audio catalogue)"}},
              required=("ratio",), positional=("ratio",)),
    Operation("clear_scenarios", "DELETE", "/scenarios", "Drop every outcome rule and the random mode",
              _then(lambda c, a: c.engine.controls.clear_scenarios(token=a.get("token")), _scenarios),
              query={"token": _SCOPE}, scoped=True),
    Operation("remove_scenario", "DELETE", "/scenarios/{id}", "Drop one outcome rule",
              _then(lambda c, a: c.engine.controls.remove_rule(a["id"]), _scenarios)),
    Operation("faults", "GET", "/faults", "HTTP faults waiting to strike", _faults, query={"token": _SCOPE}, scoped=True),
    Operation("add_fault", "POST", "/faults", "Inject an HTTP fault: latency, 429, 5xx, reset, refused or timeout",
              lambda c, a: c.engine.controls.add_fault(a).to_json(),
              body={"kind": {"enum": FaultKind.values()},
                    "route": {"type": "string", "maxLength": 100,
                              "description": f"a route name ({', '.join(RouteName.values())}) or prefix*"},
                    "project_id": _described(_STRING, "only calls about this project"), "token": _SCOPE,
                    "nth": _described(_COUNT, "strike only the n-th matching call"),
                    "probability": {"type": "number", "minimum": 0, "maximum": 1,
                                    "description": "strike a seeded fraction of matching calls"},
                    "times": _described(_TIMES, "how often it strikes (default 1; null: every match)"),
                    "status": {"enum": [500, 502, 503], "description": "server_error: the status (default 500)"},
                    "retry_after": {"type": "integer", "minimum": 0, "maximum": 86400,
                                    "description": "rate_limit: Retry-After seconds (default 1)"},
                    "seconds": {"type": "number", "minimum": 0, "maximum": 600,
                                "description": "latency: the delay; timeout: the stall (default 30)"},
                    "after": {"type": "boolean",
                              "description": "reset and timeout: strike after the fake handled the call"}},
              required=("kind",), cli="fault", positional=("kind",), scoped=True),
    Operation("clear_faults", "DELETE", "/faults", "Drop every fault",
              _then(lambda c, a: c.engine.controls.clear_faults(token=a.get("token")), _faults),
              query={"token": _SCOPE}, scoped=True),
    Operation("remove_fault", "DELETE", "/faults/{id}", "Drop one fault",
              _then(lambda c, a: c.engine.controls.remove_fault(a["id"]), _faults)),
    Operation("webhooks", "GET", "/webhooks", "Registered webhook endpoints", _webhooks,
              query={"token": _SCOPE}, scoped=True),
    Operation("add_webhook", "POST", "/webhooks", "Register a webhook endpoint",
              lambda c, a: c.engine.controls.add_webhook(a["url"], a["secret"], a.get("events"),
                                                         token=a.get("token")).to_json(),
              body={"url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
                    "secret": {"type": "string", "minLength": 1, "maxLength": 256,
                               "description": "the signing secret (whsec_…)"},
                    "events": {"type": "array", "items": {"enum": Event.values()}, "minItems": 1,
                               "description": "default: all three"},
                    "token": _described(_SCOPE, "only events of this token's projects")},
              required=("url", "secret"), cli="webhook", positional=("url",), scoped=True),
    Operation("remove_webhook", "DELETE", "/webhooks/{id}", "Unregister a webhook endpoint (its pending deliveries fail)",
              _then(lambda c, a: c.engine.controls.remove_webhook(a["id"]), _webhooks)),
    Operation("deliveries", "GET", "/webhooks/deliveries", "Every webhook delivery with its attempts", _deliveries,
              query={"token": _SCOPE, "state": _described({"enum": ["pending", "delivered", "failed"]}, "only these")},
              scoped=True),
    Operation("deliver_webhooks", "POST", "/webhooks/deliver", "Send every due webhook now", _deliver, cli="deliver"),
    Operation("redeliver", "POST", "/webhooks/deliveries/{id}/redeliver", "Send a delivery's event again",
              lambda c, a: delivery_view(c.engine.controls.redeliver(a["id"]))),
    Operation("reset_tenant", "POST", "/tenants/{token}/reset",
              "Forget a token's state and give it its own clock and progression (tests sharing a server)",
              _reset_tenant,
              body={"progression": {"enum": Progression.values()}, "frozen_clock": {"type": "boolean"},
                    "reads_per_step": OPTION_SCHEMAS["reads_per_step"],
                    "starting_balance": OPTION_SCHEMAS["starting_balance"]}),
    Operation("remove_tenant", "DELETE", "/tenants/{token}", "Forget everything of a token and its own clock",
              _then(lambda c, a: c.engine.controls.remove_tenant(a["token"]), _state)),
    Operation("seeds", "GET", "/seeds", "The bundled seeds a reset can preload", _seeds),
    Operation("operations", "GET", "/operations", "This table: every control operation with its body schema",
              lambda c, a: [describe(op) for op in OPERATIONS], cli=None),
)  # fmt: skip
"""Every control operation."""

_BY_NAME = MappingProxyType({op.name: op for op in OPERATIONS})


def operation(name: str) -> Operation:
    """The operation called ``name``."""
    return _BY_NAME[name]


def describe(op: Operation) -> dict[str, Any]:
    """An operation as JSON (``GET /mh-mock-api/operations``, which the dashboard builds its forms from)."""
    return {
        "name": op.name, "method": op.method, "path": ADMIN_PREFIX + op.path, "summary": op.summary,
        "path_params": list(op.path_params), "body": op.body_schema, "query": dict(op.query) or None,
        "scoped": op.scoped,
    }  # fmt: skip
