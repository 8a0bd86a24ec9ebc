"""Server subprocess for the standalone benchmark (started by bench/run.py, not by hand).

    python bench/_serve.py fake PORT WORKDIR   # mh-mock serve equivalent: create_app(Engine(standalone_config(...)))
    python bench/_serve.py bare PORT WORKDIR   # bare Starlette app answering the same JSON bytes

Both run under identical uvicorn settings: ``uvicorn.run(app, host="127.0.0.1", port=PORT,
log_level=LOG_LEVEL)`` in one process (1 worker), letting uvicorn bind the socket itself (so
TCP_NODELAY is set on accepted connections). The bare app reads ``WORKDIR/get.json`` and
``WORKDIR/post.json`` (captured from the fake by run.py) and answers them verbatim.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

LOG_LEVEL = "warning"
"""``mh-mock serve`` defaults to "info" (one access-log line per request); both servers here use
"warning" so the comparison measures request handling, not logging (see bench/README.md)."""


def fake_app(port: int) -> Starlette:
    from mh_mock.engine import Engine
    from mh_mock.server import create_app, standalone_config

    url = f"http://127.0.0.1:{port}"
    # Same as `mh-mock serve --port PORT --balance 1000000000000`: the balance only keeps a
    # few seconds of POST load from running out of credits (402/422 answers would skew it).
    return create_app(
        Engine(standalone_config(url, starting_balance=10**12)), freeze_gc_every=5_000
    )  # as `mh-mock serve`


def bare_app(workdir: Path) -> Starlette:
    deadline = time.monotonic() + 60
    while not (workdir / "bodies.ready").exists():  # run.py writes the bodies, then this marker
        if time.monotonic() > deadline:
            raise SystemExit("bodies.ready never appeared")
        time.sleep(0.01)
    get_body = (workdir / "get.json").read_bytes()
    post_body = (workdir / "post.json").read_bytes()
    headers = {"content-type": "application/json"}

    async def get_project(_: Request) -> Response:
        return Response(get_body, headers=headers)

    async def create(request: Request) -> Response:
        await request.body()
        return Response(post_body, headers=headers)

    async def ready(_: Request) -> Response:
        return Response(b"{}", headers=headers)

    return Starlette(
        routes=[
            Route("/v1/audio-projects/{id}", get_project, methods=["GET"]),
            Route("/v1/ai-voice-generator", create, methods=["POST"]),
            Route("/openapi.json", ready, methods=["GET"]),
        ]
    )


def gc_recorder(out: str) -> None:
    """Record every garbage collection (generation, pause) and write them as JSON at exit."""
    pauses: list[tuple[int, float]] = []
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], time.perf_counter() - started[0]))

    gc.callbacks.append(callback)
    atexit.register(lambda: Path(out).write_text(json.dumps(pauses)))


def main() -> None:
    kind, port, workdir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    app = fake_app(port) if kind == "fake" else bare_app(workdir)
    # Diagnostics for bench/profile_hotpaths.py (unset in bench/run.py): cProfile and GC pauses.
    if os.environ.get("MH_BENCH_GCSTATS"):
        gc_recorder(os.environ["MH_BENCH_GCSTATS"])
    profile_out = os.environ.get("MH_BENCH_PROFILE")
    if not profile_out:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level=LOG_LEVEL)
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level=LOG_LEVEL)  # returns on SIGINT/SIGTERM
    finally:
        profiler.disable()
        profiler.dump_stats(profile_out)


if __name__ == "__main__":
    main()
