"""For tests that drive the engine directly: a fixed start time, a token, and one voice job."""

from __future__ import annotations

from mh_mock.config import Config
from mh_mock.engine import Engine

T = "token"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def new_engine(**options: object) -> Engine:
    """An engine whose clock starts at :data:`START`, with ``options`` as :class:`Config` fields."""
    return Engine(Config(start_time=START, **options))  # type: ignore[arg-type]


def create_voice(engine: Engine, token: str = T, prompt: str = "Hello there") -> str:
    """Create one voice job for ``token``; returns its project id."""
    return engine.api.create_voice(token, prompt=prompt, voice_name="Elon Musk").id
