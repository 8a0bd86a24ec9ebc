"""Shared fixtures: every ``fake`` test runs in-process (respx) and against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mh_mock.audio import render_wav
from mh_mock.control import Control
from mh_mock.live import LiveServer
from mh_mock.mock import MhMock

from .contract_check import assert_journal_valid

TOKEN = "mhk_live_test"


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """One real uvicorn server for the session, reset before each test that uses it."""
    with LiveServer(progression="poll", frozen_clock=True) as server:
        yield server


@pytest.fixture(params=["inprocess", "standalone"])
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Control]:
    """A fresh fake with test defaults (frozen clock, poll progression), in each mode.

    After the test, every answer the fake gave is validated against the vendor contract.
    """
    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", "0")
    if request.param == "inprocess":
        with MhMock() as mock:
            yield mock
            calls = mock.journal.calls
    else:
        server: LiveServer = request.getfixturevalue("live_server")
        server.reset()
        yield server
        calls = server.journal.calls
    assert_journal_valid(calls)


@pytest.fixture
def base_url(fake: Control) -> str:
    """Where clients should send API calls for ``fake``."""
    return fake.api_url


@pytest.fixture
def wav_file(tmp_path: Path) -> Path:
    """A small valid WAV on disk, for uploads."""
    path = tmp_path / "voice.wav"
    path.write_bytes(render_wav("sample", 1.0))
    return path


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the SDK's async client is asyncio-only)."""
    return "asyncio"


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """A raw httpx client on the fake's API, authenticated as :data:`TOKEN`."""
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {TOKEN}"}) as client:
        yield client
