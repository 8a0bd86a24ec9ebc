"""The dashboard at ``/`` and the API reference at ``/docs`` (placeholder until the pages land)."""

from __future__ import annotations

from typing import Any

__all__ = ["dashboard_routes"]


def dashboard_routes(engine: Any, settings: Any) -> list[Any]:
    """No pages yet."""
    return []
