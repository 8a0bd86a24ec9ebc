"""Request bodies and query strings: strict JSON parsing and validation, with a 400 that names the field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest

if TYPE_CHECKING:
    from ..contract import EnumCheck
    from ..schema import SchemaValidator

__all__ = ["check_enums", "coerce_query", "parse_json", "validate"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
"""Strict JSON (``json.loads`` with these options would build a decoder per call)."""


def parse_json(raw: bytes) -> Any:
    """Strict JSON (no NaN/Infinity, no lone surrogates), with a 400 that says what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"The request body is not valid UTF-8 (byte {error.start})") from None
    try:
        if text.startswith("\ufeff"):  # (what json.loads says of it)
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        document = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"The request body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply") from None
    except ValueError as error:  # NaN/Infinity, or an integer too long to convert
        raise InvalidRequest(f"The request body is not valid JSON: {error}") from None
    if "\\u" in text:  # only escapes can smuggle in an unpaired UTF-16 surrogate
        _refuse_surrogates(document, "")
    return document


def _refuse_surrogates(value: Any, where: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest(
                f"Invalid value for {where or 'request body'}: it contains an unpaired UTF-16 surrogate"
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_surrogates(key, where)
            _refuse_surrogates(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_surrogates(item, f"{where}[{index}]")


def validate(document: Any, validator: SchemaValidator, enums: tuple[EnumCheck, ...] = ()) -> None:
    """Raise a 400 naming the field if ``document`` does not fit the schema (and its large enums)."""
    problem = validator.error(document)
    if problem is not None:
        raise InvalidRequest(problem)
    for path, allowed in enums:
        check_enums(document, path, allowed)


def check_enums(document: Any, path: tuple[str, ...], allowed: frozenset[str]) -> None:
    """The large-enum check the compiled schema leaves out (the value is a string by then)."""
    value = document
    for name in path:
        if not isinstance(value, dict) or name not in value:
            return
        value = value[name]
    if value not in allowed:
        where = ".".join(path)
        raise InvalidRequest(f"Invalid value for {where}: {value!r} is not one of the {len(allowed)} allowed values")


def coerce_query(query: Mapping[str, str], schemas: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters named in ``schemas``, converted to their schema's type (others are ignored)."""
    args: dict[str, Any] = {}
    for name, schema in schemas.items():
        raw = query.get(name)
        if raw is None:
            continue
        if schema.get("type") == "integer":
            try:
                args[name] = int(raw)
            except ValueError:
                raise InvalidRequest(f"Invalid value for {name}: expected an integer, got {raw!r}") from None
        else:
            args[name] = raw
    return args
