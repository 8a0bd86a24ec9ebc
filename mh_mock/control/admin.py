"""The admin routes under ``/mh-mock-api``, derived from the operation table.

Each route validates its body and query with the operation's schemas (the dispatcher does it,
as for API bodies) and calls the operation with the :class:`~mh_mock.control.handlers.OpContext`
the adapter provides. The adapter hands these routes to its dispatcher.
"""

from __future__ import annotations

from typing import Any

from ..routing.routes import Exchange, Handler, Result, Route, Surface
from .handlers import OpContext
from .operations import ADMIN_PREFIX, OPERATIONS, Operation

__all__ = ["ADMIN_PREFIX", "admin_routes"]


def _handler(op: Operation[Any], context: OpContext) -> Handler:
    def handle(x: Exchange) -> Result:
        args: dict[str, Any] = {**x.params, **x.query_args, **(x.body or {})}
        return 200, op.call(context, args)

    return handle


def admin_routes(context: OpContext) -> tuple[Route, ...]:
    """One route per operation of :data:`~mh_mock.control.operations.OPERATIONS`, acting with ``context``."""
    return tuple(
        Route(
            op.method,
            ADMIN_PREFIX + op.path,
            f"admin.{op.name}",
            _handler(op, context),
            surface=Surface.ADMIN,
            summary=op.summary,
            body_schema=op.body_schema,
            query_schema=op.query_fields or None,
        )
        for op in OPERATIONS
    )
