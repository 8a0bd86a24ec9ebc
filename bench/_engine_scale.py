"""Engine scaling child process (started by bench/run.py, not by hand).

    python bench/_engine_scale.py SIZES REPS BATCH     # e.g. 10,10000,100000 9 100

Runs in a fresh interpreter so resident memory reflects only the engine (plus the imports of
mh_mock). Prints one JSON object on stdout:

    {"sizes": {"10": {"create_us": .., "get_us": .., "store": ..}, ...},
     "rss_mb": {"baseline": .., "10": .., "10000": .., ...}, "hwm_mb": ..}

``rss_mb`` is measured first, growing one engine through every size. Then ``create_us`` (the
median per-call cost of ``engine.create_voice`` in batches of BATCH calls) and ``get_us`` (that of
``engine.get_project`` on a fixed sample of completed projects spread over the store) are measured
with the sizes interleaved. The smallest size uses a fresh engine per batch (so the store really
holds that many projects); a larger one keeps its engine, so its store grows by at most
REPS * (BATCH + 10) projects while measured ("store" reports the final size).
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from typing import Any

from mh_mock.config import Config
from mh_mock.engine import Engine

TOKEN = "mhk_bench"
PROMPT = "Hello world"


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    import resource  # not Linux: peak only

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def new_engine() -> Engine:
    # In-process defaults (poll progression, frozen clock) with a balance big enough for 100k jobs.
    return Engine(Config(starting_balance=10**12, seed=1))


def fill(engine: Engine, count: int, ids: list[str]) -> None:
    create = engine.create_voice
    for _ in range(count):
        ids.append(create(TOKEN, prompt=PROMPT, voice_name="Elon Musk").id)


def measure(engine: Engine, batch: int, sample: list[str], ids: list[str]) -> tuple[float, float]:
    create, get = engine.create_voice, engine.get_project
    made = []
    gc.collect()
    start = time.perf_counter()
    for _ in range(batch):
        made.append(create(TOKEN, prompt=PROMPT, voice_name="Elon Musk"))
    created = (time.perf_counter() - start) / batch
    ids.extend(project.id for project in made)
    reads = (sample * (batch // len(sample) + 1))[:batch]
    gc.collect()
    start = time.perf_counter()
    for project_id in reads:
        get(TOKEN, project_id)
    return created, (time.perf_counter() - start) / batch


def completed_sample(engine: Engine, ids: list[str]) -> list[str]:
    sample = random.Random(7).sample(ids, min(100, len(ids)))
    for project_id in sample:
        engine.finish(project_id)  # GETs of a complete project are idempotent (no state change)
    return sample


def main() -> None:
    sizes = sorted(int(s) for s in sys.argv[1].split(","))
    reps, batch = int(sys.argv[2]), int(sys.argv[3])
    result: dict[str, Any] = {"sizes": {}, "rss_mb": {"baseline": rss_mb()}}
    smallest, largest = sizes[0], sizes[-1]

    # Memory first, while this process holds nothing but one engine grown through every size.
    engine, ids = new_engine(), list[str]()
    for size in sizes:
        fill(engine, size - len(ids), ids)
        gc.collect()
        result["rss_mb"][str(size)] = rss_mb()
    result["hwm_mb"] = rss_mb("VmHWM")
    engines = {largest: (engine, ids, completed_sample(engine, ids))}
    for size in sizes[1:-1]:
        other: list[str] = []
        built = new_engine()
        fill(built, size, other)
        engines[size] = (built, other, completed_sample(built, other))

    # Timing: sizes interleave (rotating order) so machine noise hits them alike.
    creates: dict[int, list[float]] = {size: [] for size in sizes}
    gets: dict[int, list[float]] = {size: [] for size in sizes}
    for rep in range(reps):
        shift = rep % len(sizes)
        for size in sizes[shift:] + sizes[:shift]:
            if size == smallest:  # a fresh engine each time, so the store really holds `smallest`
                store: list[str] = []
                current = new_engine()
                fill(current, smallest, store)
                sample = completed_sample(current, store)
            else:
                current, store, sample = engines[size]
            measure(current, 10, sample, store)  # warm-up
            c, g = measure(current, batch, sample, store)
            creates[size].append(c)
            gets[size].append(g)
    for size in sizes:
        result["sizes"][str(size)] = {
            "create_us": statistics.median(creates[size]) * 1e6,
            "get_us": statistics.median(gets[size]) * 1e6,
            "store": smallest if size == smallest else len(engines[size][1]),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
