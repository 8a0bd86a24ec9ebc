"""Compact JSON, as the real API and its webhooks write it."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dump_json"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # stateless: safe to share


def dump_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    return _ENCODER.encode(value).encode()
