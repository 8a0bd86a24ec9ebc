"""Where does the fake's time go? cProfile comparisons of the fake against its floor (public API only).

    .venv/bin/python bench/profile_hotpaths.py inprocess              # GET through MhMock vs a bare respx route
    .venv/bin/python bench/profile_hotpaths.py standalone [STACK] [S]  # mh-mock serve vs bare Starlette under wrk

``standalone`` runs ``python -m cProfile -o FILE <mh-mock script> serve --port P`` (the console
script, as the README starts it) and the Starlette floor the same way, loads each with wrk for
S seconds (default 5) on STACK (``asyncio+h11`` default, or ``uvloop+httptools``), and prints
per-request costs. cProfile inflates call-heavy code: use these tables to attribute time ("which
function"), and bench/run.py for how much it costs.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ["MAGIC_HOUR_POLL_INTERVAL"] = "0"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import respx
from _common import API, AUTH, project_path
from _inprocess import complete_project
from _servers import HIDE, Load, Server, mh_mock_script
from _standalone import STACKS, capture_bodies

from mh_mock import MhMock

Table = dict[str, tuple[float, float, float]]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/bench/"):
        if marker in filename:
            return filename.split(marker)[-1]
    return re.sub(r".*/lib/python3\.\d+/", "", filename)


def per_request(stats: pstats.Stats, requests: int) -> Table:
    """function -> (calls per request, self µs per request, cumulative µs per request)."""
    out: Table = {}
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        out[f"{_short(filename)}:{line}({name})"] = (
            ncalls / requests,
            tottime / requests * 1e6,
            cumtime / requests * 1e6,
        )
    return out


def print_diff(title: str, fake: Table, floor: Table, top: int = 30) -> None:
    print(f"\n### {title}\n")
    print("| self µs/req fake-floor | cum µs/req fake-floor | calls/req fake | calls/req floor | function |")
    print("|---:|---:|---:|---:|---|")
    rows = []
    for key in set(fake) | set(floor):
        a, b = fake.get(key, (0, 0, 0)), floor.get(key, (0, 0, 0))
        rows.append((a[1] - b[1], a[2] - b[2], a[0], b[0], key))
    for self_diff, cum_diff, calls_a, calls_b, key in sorted(rows, reverse=True)[:top]:
        print(f"| {self_diff:.1f} | {cum_diff:.1f} | {calls_a:.1f} | {calls_b:.1f} | `{key}` |")


def print_top(title: str, table: Table, only: tuple[str, ...], top: int = 30) -> None:
    print(f"\n### {title}\n")
    print("| cum µs/req | self µs/req | calls/req | function |")
    print("|---:|---:|---:|---|")
    rows = [
        item
        for item in sorted(table.items(), key=lambda item: item[1][2], reverse=True)
        if any(p in item[0] for p in only)
    ]
    for name, (calls, self_us, cum_us) in rows[:top]:
        print(f"| {cum_us:.1f} | {self_us:.1f} | {calls:.2f} | `{name}` |")


def inprocess(calls: int = 3000) -> None:
    http = httpx.Client(headers=AUTH)
    with MhMock() as fake:
        project_id = complete_project(http, fake.api_url)
        answer = http.get(f"{fake.api_url}{project_path(project_id)}")
        url = f"{API}{project_path(project_id)}"

        def profile(call: Callable[[], object]) -> pstats.Stats:
            for _ in range(200):
                call()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(calls):
                call()
            profiler.disable()
            return pstats.Stats(profiler)

        fake_stats = profile(lambda: http.get(url).json())
    with respx.mock(assert_all_called=False) as router:
        router.get(url).respond(content=answer.content, headers={"content-type": answer.headers["content-type"]})
        floor_stats = profile(lambda: http.get(url).json())
    fake_us, floor_us = (stats.total_tt / calls * 1e6 for stats in (fake_stats, floor_stats))  # type: ignore[attr-defined]
    print(f"\n## in-process GET: cProfile total {fake_us:.0f} µs/req fake, {floor_us:.0f} µs/req floor")
    print_diff(
        "in-process GET: MhMock minus bare respx route (default mocker), µs per request",
        per_request(fake_stats, calls),
        per_request(floor_stats, calls),
    )


def standalone(stack: str = "asyncio+h11", seconds: int = 5) -> None:
    script = mh_mock_script()
    assert script, "the mh-mock console script is not installed"
    workdir = Path(tempfile.mkdtemp(prefix="mh-bench-profile-"))
    env: dict[str, str] = {}
    if stack == "asyncio+h11":
        for name in ("uvloop", "httptools"):
            (workdir / "hide" / name).mkdir(parents=True)
            (workdir / "hide" / name / "__init__.py").write_text(HIDE.format(name=name))
        env["PYTHONPATH"] = str(workdir / "hide")
    loop, http = STACKS[stack]
    profiled = [sys.executable, "-m", "cProfile", "-o"]
    fake = Server(
        "fake",
        "fake",
        stack,
        [*profiled, str(workdir / "fake.prof"), script, "serve", "--port", "{port}"],
        workdir,
        env,
    )
    floor_command = [*profiled, str(workdir / "floor.prof"), str(Path(__file__).parent / "_serve.py"), "starlette"]
    floor = Server("starlette", "starlette", stack, [*floor_command, "{port}", str(workdir), loop, http], workdir)
    load = Load(1, 16)
    results = {}
    try:
        for server in (fake, floor):
            server.start()
        capture_bodies([fake, floor], workdir)
        floor.wait_ready()
        for server in (fake, floor):
            for method in ("GET", "POST"):
                target = server.url + (server.get_path if method == "GET" else "/v1/ai-voice-generator")
                results[server.key, method] = load.run(target, method, seconds, f"p{server.port}")
    finally:
        fake.stop()
        floor.stop()
    requests = {key: sum(int(results[key, m]["requests"]) for m in ("GET", "POST")) for key in ("fake", "starlette")}
    fake_table = per_request(pstats.Stats(str(workdir / "fake.prof")), requests["fake"])
    floor_table = per_request(pstats.Stats(str(workdir / "floor.prof")), requests["starlette"])
    print(
        f"\n## standalone [{stack}], GET + POST under cProfile: "
        + ", ".join(f"{k} {v} requests" for k, v in requests.items())
    )
    for (key, method), result in results.items():
        print(f"- {key} {method}: {result['rps']:.0f} req/s under cProfile")
    print_top(
        "fake: mh_mock functions by cumulative time (µs per request, GET and POST mixed)", fake_table, ("mh_mock/",)
    )
    print_diff("fake minus bare Starlette (µs per request, GET and POST mixed)", fake_table, floor_table)
    shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "inprocess"
    if command == "inprocess":
        inprocess()
    elif command == "standalone":
        stack = sys.argv[2] if len(sys.argv) > 2 else "asyncio+h11"
        standalone(stack, int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
