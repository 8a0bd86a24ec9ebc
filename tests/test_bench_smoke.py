"""Smoke test of the benchmark: ``bench/run.py --quick`` runs and prints every row of its table.

No timing is asserted (the numbers of a quick run on a shared machine mean nothing); this only
keeps the script from rotting as mh_mock changes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MEASUREMENTS = (
    "in-process GET sync: fake vs bare respx route",
    "in-process GET sync: fake vs httpx.MockTransport",
    "in-process GET async: fake vs bare respx route",
    "in-process GET async: fake vs httpx.MockTransport",
    "in-process GET sync: fake.handler in MockTransport vs MockTransport",
    "SDK audio_projects.get: fake vs bare respx route",
    "SDK lifecycle, fresh SSL context: fake vs bare respx routes",
    "SDK lifecycle, cached SSL context: fake vs bare respx routes",
    "SDK lifecycle on the fake: fresh vs cached SSL context",
    "httpx.Client() construction: fresh vs cached SSL context",
    "per-test setup MhMock()+start()+stop() vs bare respx router",
    "standalone GET project: throughput",
    "standalone GET project: p50 latency",
    "standalone GET project: p99 latency",
    "standalone POST create: throughput",
    "standalone POST create: p50 latency",
    "standalone POST create: p99 latency",
    "standalone server RSS after load",
    "engine create_voice @10k vs @10 projects",
    "engine create_voice @100k vs @10 projects",
    "engine get_project @10k vs @10 projects",
    "engine get_project @100k vs @10 projects",
    "engine RSS @100k projects vs @10",
)


def test_bench_quick_mode_prints_a_row_for_every_measurement() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"bench/run.py --quick exited {done.returncode}:\n{done.stderr[-4000:]}"
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows and rows[0].startswith("| # | measurement | fake | floor | ratio | target | met |"), done.stdout
    missing = [name for name in MEASUREMENTS if not any(f" {name} |" in row for row in rows)]
    assert not missing, f"rows missing from the table: {missing}\n{done.stdout}"
