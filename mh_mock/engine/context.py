"""What engine operations run against: the current state, inside a transaction (or a read).

:class:`~mh_mock.engine.engine.Engine` is one; a reset builds its new state against another
(a staging context), so the operation classes and seeds need only this protocol.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .state import State

__all__ = ["Context"]


class Context(Protocol):
    """What engine operations run against: the current state, inside a transaction (or a read)."""

    @property
    def state(self) -> State: ...

    def transaction(self) -> contextlib.AbstractContextManager[State]: ...

    def settled(self) -> contextlib.AbstractContextManager[State]: ...

    def reading(self) -> contextlib.AbstractContextManager[State]: ...
