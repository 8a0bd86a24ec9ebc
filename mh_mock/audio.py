"""Rendered audio: small, valid, deterministic WAV files, and a sniffer for uploaded audio."""

from __future__ import annotations

import functools
import hashlib
import math
import struct
from collections.abc import Iterator
from typing import Any

__all__ = ["SAMPLE_RATE", "Wav", "render_wav", "sniff_audio"]

SAMPLE_RATE = 8_000
"""Samples per second of every rendered file (8-bit mono keeps 300 s of music at 2.4 MB)."""

_NOTES = 8
"""A rendered file is a melody of this many tones, repeated; each tone is one of 256 pitches."""


def render_wav(key: str, seconds: float) -> bytes:
    """A mono 8-bit WAV of ``seconds`` length, distinct for every ``key`` (the fake uses the project id).

    The sound is a melody of eight tones whose pitches come from the key's SHA-256, and the key is
    written into the file's ``LIST/INFO`` comment, so two projects never share their bytes. The
    same key and length always give the same bytes, so a seeded fake is reproducible.
    """
    return b"".join(Wav(key, seconds).chunks())


class Wav:
    """A rendered WAV made on demand: its size is known up front and its bytes come in chunks, so
    serving a long file costs one chunk of memory per connection, not a copy of the file."""

    __slots__ = ("frames", "key", "seconds")

    def __init__(self, key: str, seconds: float) -> None:
        self.key, self.seconds = key, seconds
        self.frames = max(1, round(seconds * SAMPLE_RATE))

    def _header(self) -> bytes:
        padded = self.frames + self.frames % 2  # RIFF chunks are word-aligned: one pad byte of silence
        comment = f"mh-mock {self.key}".encode()[:200] + b"\x00"
        if len(comment) % 2:
            comment += b"\x00"
        info = b"INFO" + b"ICMT" + struct.pack("<I", len(comment)) + comment
        list_chunk = b"LIST" + struct.pack("<I", len(info)) + info
        fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE, 1, 8)
        size = 4 + len(fmt) + len(list_chunk) + 8 + padded
        return b"RIFF" + struct.pack("<I", size) + b"WAVE" + fmt + list_chunk + b"data" + struct.pack("<I", self.frames)

    def __bytes__(self) -> bytes:
        return b"".join(self.chunks())

    @property
    def size(self) -> int:
        """The file's length in bytes."""
        return len(self._header()) + self.frames + self.frames % 2

    def chunks(self, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The file, in pieces of about ``chunk_size`` bytes."""
        yield self._header()
        digest = hashlib.sha256(self.key.encode()).digest()
        melody = b"".join(_tone(220 + 2 * digest[i], max(1, SAMPLE_RATE // 4)) for i in range(_NOTES))
        block = melody * max(1, chunk_size // len(melody))
        left = self.frames
        while left > 0:
            piece = block[:left]
            left -= len(piece)
            yield piece
        if self.frames % 2:
            yield b"\x80"

    def summary(self) -> dict[str, Any]:
        """Size and SHA-256, as the journal keeps a download (computed once per file)."""
        return _summary(self.key, self.seconds)


@functools.lru_cache(maxsize=256)
def _summary(key: str, seconds: float) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    for chunk in Wav(key, seconds).chunks():
        digest.update(chunk)
        size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


@functools.lru_cache(maxsize=512)  # a pure function of its arguments: 256 pitches, ~2 KB each
def _tone(frequency: int, frames: int) -> bytes:
    step = 2 * math.pi * frequency / SAMPLE_RATE
    return bytes(128 + round(60 * math.sin(step * i)) for i in range(frames))


_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"ID3", "mp3"),
    (0, b"fLaC", "flac"),
    (0, b"OggS", "ogg"),
    (0, b"#!AMR", "amr"),
    (0, b"\x1a\x45\xdf\xa3", "webm"),
    (4, b"ftyp", "m4a"),
)


def sniff_audio(data: bytes) -> str | None:
    """The audio container ``data`` holds (``"wav"``, ``"mp3"``, …), or None if it is not audio."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    for offset, magic, kind in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return kind
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "mp3" if data[1] & 0x06 else "aac"  # MPEG frame sync; layer bits 00 mean ADTS
    return None
