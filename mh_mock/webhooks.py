"""Webhooks as a receiver sees them: the signature scheme, its headers, and verification.

The vendor (and the fake) POST ``{"type": <event>, "payload": <GET body>}`` as compact JSON with
two headers: ``magic-hour-event-timestamp`` (Unix seconds, as a string) and
``magic-hour-event-signature``, the hex HMAC-SHA256 of ``"{timestamp}.{raw body}"`` keyed by
the endpoint's secret. Use :func:`verify_request` in your handler (or in its tests)::

    from mh_mock.webhooks import verify_request

    async def magic_hour_webhook(request):
        body = await request.body()
        if not verify_request(SECRET, request.headers, body):
            return Response(status_code=401)
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from .vocabulary import Event

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Event",
    "Receiver",
    "sign",
    "signed_headers",
    "verify",
    "verify_request",
]

SIGNATURE_HEADER = "magic-hour-event-signature"
TIMESTAMP_HEADER = "magic-hour-event-timestamp"

Receiver = Callable[[Mapping[str, str], bytes], int]
"""An in-process webhook receiver: called with headers and the raw body, returns the HTTP status."""


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The vendor's signature: hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed by ``secret``."""
    raw = body if isinstance(body, bytes) else body.encode()
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery of ``body`` (content type, timestamp and signature)."""
    return {
        "content-type": "application/json",
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
    }


def verify(
    secret: str,
    body: bytes | str,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance: float | None = 300,
    now: float | None = None,
) -> bool:
    """True if ``signature`` is valid for ``body`` and ``timestamp`` is within ``tolerance`` s of ``now``."""
    if not signature or not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if tolerance is not None and abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def verify_request(
    secret: str, headers: Mapping[str, str], body: bytes, *, tolerance: float | None = 300, now: float | None = None
) -> bool:
    """:func:`verify` with the request's headers (any case-insensitive mapping, or a plain dict) and raw body."""
    lookup = {key.lower(): value for key, value in headers.items()}
    return verify(
        secret, body, lookup.get(SIGNATURE_HEADER), lookup.get(TIMESTAMP_HEADER), tolerance=tolerance, now=now
    )
