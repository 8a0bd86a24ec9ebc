"""JSON Schema validation with one sentence per error, at native speed where possible.

:class:`SchemaValidator` accepts a valid document through ``jsonschema-rs`` (about 1 µs for an
API body) and asks :mod:`jsonschema` only when the fast path says no, to phrase the error
(:func:`describe`). Both see the same schema; the only difference is the regex dialect: Python's
``$`` also matches before a final newline, so the Python variant uses ``\\Z`` where the schema
says ``$`` (the Rust engine's ``$`` already means end of text). Compiled validators are
immutable and may be shared between fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from jsonschema import Draft7Validator, ValidationError
from jsonschema.exceptions import best_match

_rs: Any
try:  # an optional accelerator: every behaviour is the same without it
    import jsonschema_rs as _rs
except ImportError:  # pragma: no cover - exercised where no wheel exists (PyPy, exotic platforms)
    _rs = None

__all__ = ["SchemaValidator", "describe", "python_dialect"]


class SchemaValidator:
    """Validates documents against one JSON Schema (draft 7); :meth:`error` phrases the first problem."""

    def __init__(self, schema: Mapping[str, Any], *, show_values: bool = True) -> None:
        self.schema = schema
        self._show_values = show_values
        self._python = Draft7Validator(python_dialect(schema))
        self._fast: Any = None
        if _rs is not None:
            try:
                self._fast = _rs.validator_for(dict(schema))
            except Exception:  # a construct the Rust engine cannot compile: the Python path decides
                self._fast = None

    def is_valid(self, document: Any) -> bool:
        """True if ``document`` is valid."""
        return self.error(document) is None

    def error(self, document: Any) -> str | None:
        """None if ``document`` is valid, else one sentence naming the field and what is wrong."""
        if self._fast is not None:
            try:
                if self._fast.is_valid(document):
                    return None
            except Exception:  # values the Rust side cannot take (huge integers): ask Python
                pass
        problem = best_match(self._python.iter_errors(document))
        return None if problem is None else describe(problem, show_values=self._show_values)


def python_dialect(schema: Any) -> Any:
    """``schema`` with every ``pattern`` ending in ``$`` rewritten to end in ``\\Z``."""
    if isinstance(schema, list):
        return [python_dialect(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {key: python_dialect(value) for key, value in schema.items()}
    pattern = out.get("pattern")
    if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
        out["pattern"] = pattern[:-1] + "\\Z"
    return out


_TYPE_NAMES = MappingProxyType(
    {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}
)


def _field(error: ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def describe(error: ValidationError, *, show_values: bool = True) -> str:
    """One sentence naming the field and what is wrong with it (values left out if asked)."""
    where = _field(error)
    if error.validator == "required":
        value = error.instance
        missing = [name for name in error.validator_value if isinstance(value, dict) and name not in value]
        return f"Missing required field: {f'{where}.{missing[0]}' if where else missing[0]}"
    phrase = _PHRASES.get(str(error.validator), _other)
    return phrase(error, where or "request body", repr(error.instance) if show_values else "the value")


Phrase = Callable[[ValidationError, str, str], str]


def _type(error: ValidationError, subject: str, shown: str) -> str:
    expected = error.validator_value
    wanted = " or ".join(expected) if isinstance(expected, list) else expected
    got = _TYPE_NAMES.get(type(error.instance), type(error.instance).__name__)
    return f"Invalid type for {subject}: expected {wanted}, got {got}"


def _enum(error: ValidationError, subject: str, shown: str) -> str:
    expected = error.validator_value
    if len(expected) <= 12:
        return f"Invalid value for {subject}: {shown} is not one of {', '.join(map(repr, expected))}"
    return f"Invalid value for {subject}: {shown} is not one of the {len(expected)} allowed values"


def _length(error: ValidationError, subject: str, shown: str) -> str:
    expected = error.validator_value
    if error.validator == "maxLength":
        return f"{subject} must be at most {expected} characters long (got {len(error.instance)})"
    return f"{subject} must not be empty" if expected == 1 else f"{subject} must be at least {expected} characters long"


def _bound(error: ValidationError, subject: str, shown: str) -> str:
    words = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "more than",
        "exclusiveMaximum": "less than",
    }
    got = error.instance if shown != "the value" else "another value"
    return f"{subject} must be {words[str(error.validator)]} {error.validator_value} (got {got})"


def _items(error: ValidationError, subject: str, shown: str) -> str:
    expected = error.validator_value
    bound = "at least" if error.validator == "minItems" else "at most"
    return f"{subject} must contain {bound} {expected} item{'s' if expected != 1 else ''}"


def _pattern(error: ValidationError, subject: str, shown: str) -> str:
    expected = error.validator_value
    pattern = expected[:-2] + "$" if expected.endswith("\\Z") else expected  # as the schema writes it
    return f"Invalid value for {subject}: {shown} does not match {pattern}"


def _additional(error: ValidationError, subject: str, shown: str) -> str:
    known = error.schema.get("properties", {})
    extra = sorted(set(error.instance) - set(known)) if isinstance(error.instance, dict) else []
    return f"Unknown field(s) {', '.join(extra)} in {subject}; valid fields are: {', '.join(sorted(known))}"


def _shape(error: ValidationError, subject: str, shown: str) -> str:
    return f"Invalid value for {subject}: {shown} is not of an accepted shape"


def _other(error: ValidationError, subject: str, shown: str) -> str:
    detail = error.message if shown != "the value" else str(error.validator)
    if error.validator == "propertyNames":
        return f"Invalid key in {subject}: {detail if shown != 'the value' else 'a key is not allowed'}"
    return f"Invalid value for {subject}: {detail}"


_PHRASES: Mapping[str, Phrase] = MappingProxyType(
    {
        "type": _type,
        "enum": _enum,
        "minLength": _length,
        "maxLength": _length,
        "minimum": _bound,
        "maximum": _bound,
        "exclusiveMinimum": _bound,
        "exclusiveMaximum": _bound,
        "minItems": _items,
        "maxItems": _items,
        "pattern": _pattern,
        "additionalProperties": _additional,
        "oneOf": _shape,
        "anyOf": _shape,
    }
)
