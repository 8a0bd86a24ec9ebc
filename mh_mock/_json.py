"""Compact JSON, as the real API and its webhooks write it."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["Encoded", "dump_json"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # stateless: safe to share


def dump_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    return _ENCODER.encode(value).encode()


class Encoded(dict[str, Any]):
    """A JSON object that carries its compact encoding (:attr:`encoded`), made once and reused
    while what it describes does not change. Treat it as read-only."""

    __slots__ = ("encoded",)

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__(value)
        self.encoded = dump_json(value)
