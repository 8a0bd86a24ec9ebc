"""pytest plugin of mh-mock, registered through the ``pytest11`` entry point.

Installing the package is enough: tests request a fixture and get a faithful fake. Importing this
module only defines hooks and fixtures; nothing is patched, started or heavily imported until a
fixture is used.

Fixtures
    ``mh_mock``          in-process fake (function scope), or the ``--mh-mock-url`` server
    ``mh_mock_server``   a real uvicorn server for the session, reset before each test
    ``mh_fake``          whichever of the two the test uses (what every fixture below binds to)
    ``mh_token``         the API key the clients below use
    ``mh_client`` / ``mh_async_client``   the reference clients
    ``mh_sdk`` / ``mh_async_sdk``         the official ``magic-hour`` SDK clients
    ``mh_time``          clock and progression control      ``mh_factory``  state on demand
    ``mh_mock_options``  the merged ``@pytest.mark.mh_mock(...)`` options
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from .options import MarkerOptions, collect

if TYPE_CHECKING:
    import magic_hour

    from mh_mock.client import AsyncClient, Client
    from mh_mock.control.remote import Control, RemoteControl
    from mh_mock.inprocess import MhMock
    from mh_mock.standalone.threaded import LiveServer

    from .factory import Factory
    from .timecontrol import TimeControl

__all__ = ["FIXTURE_DEFAULTS", "MarkerOptions"]

IN_PROCESS_TOKEN = "mhk_test_token"

FIXTURE_DEFAULTS: dict[str, Any] = {"frozen_clock": True, "progression": "poll"}
"""What every fixture's fake starts with, in-process and on a live server alike (a preload seed's
own ``config`` overrides them, and the marker's options override both)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mh-mock", "mh-mock: fake Magic Hour audio API")
    group.addoption(
        "--mh-mock-url",
        metavar="URL",
        help="point the mh_mock fixture at this running `mh-mock serve` instead of an in-process fake",
    )
    group.addoption("--mh-mock-admin-token", metavar="TOKEN", help="admin token of the --mh-mock-url server")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mh_mock(**options): configure the mh-mock fake for a test, class or module. Options: any "
        "mh_mock.Config field (starting_balance, seed, timings, progression, strict_auth, "
        "default_outcome, ...), sdk_poll_interval, share_ssl_context, passthrough_hosts.",
    )


@pytest.fixture
def mh_mock_options(request: pytest.FixtureRequest) -> MarkerOptions:
    """The merged ``@pytest.mark.mh_mock(...)`` options (closest marker wins per option)."""
    return collect(request.node.iter_markers("mh_mock"))


@contextmanager
def _active(options: MarkerOptions, monkeypatch: pytest.MonkeyPatch, *, ssl: bool = True) -> Iterator[None]:
    """What holds while a fake is active: the SDK's poll interval and (unless the fake does it
    itself, as ``MhMock`` does) the shared SSL context."""
    if options.sdk_poll_interval is not None:
        monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", options.sdk_poll_interval)
    with ExitStack() as stack:
        if ssl and options.share_ssl_context:
            from mh_mock.sslcache import shared_ssl_context

            stack.enter_context(shared_ssl_context())
        yield


def _xdist_workers(config: pytest.Config) -> int:
    """Workers of this run under pytest-xdist (1 without it). Read from the worker's own config:
    the environment variable is inherited by any pytest that a test starts in a subprocess."""
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    return int(workerinput.get("workercount", 1))


@pytest.fixture
def mh_mock(
    request: pytest.FixtureRequest, mh_mock_options: MarkerOptions, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MhMock | RemoteControl]:
    """An isolated in-process fake for this test (respx intercepts every httpx client).

    With ``--mh-mock-url URL`` it is the control API of that running server instead, with the
    same defaults (frozen clock, poll progression) and the marker's options: reset for the test,
    or under pytest-xdist (one server, several workers) scoped to the test's token, which gets
    its own clock, rules, faults and webhooks, all removed when the test ends.
    """
    url = request.config.getoption("mh_mock_url")
    with _active(mh_mock_options, monkeypatch, ssl=bool(url)):
        if url:
            yield from _remote(request, url, mh_mock_options)
        else:
            from mh_mock.inprocess import MhMock

            with MhMock(
                share_ssl_context=mh_mock_options.share_ssl_context,
                passthrough_hosts=mh_mock_options.passthrough_hosts,
                **mh_mock_options.config,
            ) as fake:
                yield fake


def _settings(options: MarkerOptions) -> dict[str, Any]:
    """What a live server is reset with: the fixture defaults, those a preload seed's ``config`` sets
    taken from the seed (as an in-process fake does), then the marker's options."""
    defaults = dict(FIXTURE_DEFAULTS)
    preload = options.config.get("preload")
    if preload is not None:
        from mh_mock.engine.seeds import load_seed

        try:
            seeded = load_seed(preload).get("config") or {}
        except Exception:  # a seed only the server can read, or a bad one: the server answers for it
            seeded = {}
        defaults.update({name: seeded[name] for name in FIXTURE_DEFAULTS if name in seeded})
    return {**defaults, **options.config}


def _remote(request: pytest.FixtureRequest, url: str, options: MarkerOptions) -> Iterator[RemoteControl]:
    from mh_mock.control.remote import RemoteControl
    from mh_mock.engine.controls import TENANT_OPTIONS

    remote = RemoteControl(url, admin_token=request.config.getoption("mh_mock_admin_token"))
    settings = _settings(options)
    try:
        if _xdist_workers(request.config) <= 1:
            remote.reset(**settings)
            yield remote
            return
        shared = sorted(set(options.config) - set(TENANT_OPTIONS))
        if shared:
            pytest.fail(
                f"@pytest.mark.mh_mock({', '.join(shared)}=...) would change the --mh-mock-url server that "
                f"every xdist worker shares; on a shared server a test may set only {', '.join(TENANT_OPTIONS)} "
                "(run without -n to use the others)",
                pytrace=False,
            )
        token = request.getfixturevalue("mh_token")
        scoped = remote.scoped(token)
        scoped.reset_tenant(token, **settings)
        try:
            yield scoped
        finally:
            scoped.remove_tenant(token)
    finally:
        remote.close()


@pytest.fixture(scope="session")
def _mh_mock_live_server() -> Iterator[LiveServer]:
    from mh_mock.standalone.threaded import LiveServer

    with LiveServer(**FIXTURE_DEFAULTS) as server:
        yield server


@pytest.fixture
def mh_mock_server(
    _mh_mock_live_server: LiveServer, mh_mock_options: MarkerOptions, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    """A real uvicorn server on a free port (one per session and xdist worker), reset for this test.

    Same defaults as ``mh_mock`` (frozen clock, poll progression), same control API, plus ``.url``.
    """
    _mh_mock_live_server.reset(**_settings(mh_mock_options))
    with _active(mh_mock_options, monkeypatch):
        yield _mh_mock_live_server


@pytest.fixture
def mh_fake(request: pytest.FixtureRequest) -> Control:
    """The fake this test uses: ``mh_mock_server`` if the test asked for it, else ``mh_mock``."""
    name = "mh_mock_server" if "mh_mock_server" in request.fixturenames else "mh_mock"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def mh_token(request: pytest.FixtureRequest) -> str:
    """The API key the mh clients and SDK fixtures send (unique per test against a shared server)."""
    if request.config.getoption("mh_mock_url"):
        return f"mhk_test_{os.getpid()}_{zlib.crc32(request.node.nodeid.encode()):08x}"
    return IN_PROCESS_TOKEN


@pytest.fixture
def mh_client(mh_fake: Control, mh_token: str) -> Iterator[Client]:
    """The reference client (sync), bound to the active fake."""
    from mh_mock.client import Client

    with Client(mh_token, base_url=mh_fake.api_url) as client:
        yield client


@pytest.fixture
def mh_async_client(mh_fake: Control, mh_token: str) -> AsyncClient:
    """The reference client (async), bound to the active fake; works with pytest-asyncio and anyio."""
    import httpx

    from mh_mock.client import AsyncClient

    # No keep-alive: nothing outlives the test's event loop, so there is nothing to close.
    http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0), timeout=30)
    return AsyncClient(mh_token, base_url=mh_fake.api_url, http_client=http)


@pytest.fixture
def mh_sdk(mh_fake: Control, mh_token: str) -> Iterator[magic_hour.Client]:
    """The official SDK's client, bound to the active fake (skipped if ``magic-hour`` is missing)."""
    magic_hour = pytest.importorskip("magic_hour")
    import httpx

    with httpx.Client(timeout=60) as http:
        yield magic_hour.Client(token=mh_token, base_url=mh_fake.api_url, httpx_client=http)


@pytest.fixture
def mh_async_sdk(mh_fake: Control, mh_token: str) -> magic_hour.AsyncClient:
    """The official SDK's async client, bound to the active fake."""
    magic_hour = pytest.importorskip("magic_hour")
    import httpx

    http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0), timeout=60)
    return magic_hour.AsyncClient(token=mh_token, base_url=mh_fake.api_url, httpx_client=http)


@pytest.fixture
def mh_time(mh_fake: Control) -> TimeControl:
    """Move the fake's clock, finish jobs, switch between clock- and poll-driven progress."""
    from .timecontrol import TimeControl

    return TimeControl(mh_fake)


@pytest.fixture
def mh_factory(
    request: pytest.FixtureRequest, mh_fake: Control, mh_token: str, mh_mock_options: MarkerOptions
) -> Factory:
    """Projects in any state and accounts with any balance, with Faker data seeded per test."""
    from .factory import Factory

    seed = mh_mock_options.config.get("seed")
    if not isinstance(seed, int):
        seed = zlib.crc32(request.node.nodeid.encode())
    return Factory(mh_fake, mh_token, seed)
