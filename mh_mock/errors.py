"""Errors the fake answers with, shaped like the real API's ``{"code", "message"}`` bodies.

The API errors carry the contract's code and, because the code fixes it, their HTTP status.
Messages default to the vendor's published examples so bodies match them byte for byte.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ConfigError",
    "Forbidden",
    "InsufficientCredits",
    "InvalidRequest",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "StorageError",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMediaType",
    "Unprocessable",
]


class ApiError(Exception):
    """An error answer of the API: ``status`` with body ``{"code": code, "message": message}``."""

    status: int = 500
    code: str = "internal_server_error"
    default_message: str = "Internal Server Error"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def body(self) -> dict[str, str]:
        """The JSON body the API answers with."""
        return {"code": self.code, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class InvalidRequest(ApiError):
    status, code, default_message = 400, "invalid_request", "Missing request body"


class Unauthorized(ApiError):
    status, code, default_message = 401, "unauthorized", "Unauthorized"


class InsufficientCredits(ApiError):
    status, code, default_message = 402, "insufficient_credits", "Payment required"


class NotFound(ApiError):
    status, code, default_message = 404, "not_found", "Not Found"


class MethodNotAllowed(ApiError):
    status, code, default_message = 405, "method_not_allowed", "Method Not Allowed"


class Unprocessable(ApiError):
    status, code, default_message = 422, "unprocessable_entity", "Unprocessable Entity"


class StorageError(ApiError):
    """An answer of the storage host (upload and download URLs), which is not the API."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        super().__init__(message, code=code)


class ConfigError(ValueError):
    """The fake was configured or driven in a way that cannot work; the message says how to fix it."""


class PayloadTooLarge(ApiError):
    status, code, default_message = 413, "payload_too_large", "Payload Too Large"


class Forbidden(ApiError):
    status, code, default_message = 403, "forbidden", "Forbidden"


class UnsupportedMediaType(ApiError):
    status, code, default_message = 415, "unsupported_media_type", "Unsupported Media Type"


class Unavailable(ApiError):
    """The fake cannot answer truthfully right now (its state could not be saved); nothing changed."""

    status, code, default_message = 503, "service_unavailable", "Service Unavailable"
