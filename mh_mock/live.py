"""A standalone server in a background thread: real uvicorn, real sockets, on a free port."""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn

from .control import RemoteControl
from .engine import Engine
from .server import create_app, standalone_config

__all__ = ["LiveServer"]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


class LiveServer(RemoteControl):
    """``mh-mock serve`` in a thread of this process, driven through its admin API.

    ``options`` are :class:`~mh_mock.config.Config` fields on top of the standalone defaults
    (real-time clock, clock progression). Use as a context manager or :meth:`start` / :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1", **options: Any) -> None:
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # listener says TCP, and without it every answer waits ~40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        port = self._socket.getsockname()[1]
        super().__init__(f"http://{host}:{port}", admin_token=options.get("admin_token"))
        self.engine = Engine(standalone_config(self.url, **options))
        """The engine behind the server (same process: inspect it directly if you like)."""
        config = uvicorn.Config(create_app(self.engine), log_level="warning", lifespan="off")
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self) -> LiveServer:
        """Start serving; returns once the socket accepts connections."""
        self._thread.start()
        if not self._server.ready.wait(timeout=30) or not self._server.started:
            raise RuntimeError(f"mh-mock server at {self.url} failed to start")
        return self

    def stop(self) -> None:
        """Shut the server down and close its client."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
        self.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
