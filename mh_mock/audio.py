"""Rendered audio: small, valid, deterministic WAV files, and a sniffer for uploaded audio."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave

__all__ = ["SAMPLE_RATE", "render_wav", "sniff_audio", "wav_duration"]

SAMPLE_RATE = 8_000
"""Samples per second of every rendered file (8-bit mono keeps 300 s of music at 2.4 MB)."""


def render_wav(key: str, seconds: float) -> bytes:
    """A mono 8-bit WAV of ``seconds`` length whose tone is derived from ``key``.

    The same key and length always give the same bytes, so a seeded fake is reproducible.
    """
    digest = hashlib.sha256(key.encode()).digest()
    frequency = 220 + digest[0] * 2  # 220-730 Hz: audible, different per project
    frames = max(1, round(seconds * SAMPLE_RATE))
    period = max(1, round(SAMPLE_RATE / frequency))
    cycle = bytes(128 + round(60 * math.sin(2 * math.pi * i / period)) for i in range(period))
    pcm = (cycle * (frames // period + 1))[:frames]
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + frames, b"WAVE",
        b"fmt ", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE, 1, 8,
        b"data", frames,
    )  # fmt: skip
    return header + pcm


def wav_duration(data: bytes) -> float:
    """Length in seconds of a WAV file (raises ``wave.Error`` if it is not one)."""
    with wave.open(io.BytesIO(data)) as reader:
        return float(reader.getnframes() / reader.getframerate())


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
