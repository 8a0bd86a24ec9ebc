"""Servers in a background thread: real uvicorn, real sockets, on a free port of this machine."""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from ..control.remote import RemoteControl
from ..engine.engine import Engine
from .app import ServerSettings, create_app, standalone_config

__all__ = ["LiveServer", "ThreadedServer"]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


class ThreadedServer:
    """Any ASGI app served by uvicorn in a daemon thread; ``url`` is known before it starts."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # listener says TCP, and without it every answer waits ~40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.url = f"http://{host}:{self._socket.getsockname()[1]}"
        self.app = app
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ThreadedServer:
        """Start serving; returns once the socket accepts connections."""
        self._server = _Server(uvicorn.Config(self.app, log_level="warning", lifespan="on", proxy_headers=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        if not self._server.ready.wait(timeout=30) or not self._server.started:
            raise RuntimeError(f"server at {self.url} failed to start")
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LiveServer(RemoteControl):
    """``mh-mock serve`` in a thread of this process, driven through its admin API.

    ``options`` are :class:`~mh_mock.config.Config` fields on top of the standalone defaults
    (real-time clock, clock progression); ``state`` is a SQLite file to persist to, as with
    ``mh-mock serve --state`` (``state_timeout``: ``--state-timeout``); ``admin_token`` and
    ``allow_hosts`` are ``--admin-token`` and ``--allow-host``.
    Use as a context manager or :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self, host: str = "127.0.0.1", *, state: str | Path | None = None, state_timeout: float = 5.0,
        admin_token: str | None = None, allow_hosts: Sequence[str] = (), **options: Any,
    ) -> None:  # fmt: skip
        self._threaded = ThreadedServer(None, host)
        super().__init__(self._threaded.url, admin_token=admin_token)
        store = None
        if state is not None:
            from ..engine.store import Store

            store = Store(state, busy_timeout=state_timeout)
        self.engine = Engine(standalone_config(self.url, **options), store=store)
        """The engine behind the server (same process: inspect it directly if you like)."""
        settings = ServerSettings(url=self.url, admin_token=admin_token, allowed_hosts=tuple(allow_hosts))
        self._threaded.app = create_app(self.engine, settings)

    def start(self) -> LiveServer:
        """Start serving; returns once the socket accepts connections."""
        self._threaded.start()
        return self

    def stop(self) -> None:
        """Shut the server down and close its client."""
        self._threaded.stop()
        self.engine.close()
        self.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
