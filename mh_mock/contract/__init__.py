"""The vendor contract (OpenAPI 3.0 + webhook spec), loaded and compiled once per process.

The JSON files beside this module are verbatim copies of ``shared/contract``; a test keeps them
in sync. Schemas are converted from OpenAPI 3.0 (``nullable``, ``example``) to plain JSON Schema
and compiled with :mod:`jsonschema` exactly once, the first time :func:`load_contract` is called.
The result is immutable, so sharing it between fake instances is safe.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator

__all__ = [
    "Contract",
    "load_contract",
    "openapi_document",
    "to_json_schema",
    "webhook_document",
]

_DROP_KEYS = frozenset({"example", "examples", "description", "default", "x-derived-from"})


def _read(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@functools.cache
def openapi_document() -> Mapping[str, Any]:
    """The vendor's OpenAPI document for the audio API (do not mutate)."""
    return _read("openapi-audio.json")


@functools.cache
def webhook_document() -> Mapping[str, Any]:
    """The vendor's webhook OpenAPI document (do not mutate)."""
    return _read("webhooks-audio.json")


def to_json_schema(schema: Any) -> Any:
    """Convert an OpenAPI 3.0 schema to JSON Schema (``nullable`` becomes a ``null`` type)."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: to_json_schema(v) for k, v in schema.items() if k not in _DROP_KEYS}
    pattern = out.get("pattern")
    if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
        out["pattern"] = pattern[:-1] + "\\Z"  # Python's $ also matches before a final newline
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


@dataclass(frozen=True)
class Contract:
    """Compiled validators for every request body and response of the contract.

    ``requests`` maps an operationId to the validator of its JSON request body;
    ``responses`` maps ``(operationId, status)`` to the validator of that response body.
    """

    requests: Mapping[str, Draft7Validator]
    responses: Mapping[tuple[str, int], Draft7Validator]
    voice_names: frozenset[str]
    webhook_event: Mapping[str, Draft7Validator]

    def response_validator(self, operation_id: str, status: int) -> Draft7Validator:
        """The validator for one documented response; KeyError if the contract has none."""
        return self.responses[(operation_id, status)]


def _json_body_schema(node: Mapping[str, Any]) -> Any | None:
    content = node.get("content", {}).get("application/json")
    return None if content is None else content.get("schema")


@functools.cache
def load_contract() -> Contract:
    """Compile the contract's schemas (cached: the work happens once per process)."""
    doc = openapi_document()
    requests: dict[str, Draft7Validator] = {}
    responses: dict[tuple[str, int], Draft7Validator] = {}
    voice_names: frozenset[str] = frozenset()
    for path_item in doc["paths"].values():
        for operation in path_item.values():
            op_id = operation["operationId"]
            body = operation.get("requestBody")
            if body is not None:
                schema = to_json_schema(_json_body_schema(body))
                requests[op_id] = Draft7Validator(schema)
                voices = schema["properties"].get("style", {}).get("properties", {})
                if "voice_name" in voices:
                    voice_names = frozenset(voices["voice_name"]["enum"])
            for status, response in operation["responses"].items():
                schema = _json_body_schema(response)
                if schema is not None:
                    responses[(op_id, int(status))] = Draft7Validator(to_json_schema(schema))
    webhook_event: dict[str, Draft7Validator] = {}
    for path_item in webhook_document()["paths"].values():
        for operation in path_item.values():
            schema = to_json_schema(_json_body_schema(operation["requestBody"]))
            webhook_event[operation["operationId"]] = Draft7Validator(schema)
    return Contract(requests, responses, voice_names, webhook_event)
