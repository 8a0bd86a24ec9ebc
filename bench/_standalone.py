"""Standalone rows: ``mh-mock serve --port P`` under wrk, against floors and Prism, all in one run.

Servers, all running for the whole phase, each in its own process:

* the fake: the console script, exactly as the README starts it (``mh-mock serve --port P``, no
  other flag), once per uvicorn stack. uvicorn picks uvloop + httptools when they are importable;
  for the asyncio + h11 stack the fake is started with ``PYTHONPATH`` pointing at a directory
  whose ``uvloop`` and ``httptools`` packages raise ImportError, i.e. as in an install without
  them. The stack each process really loaded is read from ``/proc/PID/maps`` and noted.
* floors (``bench/_serve.py``): a bare Starlette app and a raw ASGI callable, answering the bytes
  the fake answered, on each stack (``loop=``/``http=`` given explicitly, no access log);
* Prism 5 (``prism mock CONTRACT -p PORT -v fatal``) on the vendor contract, the peer a user
  would otherwise pick.

Load: wrk, one run per (server, method) in each round, the order rotating every round, after
waiting for every server to be idle (the fake settles clock transitions of the projects a POST run
created); a cell is the median of the rounds.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from _common import (
    AUTH,
    CREATE_PATH,
    HERE,
    JSON_HEADERS,
    POST_BODY,
    Settings,
    Table,
    at_least,
    at_most,
    mb,
    ms,
    progress,
    project_path,
    rps,
)
from _servers import HIDE, Load, Server, find_prism, mh_mock_script, stacks_installed, wait_idle

STACKS = {"asyncio+h11": ("asyncio", "h11"), "uvloop+httptools": ("uvloop", "httptools")}
METHODS = {"GET": "GET project", "POST": "POST create"}
FLOORS = {"starlette": "bare Starlette", "raw": "raw ASGI"}
DEFAULT_CONTRACT = Path("/work/shared/contract/openapi-audio.json")


def m_rps(method: str, stack: str, floor: str) -> str:
    return f"standalone {METHODS[method]} [{stack}]: throughput, mh-mock serve vs {FLOORS[floor]}"


def m_p99(method: str, stack: str, floor: str) -> str:
    return f"standalone {METHODS[method]} [{stack}]: p99 latency, mh-mock serve vs {FLOORS[floor]}"


def m_prism(method: str, stack: str) -> str:
    return f"standalone {METHODS[method]}: throughput, mh-mock serve [{stack}] vs Prism 5"


def m_rss(stack: str) -> str:
    return f"standalone RSS after load [{stack}]: mh-mock serve vs bare Starlette"


def m_held(method: str) -> str:
    return f"standalone {METHODS[method]} [uvloop+httptools]: throughput, a fake holding few projects vs many"


MEASUREMENTS = (
    [m(method, stack, floor) for stack in STACKS for method in METHODS for m in (m_rps, m_p99) for floor in FLOORS]
    + [m_prism(method, stack) for method in METHODS for stack in STACKS]
    + [m_rss(stack) for stack in STACKS]
    + [m_held(method) for method in METHODS]
)
TARGET_P99, TARGET_PRISM = "≤ 2x", "≥ 3x"
TARGET_RPS = {"GET": ("≥ 0.75x", 0.75), "POST": ("≥ 0.6x (aim 0.75x)", 0.6)}
"""Issue 21's throughput targets, against bare Starlette on the same stack (the raw ASGI rows are info)."""


# ---------------------------------------------------------------------------- the phase


@dataclass
class Options:
    prism: str | None  # --prism
    contract: Path


def bench_standalone(s: Settings, table: Table, options: Options) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="mh-bench-serve-"))
    try:
        with started_servers(s, table, options, workdir) as servers:
            measure(s, table, servers)
        held(s, table, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def held(s: Settings, table: Table, workdir: Path) -> None:
    """Two fakes, one holding few projects and one many (made by wrk POSTs): their GET and POST
    throughput, interleaved; flat means the many cost nothing per request (ratio few/many ≤ 1.1)."""
    script = mh_mock_script()
    if shutil.which("wrk") is None or script is None or not stacks_installed():
        for method in METHODS:
            table.unavailable(m_held(method), "wrk, the console script or uvloop/httptools missing", "≤ 1.1x")
        return
    counts = {"few": s.held_small, "many": s.held_large}
    command = [script, "serve", "--port", "{port}"]
    fakes = {name: Server(f"fake {name}", "fake", "uvloop+httptools", command, workdir) for name in counts}
    load = Load(s.wrk_threads, s.wrk_connections)
    try:
        for fake in fakes.values():
            fake.start()
            fake.wait_ready()
        for name, fake in fakes.items():
            progress(f"standalone: filling {fake.key} to {counts[name]:,} projects")
            while (have := httpx.get(f"{fake.url}/mh-mock-api/state").json()["projects"]) < counts[name]:
                load.run(fake.url + CREATE_PATH, "POST", max(1, min(30, (counts[name] - have) // 5000)), f"f{have}")
            with httpx.Client(base_url=fake.url, headers=AUTH, timeout=10) as client:
                project_id = client.post(CREATE_PATH, content=POST_BODY, headers=JSON_HEADERS).json()["id"]
                client.post(f"/mh-mock-api/projects/{project_id}/finish", json={})
            fake.get_path = project_path(project_id)
        results: dict[tuple[str, str], list[float]] = {}
        for rep in range(s.sa_runs):
            for method in METHODS:
                for name in ("few", "many") if rep % 2 == 0 else ("many", "few"):
                    fake = fakes[name]
                    wait_idle(list(fakes.values()))
                    url = fake.url + (fake.get_path if method == "GET" else CREATE_PATH)
                    results.setdefault((name, method), []).append(load.run(url, method, s.sa_seconds, f"h{rep}")["rps"])
        for method in METHODS:
            few, many = (statistics.median(results[(name, method)]) for name in ("few", "many"))
            table.add(m_held(method), few, many, rps, "≤ 1.1x", at_most(1.1))
        sizes = "; ".join(f"{fake.key}: {fake_state(fake)}" for fake in fakes.values())
        table.note(
            f"held projects: two `mh-mock serve` processes, filled by wrk POSTs to {s.held_small:,} and "
            f"{s.held_large:,} projects, then GET and POST runs interleaved as above (the fake column is the few, "
            f"the floor column the many; RSS {', '.join(f'{k} {mb(v.rss() or 0)}' for k, v in fakes.items())}); {sizes}"
        )
    finally:
        for fake in fakes.values():
            fake.stop()


def unavailable_all(table: Table, names: list[str], reason: str) -> None:
    for name in names:
        table.unavailable(name, reason, target_of(name))


def target_of(name: str) -> str:
    if name.endswith("vs raw ASGI"):
        return ""
    if ": throughput, mh-mock serve vs" in name:
        return TARGET_RPS["POST" if name.startswith("standalone POST") else "GET"][0]
    if ": p99 latency" in name:
        return TARGET_P99
    if name.endswith("vs Prism 5") and name.startswith("standalone GET"):
        return TARGET_PRISM
    return ""


@contextlib.contextmanager
def started_servers(s: Settings, table: Table, options: Options, workdir: Path) -> Iterator[list[Server]]:
    script = mh_mock_script()
    if script is None:
        raise RuntimeError("the mh-mock console script is not installed (pip install -e .)")
    stacks = list(STACKS) if stacks_installed() else ["asyncio+h11"]
    if not stacks_installed():
        reason = "uvloop/httptools not installed (pip install uvloop httptools)"
        unavailable_all(table, [name for name in MEASUREMENTS if "uvloop+httptools" in name], reason)
    hide = workdir / "hide"
    for name in ("uvloop", "httptools"):
        (hide / name).mkdir(parents=True)
        (hide / name / "__init__.py").write_text(HIDE.format(name=name))
    pythonpath = os.pathsep.join(filter(None, [str(hide), os.environ.get("PYTHONPATH")]))
    servers: list[Server] = []
    for stack in stacks:
        env = {"PYTHONPATH": pythonpath} if stack == "asyncio+h11" else {}
        servers.append(Server(f"fake {stack}", "fake", stack, [script, "serve", "--port", "{port}"], workdir, env))
        loop, http = STACKS[stack]
        for floor in FLOORS:
            command = [sys.executable, str(HERE / "_serve.py"), floor, "{port}", str(workdir), loop, http]
            servers.append(Server(f"{floor} {stack}", floor, stack, command, workdir))
    prism = find_prism(options.prism)
    prism_reason = ""
    if prism is None:
        prism_reason = (
            "Prism not found (npm install --prefix DIR @stoplight/prism-cli; pass --prism DIR/node_modules/.bin/prism)"
            if (options.prism or "").lower() != "none"
            else "Prism disabled (--prism none)"
        )
    elif not options.contract.is_file():
        prism_reason = f"vendor contract not found at {options.contract} (pass --contract)"
    else:
        command = [prism, "mock", str(options.contract), "-p", "{port}", "-v", "fatal"]
        servers.append(Server("prism", "prism", "node", command, workdir))
    if prism_reason:
        unavailable_all(table, [name for name in MEASUREMENTS if "Prism" in name], prism_reason)
    try:
        progress("standalone: starting " + ", ".join(server.key for server in servers))
        for server in servers:
            server.start()
        capture_bodies(servers, workdir)
        for server in servers:
            server.wait_ready()
        check_answers(servers)
        yield servers
    finally:
        for server in servers:
            server.stop()


def capture_bodies(servers: list[Server], workdir: Path) -> None:
    """Create a project on every fake and wait for it to complete; write the floors' bodies."""
    fakes = [server for server in servers if server.role == "fake"]
    for fake in fakes:
        fake.wait_ready()
    captured: dict[str, tuple[str, httpx.Response, httpx.Response]] = {}
    for fake in fakes:
        with httpx.Client(base_url=fake.url, headers=AUTH, timeout=10) as client:
            created = client.post(CREATE_PATH, content=POST_BODY, headers=JSON_HEADERS)
            assert created.status_code == 200, created.text
            project_id = created.json()["id"]
            # Documented admin route; if it is gone, the project completes on the real-time clock (~4 s).
            client.post("/mh-mock-api/clock/advance", json={"seconds": 30})
            deadline = time.monotonic() + 30
            while (got := client.get(project_path(project_id))).json().get("status") != "complete":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{fake.key}: project {project_id} did not complete: {got.text}")
                time.sleep(0.2)
        captured[fake.key] = (project_id, got, created)
    first_id, got, created = next(iter(captured.values()))
    headers = [(k, v) for k, v in got.headers.items() if k.lower() not in ("date", "server", "content-length")]
    (workdir / "get.body").write_bytes(got.content)
    (workdir / "post.body").write_bytes(created.content)
    (workdir / "headers.json").write_text(json.dumps(headers))
    (workdir / "bodies.ready").touch()
    for server in servers:  # a fake GETs its own project; the others any id (the same path as the first fake)
        server.get_path = project_path(captured[server.key][0] if server.key in captured else first_id)


def check_answers(servers: list[Server]) -> None:
    """Every server answers the GET and the POST of the load with a 200 before any load."""
    for server in servers:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as client:
            got = client.get(server.get_path)
            created = client.post(CREATE_PATH, content=POST_BODY, headers=JSON_HEADERS)
        if got.status_code != 200 or created.status_code != 200:
            raise RuntimeError(
                f"{server.key}: GET {got.status_code} {got.text[:200]}; POST {created.status_code} {created.text[:200]}"
            )


def spread(runs: list[dict[str, float]]) -> str:
    values = [run["rps"] for run in runs]
    return f"{min(values):,.0f} to {max(values):,.0f}" if values else "-"


def fake_state(server: Server) -> str:
    """The fake's own counters, from its documented admin route (informational)."""
    try:
        state = httpx.get(f"{server.url}/mh-mock-api/state", timeout=30).json()
        return f"{server.key} {state.get('projects', '?'):,} projects, {state.get('accounts', '?'):,} accounts"
    except (httpx.HTTPError, ValueError, TypeError) as error:
        return f"{server.key} unknown ({error.__class__.__name__})"


def measure(s: Settings, table: Table, servers: list[Server]) -> None:
    if shutil.which("wrk") is None:
        unavailable_all(
            table, [n for n in MEASUREMENTS if n not in table.rows], "wrk not installed (apt-get install wrk)"
        )
        return
    load = Load(s.wrk_threads, s.wrk_connections)

    def url(server: Server, method: str) -> str:
        return server.url + (server.get_path if method == "GET" else CREATE_PATH)

    if s.sa_warmup:
        for server in servers:
            for method in METHODS:
                progress(f"standalone: warm-up {server.key} {method}")
                load.run(url(server, method), method, s.sa_warmup, f"w{server.port}")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    waited: list[float] = []
    for rep in range(s.sa_runs):
        for index, method in enumerate(METHODS):
            shift = (rep * len(METHODS) + index) % len(servers)
            for server in servers[shift:] + servers[:shift]:
                waited.append(wait_idle(servers))
                progress(f"standalone: round {rep + 1}/{s.sa_runs} {method} {server.key}")
                outcome = load.run(url(server, method), method, s.sa_seconds, f"r{rep}p{server.port}")
                results.setdefault((server.key, method), []).append(outcome)

    def cell(key: str, method: str, metric: str) -> float | None:
        runs = results.get((key, method))
        return statistics.median(run[metric] for run in runs) if runs else None

    stacks = sorted({server.stack for server in servers if server.role == "fake"}, key=list(STACKS).index)
    for stack in stacks:
        fake = f"fake {stack}"
        for method in METHODS:
            for floor in FLOORS:
                other = f"{floor} {stack}"
                target, ratio = TARGET_RPS[method]
                targets = ((target, at_least(ratio)), (TARGET_P99, at_most(2.0))) if floor == "starlette" else ((), ())
                table.add(m_rps(method, stack, floor), cell(fake, method, "rps"), cell(other, method, "rps"), rps,
                          *targets[0])  # fmt: skip
                table.add(m_p99(method, stack, floor), cell(fake, method, "p99"), cell(other, method, "p99"), ms,
                          *targets[1])  # fmt: skip
        if any(server.role == "prism" for server in servers):
            for method in METHODS:
                table.add(m_prism(method, stack), cell(fake, method, "rps"), cell("prism", method, "rps"), rps,
                          *((TARGET_PRISM, at_least(3.0)) if method == "GET" else ()))  # fmt: skip
        by_key = {server.key: server for server in servers}
        table.add(m_rss(stack), by_key[fake].rss(), by_key[f"starlette {stack}"].rss(), mb)

    total = {
        server.key: sum(int(r["requests"]) for m in METHODS for r in results.get((server.key, m), []))
        for server in servers
    }
    bad = {
        server.key: sum(int(r["bad"]) for m in METHODS for r in results.get((server.key, m), [])) for server in servers
    }
    table.note(
        f"standalone load: {load.describe()} (one load thread on the core the single-process server leaves free; "
        f"16 keep-alive connections keep the server saturated), {s.sa_seconds} s per run, median of {s.sa_runs} "
        f"round(s); each round runs every server once per method, order rotating; before each run the bench waits "
        f"until every server is idle (median wait {statistics.median(waited) if waited else 0:.2f} s, max "
        f"{max(waited, default=0):.2f} s; nobody observes the fake's transitions here, so its ticker has nothing to "
        "do after a POST run). "
        "Latencies are under that saturating load, with wrk 4's coordinated-omission correction. POST tokens change "
        "every 2,000 requests (the fake's default balance is 10,000 credits per account)."
    )
    table.note(
        "standalone cells (median req/s [lowest to highest round], median p50, median p99): "
        + "; ".join(
            f"{key} {method} {rps(cell(key, method, 'rps') or 0)} [{spread(results.get((key, method), []))}] "
            f"{ms(cell(key, method, 'p50') or 0)} {ms(cell(key, method, 'p99') or 0)}"
            for key in total
            for method in METHODS
        )
    )
    table.note("standalone processes: " + "; ".join(server.describe() for server in servers))
    fake_logs = [server for server in servers if server.role == "fake"]
    access_lines = sum(server.log.read_text(errors="replace").count('"GET /v1/audio-projects/') for server in fake_logs)
    table.note(
        f"the fake as started writes an access-log line per request to stdout (here a file): "
        f"{'yes' if access_lines else 'no'} ({access_lines:,} GET lines); the floors run with log_level='warning'"
    )
    mismatched = [f"{x.key} loaded {x.loaded()}" for x in servers if x.role != "prism" and x.loaded() != x.stack]
    if mismatched:
        table.note("WARNING: a server did not run on its stack: " + "; ".join(mismatched))
    table.note(f"standalone requests served: {', '.join(f'{k} {v:,}' for k, v in total.items())}")
    table.note(
        "fake state after the load (GET /mh-mock-api/state): " + "; ".join(fake_state(server) for server in fake_logs)
    )
    if any(bad.values()):
        table.note(
            "WARNING: non-2xx answers or socket errors (throughput suspect): "
            + ", ".join(f"{k} {v:,}" for k, v in bad.items() if v)
        )
