"""The served fake against its floor, side by side, in one short run: where a change to the server shows.

    .venv/bin/python bench/served.py                        # GET and POST, 3 x 8 s each, interleaved
    .venv/bin/python bench/served.py --projects 300000      # the same with the fake holding 300k projects first
    .venv/bin/python bench/served.py --profile DIR          # also py-spy (all threads) under each load

``mh-mock serve`` runs exactly as the README starts it (its defaults: uvloop + httptools); the floor
is the bench's bare Starlette app answering the same bytes (bench/_serve.py) on the same stack.
wrk drives both with keep-alive connections (bench/wrk_get.lua, bench/wrk_post.lua). Each cell is
the median of the repetitions; CPU µs per request is the server process's user+system time over
the requests it answered. This is the quick loop for the standalone rows of bench/run.py, which
remains the reference table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import AUTH, CREATE_PATH, POST_BODY, project_path  # noqa: E402
from _servers import free_port, mh_mock_script  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"{url} never answered")


def _wrk(url: str, script: str, seconds: float, connections: int, *args: str) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "-s", str(HERE / script), url, "--", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("BENCHJSON "))
    result: dict[str, float] = json.loads(line.split(" ", 1)[1])
    return result


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _fill(url: str, projects: int) -> None:
    """Make the fake hold ``projects`` projects (wrk POSTs with fresh tokens until it does)."""
    while True:
        held = httpx.get(f"{url}/mh-mock-api/state").json()["projects"]
        if held >= projects:
            return
        _wrk(url + CREATE_PATH, "wrk_post.lua", max(1.0, (projects - held) / 8000), 16, f"fill{held}")


def _profile(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("(py-spy is not installed: no profile)", file=sys.stderr)
        return None
    command = [spy, "record", "--pid", str(pid), "--threads", "--idle", "--rate", "200", "--duration"]
    command += [str(int(seconds)), "--format", "raw", "--nonblocking", "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--projects", type=int, default=0, help="projects the fake holds before the runs")
    parser.add_argument("--profile", type=Path, help="a folder for py-spy's collapsed stacks of each run")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mh-served-"))
    fake_port, floor_port = free_port(), free_port()
    script = mh_mock_script()
    assert script is not None, "no mh-mock console script"
    fake = _start([script, "serve", "--port", str(fake_port), "--log-level", "warning"])
    fake_url = f"http://127.0.0.1:{fake_port}"
    floor = None
    try:
        _wait(f"{fake_url}/mh-mock-api/state")
        if options.projects:
            _fill(fake_url, options.projects)
        created = httpx.post(
            fake_url + CREATE_PATH, content=POST_BODY, headers={**AUTH, "content-type": "application/json"}
        )
        httpx.post(f"{fake_url}/mh-mock-api/projects/{created.json()['id']}/finish", json={})
        got = httpx.get(fake_url + project_path(created.json()["id"]), headers=AUTH)
        (work / "get.body").write_bytes(got.content)
        (work / "post.body").write_bytes(created.content)
        (work / "headers.json").write_text(json.dumps([["content-type", "application/json"]]))
        (work / "bodies.ready").write_text("")
        floor_command = [sys.executable, str(HERE / "_serve.py"), "starlette", str(floor_port), str(work), "uvloop"]
        floor = _start([*floor_command, "httptools"])
        floor_url = f"http://127.0.0.1:{floor_port}"
        _wait(floor_url + "/")
        servers = {"fake": (fake, fake_url), "floor": (floor, floor_url)}
        cells: dict[tuple[str, str], list[dict[str, float]]] = {}
        for rep in range(options.reps):
            for method, script_name, path in (
                ("GET", "wrk_get.lua", project_path(created.json()["id"])),
                ("POST", "wrk_post.lua", CREATE_PATH),
            ):
                order = ["fake", "floor"] if rep % 2 == 0 else ["floor", "fake"]
                for name in order:
                    process, url = servers[name]
                    spy = None
                    if options.profile is not None and rep == 0:
                        options.profile.mkdir(parents=True, exist_ok=True)
                        spy = _profile(process.pid, options.profile / f"{name}-{method.lower()}.txt", options.seconds)
                    before = _cpu_seconds(process.pid)
                    result = _wrk(url + path, script_name, options.seconds, options.connections, f"r{rep}{name}")
                    result["cpu_us"] = (_cpu_seconds(process.pid) - before) / max(1, result["requests"]) * 1e6
                    if spy is not None:
                        spy.wait()
                    cells.setdefault((name, method), []).append(result)
        _report(cells, options)
    finally:
        for process in (fake, floor):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _report(cells: dict[tuple[str, str], list[dict[str, float]]], options: argparse.Namespace) -> None:
    def median(name: str, method: str, key: str) -> float:
        runs = cells[(name, method)]
        if key == "rps":
            return statistics.median(r["requests"] / (r["duration_us"] / 1e6) for r in runs)
        return statistics.median(r[key] for r in runs)

    held = f", the fake holding {options.projects:,} projects" if options.projects else ""
    print(f"\n{options.reps} x {options.seconds:g} s, wrk -t1 -c{options.connections}{held}; load {os.getloadavg()}")
    print(
        "| | fake req/s | floor req/s | ratio | fake p99 ms | floor p99 ms | p99 ratio | fake CPU µs | floor CPU µs |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for method in ("GET", "POST"):
        fake_rps, floor_rps = median("fake", method, "rps"), median("floor", method, "rps")
        fake_p99, floor_p99 = median("fake", method, "p99_us") / 1000, median("floor", method, "p99_us") / 1000
        fake_cpu, floor_cpu = median("fake", method, "cpu_us"), median("floor", method, "cpu_us")
        print(
            f"| {method} | {fake_rps:,.0f} | {floor_rps:,.0f} | {fake_rps / floor_rps:.2f}x | {fake_p99:.2f} | "
            f"{floor_p99:.2f} | {fake_p99 / floor_p99:.2f}x | {fake_cpu:.0f} | {floor_cpu:.0f} |"
        )


if __name__ == "__main__":
    main()
