"""mh-mock benchmark: one run, one markdown table of the fake against floors and a peer.

    .venv/bin/python bench/run.py            # full run (~15 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick    # smoke mode (about a minute, same rows, numbers meaningless)

The machine is assumed shared and noisy: every number is a median of several repetitions, and
every verdict but the absolute ones (memory ≤ 200 MB, fixture ≤ 5 ms per test) is a RATIO to a
floor or peer measured in the same run, interleaved with the fake (rotating order).

Phases (each in its own module):
  * _inprocess.py: GET through ``MhMock`` (sync and async httpx, and the SDK) vs a bare respx route;
  * _memory.py: 100,000 creates through the API inside ``MhMock()``, in a fresh process;
  * _fixtures_cost.py: per-test cost of the pytest fixtures, and pytest start-up cost;
  * _standalone.py: ``mh-mock serve --port P`` under wrk vs bare Starlette and raw ASGI floors on
    two uvicorn stacks, and vs Prism 5 on the vendor contract.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

os.environ["MAGIC_HOUR_POLL_INTERVAL"] = "0"  # the SDK must not sleep between polls

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the phase modules, also when imported

import _fixtures_cost
import _inprocess
import _memory
import _servers
import _standalone
from _common import FULL, QUICK, ROOT, Settings, Table, fake_at_most, mb, progress

M_MEMORY = "memory: peak RSS after 100,000 creates through the API in MhMock() vs RSS after 10"
MEASUREMENTS = [
    *_inprocess.MEASUREMENTS,
    M_MEMORY,
    *_fixtures_cost.MEASUREMENTS,
    *_standalone.MEASUREMENTS,
]
SECTIONS = ("inprocess", "memory", "fixtures", "standalone")
SECTION_ROWS = {
    "inprocess": _inprocess.MEASUREMENTS,
    "memory": [M_MEMORY],
    "fixtures": _fixtures_cost.MEASUREMENTS,
    "standalone": _standalone.MEASUREMENTS,
}
PACKAGES = ("uvicorn", "uvloop", "httptools", "starlette", "httpx", "respx", "magic-hour", "pytest", "jsonschema")


# ---------------------------------------------------------------------------- memory


def bench_memory(s: Settings, table: Table) -> None:
    progress(f"memory: {s.mem_creates:,} creates through the API in a fresh process")
    result = _memory.measure(s.mem_creates)
    table.add(M_MEMORY, result["peak_mb"], result["mark_mb"], mb, "fake ≤ 200 MB", fake_at_most(200))
    per_project = (result["end_mb"] - result["mark_mb"]) * 1024 * 1024 / max(1.0, result["creates"] - _memory.MARK)
    table.note(
        f"memory: {int(result['creates']):,} POSTs of /v1/ai-voice-generator with an httpx.Client inside MhMock() "
        f"(defaults; a new token every {_memory.TOKEN_EVERY:,} creates), fresh interpreter; RSS after imports "
        f"{result['imports_mb']:.1f} MB, after {_memory.MARK} creates {result['mark_mb']:.1f} MB, at the end "
        f"{result['end_mb']:.1f} MB (~{per_project:,.0f} bytes per create, project and journal entry), peak "
        f"{result['peak_mb']:.1f} MB; {result['seconds'] / result['creates'] * 1e6:.0f} µs per create; "
        f"non-200 answers: {int(result['bad'])}"
    )


# ---------------------------------------------------------------------------- machine


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe_checkout() -> str:
    """The commit benchmarked, and whether the package had uncommitted changes (read-only git calls)."""
    try:
        git = ["git", "-C", str(ROOT)]
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "mh_mock", "pytest_plugin", "fixtures"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit.stdout.strip()}" + (" + uncommitted package changes" if dirty.stdout.strip() else "")


def machine_notes(options: _standalone.Options, load_at_start: tuple[float, float, float]) -> list[str]:
    """Computed facts about the machine and the software under test (the first notes of the table)."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    prism = _servers.find_prism(options.prism)
    return [
        f"machine: nproc {affinity} (cpu_count {os.cpu_count()}), CPU {cpu_model()}, {platform.system()} "
        f"{platform.release()}, load average (1/5/15 min) at start {' / '.join(f'{x:.2f}' for x in load_at_start)}, at the end "
        f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} (other users' processes included)",
        f"software: Python {platform.python_version()} ({sys.executable}); "
        + ", ".join(f"{name} {version(name)}" for name in PACKAGES)
        + f"; mh-mock {version('mh-mock')} ({describe_checkout()}); "
        + (_servers.tool_version(["wrk", "-v"]) if shutil.which("wrk") else "wrk not installed")
        + "; Prism "
        + (f"{_servers.tool_version([prism, '--version'])} ({prism})" if prism else "not installed")
        + "; node "
        + (_servers.tool_version(["node", "--version"]) if shutil.which("node") else "not installed"),
        "server under test: `mh-mock serve` runs from this interpreter's environment, where uvloop is "
        f"{'installed' if version('uvloop') != 'not installed' else 'NOT installed'} and httptools is "
        f"{'installed' if version('httptools') != 'not installed' else 'NOT installed'} (uvicorn's 'auto' picks them)",
    ]


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke mode: same rows, few iterations")
    parser.add_argument(
        "--only", default=",".join(SECTIONS),
        help=f"comma-separated phases to run (default: all of {','.join(SECTIONS)}); other rows print 'not run'",
    )  # fmt: skip
    parser.add_argument(
        "--prism", help="path of the prism executable (default: $MH_BENCH_PRISM, PATH, /work/bench-tools)"
    )
    parser.add_argument(
        "--contract", type=Path, default=Path(os.environ.get("MH_BENCH_CONTRACT", _standalone.DEFAULT_CONTRACT)),
        help="the vendor's OpenAPI contract Prism serves (default: $MH_BENCH_CONTRACT or %(default)s)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    only = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown phase(s) {unknown}; choose from {SECTIONS}")
    settings = QUICK if args.quick else FULL
    options = _standalone.Options(prism=args.prism, contract=args.contract)
    load_at_start = os.getloadavg()
    began = time.perf_counter()
    table = Table()
    phases: dict[str, Callable[[], None]] = {
        "inprocess": lambda: _inprocess.bench_inprocess(settings, table),
        "memory": lambda: bench_memory(settings, table),
        "fixtures": lambda: _fixtures_cost.bench_fixtures(settings, table),
        "standalone": lambda: _standalone.bench_standalone(settings, table, options),
    }
    for name in SECTIONS:
        if name in only:
            phases[name]()
        else:
            for row in SECTION_ROWS[name]:
                table.not_run(row, "--only")
    table.notes[:0] = machine_notes(options, load_at_start)
    if args.quick:
        table.note("--quick: few iterations; the numbers are for smoke testing only, not for judging targets")
    title = f"## mh-mock benchmark ({settings.name}, {time.perf_counter() - began:.0f} s)"
    text = table.render(MEASUREMENTS, title)
    print(text, flush=True)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
