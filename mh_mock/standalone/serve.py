"""``mh-mock serve``: the standalone fake on uvicorn, as its owner configured it, in one place.

:func:`uvicorn_config` is the one way a server is set up, whether ``mh-mock serve`` runs it in
the foreground (:func:`run`) or a test runs it in a thread
(:class:`~mh_mock.standalone.threaded.LiveServer`): uvicorn with the fastest stack installed
(uvloop and httptools, which the default install brings where they exist; asyncio and h11
otherwise), access logging off unless asked, no proxy headers, and a protocol that drops
connections whose request head or body stalls (see :mod:`mh_mock.standalone.connections`).
SIGTERM stops it like Ctrl+C: the state file is checkpointed and closed, and the process exits 0.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from ..engine.engine import Engine
from ..errors import ConfigError
from .app import FakeApp, create_app, standalone_config
from .guard import is_loopback
from .options import ServeOptions

__all__ = ["build_engine", "run", "uvicorn_config"]


class _Server(uvicorn.Server):
    """uvicorn, but a captured SIGTERM or SIGINT ends :meth:`run` normally instead of being re-raised,
    so the caller can close the state file and exit 0."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def build_engine(options: ServeOptions, engine_options: dict[str, Any]) -> Engine:
    """The engine ``options`` describe (a state file's, if ``state`` is set), under ``engine_options``."""
    store = None
    if options.state is not None:
        from ..engine.store import Store

        store = Store(options.state, busy_timeout=options.state_timeout)
    try:
        return Engine(standalone_config(options.url, **engine_options), store=store)
    except BaseException:
        if store is not None:
            store.close()
        raise


def uvicorn_config(app: FakeApp, options: ServeOptions) -> uvicorn.Config:
    """How uvicorn serves ``app``: the guarded protocol, the chosen stack, no proxy headers."""
    from .connections import guarded_protocol

    protocol: Any = guarded_protocol(
        options.http,  # type: ignore[arg-type]
        head_timeout=options.head_timeout,
        body_timeout=options.body_timeout,
        max_connections=options.max_connections,
    )
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level=options.log_level,
        access_log=options.access_log,
        http=protocol,
        loop=options.loop,
        lifespan="on",
        proxy_headers=False,  # no proxy in front: X-Forwarded-* from a client must not rewrite its scheme or address
    )


def run(options: ServeOptions, engine_options: dict[str, Any]) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit status."""
    try:
        engine = build_engine(options, engine_options)
    except (ConfigError, TypeError) as error:
        print(f"mh-mock: {error}", file=sys.stderr)
        return 2
    url = options.url
    if not is_loopback(options.host):
        print(
            f"mh-mock: warning: listening on {options.host}, reachable from other machines; the fake has no "
            "real security beyond --admin-token and the Host check",
            file=sys.stderr,
        )
    print(
        f"mh-mock: serving the Magic Hour audio API fake at {url} (dashboard: {url}/, API reference: {url}/docs)",
        file=sys.stderr,
    )
    try:
        _Server(uvicorn_config(create_app(engine, options), options)).run()
    finally:
        engine.close()
    return 0
