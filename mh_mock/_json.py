"""Compact JSON, as the real API and its webhooks write it, and a guard against deep nesting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

__all__ = ["MAX_DEPTH", "Encoded", "check_depth", "dump_json"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # stateless: safe to share

MAX_DEPTH = 64
"""Deepest nesting of lists and objects accepted in documents the fake walks (seeds, options)."""


def dump_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    return _ENCODER.encode(value).encode()


def check_depth(value: Any, what: str, limit: int = MAX_DEPTH) -> None:
    """Refuse ``value`` if lists and objects nest deeper than ``limit``, without recursing."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            raise ConfigError(f"{what} nests lists and objects more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in children)


class Encoded(dict[str, Any]):
    """A JSON object that carries its compact encoding (:attr:`encoded`), made once and reused
    while what it describes does not change. Treat it as read-only."""

    __slots__ = ("encoded",)

    def __init__(self, value: Mapping[str, Any], encoded: bytes | None = None) -> None:
        super().__init__(value)
        self.encoded = dump_json(value) if encoded is None else encoded
        """``encoded`` given: the caller's encoding of ``value`` (compact JSON, trusted as it is)."""
