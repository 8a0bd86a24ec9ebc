"""What a state file may hold: a JSON Schema for each kind of saved row, and :func:`check_saved`.

:meth:`~mh_mock.engine.persistence.Saver.load` calls :func:`check_saved` on what
:meth:`~mh_mock.engine.store.Store.load` read, before it builds anything, so a damaged or
hand-edited file is refused with one sentence naming its table, row and field instead of a
traceback. Each schema describes what the loader reads: the fields it cannot do without are
required, and the records it builds with ``cls(**data)`` (rows, faults, scenarios, options)
take no other field. The words (statuses, endpoints, events, tiers, options) come from where the
engine defines them. What a schema cannot say (an error code needing a message, a fault field
its kind does not take) is found by building each record once, as the loader will.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..catalogue import JOB_ERRORS
from ..clock import Clock
from ..config import HTTP_FIXED_OPTIONS, OPTION_SCHEMAS, TENANT_OPTIONS, Config
from ..errors import ConfigError
from ..fault_kinds import FaultKind
from ..schema import SchemaValidator
from ..vendor import Endpoint
from ..vocabulary import Event, Progression, Status, Tier
from .faults import TARGET_FIELDS, Faults, kind_fields
from .hub import Delivery, WebhookHub
from .models import Account, Project, Upload
from .scenarios import RandomFailures, Rule
from .seeds import SEED_SCHEMA
from .store import TABLES, damaged

__all__ = ["ROW_SCHEMAS", "check_saved"]

_STRING = {"type": "string"}
_OPTIONAL_STRING = {"type": ["string", "null"]}
_NUMBER = {"type": "number"}
_INTEGER = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_BOOLEAN = {"type": "boolean"}


def _tuple(*items: Mapping[str, Any]) -> dict[str, Any]:
    """An array of exactly these items, in this order."""
    return {"type": "array", "items": list(items), "minItems": len(items), "additionalItems": False}


def _record(cls: type, properties: dict[str, Any], *, also_required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A saved dataclass: its fields without a default are required, and it takes no other field."""
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name in properties and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    return {
        "type": "object",
        "required": [*required, *also_required],
        "additionalProperties": False,
        "properties": properties,
    }


_TERMINAL = [status for status in Status.values() if Status(status).terminal]
_ACCOUNT = _record(
    Account,
    {
        "token": _STRING,
        "id": _STRING,
        "credits": _INTEGER,
        "email": _OPTIONAL_STRING,
        "tier": {"enum": Tier.values()},
        "charged": _COUNT,
        "refunded": _COUNT,
    },
)
_PROJECT = _record(
    Project,
    {
        "id": _STRING,
        "owner": _STRING,
        "endpoint": {"enum": Endpoint.values()},
        "name": _STRING,
        "created_at": _NUMBER,
        "charge": _INTEGER,
        "seconds": _NUMBER,
        "outcome": _tuple({"enum": _TERMINAL}, _OPTIONAL_STRING, _OPTIONAL_STRING),
        "timing": _tuple({"type": "number", "minimum": 0}, {"type": "number", "minimum": 0}),
        "status": {"enum": Status.values()},
        "status_since": _NUMBER,
        "step": _COUNT,
        "reads": _COUNT,
        "enabled": _BOOLEAN,
        "refunded": _BOOLEAN,
        "paid": _BOOLEAN,
        "history": {"type": "array", "items": _tuple({"enum": Status.values()}, _NUMBER)},
    },
    also_required=("status", "history"),  # Project.from_json reads them
)
_UPLOAD = _record(
    Upload,
    {
        "file_path": SEED_SCHEMA["properties"]["uploads"]["items"]["properties"]["file_path"],
        "owner": _STRING,
        "expires_at": _NUMBER,
        "file": {
            "type": ["object", "null"],
            "required": ["size", "sha256"],
            "additionalProperties": False,
            "properties": {"size": _COUNT, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
        },
    },
    also_required=("file",),  # Upload.from_json reads it
)
_DELIVERY = _record(
    Delivery,
    {
        "id": _STRING,
        "seq": _INTEGER,
        "endpoint_id": _STRING,
        "event": {"enum": Event.values()},
        "project_id": _STRING,
        "owner": _STRING,
        "body": _STRING,
        "created_at": _NUMBER,
        "next_attempt_at": _NUMBER,
        "state": _STRING,
        "redelivery_of": _OPTIONAL_STRING,
        "attempts": {
            "type": "array",
            "items": {
                "type": "array",
                "minItems": 3,
                "maxItems": 4,
                "additionalItems": False,
                "items": [_NUMBER, {"type": ["integer", "null"]}, _OPTIONAL_STRING, _OPTIONAL_STRING],
            },
        },
    },
    also_required=("attempts",),  # Delivery.from_json reads it
)

_CLOCK = {
    "type": "object",
    "required": ["frozen"],
    "properties": {"frozen": _BOOLEAN, "now": _NUMBER, "offset": _NUMBER},
    "if": {"properties": {"frozen": {"const": True}}},
    "then": {"required": ["now"]},
    "else": {"required": ["offset"]},
}
_RANDOM = {  # [ratio, codes], or null
    **_tuple(
        {"type": "number", "minimum": 0, "maximum": 1},
        {"type": "array", "items": {"enum": list(JOB_ERRORS)}, "minItems": 1},
    ),
    "type": ["array", "null"],
}
_TENANT = {
    "type": "object",
    "required": ["key", "clock", "progression", "options", "tokens", "lease", "random"],
    "additionalProperties": False,
    "properties": {
        "key": _OPTIONAL_STRING,
        "clock": _CLOCK,
        "progression": {"enum": Progression.values()},
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: OPTION_SCHEMAS[name] for name in TENANT_OPTIONS},
        },
        "tokens": {"type": "array", "items": _STRING},
        "lease": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "random": _RANDOM,
    },
}
_SCENARIO = {
    "type": "object",
    "required": ["id", "outcome"],
    "additionalProperties": False,
    "properties": {
        "id": _STRING,
        "outcome": OPTION_SCHEMAS["default_outcome"],
        "endpoint": {"enum": Endpoint.values()},
        "token": _STRING,
        "tenant": _STRING,
        "name_contains": _STRING,
        "prompt_contains": _STRING,
        "times": {"type": "integer", "minimum": 1},
        "timing": OPTION_SCHEMAS["timings"]["additionalProperties"],
    },
}


def _or_null(schema: Mapping[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": sorted({*(kind if isinstance(kind, list) else [kind]), "null"})}


_FAULT = {
    "type": "object",
    "required": ["id", "kind"],
    "additionalProperties": False,
    "properties": {
        "id": _STRING,
        "kind": {"enum": FaultKind.values()},
        **{name: _or_null(schema) for name, schema in TARGET_FIELDS.items()},
        **kind_fields(),
        "seen": _COUNT,
    },
}
_WEBHOOK = {
    "type": "object",
    "required": ["id", "url", "secret", "events"],
    "properties": {
        "id": _STRING,
        "url": SEED_SCHEMA["properties"]["webhooks"]["items"]["properties"]["url"],
        "secret": {"type": "string", "minLength": 1},
        "token": _OPTIONAL_STRING,
        "tenant": _OPTIONAL_STRING,
        "events": {"type": "array", "items": {"enum": Event.values()}, "minItems": 1},
    },
}
_ENGINE = {
    "type": "object",
    "required": [
        "secret",
        "audio_key",
        "options",
        "seed_options",
        "restarts",
        "tenants",
        "scenarios",
        "faults",
        "webhooks",
        "issued",
    ],
    "properties": {
        "secret": {**OPTION_SCHEMAS["signing_secret"], "type": "string"},
        "audio_key": _STRING,
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: schema for name, schema in OPTION_SCHEMAS.items() if name not in HTTP_FIXED_OPTIONS},
        },
        "seed_options": SEED_SCHEMA["properties"]["config"],
        "restarts": _COUNT,
        "tenants": {"type": "array", "items": _TENANT},
        "scenarios": {"type": "array", "items": _SCENARIO},
        "faults": {"type": "array", "items": _FAULT},
        "webhooks": {"type": "array", "items": _WEBHOOK},
        "issued": {"type": "object", "properties": {"webhooks": _COUNT, "scenarios": _COUNT, "faults": _COUNT}},
    },
}

_DRAFT_7 = "http://json-schema.org/draft-07/schema#"
"""The dialect of these schemas (tuples are ``items: [...]``); the fast engine assumes 2020-12 unless told."""
ROW_SCHEMAS: Mapping[str, Mapping[str, Any]] = {
    kind: {"$schema": _DRAFT_7, **schema}
    for kind, schema in (
        ("engine", _ENGINE),
        ("accounts", _ACCOUNT),
        ("projects", _PROJECT),
        ("uploads", _UPLOAD),
        ("deliveries", _DELIVERY),
    )
}
"""The JSON Schema of the ``meta`` table's ``engine`` document and of a row of each row table."""

_KEY_FIELDS = {"accounts": "token", "projects": "id", "uploads": "file_path", "deliveries": "id"}
"""The field each row table is keyed by."""


@functools.cache
def _validators() -> Mapping[str, SchemaValidator]:
    return {kind: SchemaValidator(schema) for kind, schema in ROW_SCHEMAS.items()}


def check_saved(loaded: dict[str, Any]) -> None:
    """Raise :class:`~mh_mock.engine.store.StoreError` naming the table, row and field if anything
    :meth:`~mh_mock.engine.store.Store.load` read is not what this version of mh-mock saves."""
    file: Path = loaded["file"]
    problem = _validators()["engine"].error(loaded["engine"])
    if problem is not None:
        raise damaged(file, "meta", "engine", _phrased(problem))
    for table in TABLES:
        for key, (data, blob) in zip(loaded["keys"][table], loaded[table], strict=True):
            problem = _validators()[table].error(data)
            if problem is None and data[_KEY_FIELDS[table]] != key:
                problem = f"its {_KEY_FIELDS[table]} is {data[_KEY_FIELDS[table]]!r}, not the row's key"
            if problem is None and blob is not None and (table != "uploads" or not isinstance(blob, bytes)):
                problem = f"its data is a {type(blob).__name__}, not {'a blob' if table == 'uploads' else 'null'}"
            if problem is not None:
                raise damaged(file, table, key, _phrased(problem))
            with _about(file, table, key):
                _BUILDERS[table](data, blob)
    _build_engine(file, loaded["engine"])


def _phrased(problem: str) -> str:
    """A validator's sentence in the middle of ours: lower case, the whole row named "the row"."""
    problem = problem.replace("request body", "the row", 1)
    return problem[:1].lower() + problem[1:]


@contextmanager
def _about(file: Path, table: str, key: Any, field: str = "") -> Iterator[None]:
    """Turn whatever building a record raises into the error naming its row (and field)."""
    try:
        yield
    except Exception as error:
        text = str(error) if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
        raise damaged(file, table, key, f"{field}: {text}" if field else text) from None


_BUILDERS: Mapping[str, Callable[[dict[str, Any], Any], object]] = {
    "accounts": lambda data, blob: Account(**data),
    "projects": lambda data, blob: Project.from_json(data),
    "uploads": lambda data, blob: Upload.from_json(data, blob),
    "deliveries": lambda data, blob: Delivery.from_json(data),
}
"""How the loader builds a record of each row table (every one is built once, to find what a schema cannot say)."""


def _build_engine(file: Path, meta: dict[str, Any]) -> None:
    """Build every part of the ``engine`` document once, as the loader will."""
    with _about(file, "meta", "engine", "options"):
        Config().under(meta["options"], explicit=True).under(meta["seed_options"]).replace(
            signing_secret=meta["secret"]
        )
    for index, tenant in enumerate(meta["tenants"]):
        with _about(file, "meta", "engine", f"tenants[{index}]"):
            Clock().restore(tenant["clock"])
            Config().replace(**tenant["options"])
            if tenant["random"] is not None:
                RandomFailures.build(tenant["random"][0], tenant["random"][1], None)
    hub = WebhookHub(clock_key=str)
    for index, endpoint in enumerate(meta["webhooks"]):
        with _about(file, "meta", "engine", f"webhooks[{index}]"):
            hub.restore_endpoint(endpoint)
    faults = Faults()
    for index, fault in enumerate(meta["faults"]):
        with _about(file, "meta", "engine", f"faults[{index}]"):
            faults.restore(fault)
    for index, rule in enumerate(meta["scenarios"]):
        with _about(file, "meta", "engine", f"scenarios[{index}]"):
            Rule.from_json({k: v for k, v in rule.items() if k != "id"}, rule["id"])
