"""Shared pieces of the benchmark: constants, settings, the table, formatting and interleaved timing."""

from __future__ import annotations

import contextlib
import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN = "mhk_bench"  # also in the wrk Lua scripts
AUTH = {"authorization": f"Bearer {TOKEN}"}
API = "https://api.magichour.ai"
JSON_HEADERS = {"content-type": "application/json"}
PROMPT = "Hello world"
VOICE = "Elon Musk"
POST_BODY = b'{"style":{"prompt":"Hello world","voice_name":"Elon Musk"}}'  # same as bench/wrk_post.lua
CREATE_PATH = "/v1/ai-voice-generator"


def project_path(project_id: str) -> str:
    return f"/v1/audio-projects/{project_id}"


# ---------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    name: str
    reps: int  # in-process: interleaved batches per variant (median taken)
    warm: int  # in-process: untimed calls before each batch
    get_n: int  # in-process: calls per batch
    sa_runs: int  # standalone: wrk runs per cell (median taken)
    sa_seconds: int  # standalone: seconds per wrk run
    sa_warmup: int  # standalone: seconds of untimed load per server and method before the runs (0: none)
    wrk_threads: int
    wrk_connections: int
    mem_creates: int  # memory: creates through the API
    fixture_tests: int  # fixture cost: tests per fixture in the generated file
    fixture_runs: int  # fixture cost: pytest processes
    startup_runs: int  # start-up cost: pytest --co runs per variant
    held_small: int  # standalone: projects the small fake holds (the flatness rows)
    held_large: int  # standalone: projects the large fake holds


FULL = Settings(
    name="full", reps=15, warm=20, get_n=600,
    sa_runs=5, sa_seconds=10, sa_warmup=2, wrk_threads=1, wrk_connections=16,
    mem_creates=100_000, fixture_tests=60, fixture_runs=3, startup_runs=9, held_small=1_000, held_large=300_000,
)  # fmt: skip
QUICK = Settings(
    name="quick", reps=2, warm=3, get_n=30,
    sa_runs=1, sa_seconds=1, sa_warmup=0, wrk_threads=1, wrk_connections=16,
    mem_creates=2_000, fixture_tests=5, fixture_runs=1, startup_runs=1, held_small=100, held_large=3_000,
)  # fmt: skip


# ---------------------------------------------------------------------------- table


@dataclass
class Row:
    name: str
    fake: str
    floor: str
    ratio: str
    target: str
    verdict: str  # "met", "not met", "info", "unavailable: <reason>", "not run: <reason>"


@dataclass
class Table:
    rows: dict[str, Row] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        name: str,
        fake: float | None,
        floor: float | None,
        fmt: Callable[[float], str],
        target: str = "",
        ok: Verdict | None = None,
    ) -> None:
        """One row; ``ok(ratio, fake)`` decides met / not met (None: informational)."""
        if fake is None or floor is None:
            self.unavailable(name, "no measurement", target)
            return
        ratio = fake / floor if floor else float("inf")
        verdict = "info" if ok is None else ("met" if ok(ratio, fake) else "not met")
        self.rows[name] = Row(name, fmt(fake), fmt(floor), f"{ratio:.2f}x", target or "-", verdict)

    def unavailable(self, name: str, reason: str, target: str = "", fake: str = "n/a", floor: str = "n/a") -> None:
        self.rows[name] = Row(name, fake, floor, "n/a", target or "-", f"unavailable: {reason}")

    def not_run(self, name: str, reason: str) -> None:
        self.rows[name] = Row(name, "n/a", "n/a", "n/a", "-", f"not run: {reason}")

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self, order: list[str], title: str) -> str:
        lines = [
            title,
            "",
            "| # | measurement | fake | floor/peer | ratio | target | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for index, name in enumerate(order, 1):
            row = self.rows.get(name) or Row(name, "n/a", "n/a", "n/a", "-", "unavailable: not measured")
            lines.append(
                f"| {index} | {row.name} | {row.fake} | {row.floor} | {row.ratio} | {row.target} | {row.verdict} |"
            )
        unmet = [
            f"{i}" for i, name in enumerate(order, 1) if name in self.rows and self.rows[name].verdict == "not met"
        ]
        lines += ["", "Notes:"] + [f"- {note}" for note in self.notes]
        lines.append(f"\nTargets not met: {len(unmet)}" + (" (rows " + ", ".join(unmet) + ")" if unmet else ""))
        return "\n".join(lines)


Verdict = Callable[[float, float], bool]
"""Decides a row from (ratio, fake)."""


def at_most(limit: float) -> Verdict:
    return lambda ratio, _fake: ratio <= limit


def at_least(limit: float) -> Verdict:
    return lambda ratio, _fake: ratio >= limit


def fake_at_most(limit: float) -> Verdict:
    """An absolute target on the fake's own number."""
    return lambda _ratio, fake: fake <= limit


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def rps(value: float) -> str:
    return f"{value:,.0f} req/s"


def mb(value: float) -> str:
    return f"{value:.1f} MB"


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def rss_mb(pid: int | str = "self", field_name: str = "VmRSS") -> float | None:
    """A ``/proc/<pid>/status`` memory field in MB (None if the process is gone or not on Linux)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------------- interleaved timing

Batch = Callable[[int], float]
"""Runs a variant ``n`` times and returns the elapsed seconds of just those ``n`` calls."""

Variant = Callable[[], contextlib.AbstractContextManager[Batch]]
"""Sets a variant up (untimed), yields its batch, tears it down (untimed)."""


def sync_batch(call: Callable[[], object], warm: int) -> Batch:
    def batch(n: int) -> float:
        for _ in range(warm):
            call()
        gc.collect()
        start = time.perf_counter()
        for _ in range(n):
            call()
        return time.perf_counter() - start

    return batch


def compare(variants: dict[str, Variant], n: int, reps: int) -> dict[str, float]:
    """Median seconds per call of each variant; variants interleave, rotating their order every rep."""
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(reps):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            with variants[name]() as batch:
                samples[name].append(batch(n) / n)
    return {name: statistics.median(values) for name, values in samples.items()}
