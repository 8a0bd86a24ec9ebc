"""The OpenAPI document the standalone server serves: the vendor contract, plus storage and admin routes.

Admin request bodies and query parameters come from the operation table, so every one is a real
schema with its properties.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ..contract import openapi_document
from .routes import Route, Surface

__all__ = ["served_document"]

_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


def _parameters(route: Route) -> list[dict[str, Any]]:
    names = [segment[1:-1] for segment in route.segments if segment.startswith("{")]
    found = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]
    for name, schema in (route.query_schema or {}).items():
        found.append({"name": name, "in": "query", "required": False, "schema": _openapi_schema(schema)})
    return found


def _openapi_schema(schema: Any) -> Any:
    """JSON Schema (draft 7) as OpenAPI 3.0 writes it: a type list with null becomes ``nullable``."""
    if isinstance(schema, list):
        return [_openapi_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _openapi_schema(value) for key, value in schema.items() if key != "propertyNames"}
    kind = out.get("type")
    if isinstance(kind, list):
        others = [k for k in kind if k != "null"]
        if "null" in kind:
            out["nullable"] = True
        del out["type"]
        if len(others) == 1:
            out["type"] = others[0]
        else:
            out["anyOf"] = [{"type": k} for k in others]
    if "enum" in out and None in out["enum"]:
        out["enum"] = [v for v in out["enum"] if v is not None]
        out["nullable"] = True
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(exclusive), (int, float)) and not isinstance(out[exclusive], bool):
            out[bound], out[exclusive] = out[exclusive], True  # draft 7 → OpenAPI 3.0
    return out


def _operation(route: Route, tag: str) -> dict[str, Any]:
    json_error = {"content": {"application/json": {"schema": copy.deepcopy(_ERROR)}}}
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "tags": [tag],
        "parameters": _parameters(route),
        "responses": {"200": {"description": "Success"}, "4XX": {"description": "Refused", **json_error}},
    }
    if route.raw_body:
        operation["requestBody"] = {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        }
    elif route.body_schema is not None:
        operation["requestBody"] = {
            "required": bool(route.body_schema.get("required")),
            "content": {"application/json": {"schema": _openapi_schema(route.body_schema)}},
        }
    return operation


_TAGS = {Surface.STORAGE: "Storage", Surface.ADMIN: "mh-mock admin"}


def served_document(server_url: str, routes: Iterable[Route]) -> dict[str, Any]:
    """The vendor's document with ``servers`` pointing here, plus the storage and admin ``routes``
    (the vendor's own routes are described by the contract itself)."""
    document = copy.deepcopy(dict(openapi_document()))
    document["servers"] = [{"url": server_url}]
    document["info"] = {**document["info"], "title": "mh-mock: Magic Hour audio API fake"}
    document["tags"] = [*document.get("tags", []), *({"name": tag} for tag in _TAGS.values())]
    for route in routes:
        tag = _TAGS.get(route.surface)
        if tag is not None:
            document["paths"].setdefault(route.path, {})[route.method.lower()] = _operation(route, tag)
    return document
