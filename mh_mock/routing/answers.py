"""Encoded answers of project reads, kept while they stay true.

A project's GET body changes only when the project does (its version moves on) or, once complete,
when its download URL does (a new one every second). :class:`AnswerCache` keeps the encoded
body of the projects read most recently by that identity, so a poller asking twice in a second is
answered with bytes already made. The engine tells the identity; the cache is the routing layer's.
"""

from __future__ import annotations

from collections.abc import Callable

from .._json import Encoded
from ..engine.api import Identity
from ..engine.models import ProjectBody

__all__ = ["AnswerCache"]


class AnswerCache:
    """The encoded GET bodies of about ``size`` projects read lately (the engine calls :meth:`render`
    under its lock, so the cache needs none of its own)."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._answers: dict[str, tuple[Identity, Encoded]] = {}

    def render(self, identity: Identity, build: Callable[[], ProjectBody]) -> Encoded:
        """The encoded body of ``identity``, built (and kept) unless it is kept already."""
        answers = self._answers
        kept = answers.get(identity[0])
        if kept is not None and kept[0] == identity:
            return kept[1]
        answer = Encoded(build())
        answers[identity[0]] = (identity, answer)
        if len(answers) > self._size:
            del answers[next(iter(answers))]  # the first one kept
        return answer
