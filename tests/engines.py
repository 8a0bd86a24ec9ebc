"""For tests that drive the engine directly: a fixed start time, a token, and one voice job."""

from __future__ import annotations

from mh_mock.blob import Blob
from mh_mock.config import Config
from mh_mock.engine import Engine

T = "token"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def new_engine(**options: object) -> Engine:
    """An engine whose clock starts at :data:`START`, with ``options`` as :class:`Config` fields."""
    return Engine(Config(start_time=START, **options))  # type: ignore[arg-type]


def create_voice(engine: Engine, token: str = T, prompt: str = "Hello there") -> str:
    """Create one voice job for ``token``; returns its project id."""
    return engine.api.create(token, "voice_generator", prompt=prompt, voice_name="Elon Musk").id


class Kept:
    """What the fake kept of an uploaded file (its size, digest and head), equal to the bytes that were sent."""

    def __init__(self, file: Blob) -> None:
        self.file = file

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Kept):
            return self.file == other.file
        return isinstance(other, bytes) and self.file == Blob.of(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Kept({self.file!r})"


def uploaded(engine: Engine, file_path: str) -> Kept | None:
    """What ``engine`` kept of the file PUT to ``file_path`` (None: nothing was PUT, or no such slot)."""
    with engine.reading() as state:
        upload = state.uploads.get(file_path)
        return None if upload is None or upload.file is None else Kept(upload.file)
