"""The connection guard's defaults (:mod:`mh_mock.standalone.connections`): its timeouts, and its connection cap
from the file-descriptor limit. It imports no HTTP stack, so the command line reads its defaults here."""

from __future__ import annotations

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEAD_TIMEOUT",
    "FALLBACK_MAX_CONNECTIONS",
    "FD_RESERVE",
    "default_max_connections",
]

DEFAULT_HEAD_TIMEOUT = 5.0
"""Seconds a client has to send a complete request head."""

DEFAULT_BODY_TIMEOUT = 10.0
"""Seconds a request body may go without a byte. Twice the head timeout: a body's client may be reading a file
or sending over a lossy link, where TCP's retransmissions alone can pause it for seconds; a flood of stalled
bodies is still gone in seconds (and the connection cap evicts stalled bodies sooner)."""

FD_RESERVE = 64
"""File descriptors kept back from connections: the listener, the database, webhooks, logs, the loop."""

FALLBACK_MAX_CONNECTIONS = 1_000
"""The connection cap where the descriptor limit is unknown (no ``resource`` module) or unlimited."""


def default_max_connections(soft_limit: int | None = None, *, reserve: int = FD_RESERVE) -> int:
    """The default connection cap: the soft ``RLIMIT_NOFILE`` (or ``soft_limit``) less ``reserve``.

    Never less than half the limit, so a small limit (macOS's 256, say) still serves connections;
    :data:`FALLBACK_MAX_CONNECTIONS` where the limit is unknown or unlimited.
    """
    if soft_limit is None:
        soft_limit = _soft_descriptor_limit()
        if soft_limit is None:
            return FALLBACK_MAX_CONNECTIONS
    return max(soft_limit - reserve, soft_limit // 2, 1)


def _soft_descriptor_limit() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft
