"""The ``mh_webhooks`` fixture's receiver: verifies signatures, records events, waits for one.

A :class:`WebhookInbox` checks every delivery as a real receiver must (the vendor's signature
over ``"{timestamp}.{body}"``, and the timestamp's freshness), keeps the events in order, and
answers 200 (or what :attr:`WebhookInbox.answer` says). In-process the fake calls
:meth:`WebhookInbox.receive` directly; against a running server, :class:`WebhookServer` is one
real HTTP receiver per test session, with a path per test. Its threads only wait for requests.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from mh_mock.webhooks import verify_request

if TYPE_CHECKING:
    from mh_mock.control.remote import Control

__all__ = ["WebhookInbox", "WebhookServer"]

MAX_BODY = 1 << 20
"""A delivery is a project's JSON: anything larger is refused (413)."""


class WebhookInbox:
    """Deliveries to one test's webhook endpoint: verified, recorded, waited for."""

    def __init__(self, fake: Control, url: str | None = None) -> None:
        self.fake = fake
        self.url = url
        """Where the endpoint listens (None in-process: the fake calls :meth:`receive`)."""
        self.secret = "whsec_" + secrets.token_hex(16)
        self.events: list[dict[str, Any]] = []
        """Every verified event, in arrival order: ``{"type", "payload"}``."""
        self.rejected = 0
        """Deliveries whose signature or timestamp did not verify (answered 401)."""
        self.answer = 200
        """The status every verified delivery is answered with (set 500 to make the fake retry)."""
        self._arrived = threading.Condition()

    def receive(self, headers: Mapping[str, str], body: bytes) -> int:
        """Take one delivery; returns the status answered."""
        if not verify_request(self.secret, headers, body):
            with self._arrived:
                self.rejected += 1
            return 401
        event = json.loads(body)
        with self._arrived:
            if self.answer < 300:
                self.events.append(event)
                self._arrived.notify_all()
        return self.answer

    def types(self, project_id: str | None = None) -> list[str]:
        """The event types received (for one project, if given), in order."""
        return [e["type"] for e in self.events if project_id is None or e["payload"]["id"] == project_id]

    def wait_for(self, event: str, project_id: str | None = None, *, timeout: float = 10.0) -> dict[str, Any]:
        """The first ``event`` (of ``project_id``) received, waiting up to ``timeout`` seconds for it.

        It first asks the fake to send every delivery that is due (``deliver_webhooks()``: on a
        running server deliveries leave on a timer; in-process they have already gone), so a test
        waits only for the network. An AssertionError lists what did arrive if it never comes."""
        self.fake.deliver_webhooks()
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = self._find(event, project_id)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    break
                self._arrived.wait(left)
        if found is None:
            wanted = event if project_id is None else f"{event} of project {project_id}"
            raise AssertionError(
                f"no {wanted} arrived within {timeout} s; received: {self.types() or 'nothing'}"
                + (f" ({self.rejected} refused: bad signature)" if self.rejected else "")
            )
        return found

    def _find(self, event: str, project_id: str | None) -> dict[str, Any] | None:
        return next(
            (e for e in self.events if e["type"] == event and (project_id is None or e["payload"]["id"] == project_id)),
            None,
        )


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        inbox = self.server.inboxes.get(self.path)
        length = int(self.headers.get("content-length") or 0)
        if inbox is None or length > MAX_BODY:
            self.send_response(404 if inbox is None else 413)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        status = inbox.receive(dict(self.headers.items()), self.rfile.read(length))
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: a test's output is not the place for an access log


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    inboxes: dict[str, WebhookInbox]


class WebhookServer:
    """One real HTTP webhook receiver for a test session; each test gets an inbox at a path of its own."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = _Server((host, 0), _Handler)
        self._server.inboxes = {}
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="mh-mock webhooks")

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @contextmanager
    def inbox(self, fake: Control) -> Iterator[WebhookInbox]:
        """A new inbox at a path of its own, for as long as the block lasts."""
        path = f"/hooks/{secrets.token_hex(8)}"
        inbox = WebhookInbox(fake, self.url + path)
        self._server.inboxes[path] = inbox
        try:
            yield inbox
        finally:
            del self._server.inboxes[path]
