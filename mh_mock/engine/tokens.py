"""API keys as the engine sees them: the public owner, the longest key, and what no key can be."""

from __future__ import annotations

__all__ = ["MAX_TOKEN_LENGTH", "PUBLIC", "token_problem"]

PUBLIC = "\x00public"
"""Owner of seeded example objects every token may read (seed files write it ``"*"``). No bearer
token can be this value: HTTP headers cannot carry a NUL."""

MAX_TOKEN_LENGTH = 256
"""Longest API key accepted (real keys are ~50 characters); longer ones are refused with 401."""


def token_problem(token: object) -> str | None:
    """Why ``token`` is no API key anyone could call with (None if it is one)."""
    if not isinstance(token, str) or not token.strip() or token == PUBLIC:
        return f"a token must be a non-blank string, got {token!r}"
    if len(token) > MAX_TOKEN_LENGTH:
        return f"a token has at most {MAX_TOKEN_LENGTH} characters (API keys longer are refused), got {len(token)}"
    return None
