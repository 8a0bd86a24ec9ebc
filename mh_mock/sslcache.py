"""One shared SSL context for every default httpx client, while a fake is active.

``httpx.Client()`` spends ~20 ms building an SSL context (loading the CA bundle), and the
official SDK opens a fresh client for every upload and download. Inside :func:`shared_ssl_context`
clients built with the default ``verify=True`` reuse one context; anything else is untouched.

Patching httpx is process-wide by nature, so this module keeps the one piece of shared state in
mh-mock: a reference count, so nested or overlapping fakes (stopped in any order) patch once and
restore httpx exactly when the last one ends, and the cached context itself, kept between fakes
so that each test does not pay ~20 ms to load the CA bundle again.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx._transports.default as _default_transport

__all__ = ["shared_ssl_context"]


class _Patch:
    """The reference-counted replacement of ``httpx._transports.default.create_ssl_context``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._original: Any = None
        self._cache: dict[tuple[str | None, str | None], ssl.SSLContext] = {}

    def acquire(self) -> None:
        with self._lock:
            if self._users == 0:
                original = getattr(_default_transport, "create_ssl_context")  # noqa: B009
                if original is not self._original:  # httpx was patched again by someone else: start afresh
                    self._cache.clear()
                self._original = original
                setattr(_default_transport, "create_ssl_context", self._cached)  # noqa: B010
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:  # httpx is restored; the context stays cached for the next fake (test)
                setattr(_default_transport, "create_ssl_context", self._original)  # noqa: B010

    def _cached(self, verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        original = self._original
        if verify is not True or cert is not None:
            return original(verify=verify, cert=cert, trust_env=trust_env)  # type: ignore[no-any-return]
        key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")) if trust_env else (None, None)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = original(verify=verify, cert=cert, trust_env=trust_env)
            return self._cache[key]


_PATCH = _Patch()


@contextmanager
def shared_ssl_context() -> Iterator[None]:
    """Make default-configured httpx clients share one SSL context until the block ends."""
    _PATCH.acquire()
    try:
        yield
    finally:
        _PATCH.release()
