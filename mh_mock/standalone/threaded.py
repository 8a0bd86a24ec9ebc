"""Servers in a background thread: real uvicorn, real sockets, on a free port of this machine.

:class:`LiveServer` is ``mh-mock serve`` itself (the same app, protocol guard and uvicorn settings,
from :func:`~mh_mock.standalone.serve.uvicorn_config`), run in a thread of this process.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from ..control.remote import RemoteControl
from .app import create_app
from .options import ServeOptions
from .serve import build_engine, uvicorn_config

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

    def __init__(
        self, app: Any, host: str = "127.0.0.1", *, config: Callable[[], uvicorn.Config] | None = None
    ) -> None:
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # listener says TCP, and without it every answer waits ~40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.url = f"http://{host}:{self._socket.getsockname()[1]}"
        self.app = app
        self._config = config
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ThreadedServer:
        """Start serving; returns once the socket accepts connections."""
        config = self._config() if self._config else uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self._server = _Server(config)
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
    (real-time clock, clock progression), and the server's own options, as
    :class:`~mh_mock.standalone.options.ServeOptions` names them (``state``, ``admin_token``,
    ``allow_host``, ``head_timeout``, …; ``host`` and ``port`` are this thread's). Use as a context
    manager or :meth:`start` / :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1", **options: Any) -> None:
        self._threaded = ThreadedServer(None, host, config=self._uvicorn_config)
        port = int(self._threaded.url.rsplit(":", 1)[1])
        own = {f.name for f in dataclasses.fields(ServeOptions)}
        given = ServeOptions(**{"log_level": "warning", **{k: v for k, v in options.items() if k in own}})
        options = {k: v for k, v in options.items() if k not in own}
        self.options = dataclasses.replace(
            given, host=host, port=port, public_url=given.public_url or self._threaded.url
        )
        super().__init__(self.options.url, admin_token=self.options.admin_token)
        self.engine = build_engine(self.options, options)
        """The engine behind the server (same process: inspect it directly if you like)."""
        self._threaded.app = create_app(self.engine, self.options)

    def _uvicorn_config(self) -> uvicorn.Config:
        return uvicorn_config(self._threaded.app, self.options)

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
