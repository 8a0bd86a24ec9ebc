"""The standalone server's webhook sender under hostile receivers: a crowd that never answers, and an
answer far too large to keep (``mh-mock serve`` in a subprocess, real sockets)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest

from mh_mock.control.remote import RemoteControl
from mh_mock.standalone.threaded import ThreadedServer

from .serving import Served, serving
from .webhook_receiver import SECRET, Receiver

pytestmark = pytest.mark.slow

HANGING = 120
"""Endpoints that accept a connection and never answer (more than httpx's default pool of 100)."""

HUGE = 256 * 1024 * 1024
"""The size of the answer that must not end up in the server's memory."""


@contextmanager
def _control(served: Served) -> Iterator[RemoteControl]:
    control = RemoteControl(served.url)
    try:
        yield control
    finally:
        control.close()


def _usual_descriptor_limit() -> tuple[str, ...]:
    """Run the server with the common 1,024 descriptors, where prlimit is there to set them."""
    return ("prlimit", "--nofile=1024:1024", "--") if shutil.which("prlimit") else ()


class _Silent:
    """A server in a thread that accepts every connection and never answers; :attr:`retried` is set
    once it has accepted more connections than :data:`HANGING` (some endpoint is trying again)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1024)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.retried = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener was shut down
            while True:
                self.accepted.append(self.listener.accept()[0])
                if len(self.accepted) > HANGING:
                    self.retried.set()

    def close(self) -> None:
        """Stop accepting (shutdown wakes the blocked accept) and close every socket."""
        self.listener.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=10)
        self.listener.close()
        for connection in self.accepted:
            connection.close()


def test_a_healthy_receiver_gets_its_events_beside_a_crowd_that_never_answers() -> None:
    healthy = Receiver()
    with (
        closing(_Silent()) as silent,
        ThreadedServer(healthy.app) as good,
        serving("--progression", "poll", prefix=_usual_descriptor_limit()) as served,
        _control(served) as control,
    ):
        control.reset(webhook_timeout=3)
        for number in range(HANGING):  # one origin: one shared pool would be full of them
            control.add_webhook(f"http://127.0.0.1:{silent.port}/hook/{number}", SECRET)
        mine = control.add_webhook(f"{good.url}/webhooks/magic-hour", SECRET)  # last: its deliveries come last
        for count in (2, 4):  # first every endpoint is new; then the crowd has timed out once and is retrying
            arrived = healthy.expect(count)
            project = control.create_project("x")
            control.finish(project["id"])
            assert arrived.wait(timeout=8), [
                (d["event"], d["attempts"]) for d in control.deliveries() if d["endpoint_id"] == mine["id"]
            ]
            assert healthy.sequence(project["id"]) == ["audio.started", "audio.completed"]
            assert silent.retried.wait(timeout=10)


class _HugeAnswer:
    """A receiver in a thread answering 200 with a :data:`HUGE` body; notes the server's RSS just before
    its last chunk (all the rest sent), or once the server stops reading."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.rss: list[int] = []
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            _read_request(connection)  # all of it: unread bytes would make closing a reset, losing the answer
            connection.sendall(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: %d\r\n\r\n" % HUGE)
            chunk = bytes(1024 * 1024)
            try:
                for sent in range(0, HUGE - len(chunk), len(chunk)):
                    connection.sendall(chunk)
                    if sent % (32 * len(chunk)) == 0:
                        self.rss.append(self.served.rss_bytes())
                self.rss.append(self.served.rss_bytes())  # nearly everything is with the server now
                connection.sendall(chunk)
                connection.shutdown(socket.SHUT_WR)
                while connection.recv(65536):  # until the server hangs up
                    pass
            except OSError:  # the server read what it wanted and hung up
                self.rss.append(self.served.rss_bytes())


def _read_request(connection: socket.socket) -> None:
    """Read one request with a ``content-length`` body."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)


def test_a_huge_answer_is_not_read_into_memory() -> None:
    with serving("--progression", "poll") as served, _control(served) as control:
        control.reset(webhook_timeout=30)
        control.finish(control.create_project("x")["id"])  # warm up the paths the delivery will take
        baseline = served.rss_bytes()
        receiver = _HugeAnswer(served)
        with closing(receiver.listener):
            control.add_webhook(receiver.url, SECRET, ["audio.completed"])
            control.finish(control.create_project("x")["id"])
            control.deliver_webhooks()  # returns once the attempt is recorded
            receiver.thread.join(timeout=30)
            assert not receiver.thread.is_alive()
        [delivery] = control.deliveries()
        assert (delivery["state"], [a["status"] for a in delivery["attempts"]]) == ("delivered", [200]), delivery[
            "attempts"
        ]
        growth = max(receiver.rss) - baseline
        assert growth < 48 * 1024 * 1024, f"the server grew by {growth / 2**20:.0f} MiB"
