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
    ``mh_webhooks``      a webhook receiver that verifies signatures and lets a test wait for an event
    ``mh_mock_options``  the merged ``@pytest.mark.mh_mock(...)`` options

Against a ``--mh-mock-url`` server every test is a namespace of its own (see :func:`mh_mock`):
test runs sharing the server, in one process or on xdist workers, never see each other.
"""

from __future__ import annotations

import contextlib
import secrets
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
    from .inbox import WebhookInbox, WebhookServer
    from .timecontrol import TimeControl

__all__ = ["FIXTURE_DEFAULTS", "MarkerOptions"]

IN_PROCESS_TOKEN = "mhk_test_token"

FIXTURE_DEFAULTS: dict[str, Any] = {"frozen_clock": True, "progression": "poll"}
"""What every fixture's fake starts with, in-process and on a live server alike (a preload seed's
own ``config`` overrides them, and the marker's options override both)."""

DEFAULT_LEASE = 900.0
"""Seconds without a call after which a live server forgets a test's namespace (a killed run's)."""

_RUN = secrets.token_hex(4)
"""This pytest process's part of every token it makes for a live server (unique among runs sharing it)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mh-mock", "mh-mock: fake Magic Hour audio API")
    group.addoption(
        "--mh-mock-url",
        metavar="URL",
        help="point the mh_mock fixture at this running `mh-mock serve` instead of an in-process fake; "
        "each test gets a namespace of its own on it",
    )
    group.addoption("--mh-mock-admin-token", metavar="TOKEN", help="admin token of the --mh-mock-url server")
    group.addoption(
        "--mh-mock-lease",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_LEASE,
        help="a --mh-mock-url server forgets a test's namespace after this many seconds without a call "
        f"(what a killed run leaves behind; default {DEFAULT_LEASE:g})",
    )
    group.addoption(
        "--mh-mock-webhook-host",
        metavar="HOST",
        default="127.0.0.1",
        help="where mh_webhooks listens, as the --mh-mock-url server reaches it (default 127.0.0.1)",
    )


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


@pytest.fixture
def mh_mock(
    request: pytest.FixtureRequest, mh_mock_options: MarkerOptions, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MhMock | RemoteControl]:
    """The fake this test talks to: an isolated in-process fake (respx intercepts every httpx and
    httpx2 client), or with ``--mh-mock-url URL`` the control API of that running server.

    On a server, the test is a namespace of its own: its ``mh_token`` (and every token it registers
    through this control) gets its own clock and progression, the fixture defaults and the
    marker's options, and its own rules, faults, webhooks and journal. The namespace is removed
    when the test ends; the server itself is never reset. Options that only the whole server can
    have (``seed``, ``preload``, ``strict_auth``, …) fail the test with what to do instead.
    """
    url = request.config.getoption("mh_mock_url")
    with _active(mh_mock_options, monkeypatch, ssl=bool(url)):
        if url:
            yield from _namespace(request, url, mh_mock_options)
        else:
            from mh_mock.inprocess import MhMock

            with MhMock(
                share_ssl_context=mh_mock_options.share_ssl_context,
                passthrough_hosts=mh_mock_options.passthrough_hosts,
                **mh_mock_options.config,
            ) as fake:
                yield fake


def _settings(options: MarkerOptions) -> dict[str, Any]:
    """What a fake is reset with: the fixture defaults, those a preload seed's ``config`` sets taken
    from the seed (as an in-process fake does), then the marker's options."""
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


def _server_wide(options: MarkerOptions) -> str | None:
    """Why these marker options cannot be a test's own on a shared server (None: they can)."""
    from mh_mock.config import server_wide

    problem = server_wide(sorted(options.config))
    return None if problem is None else f"@pytest.mark.mh_mock on a --mh-mock-url server: {problem}"


@pytest.fixture(scope="session")
def _mh_mock_remote(request: pytest.FixtureRequest) -> Iterator[_Remote]:
    remote = _Remote(request.config)
    yield remote
    remote.close()


class _Remote:
    """This run's connection to a ``--mh-mock-url`` server, and the namespaces it made there."""

    def __init__(self, config: pytest.Config) -> None:
        from mh_mock.control.remote import RemoteControl

        self.control = RemoteControl(
            config.getoption("mh_mock_url"), admin_token=config.getoption("mh_mock_admin_token")
        )
        self.lease: float = config.getoption("mh_mock_lease")
        self.open: set[str] = set()

    def close(self) -> None:
        """Remove every namespace this run still has there (a test whose teardown failed), then disconnect."""
        from mh_mock.control.remote import ControlError

        for key in sorted(self.open):
            with contextlib.suppress(ControlError, OSError):  # the server is gone or refuses: the lease forgets it
                self.control.remove_tenant(key)
        self.control.close()


def _namespace(request: pytest.FixtureRequest, url: str, options: MarkerOptions) -> Iterator[RemoteControl]:
    from mh_mock.control.remote import ControlError

    problem = _server_wide(options)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    remote: _Remote = request.getfixturevalue("_mh_mock_remote")
    token = request.getfixturevalue("mh_token")
    scoped = remote.control.scoped(token)
    try:
        scoped.reset_tenant(token, lease=remote.lease, defaults=FIXTURE_DEFAULTS, **options.config)
    except ControlError as error:
        hint = " (give the server's admin token with --mh-mock-admin-token)" if error.status == 403 else ""
        pytest.fail(
            f"mh-mock: the --mh-mock-url server refused this test's namespace: {error.message}{hint}", pytrace=False
        )
    remote.open.add(token)
    try:
        yield scoped
    finally:
        scoped.remove_tenant(token)
        remote.open.discard(token)


@pytest.fixture(scope="session")
def _mh_mock_live_server() -> Iterator[LiveServer]:
    from mh_mock.standalone.threaded import LiveServer

    with LiveServer(**FIXTURE_DEFAULTS) as server:
        yield server


@pytest.fixture
def mh_mock_server(
    _mh_mock_live_server: LiveServer, mh_mock_options: MarkerOptions, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    """A real uvicorn server on a free port, started as ``mh-mock serve`` starts one (one per session
    and xdist worker), reset for this test. Same defaults and control API as ``mh_mock``, plus ``.url``."""
    _mh_mock_live_server.reset(**_settings(mh_mock_options))
    with _active(mh_mock_options, monkeypatch):
        yield _mh_mock_live_server


@pytest.fixture
def mh_fake(request: pytest.FixtureRequest) -> Control:
    """The fake this test uses: ``mh_mock_server`` if the test asked for it, else ``mh_mock``."""
    name = "mh_mock_server" if "mh_mock_server" in request.fixturenames else "mh_mock"
    fake: Control = request.getfixturevalue(name)
    return fake


@pytest.fixture
def mh_token(request: pytest.FixtureRequest) -> str:
    """The API key the mh clients and SDK fixtures send (unique per test and run against a shared server)."""
    if request.config.getoption("mh_mock_url"):
        return f"mhk_test_{_RUN}_{zlib.crc32(request.node.nodeid.encode()):08x}"
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


@pytest.fixture(scope="session")
def _mh_webhook_server(request: pytest.FixtureRequest) -> Iterator[WebhookServer]:
    from .inbox import WebhookServer

    with WebhookServer(request.config.getoption("mh_mock_webhook_host")) as server:
        yield server


@pytest.fixture
def mh_webhooks(request: pytest.FixtureRequest, mh_fake: Control) -> Iterator[WebhookInbox]:
    """A webhook receiver registered with the active fake: it verifies every delivery's signature,
    records the events, and :meth:`~mh_mock.pytest_plugin.inbox.WebhookInbox.wait_for` waits for one.

    In-process the fake calls it directly; against a server it is a real HTTP endpoint (one server
    per session, a path per test), and waiting starts with ``deliver_webhooks()``, the server's
    sync point. The same test passes in both modes.
    """
    from mh_mock.inprocess import MhMock

    from .inbox import WebhookInbox

    if isinstance(mh_fake, MhMock):
        inbox = WebhookInbox(mh_fake)
        mh_fake.add_webhook(inbox.receive, inbox.secret)
        yield inbox
        return
    server: WebhookServer = request.getfixturevalue("_mh_webhook_server")
    with server.inbox(mh_fake) as inbox:
        assert inbox.url is not None
        mh_fake.add_webhook(inbox.url, inbox.secret)
        yield inbox
