"""``mh-mock serve``: the standalone fake on uvicorn, as its owner configured it.

uvicorn runs with the fastest stack installed (uvloop and httptools, which the default install
brings where they exist; asyncio and h11 otherwise), access logging off unless asked, and a
protocol that drops connections whose request head stalls (see
:mod:`mh_mock.standalone.connections`). SIGTERM stops it like Ctrl+C: the state file is
checkpointed and closed, and the process exits 0.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from ..engine.engine import Engine
from ..errors import ConfigError
from .app import ServerSettings, create_app, standalone_config
from .guard import is_loopback

__all__ = ["ServeOptions", "run"]


@dataclass(frozen=True)
class ServeOptions:
    """How to run the server (the flags of ``mh-mock serve`` that are not engine options)."""

    host: str = "127.0.0.1"
    port: int = 8000
    settings: ServerSettings = field(default_factory=ServerSettings)
    state: Path | None = None
    state_timeout: float = 5.0
    log_level: str = "info"
    access_log: bool = False
    http: str = "auto"
    loop: str = "auto"
    head_timeout: float = 5.0
    max_connections: int | None = None


class _Server(uvicorn.Server):
    """uvicorn, but a captured SIGTERM or SIGINT ends :meth:`run` normally instead of being re-raised,
    so the caller can close the state file and exit 0."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def run(options: ServeOptions, engine_options: dict[str, Any]) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit status."""
    try:
        store = None
        if options.state is not None:
            from ..engine.store import Store

            store = Store(options.state, busy_timeout=options.state_timeout)
        engine = Engine(standalone_config(options.settings.url, **engine_options), store=store)
    except (ConfigError, TypeError) as error:
        print(f"mh-mock: {error}", file=sys.stderr)
        return 2
    url = options.settings.url
    if not is_loopback(options.host):
        print(f"mh-mock: warning: listening on {options.host}, reachable from other machines; the fake has no "
              "real security beyond --admin-token and the Host check", file=sys.stderr)  # fmt: skip
    print(f"mh-mock: serving the Magic Hour audio API fake at {url} (dashboard: {url}/, API reference: {url}/docs)",
          file=sys.stderr)  # fmt: skip
    app = create_app(engine, options.settings)
    config = uvicorn.Config(
        app, host=options.host, port=options.port, log_level=options.log_level, access_log=options.access_log,
        http=_protocol(options), loop=options.loop, lifespan="on",
        proxy_headers=False,  # no proxy in front: X-Forwarded-* from a client must not rewrite its scheme or address
    )  # fmt: skip
    try:
        _Server(config).run()
    finally:
        engine.close()
    return 0


def _protocol(options: ServeOptions) -> Any:
    from .connections import guarded_protocol

    return guarded_protocol(options.http, head_timeout=options.head_timeout, max_connections=options.max_connections)  # type: ignore[arg-type]
