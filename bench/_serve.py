"""Floor server subprocess for the standalone rows (started by bench/run.py, not by hand).

    python bench/_serve.py starlette PORT WORKDIR LOOP HTTP   # bare Starlette app
    python bench/_serve.py raw PORT WORKDIR LOOP HTTP         # raw ASGI callable

Both answer the bytes the fake answered (``WORKDIR/get.body``, ``WORKDIR/post.body`` and the
fake's response headers in ``WORKDIR/headers.json``, written by run.py once it has them; the
floor waits for ``WORKDIR/bodies.ready``). The POST handlers read the request body. They run
``uvicorn.run(app, host="127.0.0.1", port=PORT, loop=LOOP, http=HTTP, log_level="warning")``:
one process, no access log (the best a bare app does on that uvicorn stack).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def load_bodies(workdir: Path) -> tuple[bytes, bytes, list[tuple[str, str]]]:
    deadline = time.monotonic() + 120
    while not (workdir / "bodies.ready").exists():  # run.py writes the bodies, then this marker
        if time.monotonic() > deadline:
            raise SystemExit("bodies.ready never appeared")
        time.sleep(0.02)
    headers = [(str(k), str(v)) for k, v in json.loads((workdir / "headers.json").read_text())]
    return (workdir / "get.body").read_bytes(), (workdir / "post.body").read_bytes(), headers


def starlette_app(get_body: bytes, post_body: bytes, headers: list[tuple[str, str]]) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    extra = dict(headers)

    async def get_project(_: Request) -> Response:
        return Response(get_body, headers=extra)

    async def create(request: Request) -> Response:
        await request.body()
        return Response(post_body, headers=extra)

    return Starlette(
        routes=[
            Route("/v1/audio-projects/{id}", get_project, methods=["GET"]),
            Route("/v1/ai-voice-generator", create, methods=["POST"]),
        ]
    )


def raw_app(get_body: bytes, post_body: bytes, headers: list[tuple[str, str]]) -> Callable[..., Awaitable[None]]:
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    get_headers = [*encoded, (b"content-length", str(len(get_body)).encode())]
    post_headers = [*encoded, (b"content-length", str(len(post_body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "POST":
                more = True
                while more:  # read the request body, as the fake does
                    more = (await receive()).get("more_body", False)
                body, response_headers = post_body, post_headers
            else:
                body, response_headers = get_body, get_headers
            await send({"type": "http.response.start", "status": 200, "headers": response_headers})
            await send({"type": "http.response.body", "body": body})
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    return app


def main() -> None:
    kind, port, workdir, loop, http = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5]
    factory = {"starlette": starlette_app, "raw": raw_app}[kind]
    app = factory(*load_bodies(workdir))
    uvicorn.run(app, host="127.0.0.1", port=port, loop=loop, http=http, log_level="warning")


if __name__ == "__main__":
    main()
