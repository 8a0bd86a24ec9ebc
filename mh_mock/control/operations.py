"""The control operations, each declared once: name, HTTP method and path, schemas, what it does, its answer.

Everything else is derived from :data:`OPERATIONS`: the admin routes under ``/mh-mock-api``
(bodies checked by the same validator as API bodies), their entries in ``/openapi.json``, the
``mh-mock`` CLI subcommands, the dashboard's forms, the reference page ``docs/reference/control.md``,
and the result types of the typed methods of :class:`~mh_mock.control.remote.Control` (each
operation's answer type is its function's, so mypy checks the method against the declaration).

To add an operation: write its engine method, one function in :mod:`mh_mock.control.handlers`,
one :class:`Operation` here, and one typed method on ``Control``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from ..config import HTTP_FIXED_OPTIONS, OPTION_SCHEMAS, TENANT_OPTIONS
from ..engine.faults import TARGET_FIELDS
from ..fault_kinds import FAULT_KINDS, FaultKind
from ..vendor import DEFAULT_ENDPOINT, JOBS, Endpoint, RouteName
from ..vocabulary import Event, Progression, Status, Tier
from . import handlers as h
from .handlers import Args, OpContext
from .views import OperationView

__all__ = ["ADMIN_PREFIX", "OPERATIONS", "Operation", "describe", "operation"]

ADMIN_PREFIX = "/mh-mock-api"
"""Where the admin API is served (a prefix the vendor's API cannot use)."""

R = TypeVar("R")


def _described(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description}


_TOKEN = {"type": "string", "minLength": 1, "maxLength": 256, "description": "an API key"}
_TENANT = _described(_TOKEN, "act for this namespace only (a test's own on a shared server)")


@dataclass(frozen=True)
class Operation(Generic[R]):
    """One control operation; ``R`` is what it answers (a view of :mod:`mh_mock.control.views`)."""

    name: str
    method: str
    path: str
    """Under :data:`ADMIN_PREFIX`; ``{name}`` segments are path parameters."""
    summary: str
    call: Callable[[OpContext, Args], R]
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
    """Takes ``tenant``, to act for one namespace only (a test's own on a shared server)."""

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))

    @property
    def reads(self) -> bool:
        """True for GET and DELETE: the fields come in the query string."""
        return self.method in ("GET", "DELETE")

    @property
    def body_fields(self) -> dict[str, Any]:
        """Every body field's schema (with ``tenant`` for a scoped operation)."""
        scope = {"tenant": _TENANT} if self.scoped and not self.reads else {}
        return {**self.body, **scope}

    @property
    def query_fields(self) -> dict[str, Any]:
        """Every query parameter's schema (with ``tenant`` for a scoped operation)."""
        scope = {"tenant": _TENANT} if self.scoped and self.reads else {}
        return {**self.query, **scope}

    @property
    def body_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the whole body (None: the operation takes no body)."""
        fields = self.body_fields
        if not fields:
            return None
        schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": fields}
        if self.required:
            schema["required"] = list(self.required)
        return schema

    @property
    def command(self) -> str | None:
        """The ``mh-mock`` subcommand, if there is one."""
        return self.name.replace("_", "-") if self.cli == "" else self.cli


# ---------------------------------------------------------------------------- schemas of fields

_SECONDS = {"type": "number", "minimum": 0, "maximum": 10 * 365 * 86400, "description": "seconds"}
_CODE = {"type": "string", "minLength": 1, "maxLength": 64, "description": "a job error code (see the catalogue)"}
_OUTCOME = _described(OPTION_SCHEMAS["default_outcome"], "complete, canceled, error or error:<code>")
_STRING = {"type": "string", "maxLength": 10_000}
_COUNT = {"type": "integer", "minimum": 1, "maximum": 1_000_000}
_TIMES = {**_COUNT, "type": ["integer", "null"]}
_ENDPOINT = {"enum": Endpoint.values(), "description": "only jobs of this endpoint"}
_LIMIT = _described({"type": "integer", "minimum": 1, "maximum": 100_000}, "only the newest N")
_CREDITS = OPTION_SCHEMAS["starting_balance"]


def _job_fields() -> dict[str, Any]:
    """The fields of every kind of job, each described with the kinds that take it and its default."""
    fields: dict[str, Any] = {}
    for job in JOBS.values():
        for name, spec in job.fields.items():
            text = f"{job.endpoint}: {spec.description}" + (
                "" if spec.default is None else f" (default {spec.default})"
            )
            if name in fields:
                text = f"{fields[name]['description']}; {text}"
            fields[name] = _described(spec.schema, text)
    return fields


def _fault_fields() -> dict[str, Any]:
    """The fields of every fault kind, each described with the kinds that take it and its default."""
    fields: dict[str, Any] = {}
    for spec in FAULT_KINDS.values():
        for name, kind_field in spec.fields.items():
            text = f"{spec.kind}: {kind_field.description}" + (
                "" if kind_field.default is None else f" (default {kind_field.default:g})"
            )
            if name in fields:
                text = f"{fields[name]['description']}; {text}"
            fields[name] = _described(kind_field.schema, text)
    return fields


_TARGETS = {
    "route": _described(TARGET_FIELDS["route"], f"a route name ({', '.join(RouteName.values())}) or prefix*"),
    "project_id": _described(TARGET_FIELDS["project_id"], "only calls about this project"),
    "token": _described(TARGET_FIELDS["token"], "only calls made with (or about the objects of) this token"),
    "nth": _described(TARGET_FIELDS["nth"], "strike only the n-th matching call"),
    "probability": _described(TARGET_FIELDS["probability"], "strike a seeded fraction of matching calls"),
    "times": _described(TARGET_FIELDS["times"], "how often it strikes (default 1; null: every match)"),
    "after": _described(TARGET_FIELDS["after"], "strike after the fake handled the call (kinds that drop)"),
}
_RESET_OPTIONS = {name: schema for name, schema in OPTION_SCHEMAS.items() if name not in HTTP_FIXED_OPTIONS}
_TENANT_OPTIONS = {name: OPTION_SCHEMAS[name] for name in TENANT_OPTIONS}
_LEASE = _described(
    {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 30 * 86400},
    "forget the namespace after this many seconds without a call (default: never)",
)

# ---------------------------------------------------------------------------- the table

RESET = Operation(
    "reset",
    "POST",
    "/reset",
    "Forget all state; options given here last until the next reset",
    h.reset,
    body=_RESET_OPTIONS,
)
STATE = Operation("state", "GET", "/state", "The clock, progression and counters", h.state, scoped=True)
ADVANCE = Operation(
    "advance",
    "POST",
    "/clock/advance",
    "Move the clock forward; what falls due happens in order",
    h.advance,
    body={"seconds": _SECONDS},
    required=("seconds",),
    positional=("seconds",),
    scoped=True,
)
SET_PROGRESSION = Operation(
    "set_progression",
    "PUT",
    "/progression",
    "Choose what moves jobs on: the clock, or each GET",
    h.set_progression,
    body={"progression": {"enum": Progression.values()}},
    required=("progression",),
    cli="progression",
    positional=("progression",),
    scoped=True,
)
PROJECTS = Operation(
    "projects",
    "GET",
    "/projects",
    "Every project with owner and timeline",
    h.projects,
    query={
        "token": _described(_TOKEN, "only this token's projects"),
        "status": _described({"enum": Status.values()}, "only projects in this status"),
        "account": _described({"type": "string", "minLength": 1, "maxLength": 64}, "only this account's (its id)"),
        "limit": _described(_COUNT, "only the newest N matching projects (still oldest first)"),
    },
    scoped=True,
)
PROJECT = Operation("project", "GET", "/projects/{id}", "One project (reading it here counts no poll)", h.project)
CREATE_PROJECT = Operation(
    "create_project",
    "POST",
    "/projects",
    "Create a project as a token would, charging credits",
    h.create_project,
    body={
        "token": _TOKEN,
        "endpoint": _described({"enum": Endpoint.values()}, f"the kind of job (default: {DEFAULT_ENDPOINT})"),
        "outcome": _OUTCOME,
        "name": _described(_STRING, "the project's name"),
        "prompt": _described({**_STRING, "minLength": 1}, "the text (its length sets the charge of voice jobs)"),
        **_job_fields(),
    },
    required=("token",),
    positional=("token",),
    scoped=True,
)
FINISH = Operation("finish", "POST", "/projects/{id}/finish", "Run one project to its terminal status now", h.finish)
FINISH_ALL = Operation(
    "finish_all",
    "POST",
    "/finish",
    "Run every unfinished project to its terminal status now",
    h.finish_all,
    scoped=True,
)
STEP = Operation("step", "POST", "/projects/{id}/step", "Move an unfinished project one status on", h.step)
CANCEL = Operation(
    "cancel", "POST", "/projects/{id}/cancel", "Cancel a queued or rendering project, as the web app does", h.cancel
)
DELETE = Operation("delete", "DELETE", "/projects/{id}", "Delete a project as its owner would", h.delete)
SET_OUTCOME = Operation(
    "set_outcome",
    "PUT",
    "/projects/{id}/outcome",
    "Decide how an unfinished project ends",
    h.set_outcome,
    body={"outcome": _OUTCOME},
    required=("outcome",),
    cli="outcome",
    positional=("outcome",),
)
FORCE = Operation(
    "force",
    "POST",
    "/projects/{id}/force",
    "Move an unfinished project to a status now",
    h.force,
    body={
        "status": {"enum": ["rendering", "complete", "error", "canceled"]},
        "code": _described(_CODE, "the error code (status error)"),
        "message": {"type": "string", "maxLength": 1000, "description": "the error message (status error)"},
    },
    required=("status",),
    positional=("status",),
)
ACCOUNTS = Operation(
    "accounts",
    "GET",
    "/accounts",
    "Every account with its ledger (tokens shortened)",
    h.accounts,
    query={"limit": _LIMIT},
    scoped=True,
)
ACCOUNT = Operation("account", "GET", "/accounts/{token}", "The account of a token, with its ledger", h.account)
ADD_ACCOUNT = Operation(
    "add_account",
    "POST",
    "/accounts",
    "Register a token (needed with strict auth)",
    h.add_account,
    body={
        "token": _TOKEN,
        "credits": _described(_CREDITS, "default: the starting balance"),
        "email": {"type": "string", "maxLength": 320},
        "tier": {"enum": Tier.values()},
    },
    required=("token",),
    positional=("token",),
    scoped=True,
)
SET_BALANCE = Operation(
    "set_balance",
    "PUT",
    "/accounts/{token}/credits",
    "Set the credits of a token's account",
    h.set_balance,
    body={"credits": _CREDITS},
    required=("credits",),
    positional=("credits",),
    scoped=True,
)
SET_BALANCE_BY_ID = Operation(
    "set_balance_by_id",
    "PUT",
    "/accounts/by-id/{id}/credits",
    "Set the credits of an account by its id",
    h.set_balance_by_id,
    body={"credits": _CREDITS},
    required=("credits",),
    positional=("credits",),
)
JOURNAL = Operation(
    "journal",
    "GET",
    "/journal",
    "API and storage calls the fake served, oldest first",
    h.journal,
    query={
        "limit": _described(_COUNT, "only the last N calls"),
        "since": {"type": "integer", "minimum": -1, "description": "only calls after this seq"},
        "route": _described(_STRING, "a route name, or a prefix ending in * (storage.*)"),
        "token": _described(_TOKEN, "only calls made with this token, or about its uploads and projects"),
        "status": {"type": "integer", "minimum": 0, "maximum": 599, "description": "only calls answered so (0: none)"},
        "method": {"enum": ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]},
        "project_id": _described(_STRING, "only calls about this project"),
    },
    scoped=True,
)
_AIMED = {"token": _described(_TOKEN, "only those aimed at this token")}
SCENARIOS = Operation(
    "scenarios",
    "GET",
    "/scenarios",
    "Outcome rules and the random failure mode",
    h.scenarios,
    query=_AIMED,
    scoped=True,
)
ADD_SCENARIO = Operation(
    "add_scenario",
    "POST",
    "/scenarios",
    "Add an outcome rule for new jobs",
    h.add_scenario,
    body={
        "outcome": _OUTCOME,
        "endpoint": _ENDPOINT,
        "token": _described(_TOKEN, "only jobs of this token"),
        "name_contains": _described(_STRING, "only jobs whose name contains this"),
        "prompt_contains": _described(_STRING, "only jobs whose prompt contains this"),
        "times": _described(_TIMES, "how many jobs it decides (default and null: every one)"),
        "timing": _described(
            OPTION_SCHEMAS["timings"]["additionalProperties"], "[queued, rendering] seconds for those jobs"
        ),
    },
    required=("outcome",),
    cli="scenario",
    positional=("outcome",),
    scoped=True,
)
FAIL_NEXT = Operation(
    "fail_next",
    "POST",
    "/scenarios/fail-next",
    "Make the next N jobs end in error",
    h.fail_next,
    body={
        "count": _described(_COUNT, "how many jobs"),
        "code": _described(_CODE, "default: unknown_error"),
        "endpoint": _ENDPOINT,
        "token": _described(_TOKEN, "only jobs of this token"),
    },
    required=("count",),
    positional=("count",),
    scoped=True,
)
FAIL_RANDOMLY = Operation(
    "fail_randomly",
    "PUT",
    "/scenarios/random",
    "Seeded soak mode: a fraction of new jobs fails (null: off)",
    h.fail_randomly,
    body={
        "ratio": _described({"type": ["number", "null"], "minimum": 0, "maximum": 1}, "the fraction that fails"),
        "codes": {"type": "array", "items": _CODE, "minItems": 1, "description": "codes to draw from (default: audio)"},
    },
    required=("ratio",),
    positional=("ratio",),
    scoped=True,
)
CLEAR_SCENARIOS = Operation(
    "clear_scenarios",
    "DELETE",
    "/scenarios",
    "Drop every outcome rule and the random mode",
    h.clear_scenarios,
    scoped=True,
)
REMOVE_SCENARIO = Operation("remove_scenario", "DELETE", "/scenarios/{id}", "Drop one outcome rule", h.remove_scenario)
FAULTS = Operation("faults", "GET", "/faults", "HTTP faults waiting to strike", h.faults, query=_AIMED, scoped=True)
ADD_FAULT = Operation(
    "add_fault",
    "POST",
    "/faults",
    f"Inject an HTTP fault: {', '.join(FAULT_KINDS)}",
    h.add_fault,
    body={"kind": {"enum": FaultKind.values()}, **_TARGETS, **_fault_fields()},
    required=("kind",),
    cli="fault",
    positional=("kind",),
    scoped=True,
)
CLEAR_FAULTS = Operation("clear_faults", "DELETE", "/faults", "Drop every fault", h.clear_faults, scoped=True)
REMOVE_FAULT = Operation("remove_fault", "DELETE", "/faults/{id}", "Drop one fault", h.remove_fault)
WEBHOOKS = Operation(
    "webhooks", "GET", "/webhooks", "Registered webhook endpoints", h.webhooks, query=_AIMED, scoped=True
)
ADD_WEBHOOK = Operation(
    "add_webhook",
    "POST",
    "/webhooks",
    "Register a webhook endpoint",
    h.add_webhook,
    body={
        "url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
        "secret": {"type": "string", "minLength": 1, "maxLength": 256, "description": "the signing secret (whsec_…)"},
        "events": {"type": "array", "items": {"enum": Event.values()}, "minItems": 1, "description": "default: all"},
        "token": _described(_TOKEN, "only events of this token's projects"),
    },
    required=("url", "secret"),
    cli="webhook",
    positional=("url",),
    scoped=True,
)
REMOVE_WEBHOOK = Operation(
    "remove_webhook",
    "DELETE",
    "/webhooks/{id}",
    "Unregister a webhook endpoint (its pending deliveries fail)",
    h.remove_webhook,
)
DELIVERIES = Operation(
    "deliveries",
    "GET",
    "/webhooks/deliveries",
    "Every webhook delivery with its attempts",
    h.deliveries,
    query={
        "state": _described({"enum": ["pending", "delivered", "failed"]}, "only these"),
        "limit": _LIMIT,
    },
    scoped=True,
)
DELIVER_WEBHOOKS = Operation(
    "deliver_webhooks",
    "POST",
    "/webhooks/deliver",
    "Send every due webhook now, and wait for the answers",
    h.deliver_webhooks,
    cli="deliver",
    scoped=True,
)
REDELIVER = Operation(
    "redeliver", "POST", "/webhooks/deliveries/{id}/redeliver", "Send a delivery's event again", h.redeliver
)
TENANTS = Operation("tenants", "GET", "/tenants", "The namespaces of test runs sharing this server", h.tenants)
RESET_TENANT = Operation(
    "reset_tenant",
    "POST",
    "/tenants/{tenant}/reset",
    "Start a namespace afresh: its own clock, progression and options, its key a token of it",
    h.reset_tenant,
    body={
        **_TENANT_OPTIONS,
        "lease": _LEASE,
        "defaults": _described(
            {"type": "object", "additionalProperties": False, "properties": _TENANT_OPTIONS},
            "options that count as defaults: the server's seed beats them",
        ),
    },
)
JOIN_TENANT = Operation(
    "join_tenant",
    "POST",
    "/tenants/{tenant}/tokens",
    "Make a token one of a namespace's",
    h.join_tenant,
    body={"token": _TOKEN},
    required=("token",),
    cli="join",
    positional=("token",),
)
REMOVE_TENANT = Operation(
    "remove_tenant", "DELETE", "/tenants/{tenant}", "Forget a namespace and everything of its tokens", h.remove_tenant
)
SEEDS = Operation("seeds", "GET", "/seeds", "The bundled seeds a reset can preload", h.seeds)


def _operations(c: OpContext, a: Args) -> list[OperationView]:
    return [describe(op) for op in OPERATIONS]


OPERATIONS_ = Operation(
    "operations", "GET", "/operations", "This table: every control operation with its schemas", _operations, cli=None
)

OPERATIONS: tuple[Operation[Any], ...] = (
    RESET,
    STATE,
    ADVANCE,
    SET_PROGRESSION,
    PROJECTS,
    PROJECT,
    CREATE_PROJECT,
    FINISH,
    FINISH_ALL,
    STEP,
    CANCEL,
    DELETE,
    SET_OUTCOME,
    FORCE,
    ACCOUNTS,
    ACCOUNT,
    ADD_ACCOUNT,
    SET_BALANCE,
    SET_BALANCE_BY_ID,
    JOURNAL,
    SCENARIOS,
    ADD_SCENARIO,
    FAIL_NEXT,
    FAIL_RANDOMLY,
    CLEAR_SCENARIOS,
    REMOVE_SCENARIO,
    FAULTS,
    ADD_FAULT,
    CLEAR_FAULTS,
    REMOVE_FAULT,
    WEBHOOKS,
    ADD_WEBHOOK,
    REMOVE_WEBHOOK,
    DELIVERIES,
    DELIVER_WEBHOOKS,
    REDELIVER,
    TENANTS,
    RESET_TENANT,
    JOIN_TENANT,
    REMOVE_TENANT,
    SEEDS,
    OPERATIONS_,
)
"""Every control operation."""

_BY_NAME = MappingProxyType({op.name: op for op in OPERATIONS})


def operation(name: str) -> Operation[Any]:
    """The operation called ``name``."""
    return _BY_NAME[name]


def describe(op: Operation[Any]) -> OperationView:
    """An operation as JSON (``GET /mh-mock-api/operations``, which the dashboard builds its forms from)."""
    return {
        "name": op.name,
        "method": op.method,
        "path": ADMIN_PREFIX + op.path,
        "summary": op.summary,
        "path_params": list(op.path_params),
        "body": op.body_schema,
        "query": op.query_fields or None,
        "scoped": op.scoped,
    }
