"""What the fake's ASGI app costs per request, without a server: where the standalone gap lies.

    .venv/bin/python bench/app_cost.py [ROUNDS]

Calls the app ``mh-mock serve`` runs (``create_app``, an internal entry point: this script
separates the app's own cost from uvicorn's) directly with ASGI messages, for a GET of a complete
project and a POST create, against a bare Starlette app answering the same bytes (its POST
handler reads the body). Calls are interleaved in rounds of 5,000 per target; each figure is the
median of the rounds' per-call wall time. No sockets, no event-loop I/O: what is left of the
served gap in bench/run.py after subtracting these numbers is the server's share (the protocol
guard, the ticker's settling of transitions, a larger heap).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from mh_mock.engine import Engine
from mh_mock.standalone.app import create_app, standalone_config
from mh_mock.standalone.options import ServeOptions

URL = "http://127.0.0.1:8000"
BODY = json.dumps({"name": "bench", "style": {"prompt": "Hello from the bench.", "voice_name": "Elon Musk"}}).encode()
PER_ROUND = 5_000


def _scope(method: str, path: str, token: str) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode()), (b"user-agent", b"bench")]
    if method == "POST":
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
    return {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
        "scheme": "http", "headers": headers, "http_version": "1.1", "root_path": "",
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
    }  # fmt: skip


class _Exchange:
    """The receive and send callables of one kind of request; keeps the last answer."""

    def __init__(self, body: bytes) -> None:
        self.message: MutableMapping[str, Any] = {"type": "http.request", "body": body, "more_body": False}
        self.status = 0
        self.content = b""

    async def receive(self) -> MutableMapping[str, Any]:
        return self.message

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.content = message.get("body", b"")


async def _round(app: ASGIApp, scopes: Callable[[int], dict[str, Any]], exchange: _Exchange, start: int) -> float:
    began = time.perf_counter()
    for i in range(start, start + PER_ROUND):
        await app(scopes(i), exchange.receive, exchange.send)
    elapsed = (time.perf_counter() - began) / PER_ROUND
    if exchange.status != 200:
        raise SystemExit(f"unexpected answer {exchange.status}: {exchange.content[:200]!r}")
    return elapsed


async def main(rounds: int) -> None:
    fake = create_app(Engine(standalone_config(URL)), ServeOptions(public_url=URL))
    post = _Exchange(BODY)
    await fake(_scope("POST", "/v1/ai-voice-generator", "mhk_bench_get"), post.receive, post.send)
    project = json.loads(post.content)["id"]
    fake.engine.controls.advance(3600)
    get = _Exchange(b"")
    await fake(_scope("GET", f"/v1/audio-projects/{project}", "mhk_bench_get"), get.receive, get.send)
    answers = {"GET": get.content, "POST": post.content}

    async def floor_get(_: Request) -> Response:
        return Response(answers["GET"], media_type="application/json")

    async def floor_post(request: Request) -> Response:
        await request.body()
        return Response(answers["POST"], media_type="application/json")

    floor = Starlette(routes=[
        Route("/v1/audio-projects/{id}", floor_get), Route("/v1/ai-voice-generator", floor_post, methods=["POST"]),
    ])  # fmt: skip
    get_scope = _scope("GET", f"/v1/audio-projects/{project}", "mhk_bench_get")
    scopes: dict[str, Callable[[int], dict[str, Any]]] = {
        "GET": lambda _: get_scope,
        # a new token every 2,000 creates: each account starts with 10,000 credits, a create costs 2
        "POST": lambda i: _scope("POST", "/v1/ai-voice-generator", f"mhk_bench_{i // 2000}"),
    }
    times: dict[tuple[str, str], list[float]] = {}
    created = 0
    for index in range(rounds + 1):  # the first round warms up, untimed
        order: list[tuple[str, ASGIApp]] = [("fake", fake), ("starlette", floor)]
        if index % 2:
            order.reverse()
        for method in ("GET", "POST"):
            for name, app in order:
                exchange = get if method == "GET" else post
                elapsed = await _round(app, scopes[method], exchange, created)
                if name == "fake" and method == "POST":
                    created += PER_ROUND
                if index:
                    times.setdefault((name, method), []).append(elapsed)
    print(f"ASGI app cost per request, median of {rounds} rounds of {PER_ROUND:,} calls (no server):")
    for method in ("GET", "POST"):
        mine, bare = (statistics.median(times[name, method]) * 1e6 for name in ("fake", "starlette"))
        print(
            f"  {method:4}  mh-mock {mine:6.1f} µs   bare Starlette {bare:6.1f} µs   difference {mine - bare:6.1f} µs"
        )
    print(f"  (the fake held {created + 1:,} projects at the end)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 7))
