"""The OpenAPI document the standalone server serves: the vendor contract plus admin and storage."""

from __future__ import annotations

import copy
from typing import Any

from .admin import ADMIN_ROUTES
from .contract import openapi_document
from .routes import STORAGE_ROUTES, Route

__all__ = ["served_document"]

_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


def _parameters(route: Route) -> list[dict[str, Any]]:
    names = [segment[1:-1] for segment in route.segments if segment.startswith("{")]
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


def _operation(route: Route, tag: str) -> dict[str, Any]:
    json_error = {"content": {"application/json": {"schema": copy.deepcopy(_ERROR)}}}
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "tags": [tag],
        "parameters": _parameters(route),
        "responses": {"200": {"description": "Success"}, "4XX": {"description": "Refused", **json_error}},
    }
    if route.method in ("POST", "PUT") and route.raw_body:
        operation["requestBody"] = {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        }
    elif route.method in ("POST", "PUT"):
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
    return operation


def served_document(server_url: str) -> dict[str, Any]:
    """The vendor's document with ``servers`` pointing here, plus the storage and admin routes."""
    document = copy.deepcopy(dict(openapi_document()))
    document["servers"] = [{"url": server_url}]
    document["info"] = {**document["info"], "title": "mh-mock: Magic Hour audio API fake"}
    document["tags"] = [*document.get("tags", []), {"name": "Storage"}, {"name": "mh-mock admin"}]
    for route, tag in [*((r, "Storage") for r in STORAGE_ROUTES), *((r, "mh-mock admin") for r in ADMIN_ROUTES)]:
        document["paths"].setdefault(route.path, {})[route.method.lower()] = _operation(route, tag)
    return document
