"""The engine: all state of one fake and every rule of the audio-projects API, free of HTTP.

``Engine`` (:mod:`.engine`) composes the :class:`~.state.State` with one operation class per
concern: the vendor endpoints (:mod:`.api`, creating jobs through :mod:`.jobs`), projects and
time (:mod:`.controls`), accounts and namespaces (:mod:`.accounts`), outcome rules and faults
(:mod:`.simulation`), webhooks (:mod:`.webhooks`, over the hub of :mod:`.hub`), seeds
(:mod:`.seeds`) and, with a state file, persistence (:mod:`.persistence`, :mod:`.store`).
"""

from .engine import Engine

__all__ = ["Engine"]
