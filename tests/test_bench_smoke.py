"""Smoke test of the benchmark: ``bench/run.py --quick`` runs and prints every row of its table.

No timing is asserted (the numbers of a quick run on a shared machine mean nothing); this only
keeps the script from rotting as mh_mock changes. A row may say "unavailable: <reason>" only when
a tool the standalone rows need is missing (wrk, Prism, or uvloop/httptools for the second uvicorn
stack): the bench must then still print the row instead of crashing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STACKS = ("asyncio+h11", "uvloop+httptools")
METHODS = ("GET project", "POST create")
FLOORS = ("bare Starlette", "raw ASGI")

MEASUREMENTS = (
    "in-process GET, sync httpx.Client: MhMock vs bare respx route (default mocker)",
    'in-process GET, sync httpx.Client: MhMock vs bare respx route (using="httpx")',
    "in-process GET, httpx.AsyncClient: MhMock vs bare respx route (default mocker)",
    'in-process GET, httpx.AsyncClient: MhMock vs bare respx route (using="httpx")',
    "SDK audio_projects.get: MhMock vs bare respx route (default mocker)",
    "memory: peak RSS after 100,000 creates through the API in MhMock() vs RSS after 10",
    "per-test cost (setup+call+teardown): mh_sdk vs bare respx router + SDK client",
    "per-test cost (setup+call+teardown): mh_client vs bare respx router + httpx.Client",
    "pytest start-up CPU time (empty dir, --co): all plugins vs -p no:mh_mock",
    "pytest start-up CPU time (empty dir, --co): all plugins vs -p no:mh_mock -p no:faker",
    *(
        f"standalone {method} [{stack}]: {metric}, mh-mock serve vs {floor}"
        for stack in STACKS
        for method in METHODS
        for metric in ("throughput", "p99 latency")
        for floor in FLOORS
    ),
    *(f"standalone {method}: throughput, mh-mock serve [{stack}] vs Prism 5" for method in METHODS for stack in STACKS),
    *(f"standalone RSS after load [{stack}]: mh-mock serve vs bare Starlette" for stack in STACKS),
    *(f"standalone {method} [uvloop+httptools]: throughput, a fake holding few projects vs many" for method in METHODS),
)

# The only reasons a row may be unavailable: a load generator or peer that is not installed.
TOOLS = ("wrk", "prism", "uvloop", "httptools")


@pytest.mark.slow
def test_bench_quick_mode_prints_a_row_for_every_measurement() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"bench/run.py --quick exited {done.returncode}:\n{done.stderr[-4000:]}"
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert lines and lines[0] == "| # | measurement | fake | floor/peer | ratio | target | verdict |", done.stdout
    rows = {cells[1]: cells for cells in (line.split(" | ") for line in lines[1:]) if len(cells) == 7}
    missing = [name for name in MEASUREMENTS if name not in rows]
    assert not missing, f"rows missing from the table: {missing}\n{done.stdout}"
    assert [cells[1] for cells in rows.values()] == list(MEASUREMENTS), "rows out of order or unexpected rows"
    for name, cells in rows.items():
        verdict = cells[6].removesuffix(" |")
        if verdict.startswith("unavailable: "):
            reason = verdict.removeprefix("unavailable: ").lower()
            assert any(tool in reason for tool in TOOLS), (
                f"{name}: unavailable for a reason other than a tool: {reason}"
            )
        else:
            assert verdict in ("met", "not met", "info"), f"{name}: verdict {verdict!r}"
