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
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._json import check_depth
from ..audio import render_wav
from ..blob import Blob
from ..clock import format_timestamp
from ..config import HTTP_FIXED_OPTIONS, OPTION_SCHEMAS, Outcome
from ..errors import ConfigError
from ..vendor import JOBS, Endpoint
from ..vocabulary import Event, Status, Tier
from .models import Project, Upload
from .tokens import PUBLIC

if TYPE_CHECKING:
    from ..schema import SchemaValidator
    from .context import Context

__all__ = [
    "SEED_SCHEMA",
    "TRUSTED",
    "SeedPolicy",
    "apply_seed",
    "bundled_seeds",
    "import_project",
    "import_upload",
    "load_seed",
]

MAX_SEED_BYTES = 16 * 1024 * 1024
"""Largest seed file read (a seed holds a few projects, not a database)."""


@dataclass(frozen=True)
class SeedPolicy:
    """Where a seed named by a string may be read from.

    The owner's own process and command line may name any file (:data:`TRUSTED`); the admin API
    names bundled seeds, or files under a directory the owner allowed (``--seeds-dir``).
    """

    any_path: bool = False
    directory: Path | None = None
    max_bytes: int = MAX_SEED_BYTES


TRUSTED = SeedPolicy(any_path=True)
"""The owner's policy: any readable regular file."""


SEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "config": {
            "type": "object",
            "description": "Config options, under any given explicitly",
            "additionalProperties": False,
            "properties": {k: v for k, v in OPTION_SCHEMAS.items() if k not in HTTP_FIXED_OPTIONS and k != "preload"},
        },
        "accounts": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["token"],
                "properties": {
                    "token": {"type": "string", "minLength": 1, "maxLength": 256},
                    "credits": OPTION_SCHEMAS["starting_balance"],
                    "email": {"type": ["string", "null"], "maxLength": 320},
                    "tier": {"enum": list(Tier.values())},
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
                    "seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
                    "base64": {"type": "string", "maxLength": 8 * 1024 * 1024},
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
                        "items": {"enum": list(Event.values())},
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
                    "endpoint": {"enum": Endpoint.values()},
                    "status": {"enum": list(Status.values())},
                    "name": {"type": ["string", "null"]},
                    "credits_charged": OPTION_SCHEMAS["starting_balance"],
                    "seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
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
def _validator(show_values: bool) -> SchemaValidator:
    from ..schema import SchemaValidator

    return SchemaValidator(SEED_SCHEMA, show_values=show_values)


def bundled_seeds() -> dict[str, Path]:
    """Seed files shipped in ``mh_mock.fixtures`` (name → path)."""
    seeds = resources.files("mh_mock.fixtures").joinpath("seeds")
    return {
        Path(entry.name).stem: Path(str(entry))
        for entry in sorted(seeds.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".json")
    }


def load_seed(source: str | Path | Mapping[str, Any], policy: SeedPolicy = TRUSTED) -> dict[str, Any]:
    """Read and validate a seed: a document, a bundled name (``"examples"``), or a JSON file the policy allows.

    A file's contents never appear in an error (a seed named over HTTP must not leak files).
    """
    if isinstance(source, Mapping):
        document: Any = dict(source)
        origin, show_values = "seed document", True
    else:
        if not isinstance(source, (str, Path)) or not str(source) or "\x00" in str(source):
            raise ConfigError(
                f"preload is a bundled seed name ({', '.join(bundled_seeds())}), a seed document or a file path"
            )
        path = _locate(str(source), policy)
        origin, show_values = str(source), False
        document = _read_json(path, origin, policy.max_bytes)
    check_depth(document, origin)
    problem = _validator(show_values).error(document)
    if problem is not None:
        raise ConfigError(f"{origin}: {problem.replace('request body', 'top level', 1)}")
    checked: dict[str, Any] = document
    return checked


def _locate(name: str, policy: SeedPolicy) -> Path:
    bundled = bundled_seeds()
    if name in bundled:
        return bundled[name]
    names = ", ".join(bundled)
    if policy.any_path:
        return Path(name)
    if policy.directory is None:
        raise ConfigError(
            f"preload {name!r} is not a bundled seed ({names}); over the admin API a seed is a bundled name, "
            "a seed document, or a file under the server's --seeds-dir"
        )
    root = Path(os.path.realpath(policy.directory))
    candidate = Path(os.path.realpath(root / name))
    if root not in candidate.parents:
        raise ConfigError(f"preload {name!r} is outside the server's --seeds-dir; name a file inside it, or: {names}")
    return candidate


def _read_json(path: Path, origin: str, max_bytes: int) -> Any:
    try:  # non-blocking: opening a FIFO must not wait for a writer
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(f"seed {origin!r} is not a regular file")
            if info.st_size > max_bytes:
                raise ConfigError(f"seed {origin!r} is {info.st_size} bytes; a seed has at most {max_bytes}")
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError(
            f"no seed file {origin!r}: give a JSON file or one of: {', '.join(bundled_seeds())}"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"seed {origin!r} is a directory, not a JSON file") from None
    except OSError as error:
        raise ConfigError(f"cannot read seed {origin!r}: {error.strerror}") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise ConfigError(f"seed {origin!r} is not a JSON document{where}") from None


def apply_seed(context: Context, seed: Mapping[str, Any]) -> None:
    """Create the seed's accounts, uploads, rules, faults, webhooks and projects."""
    from .accounts import Accounts
    from .simulation import Simulation
    from .webhooks import Webhooks

    accounts, simulation = Accounts(context), Simulation(context)
    for account in seed.get("accounts", []):
        accounts.add_account(
            account["token"], account.get("credits"), email=account.get("email"), tier=account.get("tier")
        )
    for upload in seed.get("uploads", []):
        data = (
            base64.b64decode(upload["base64"])
            if "base64" in upload
            else render_wav(upload["file_path"], upload.get("seconds", 1.0))
        )
        import_upload(context, upload["file_path"], upload["token"], data)
    for rule in seed.get("scenarios", []):
        simulation.add_rule(rule)
    if "random_failures" in seed:
        simulation.set_random_failures(seed["random_failures"]["ratio"], seed["random_failures"].get("codes"))
    for fault in seed.get("faults", []):
        simulation.add_fault(fault)
    for webhook in seed.get("webhooks", []):
        Webhooks(context).add(webhook["url"], webhook["secret"], webhook.get("events"))
    for project in seed.get("projects", []):
        error = project.get("error")
        import_project(
            context,
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


def import_project(
    context: Context,
    *,
    project_id: str,
    owner: str,
    endpoint: Endpoint,
    status: str,
    name: str | None = None,
    charge: int = 0,
    seconds: float = 10.0,
    outcome: Outcome | None = None,
    enabled: bool = True,
) -> Project:
    """Put a project straight into the store, already in ``status``; ``owner`` may be ``"*"`` (public).

    Nobody paid for it: a later error or cancel shows ``credits_charged`` 0 but credits nothing.
    """
    if status not in Status.values():
        raise ConfigError(f"status must be one of {', '.join(Status.values())}, got {status!r}")
    owner = PUBLIC if owner == "*" else owner
    with context.transaction() as state:
        if project_id in state.projects:
            raise ConfigError(f"a project with id {project_id!r} already exists")
        if not enabled and owner == PUBLIC:
            raise ConfigError(f"a public project cannot be deleted ({project_id})")
        if status == "error":
            outcome = outcome if outcome is not None and outcome.status == "error" else Outcome.error()
        elif status in ("complete", "canceled"):
            outcome = Outcome(status)
        else:
            outcome = outcome or state.config.default_outcome
        now = state.now(owner)
        project = Project(
            id=project_id,
            owner=owner,
            endpoint=endpoint,
            created_at=now,
            charge=charge,
            seconds=seconds,
            name=name if name is not None else f"{JOBS[endpoint].label} - {format_timestamp(now)}",
            outcome=outcome,
            timing=state.config.timings[endpoint],
            paid=False,
        )
        state.add_project(project)
        while project.status != status:
            state.step(project, now)
        if not enabled:
            state.disable(project)
        return project


def import_upload(context: Context, file_path: str, owner: str, data: bytes) -> Upload:
    """Store an already-uploaded asset; ``owner`` may be ``"*"`` (public)."""
    if not file_path.startswith("api-assets/"):
        raise ConfigError(f"uploaded file paths start with 'api-assets/', got {file_path!r}")
    with context.transaction() as state:
        upload = Upload(file_path, PUBLIC if owner == "*" else owner, float("inf"), Blob.of(data))
        state.uploads[file_path] = upload
        state.changed("uploads", file_path, False)
        return upload
