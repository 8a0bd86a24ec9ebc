"""Encoded answers of project reads, kept while they stay true.

A project's GET body changes only when the project does (its version moves on) or, once complete,
when its download URL does (a new one every second). :class:`AnswerCache` keeps the encoded
body of the projects read most recently by that identity, so a poller asking twice in a second is
answered with bytes already made. The engine tells the identity; the cache is the routing layer's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from .._json import Encoded
from ..engine.api import Identity
from ..engine.models import ProjectBody

__all__ = ["AnswerCache"]


class AnswerCache:
    """The encoded GET bodies of the ``size`` projects read most recently."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._answers: OrderedDict[str, tuple[Identity, Encoded]] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, identity: Identity, build: Callable[[], ProjectBody]) -> Encoded:
        """The encoded body of ``identity``, built (and kept) unless it is kept already."""
        project_id = identity[0]
        with self._lock:
            kept = self._answers.get(project_id)
            if kept is not None and kept[0] == identity:
                self._answers.move_to_end(project_id)
                return kept[1]
        answer = Encoded(build())
        with self._lock:
            self._answers[project_id] = (identity, answer)
            self._answers.move_to_end(project_id)
            if len(self._answers) > self._size:
                self._answers.popitem(last=False)
        return answer

    def clear(self) -> None:
        """Forget every kept answer (a reset: versions start again)."""
        with self._lock:
            self._answers.clear()
