"""Cuid-shaped identifiers (reproducible with a seed) and URL signatures."""

from __future__ import annotations

import hashlib
import hmac
import random
import threading

__all__ = ["IdFactory", "Signer", "counter_of"]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE36 = bytes(ord(_ALPHABET[byte % 36]) for byte in range(256))
"""A byte's character: 24 random bytes become an id at C speed (the first four characters come up a
little more often than the rest, which a cuid-shaped id does not mind)."""


class IdFactory:
    """Makes cuid-shaped ids (``c`` + 24 lowercase base-36 characters), unique per factory.

    Given a seed the sequence is reproducible; without one it is random.
    """

    def __init__(self, seed: int | str | None = None, issued: set[str] | None = None) -> None:
        self._random = random.Random(seed)
        self._issued: set[str] = set(issued or ())
        self._lock = threading.Lock()

    def new(self) -> str:
        """A fresh id, never returned before by this factory."""
        with self._lock:
            while True:
                ident = "c" + self._random.randbytes(24).translate(_BASE36).decode("ascii")
                if ident not in self._issued:
                    self._issued.add(ident)
                    return ident

    def token(self, nbytes: int = 16) -> str:
        """Random hex from the same seeded stream (for secrets)."""
        with self._lock:
            return self._random.randbytes(nbytes).hex()


class Signer:
    """Short HMAC-SHA256 signatures (hex) over a few values, for unguessable storage URLs."""

    def __init__(self, secret: bytes) -> None:
        self._keyed = hmac.new(secret, digestmod=hashlib.sha256)  # keyed once, copied per use

    def sign(self, *parts: object) -> str:
        """The signature of ``parts``."""
        mac = self._keyed.copy()
        mac.update("\x1f".join(str(part) for part in parts).encode())
        return mac.hexdigest()[:32]


def counter_of(ident: str) -> int:
    """The number at the end of an id such as ``rule-3`` (0 if there is none)."""
    tail = ident.rsplit("-", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() else 0
