"""Seed files: what a fake starts with (``mh-mock serve --seed FILE``), reapplied on every reset.

Accounts, uploads and projects; and the simulation controls: outcome ``scenarios`` and
``random_failures``, HTTP ``faults``, and ``webhooks`` endpoints (the same JSON the admin API takes).

A seed is JSON, validated against :data:`SEED_SCHEMA` with messages that name the bad entry.
``token: "*"`` makes an object public: every token can read it, as with the vendor's hosted mock
(whose examples, such as project ``cuid-example``, the bundled ``examples`` seed reproduces).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match

from .audio import render_wav
from .config import STATUSES, TIERS, Endpoint, Outcome
from .errors import ConfigError

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["SEED_SCHEMA", "apply_seed", "bundled_seeds", "load_seed"]


SEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "config": {"type": "object", "description": "Config options, under any given explicitly"},
        "accounts": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["token"],
                "properties": {
                    "token": {"type": "string", "minLength": 1},
                    "credits": {"type": "integer", "minimum": 0},
                    "email": {"type": ["string", "null"]},
                    "tier": {"enum": list(TIERS)},
                },
            },
        },
        "uploads": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["token", "file_path"],
                "properties": {
                    "token": {"type": "string", "minLength": 1},
                    "file_path": {"type": "string", "pattern": "^api-assets/"},
                    "seconds": {"type": "number", "exclusiveMinimum": 0},
                    "base64": {"type": "string"},
                },
            },
        },
        "scenarios": {"type": "array", "items": {"type": "object", "required": ["outcome"]}},
        "random_failures": {
            "type": "object",
            "additionalProperties": False,
            "required": ["ratio"],
            "properties": {
                "ratio": {"type": "number", "minimum": 0, "maximum": 1},
                "codes": {"type": "array", "items": {"type": "string"}},
            },
        },
        "faults": {"type": "array", "items": {"type": "object", "required": ["kind"]}},
        "webhooks": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["url", "secret"],
                "properties": {
                    "url": {"type": "string", "pattern": "^https?://"},
                    "secret": {"type": "string", "minLength": 1},
                    "events": {
                        "type": "array",
                        "items": {"enum": ["audio.started", "audio.completed", "audio.errored"]},
                    },
                },
            },
        },
        "projects": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "token", "endpoint", "status"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "token": {"type": "string", "minLength": 1},
                    "endpoint": {"enum": [e.value for e in Endpoint]},
                    "status": {"enum": list(STATUSES)},
                    "name": {"type": ["string", "null"]},
                    "credits_charged": {"type": "integer", "minimum": 0},
                    "seconds": {"type": "number", "exclusiveMinimum": 0},
                    "enabled": {"type": "boolean"},
                    "error": {
                        "type": "object",
                        "required": ["code"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        },
    },
}
"""The JSON Schema of a seed file."""


@functools.cache
def _validator() -> Draft7Validator:
    return Draft7Validator(SEED_SCHEMA)


def bundled_seeds() -> dict[str, Path]:
    """Seed files shipped in ``mh_mock.fixtures`` (name → path)."""
    seeds = Path(str(resources.files("mh_mock.fixtures").joinpath("seeds")))
    return {path.stem: path for path in sorted(seeds.glob("*.json"))}


def load_seed(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read and validate a seed: a document, a JSON file path, or a bundled name (``"examples"``)."""
    if isinstance(source, Mapping):
        document: Any = dict(source)
        origin = "seed document"
    else:
        path = bundled_seeds().get(str(source)) or Path(source)
        origin = str(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            names = ", ".join(bundled_seeds())
            raise ConfigError(f"no seed file {source!r}: give a path to a JSON file or one of: {names}") from None
        except json.JSONDecodeError as error:
            raise ConfigError(f"{origin} is not valid JSON: {error}") from None
    problem = best_match(_validator().iter_errors(document))
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path) or "top level"
        raise ConfigError(f"{origin}: {where}: {problem.message}")
    return document  # type: ignore[no-any-return]


def apply_seed(engine: Engine, seed: Mapping[str, Any]) -> None:
    """Create the seed's accounts, uploads and projects in ``engine``."""
    for account in seed.get("accounts", []):
        engine.add_account(
            account["token"], account.get("credits"), email=account.get("email"), tier=account.get("tier")
        )
    for upload in seed.get("uploads", []):
        data = (
            base64.b64decode(upload["base64"])
            if "base64" in upload
            else render_wav(upload["file_path"], upload.get("seconds", 1.0))
        )
        engine.import_upload(upload["file_path"], upload["token"], data)
    for rule in seed.get("scenarios", []):
        engine.add_rule(rule)
    if "random_failures" in seed:
        engine.set_random_failures(seed["random_failures"]["ratio"], seed["random_failures"].get("codes"))
    for fault in seed.get("faults", []):
        engine.add_fault(fault)
    for webhook in seed.get("webhooks", []):
        engine.add_webhook(webhook["url"], webhook["secret"], webhook.get("events"))
    for project in seed.get("projects", []):
        error = project.get("error")
        engine.import_project(
            project_id=project["id"],
            owner=project["token"],
            endpoint=Endpoint(project["endpoint"]),
            status=project["status"],
            name=project.get("name"),
            charge=project.get("credits_charged", 0),
            seconds=project.get("seconds", 10.0),
            outcome=Outcome.error(error["code"], error.get("message")) if error else None,
            enabled=project.get("enabled", True),
        )
