"""Checks every answer a fake gave against the vendor contract (used by the ``fake`` fixture)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker

from mh_mock.contract import load_contract, openapi_document, to_json_schema
from mh_mock.journal import Call
from mh_mock.vendor import ROUTES

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
"""ISO-8601 UTC with milliseconds, as the API writes its timestamps."""

_formats = FormatChecker(formats=())
_formats.checks("date-time")(lambda value: not isinstance(value, str) or bool(TIMESTAMP.match(value)))
_formats.checks("uri")(
    lambda value: not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)
)

_OPERATIONS = {route.name: route.operation_id for route in ROUTES if route.operation_id}


def _strict_validators() -> dict[tuple[str, int], Draft7Validator]:
    validators = {}
    for path_item in openapi_document()["paths"].values():
        for operation in path_item.values():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    validators[(operation["operationId"], int(status))] = Draft7Validator(
                        to_json_schema(schema), format_checker=_formats
                    )
    return validators


_VALIDATORS = _strict_validators()

EXTRA_STATUSES = frozenset({405, 413})
"""Statuses the fake adds where the contract is silent (wrong method, body over the limit)."""

_ERROR_SHAPE = Draft7Validator(
    {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        "additionalProperties": False,
    }
)


def assert_valid_response(operation_id: str, status: int, body: object) -> None:
    """Fail unless ``body`` is what the contract documents for ``operation_id`` and ``status``."""
    if status == 204:
        assert body is None, f"{operation_id} 204 must have no body, got {body!r}"
        return
    key = (operation_id, status)
    if status in EXTRA_STATUSES:
        assert _ERROR_SHAPE.is_valid(body), f"{operation_id} {status} must be a {{code, message}} body, got {body!r}"
        return
    assert key in _VALIDATORS, f"the contract documents no {status} for {operation_id}"
    errors = sorted(_VALIDATORS[key].iter_errors(body), key=str)
    assert not errors, f"{operation_id} {status} body breaks the contract: {errors[0].message} in {body!r}"


def assert_journal_valid(calls: Iterable[Call]) -> int:
    """Validate every API answer in ``calls``; returns how many were checked."""
    checked = 0
    for call in calls:
        operation_id = _OPERATIONS.get(call.route or "")
        if operation_id is None or call.status == 0:  # no route, or a fault dropped the connection
            continue
        if call.fault in ("rate_limit", "server_error") and call.status != 500:
            assert _ERROR_SHAPE.is_valid(call.response), f"{call} fault answer must be {{code, message}}"
            continue
        assert_valid_response(operation_id, call.status, call.response)
        checked += 1
    return checked


assert load_contract()  # compiled once at import, like the fake does
