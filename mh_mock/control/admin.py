"""The admin routes under ``/mh-mock-api``, derived from the operation table.

Each route validates its body and query with the operation's schemas (the dispatcher does it,
as for API bodies) and calls the operation with an :class:`~mh_mock.control.operations.OpContext`
the adapter provides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..routing.routes import Exchange, Result, Route, Surface
from .operations import ADMIN_PREFIX, OPERATIONS, OpContext, Operation

__all__ = ["ADMIN_PREFIX", "admin_routes"]


def _handler(op: Operation) -> Callable[[Exchange], Result]:
    def handle(x: Exchange) -> Result:
        context = x.context
        assert isinstance(context, OpContext), "admin routes need the adapter's OpContext"
        args: dict[str, Any] = {**x.params, **x.query_args, **(x.body or {})}
        return 200, op.call(context, args)

    return handle


def admin_routes() -> tuple[Route, ...]:
    """One route per operation of :data:`~mh_mock.control.operations.OPERATIONS`."""
    return tuple(
        Route(
            op.method,
            ADMIN_PREFIX + op.path,
            f"admin.{op.name}",
            _handler(op),
            surface=Surface.ADMIN,
            summary=op.summary,
            body_schema=op.body_schema,
            query_schema=dict(op.query) or None,
        )
        for op in OPERATIONS
    )
