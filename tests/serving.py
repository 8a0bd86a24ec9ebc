"""``mh-mock serve`` in a subprocess, as a user starts it: for tests of the command itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Served", "free_port", "serve", "serving"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """A running ``mh-mock serve``: its process, URL and what it printed before listening."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        """Resident memory of the server process (Linux)."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig``, wait for the exit, and return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        status = self.process.wait(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return status


def serve(*arguments: str, port: int | None = None, prefix: Sequence[str] = ()) -> Served:
    """Start ``mh-mock serve --port P *arguments`` (under ``prefix``, e.g. prlimit); returns once it listens."""
    port = port or free_port()
    process = subprocess.Popen(
        [*prefix, sys.executable, "-m", "mh_mock", "serve", "--port", str(port), *arguments],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    lines = []
    for line in process.stderr:  # uvicorn says so once the socket is listening
        lines.append(line)
        if "Uvicorn running on" in line:
            return Served(process, port, lines)
    process.wait(timeout=30)
    raise AssertionError(f"mh-mock serve exited {process.returncode}:\n{''.join(lines)}")


@contextmanager
def serving(*arguments: str, prefix: Sequence[str] = ()) -> Iterator[Served]:
    """:func:`serve`, stopped (SIGTERM) at the end of the block."""
    served = serve(*arguments, prefix=prefix)
    try:
        yield served
    finally:
        served.stop()
