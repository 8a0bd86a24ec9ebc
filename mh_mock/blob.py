"""What the fake keeps of a file it is sent: its size, SHA-256 and first bytes, never the whole file.

An upload is only ever sniffed (is it audio?) and reported (size and digest in the journal), so
a 50 MiB PUT costs the fake a few dozen bytes, however many arrive. :class:`BlobBuilder` reads a
body chunk by chunk as it streams in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = ["HEAD_BYTES", "Blob", "BlobBuilder"]

HEAD_BYTES = 64
"""Bytes kept from the start of a file: enough for every audio container's magic number."""


@dataclass(frozen=True, slots=True)
class Blob:
    """A received file: ``size`` in bytes, hex ``sha256``, and its first :data:`HEAD_BYTES` bytes."""

    size: int
    sha256: str
    head: bytes

    @classmethod
    def of(cls, data: bytes) -> Blob:
        """The blob of ``data``."""
        return cls(len(data), hashlib.sha256(data).hexdigest(), bytes(data[:HEAD_BYTES]))

    def summary(self) -> dict[str, Any]:
        """How the journal shows it: size and digest."""
        return {"bytes": self.size, "sha256": self.sha256}


class BlobBuilder:
    """Builds a :class:`Blob` from chunks, keeping only the head."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        """Take the next chunk."""
        self._hash.update(chunk)
        self.size += len(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]

    def finish(self) -> Blob:
        """The blob of everything taken."""
        return Blob(self.size, self._hash.hexdigest(), bytes(self._head))
