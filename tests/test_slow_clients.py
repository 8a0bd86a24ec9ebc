"""Slow clients cannot hold the standalone server's connections (:mod:`mh_mock.standalone.connections`).

Each test runs a real uvicorn in a subprocess (a tiny ASGI app answering 200 JSON, served with
``uvicorn.Config(http=guarded_protocol(...))``) on a listening socket this process made, and talks
to it with raw sockets. Waits are on socket events with bounded timeouts, never sleeps.

Negative control: with ``MH_MOCK_UNGUARDED=1`` the same servers run uvicorn's plain protocol
classes, and every test that exercises the guard fails (the slow-body and idle keep-alive tests,
which check the guard does not cut what it must not, still pass). The tests of the factory and of
``mh-mock serve`` as shipped do not use these servers: the variable does not change them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.protocols.http.h11_impl import H11Protocol

from mh_mock.standalone.connections import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEAD_TIMEOUT,
    FD_RESERVE,
    default_max_connections,
    guarded_protocol,
)

GUARDED = os.environ.get("MH_MOCK_UNGUARDED") != "1"
HEAD_TIMEOUT = 0.5
BODY_TIMEOUT = 1.0
STALLED_AFTER = 1.0
"""A body silent this long (the guard's ``_STALLED_AFTER``, with a body timeout of 4 s or more) may be evicted."""
KEEP_ALIVE = 2
MARGIN = 3.0
"""Slack on every deadline, for a loaded CI machine."""

HAS_HTTPTOOLS = importlib.util.find_spec("httptools") is not None
HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None
needs_httptools = pytest.mark.skipif(not HAS_HTTPTOOLS, reason="httptools is not installed")
needs_uvloop = pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed")
HTTP = [pytest.param("h11"), pytest.param("httptools", marks=needs_httptools)]
LOOPS = [pytest.param("asyncio"), pytest.param("uvloop", marks=needs_uvloop)]

HALF_REQUEST_LINE = b"GET /v1/acc"
GET = b"GET /ok HTTP/1.1\r\nHost: mock\r\n\r\n"
GET_AND_CLOSE = b"GET /ok HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n"

_SERVER = r"""
import json, socket, sys
import uvicorn

options = json.loads(sys.argv[1])

async def app(scope, receive, send):
    received = 0
    streaming = scope["path"] == "/stream"  # /stream answers "{" at the body's first bytes, "}" at its end
    if scope["path"] != "/early":  # /early answers without reading the body
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if streaming and not received:
                await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
            received += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
    if streaming:
        await send({"type": "http.response.body", "body": b"}"})
        return
    body = json.dumps({"ok": True, "path": scope["path"], "received": received}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})

if options["guarded"]:
    from mh_mock.standalone.connections import guarded_protocol
    http = guarded_protocol(
        options["http"], head_timeout=options["head_timeout"], body_timeout=options["body_timeout"],
        max_connections=options["max_connections"],
    )
else:
    http = options["http"]  # uvicorn's own protocol class
config = uvicorn.Config(
    app, http=http, loop=options["loop"], lifespan="off", log_level="debug",
    timeout_keep_alive=options["keep_alive"],
)
uvicorn.Server(config).run(sockets=[socket.socket(fileno=options["fd"])])
"""


@dataclass
class Server:
    """A uvicorn subprocess listening on 127.0.0.1:``port``; its output goes to ``log``."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def connect(self, payload: bytes = b"") -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        if payload:
            sock.sendall(payload)
        return sock

    def get(self, timeout: float = 10.0) -> dict[str, Any]:
        """One well-behaved request on a new connection; its JSON answer (within ``timeout`` s)."""
        with self.connect(GET_AND_CLOSE) as sock:
            status, body = read_response(sock, time.monotonic() + timeout)
        assert status == 200
        answer: dict[str, Any] = json.loads(body)
        return answer

    def log_size(self) -> int:
        return self.log.stat().st_size

    def drops_logged(self, sock: socket.socket, since: int) -> int:
        """How often the server logged dropping ``sock`` (in its log from offset ``since`` on)."""
        port = sock.getsockname()[1]
        return self.log.read_bytes()[since:].count(f"127.0.0.1:{port} - Connection dropped".encode())


@contextlib.contextmanager
def serve(
    directory: Path,
    http: str,
    *,
    loop: str = "asyncio",
    head_timeout: float = HEAD_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
    keep_alive: int = KEEP_ALIVE,
    max_connections: int | None = None,
    nofile: int | None = None,
) -> Iterator[Server]:
    """A server in a subprocess (under ``prlimit --nofile`` if given), answering when this yields."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen(2048)
    port = listener.getsockname()[1]
    options = {
        "fd": listener.fileno(),
        "guarded": GUARDED,
        "http": http,
        "loop": loop,
        "head_timeout": head_timeout,
        "body_timeout": body_timeout,
        "keep_alive": keep_alive,
        "max_connections": max_connections,
    }
    command = [sys.executable, "-c", _SERVER, json.dumps(options)]
    if nofile is not None:
        command = ["prlimit", f"--nofile={nofile}:{nofile}", "--", *command]
    log = directory / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, pass_fds=[listener.fileno()], stdout=output, stderr=subprocess.STDOUT)
    listener.close()
    server = Server(port, process, log)
    try:
        server.get(timeout=60)  # ready (the first start imports uvicorn and the app)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module", params=HTTP)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server per HTTP implementation: head timeout 0.5 s, body timeout 1 s, keep-alive 2 s, default cap."""
    with serve(tmp_path_factory.mktemp("server"), request.param) as running:
        yield running


# -- raw HTTP/1.1 on a socket, with deadlines


def receive(sock: socket.socket, deadline: float, size: int = 65536) -> bytes:
    """Up to ``size`` next bytes (b"" once the server has closed); TimeoutError past ``deadline``."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("deadline passed")
    sock.settimeout(remaining)
    try:
        return sock.recv(size)
    except ConnectionResetError:
        return b""


def read_response(sock: socket.socket, deadline: float) -> tuple[int, bytes]:
    """Status and body of one response (with content-length), read exactly: pipelined ones stay unread."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = receive(sock, deadline, 1)
        if not byte:
            raise ConnectionError(f"closed before a full answer (got {head!r})")
        head += byte
    lines = head.split(b"\r\n")[:-2]
    headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
    body = b""
    while len(body) < int(headers[b"content-length"]):
        chunk = receive(sock, deadline, int(headers[b"content-length"]) - len(body))
        if not chunk:
            raise ConnectionError("closed in the middle of the body")
        body += chunk
    return int(lines[0].split(b" ")[1]), body


def seconds_until_closed(sock: socket.socket, within: float) -> float:
    """How long the server took to close ``sock`` (reading and discarding anything it sends first)."""
    start = time.monotonic()
    deadline = start + within
    try:
        while receive(sock, deadline):
            pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {within:g} s")
    return time.monotonic() - start


def assert_stays_open(sock: socket.socket, seconds: float) -> None:
    """Nothing from the server (no answer, no close) for ``seconds``."""
    readable, _, _ = select.select([sock], [], [], seconds)
    assert not readable, "the server answered or closed the connection"


# -- the request head timeout


@pytest.mark.parametrize(
    "payload",
    [b"", HALF_REQUEST_LINE, b"GET /v1/accounts HTTP/1.1\r\nHost: mock\r\n"],
    ids=["nothing", "half-request-line", "headers-unfinished"],
)
def test_a_stalled_request_head_is_dropped(server: Server, payload: bytes) -> None:
    log_start = server.log_size()
    with server.connect(payload) as sock:
        elapsed = seconds_until_closed(sock, HEAD_TIMEOUT + MARGIN)
        assert elapsed > HEAD_TIMEOUT * 0.8
        assert server.drops_logged(sock, since=log_start) == 1  # logged once, before the close
    assert server.get()["ok"]


def test_a_trickled_head_is_timed_from_the_connection_not_from_each_byte(server: Server) -> None:
    request_line = b"GET /v1/accounts?" + b"x" * 40  # a byte every 0.1 s: four seconds, eight head timeouts
    with server.connect() as sock:
        start = time.monotonic()
        for byte in request_line:
            with contextlib.suppress(OSError):  # (the server may have closed already)
                sock.sendall(bytes([byte]))
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                break
        else:
            pytest.fail("the server waited for the whole trickle")
        seconds_until_closed(sock, MARGIN)
        assert time.monotonic() - start > HEAD_TIMEOUT * 0.8


def test_a_stalled_second_head_on_a_kept_alive_connection_is_dropped(server: Server) -> None:
    with server.connect(GET) as sock:
        status, _ = read_response(sock, time.monotonic() + 10)
        assert status == 200
        sock.sendall(HALF_REQUEST_LINE)
        elapsed = seconds_until_closed(sock, HEAD_TIMEOUT + MARGIN)
        assert elapsed > HEAD_TIMEOUT * 0.8


def test_pipelined_requests_are_answered_and_a_stalled_pipelined_head_is_dropped(server: Server) -> None:
    pipelined = (
        b"GET /a HTTP/1.1\r\nHost: mock\r\n\r\n"
        b"POST /b HTTP/1.1\r\nHost: mock\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /c HTTP/1.1\r\nHo"  # never finished
    )
    with server.connect(pipelined) as sock:
        deadline = time.monotonic() + 10
        assert [json.loads(read_response(sock, deadline)[1])["path"] for _ in range(2)] == ["/a", "/b"]
        sock.sendall(b"s")  # a byte more, and no more (plain uvicorn lets it cancel the keep-alive timer)
        seconds_until_closed(sock, HEAD_TIMEOUT + MARGIN)


def test_an_idle_kept_alive_connection_keeps_uvicorns_timeout(server: Server) -> None:
    """Not the head timer: idle between requests, a connection lasts ``timeout_keep_alive`` (2 s)."""
    with server.connect(GET) as sock:
        assert read_response(sock, time.monotonic() + 10)[0] == 200
        assert_stays_open(sock, HEAD_TIMEOUT * 2)
        sock.sendall(GET)
        assert read_response(sock, time.monotonic() + 10)[0] == 200
        elapsed = seconds_until_closed(sock, KEEP_ALIVE + MARGIN)
        assert elapsed > KEEP_ALIVE * 0.8


# -- the request body timeout


def test_a_slow_steady_body_is_not_cut(server: Server) -> None:
    """A body that keeps coming for twice the body timeout is answered: the body's timer restarts with each byte."""
    chunks = 25
    head = f"POST /upload HTTP/1.1\r\nHost: mock\r\nContent-Length: {chunks}\r\n\r\n".encode()
    with server.connect(head) as sock:
        start = time.monotonic()
        for _ in range(chunks):
            assert_stays_open(sock, BODY_TIMEOUT / 10)  # the pace of the upload, watching for a close
            sock.sendall(b"x")
        assert time.monotonic() - start > BODY_TIMEOUT * 2
        status, body = read_response(sock, time.monotonic() + 10)
    assert status == 200
    assert json.loads(body)["received"] == chunks


STALLED_BODY = b"POST /upload HTTP/1.1\r\nHost: mock\r\nContent-Length: 100\r\n\r\nx"
"""A complete head announcing 100 bytes of body, and one of them."""


@pytest.mark.parametrize(
    "payload",
    [STALLED_BODY, b"POST /upload HTTP/1.1\r\nHost: mock\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n"],
    ids=["one-byte-of-100", "nothing-after-100-continue"],
)
def test_a_stalled_request_body_is_dropped(server: Server, payload: bytes) -> None:
    log_start = server.log_size()
    with server.connect(payload) as sock:
        elapsed = seconds_until_closed(sock, BODY_TIMEOUT + MARGIN)  # (reading the 100 Continue, if any, first)
        assert elapsed > BODY_TIMEOUT * 0.8
        assert server.drops_logged(sock, since=log_start) == 1
    assert server.get()["ok"]


def test_a_body_is_timed_from_its_last_byte(server: Server) -> None:
    with server.connect(STALLED_BODY) as sock:
        assert_stays_open(sock, BODY_TIMEOUT * 0.6)
        sock.sendall(b"x")  # more body: the timer starts again
        assert_stays_open(sock, BODY_TIMEOUT * 0.6)  # past the first byte's deadline
        seconds_until_closed(sock, BODY_TIMEOUT + MARGIN)


def test_a_body_sent_after_the_answer_does_not_hold_the_connection(server: Server) -> None:
    """Answered early (``/early`` reads no body), a client trickling its body is closed after keep-alive."""
    head = b"POST /early HTTP/1.1\r\nHost: mock\r\nContent-Length: 100000\r\n\r\n"
    with server.connect(head) as sock:
        assert read_response(sock, time.monotonic() + 10)[0] == 200
        start = time.monotonic()
        while time.monotonic() - start < KEEP_ALIVE + MARGIN:
            try:
                sock.sendall(b"x")
            except OSError:
                break
            readable, _, _ = select.select([sock], [], [], HEAD_TIMEOUT / 5)
            if readable and not receive(sock, time.monotonic() + 1):
                break
        else:
            pytest.fail("the server kept the connection open")
        assert time.monotonic() - start > KEEP_ALIVE * 0.8


def test_a_normal_request_still_works_on_a_kept_alive_connection(server: Server) -> None:
    with server.connect(GET) as sock:
        for _ in range(3):
            status, body = read_response(sock, time.monotonic() + 10)
            assert status == 200
            assert json.loads(body)["path"] == "/ok"
            sock.sendall(GET)
        assert read_response(sock, time.monotonic() + 10)[0] == 200


# -- the connection cap


@pytest.mark.parametrize("http", HTTP)
def test_at_the_cap_the_oldest_waiting_connection_makes_room(tmp_path: Path, http: str) -> None:
    with serve(tmp_path, http, head_timeout=60, max_connections=8) as server:
        log_start = server.log_size()
        waiting = [server.connect(HALF_REQUEST_LINE) for _ in range(8)]
        try:
            assert server.get(timeout=10)["ok"]  # the ninth connection evicts the first
            seconds_until_closed(waiting[0], MARGIN)
            assert server.drops_logged(waiting[0], since=log_start) == 1
            waiting.append(server.connect(HALF_REQUEST_LINE))  # back at the cap, with room: no eviction
            for sock in waiting[1:]:
                assert_stays_open(sock, 0.05)
            assert server.get(timeout=10)["ok"]  # the next over the cap evicts the second
            seconds_until_closed(waiting[1], MARGIN)
            for sock in waiting[2:]:
                assert_stays_open(sock, 0)
        finally:
            for sock in waiting:
                sock.close()


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def read_exactly(sock: socket.socket, expected: bytes) -> None:
    """Read ``len(expected)`` bytes (within 10 s) and check they are ``expected``."""
    deadline = time.monotonic() + 10
    assert b"".join(receive(sock, deadline, 1) for _ in expected) == expected


def read_until(sock: socket.socket, end: bytes) -> None:
    """Read up to and including ``end`` (within 10 s)."""
    deadline, read = time.monotonic() + 10, b""
    while not read.endswith(end):
        byte = receive(sock, deadline, 1)
        assert byte, f"closed after {read!r}"
        read += byte


@pytest.mark.parametrize("http", HTTP)
def test_at_the_cap_with_every_connection_busy_the_newcomer_is_closed(tmp_path: Path, http: str) -> None:
    # /stream begins its answer with the body's first byte and ends it with the last: the connection is busy.
    with serve(tmp_path, http, head_timeout=60, body_timeout=60, max_connections=4) as server:
        busy = [server.connect(b"POST /stream HTTP/1.1\r\nHost: mock\r\nContent-Length: 2\r\n\r\nx") for _ in range(4)]
        try:
            for sock in busy:
                read_until(sock, b"\r\n\r\n{")  # the answer has begun
            with server.connect(HALF_REQUEST_LINE) as newcomer:
                seconds_until_closed(newcomer, MARGIN)
            for sock in busy:
                sock.sendall(b"x")
                read_until(sock, b"}")  # and ends
        finally:
            for sock in busy:
                sock.close()


@pytest.mark.parametrize("http", HTTP)
def test_at_the_cap_the_longest_stalled_body_makes_room_and_an_arriving_one_stays(tmp_path: Path, http: str) -> None:
    with serve(tmp_path, http, head_timeout=60, body_timeout=60, max_connections=2) as server:
        log_start = server.log_size()
        older, stalled = server.connect(STALLED_BODY), server.connect(STALLED_BODY)
        waiting = [older, stalled]
        try:
            assert_stays_open(older, STALLED_AFTER * 1.5)  # both silent past the grace (and not cut)
            older.sendall(b"x")  # the older connection's body moves on: now the other is silent longest
            assert_stays_open(older, STALLED_AFTER * 0.3)
            assert server.get(timeout=10)["ok"]  # the third connection evicts the stalled body
            seconds_until_closed(stalled, MARGIN)
            assert server.drops_logged(stalled, since=log_start) == 1
            assert_stays_open(older, 0)
            # At the cap with bodies arriving (each has had a byte this last second), a newcomer is refused.
            waiting.append(
                server.connect(
                    b"POST /upload HTTP/1.1\r\nHost: mock\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n"
                )
            )
            read_exactly(waiting[-1], CONTINUE)  # (its head is in: the app asked for its body)
            older.sendall(b"x")
            with server.connect(HALF_REQUEST_LINE) as newcomer:
                seconds_until_closed(newcomer, MARGIN)
            older.sendall(b"x" * 97)
            status, body = read_response(older, time.monotonic() + 10)
            assert (status, json.loads(body)["received"]) == (200, 100)
        finally:
            for sock in waiting:
                sock.close()


# -- the attack: 1,100 half requests against a 1,024 descriptor limit

ATTACKERS = 1_100
NOFILE = 1_024
FIRST_WAVE = 900
"""Stalled bodies sent below the default cap under :data:`NOFILE` (960), before the rest go past it."""


@pytest.fixture
def many_descriptors() -> Iterator[None]:
    """This process may hold the attack's sockets (its soft RLIMIT_NOFILE raised for the test)."""
    resource = pytest.importorskip("resource")
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit (util-linux) is not installed")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = ATTACKERS + 512
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"the hard descriptor limit ({hard}) is below {need}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.slow
@pytest.mark.usefixtures("many_descriptors")
@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("http", HTTP)
def test_a_flood_of_half_requests_does_not_lock_out_other_clients(tmp_path: Path, http: str, loop: str) -> None:
    # A head timeout longer than the test: only the cap (the default: the limit less the reserve) keeps the
    # server serving. On asyncio's loop, one turn can accept hundreds of sockets before any connection_made
    # runs, so the descriptors may still run out for a moment; asyncio then stops accepting for a second,
    # and the evictions have made room by the time it starts again. uvloop keeps up: no EMFILE at all.
    with serve(tmp_path, http, loop=loop, head_timeout=60, nofile=NOFILE) as server:
        attack: list[socket.socket] = []
        try:
            for _ in range(ATTACKERS):
                attack.append(server.connect(HALF_REQUEST_LINE))
            start = time.monotonic()
            assert server.get(timeout=10)["ok"]
            assert time.monotonic() - start < 10
            assert server.process.poll() is None
            seconds_until_closed(attack[0], MARGIN)  # the oldest made room
            assert server.get(timeout=10)["ok"]  # and the server goes on answering
            assert server.process.poll() is None
        finally:
            for sock in attack:
                sock.close()


@pytest.mark.slow
@pytest.mark.usefixtures("many_descriptors")
@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("http", HTTP)
def test_a_flood_of_stalled_bodies_does_not_lock_out_other_clients(tmp_path: Path, http: str, loop: str) -> None:
    # Timeouts longer than the test: only the cap's eviction of stalled bodies keeps the server serving.
    with serve(tmp_path, http, loop=loop, head_timeout=60, body_timeout=60, nofile=NOFILE) as server:
        attack: list[socket.socket] = []
        try:
            attack += [server.connect(STALLED_BODY) for _ in range(FIRST_WAVE)]
            assert_stays_open(attack[0], STALLED_AFTER * 1.5)  # below the cap, the bodies stall past the grace
            attack += [server.connect(STALLED_BODY) for _ in range(ATTACKERS - FIRST_WAVE)]  # past the cap
            assert server.get(timeout=10)["ok"]
            assert server.get(timeout=10)["ok"]  # and the server goes on answering
            assert server.process.poll() is None
        finally:
            for sock in attack:
                sock.close()


# -- the factory


def test_the_default_cap_leaves_descriptors_for_the_server() -> None:
    assert default_max_connections(1024) == 1024 - FD_RESERVE
    assert default_max_connections(256) == 192
    assert default_max_connections(64) == 32  # never below half the limit
    assert default_max_connections(1) == 1
    guarded = guarded_protocol("h11", head_timeout=2.5)
    assert getattr(guarded, "max_connections") == default_max_connections()  # noqa: B009
    assert getattr(guarded, "head_timeout") == 2.5  # noqa: B009
    assert getattr(guarded, "body_timeout") == DEFAULT_BODY_TIMEOUT  # noqa: B009
    assert getattr(guarded_protocol("h11", body_timeout=0.5), "body_timeout") == 0.5  # noqa: B009


def test_mh_mock_serve_defaults_to_the_guards_timeouts() -> None:
    from mh_mock.cli import build_parser
    from mh_mock.standalone.options import ServeOptions

    assert (ServeOptions().head_timeout, ServeOptions().body_timeout) == (DEFAULT_HEAD_TIMEOUT, DEFAULT_BODY_TIMEOUT)
    assert build_parser().parse_args(["serve", "--body-timeout", "2.5"]).body_timeout == 2.5


def test_the_factory_picks_the_implementation() -> None:
    assert issubclass(guarded_protocol("h11"), H11Protocol)
    assert guarded_protocol("h11") is not guarded_protocol("h11")  # a class per server configuration
    auto = guarded_protocol()
    if HAS_HTTPTOOLS:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        assert issubclass(guarded_protocol("httptools"), HttpToolsProtocol)
        assert issubclass(auto, HttpToolsProtocol)
    else:
        assert issubclass(auto, H11Protocol)
    for wrong in ({"http": "h2"}, {"head_timeout": 0}, {"body_timeout": 0}, {"max_connections": 0}):
        with pytest.raises(ValueError):
            guarded_protocol(**wrong)


@pytest.mark.slow
@pytest.mark.usefixtures("many_descriptors")
def test_mh_mock_serve_as_shipped_keeps_serving_beside_a_flood_of_half_requests() -> None:
    """The command users run: its defaults (the guard, uvloop when installed) under a 1,024-descriptor limit."""
    from .serving import serving

    with serving(prefix=["prlimit", f"--nofile={NOFILE}:{NOFILE}", "--"]) as served:
        attack: list[socket.socket] = []
        try:
            for _ in range(ATTACKERS):
                sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
                sock.sendall(HALF_REQUEST_LINE)
                attack.append(sock)
            with httpx.Client(timeout=10) as client:
                answer = client.get(f"{served.url}/v1/account", headers={"authorization": "Bearer well-behaved"})
            assert answer.status_code == 200 and answer.json()["credits"] == 10_000
            assert served.process.poll() is None
        finally:
            for sock in attack:
                sock.close()


def stalled_voice_request(port: int) -> bytes:
    """A complete head of a voice generation announcing 100 bytes of JSON body, and its first byte."""
    return (
        f"POST /v1/ai-voice-generator HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer stalled\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    ).encode()


def closed_within(socks: list[socket.socket], count: int, within: float) -> list[socket.socket]:
    """The ``count`` sockets of ``socks`` the server closes first (waiting ``within`` s at most)."""
    deadline, closed = time.monotonic() + within, []
    while len(closed) < count:
        readable, _, _ = select.select([s for s in socks if s not in closed], [], [], deadline - time.monotonic())
        assert readable, f"only {len(closed)} closed within {within:g} s"
        closed += [s for s in readable if not receive(s, deadline)]
    return closed


@pytest.mark.slow
def test_mh_mock_serve_as_shipped_answers_beside_stalled_bodies_and_drops_them() -> None:
    """``mh-mock serve --max-connections 20``: 20 stalled bodies lock out neither the API nor the control API."""
    from .serving import serving

    body_timeout = 6.0
    with serving("--max-connections", "20", "--body-timeout", str(body_timeout)) as served:
        stalled: list[socket.socket] = []
        try:
            for _ in range(20):
                stalled.append(socket.create_connection(("127.0.0.1", served.port), timeout=10))
                stalled[-1].sendall(stalled_voice_request(served.port))
            start = time.monotonic()
            assert_stays_open(stalled[-1], STALLED_AFTER * 1.5)  # every body silent past the grace
            with httpx.Client(timeout=10) as client:  # one connection each: each evicts a stalled body
                account = client.get(f"{served.url}/v1/account", headers={"authorization": "Bearer well-behaved"})
            assert account.status_code == 200 and account.json()["credits"] == 10_000
            stalled.append(socket.create_connection(("127.0.0.1", served.port), timeout=10))  # back at the cap
            stalled[-1].sendall(stalled_voice_request(served.port))
            with httpx.Client(timeout=10) as client:
                assert client.post(f"{served.url}/mh-mock-api/reset", json={}).status_code == 200
            evicted = closed_within(stalled, 2, MARGIN)  # two made room
            for sock in stalled:
                if sock not in evicted:
                    assert_stays_open(sock, 0)  # the others are still open: evictions, not the timeout
            for sock in stalled:  # and the body timeout closes them
                if sock not in evicted:
                    seconds_until_closed(sock, body_timeout + MARGIN)
            assert time.monotonic() - start > body_timeout * 0.8
            assert served.process.poll() is None
        finally:
            for sock in stalled:
                sock.close()


@pytest.mark.slow
@pytest.mark.usefixtures("many_descriptors")
def test_mh_mock_serve_as_shipped_keeps_serving_beside_a_flood_of_stalled_bodies() -> None:
    """Its defaults under a 1,024-descriptor limit: 1,100 stalled bodies (more than the cap) lock nobody out."""
    from .serving import serving

    with serving(prefix=["prlimit", f"--nofile={NOFILE}:{NOFILE}", "--"]) as served:
        attack: list[socket.socket] = []
        try:
            for count in range(ATTACKERS):
                if count == FIRST_WAVE:  # below the cap, the bodies stall past the grace
                    assert_stays_open(attack[0], STALLED_AFTER * 1.5)
                attack.append(socket.create_connection(("127.0.0.1", served.port), timeout=10))
                attack[-1].sendall(stalled_voice_request(served.port))
            with httpx.Client(timeout=10) as client:
                answer = client.get(f"{served.url}/v1/account", headers={"authorization": "Bearer well-behaved"})
            assert answer.status_code == 200 and answer.json()["credits"] == 10_000
            assert served.process.poll() is None
        finally:
            for sock in attack:
                sock.close()
