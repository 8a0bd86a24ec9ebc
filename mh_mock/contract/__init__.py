"""The vendor contract (OpenAPI 3.0 + webhook spec), loaded and compiled once per process.

The JSON files beside this module are verbatim copies of ``shared/contract``; a test keeps them
in sync. Schemas are converted from OpenAPI 3.0 (``nullable``, ``example``) to plain JSON Schema
and the request schemas compiled (:class:`~mh_mock.schema.SchemaValidator`) exactly once, the
first time :func:`load_contract` is called. The result is immutable, so sharing it between fakes is safe;
the documents themselves are read-only views (copy before changing one).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from ..schema import SchemaValidator

__all__ = [
    "Contract",
    "EnumCheck",
    "load_contract",
    "openapi_document",
    "to_json_schema",
]

_DROP_KEYS = frozenset({"example", "examples", "description", "default", "x-derived-from"})


def _read(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@functools.cache
def openapi_document() -> Mapping[str, Any]:
    """The vendor's OpenAPI document for the audio API (shared: never mutate it)."""
    return _read("openapi-audio.json")


def to_json_schema(schema: Any) -> Any:
    """Convert an OpenAPI 3.0 schema to JSON Schema (``nullable`` becomes a ``null`` type)."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: to_json_schema(v) for k, v in schema.items() if k not in _DROP_KEYS}
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


LARGE_ENUM = 64
"""Enums longer than this (the 1,266 voice names) are checked by set membership, not by the
validator, whose ``enum`` check compares the value with every entry in Python."""

EnumCheck = tuple[tuple[str, ...], frozenset[str]]
"""Where a large enum sits in a request body (property names from the root) and its values."""


@dataclass(frozen=True)
class Contract:
    """Compiled validators for every request body of the contract.

    ``requests`` maps an operationId to the validator of its JSON request body; ``large_enums``
    maps it to the enums taken out of that schema, which the dispatcher checks as sets.
    """

    requests: Mapping[str, SchemaValidator]
    large_enums: Mapping[str, tuple[EnumCheck, ...]]


def _json_body_schema(node: Mapping[str, Any]) -> Any | None:
    content = node.get("content", {}).get("application/json")
    return None if content is None else content.get("schema")


def _take_large_enums(schema: Any, path: tuple[str, ...], found: list[EnumCheck]) -> Any:
    """``schema`` without its large enums (recorded in ``found``)."""
    if not isinstance(schema, dict):
        return schema
    if len(schema.get("enum", ())) > LARGE_ENUM:
        found.append((path, frozenset(schema["enum"])))
        return {k: v for k, v in schema.items() if k != "enum"}
    properties = schema.get("properties")
    if isinstance(properties, dict):
        schema = {
            **schema,
            "properties": {name: _take_large_enums(sub, (*path, name), found) for name, sub in properties.items()},
        }
    return schema


@functools.cache
def load_contract() -> Contract:
    """Compile the request schemas (cached: the work happens once per process)."""
    requests: dict[str, SchemaValidator] = {}
    large_enums: dict[str, tuple[EnumCheck, ...]] = {}
    for path_item in openapi_document()["paths"].values():
        for operation in path_item.values():
            body = operation.get("requestBody")
            if body is None:
                continue
            found: list[EnumCheck] = []
            schema = _take_large_enums(to_json_schema(_json_body_schema(body)), (), found)
            requests[operation["operationId"]] = SchemaValidator(schema)
            large_enums[operation["operationId"]] = tuple(found)
    return Contract(MappingProxyType(requests), MappingProxyType(large_enums))
