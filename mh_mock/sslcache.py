"""One shared SSL context for every default httpx client, while a fake is active.

``httpx.Client()`` spends ~20 ms building an SSL context (loading the CA bundle), and the
official SDK opens a fresh client for every upload and download. Inside :func:`shared_ssl_context`
clients built with the default ``verify=True`` reuse one context; anything else is untouched.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx._transports.default as _default_transport

__all__ = ["shared_ssl_context"]


@contextmanager
def shared_ssl_context() -> Iterator[None]:
    """Make default-configured httpx clients share one SSL context until the block ends."""
    original = _default_transport.create_ssl_context  # type: ignore[attr-defined]
    cache: dict[tuple[str | None, str | None], ssl.SSLContext] = {}

    def cached(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is not True or cert is not None:
            return original(verify=verify, cert=cert, trust_env=trust_env)
        key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")) if trust_env else (None, None)
        if key not in cache:
            cache[key] = original(verify=verify, cert=cert, trust_env=trust_env)
        return cache[key]

    setattr(_default_transport, "create_ssl_context", cached)  # noqa: B010 (a private name, patched)
    try:
        yield
    finally:
        setattr(_default_transport, "create_ssl_context", original)  # noqa: B010
