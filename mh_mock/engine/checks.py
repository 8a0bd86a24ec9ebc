"""Checks of the values tests steer the engine with: each refuses with a ConfigError naming the value."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .state import MAX_TOKEN_LENGTH, PUBLIC

__all__ = ["check_credits", "check_token"]


def check_token(token: object, *, optional: bool = False) -> None:
    """An API key the fake could ever be called with: a non-blank string of at most 256 characters
    (or, if ``optional``, None)."""
    if optional and token is None:
        return
    if not isinstance(token, str) or not token.strip() or token == PUBLIC:
        raise ConfigError(f"a token must be a non-blank string, got {token!r}")
    if len(token) > MAX_TOKEN_LENGTH:
        raise ConfigError(
            f"a token has at most {MAX_TOKEN_LENGTH} characters (API keys longer are refused), got {len(token)}"
        )


def check_credits(credits: Any, *, allow_none: bool) -> None:
    """A balance: a whole number of credits from 0 to 2**53 - 1 (or None, if ``allow_none``)."""
    if credits is None and allow_none:
        return
    if not isinstance(credits, int) or isinstance(credits, bool) or not 0 <= credits <= 2**53 - 1:
        raise ConfigError(f"credits must be an integer >= 0, got {credits!r}")
