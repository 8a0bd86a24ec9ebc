"""JSON Schema validation with one sentence per error, at native speed where possible.

:class:`SchemaValidator` accepts a valid document through ``jsonschema-rs`` (about 1 µs for an
API body) and asks :mod:`jsonschema` only when the fast path says no, to phrase the error
(:func:`describe`). Both see the same schema; the only difference is the regex dialect: Python's
``$`` also matches before a final newline, so the Python variant uses ``\\Z`` where the schema
says ``$`` (the Rust engine's ``$`` already means end of text). Compiled validators are
immutable and may be shared between fakes.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    kind, expected, value = error.validator, error.validator_value, error.instance
    shown = repr(value) if show_values else "the value"
    if kind == "required":
        missing = [name for name in expected if isinstance(value, dict) and name not in value]
        return f"Missing required field: {f'{where}.{missing[0]}' if where else missing[0]}"
    subject = where or "request body"
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        return (
            f"Invalid type for {subject}: expected {wanted}, got {_TYPE_NAMES.get(type(value), type(value).__name__)}"
        )
    if kind == "enum":
        if len(expected) <= 12:
            return f"Invalid value for {subject}: {shown} is not one of {', '.join(map(repr, expected))}"
        return f"Invalid value for {subject}: {shown} is not one of the {len(expected)} allowed values"
    if kind == "minLength":
        return (
            f"{subject} must not be empty"
            if expected == 1
            else f"{subject} must be at least {expected} characters long"
        )
    if kind == "maxLength":
        return f"{subject} must be at most {expected} characters long (got {len(value)})"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than"}.get(kind, "less than")
        return f"{subject} must be {bound} {expected} (got {value if show_values else 'another value'})"
    if kind == "minItems":
        return f"{subject} must contain at least {expected} item{'s' if expected != 1 else ''}"
    if kind == "maxItems":
        return f"{subject} must contain at most {expected} item{'s' if expected != 1 else ''}"
    if kind == "pattern":
        pattern = expected[:-2] + "$" if expected.endswith("\\Z") else expected  # as the schema writes it
        return f"Invalid value for {subject}: {shown} does not match {pattern}"
    if kind == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {}))) if isinstance(value, dict) else []
        valid = ", ".join(sorted(error.schema.get("properties", {})))
        return f"Unknown field(s) {', '.join(extra)} in {subject}; valid fields are: {valid}"
    if kind in ("oneOf", "anyOf"):
        return f"Invalid value for {subject}: {shown} is not of an accepted shape"
    if kind == "propertyNames":
        return f"Invalid key in {subject}: {error.message if show_values else 'a key is not allowed'}"
    return f"Invalid value for {subject}: {error.message if show_values else kind}"
