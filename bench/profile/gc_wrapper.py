"""Run a Python script (a console script such as ``.venv/bin/mh-mock``, or ``bench/_serve.py``)
with ``gc.callbacks`` timing every garbage collection.

    python bench/profile/gc_wrapper.py STATS_FILE SCRIPT [ARGS...]

run_profile.py's gc phase starts both servers this way (VENV/bin/python, this file next to it).

The script runs as ``__main__`` with ``sys.argv = [SCRIPT, *ARGS]`` in this interpreter, so
``mh-mock serve`` behaves exactly as when started directly (same defaults, same gc.freeze every
5,000 requests). On SIGUSR1, and at exit, the wrapper writes (atomically) STATS_FILE as JSON:
per generation, the number of collections, their total and maximum duration in seconds, and the
objects collected; plus ``seq`` (how many dumps so far) and the ``gc.get_count()``/``freeze``
counts. run_profile.py sends SIGUSR1 before and after each wrk run and diffs the two dumps.

The callbacks only run when a collection runs (a few hundred per second at most under load),
so they perturb the server very little.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import runpy
import signal
import sys
import time

STATS_FILE = sys.argv[1]
SCRIPT = sys.argv[2]

_clock = time.perf_counter
_stats = {g: {"collections": 0, "seconds": 0.0, "max_seconds": 0.0, "collected": 0} for g in (0, 1, 2)}
_started: list[float] = [0.0]
_seq = [0]


def _callback(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _started[0] = _clock()
        return
    elapsed = _clock() - _started[0]
    entry = _stats[info["generation"]]
    entry["collections"] += 1
    entry["seconds"] += elapsed
    if elapsed > entry["max_seconds"]:
        entry["max_seconds"] = elapsed
    entry["collected"] += info.get("collected", 0)


def _dump(*_: object) -> None:
    _seq[0] += 1
    data = {
        "seq": _seq[0],
        "pid": os.getpid(),
        "time": time.time(),
        "generations": _stats,
        "count": gc.get_count(),
        "threshold": gc.get_threshold(),
        "freeze_count": gc.get_freeze_count(),
    }
    tmp = f"{STATS_FILE}.tmp"
    with open(tmp, "w") as out:
        json.dump(data, out)
    os.replace(tmp, STATS_FILE)


gc.callbacks.append(_callback)
signal.signal(signal.SIGUSR1, _dump)
atexit.register(_dump)
_dump()

sys.argv = [SCRIPT, *sys.argv[3:]]
sys.path[0] = os.path.dirname(os.path.abspath(SCRIPT))
try:
    runpy.run_path(SCRIPT, run_name="__main__")
finally:
    _dump()
