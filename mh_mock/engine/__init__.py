"""The engine: all state of one fake and every rule of the audio-projects API, free of HTTP.

``Engine`` (:mod:`.engine`) composes the :class:`~.state.State` with the vendor endpoints
(:mod:`.api`), the controls tests steer (:mod:`.controls`), the webhook hub (:mod:`.hub`),
scenarios (:mod:`.scenarios`), faults (:mod:`.faults`), seeds (:mod:`.seeds`) and, with a state
file, persistence (:mod:`.persistence`, :mod:`.store`).
"""

from .engine import Engine

__all__ = ["Engine"]
