"""Shared fixtures: every ``fake`` test runs in-process (respx) and against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import magic_hour
import pytest

from mh_mock.audio import render_wav
from mh_mock.client import Client
from mh_mock.control.remote import Control
from mh_mock.standalone.threaded import LiveServer

from .contract_check import assert_journal_valid

TOKEN = "mhk_live_test"
VOICE = {"prompt": "Hello there", "voice_name": "Elon Musk"}


@pytest.fixture
def live_server(_mh_mock_live_server: LiveServer) -> LiveServer:
    """The plugin's session server (reset by whoever uses it)."""
    return _mh_mock_live_server


@pytest.fixture(params=["mh_mock", "mh_mock_server"], ids=["inprocess", "standalone"])
def fake(request: pytest.FixtureRequest) -> Iterator[Control]:
    """The plugin's fake in each mode (frozen clock, poll progression, fresh state).

    After the test, every answer the fake gave is validated against the vendor contract.
    """
    fake: Control = request.getfixturevalue(request.param)
    yield fake
    assert_journal_valid(fake.journal.calls)


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


@pytest.fixture(params=["httpx", "httpx2"])
def http(request: pytest.FixtureRequest, base_url: str) -> Iterator[httpx.Client]:
    """A raw client on the fake's API, authenticated as :data:`TOKEN`: an httpx client, then an httpx2
    client (the same interface; in-process each goes through its own library's interception)."""
    library = pytest.importorskip(request.param)  # httpx2 is optional
    with library.Client(base_url=base_url, headers={"authorization": f"Bearer {TOKEN}"}) as client:
        yield client


@pytest.fixture
def sdk(fake: Control) -> Iterator[magic_hour.Client]:
    """The official SDK on ``fake``, as :data:`TOKEN`."""
    with httpx.Client(timeout=5) as http:
        yield magic_hour.Client(token=TOKEN, base_url=fake.api_url, httpx_client=http)


@pytest.fixture
def client(fake: Control) -> Iterator[Client]:
    """The reference client on ``fake``, as :data:`TOKEN`."""
    with Client(TOKEN, base_url=fake.api_url, timeout=5) as client:
        yield client


def run_sdk_voice(sdk: magic_hour.Client) -> Any:
    """A voice job through the SDK's generate(), waited for, not downloaded."""
    return sdk.v1.ai_voice_generator.generate(style=VOICE, wait_for_completion=True, download_outputs=False)
