"""Memory row: RSS of a fresh process after N creates POSTed through the API inside ``MhMock()``.

    python bench/_memory.py N     # child mode (started by bench/run.py): prints one JSON line

The child imports only ``mh_mock.MhMock`` and httpx, starts ``MhMock()`` with its defaults, and
POSTs ``/v1/ai-voice-generator`` N times with an ``httpx.Client``. Every token is its own account
with the default balance (10,000 credits; a create of this prompt costs 2), so the child switches
to a new token every 1,000 creates instead of changing the fake's options.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time

from _common import CREATE_PATH, POST_BODY, rss_mb

TOKEN_EVERY = 1_000
MARK = 10  # the comparison point: RSS after this many creates


def child(count: int) -> dict[str, float]:
    import httpx

    from mh_mock import MhMock

    result: dict[str, float] = {"imports_mb": rss_mb() or 0.0}
    bad = 0
    started = time.perf_counter()
    with MhMock() as fake, httpx.Client(base_url=fake.api_url) as http:
        headers: dict[str, str] = {}
        for index in range(count):
            if index % TOKEN_EVERY == 0:
                headers = {
                    "authorization": f"Bearer mhk_mem_{index // TOKEN_EVERY}",
                    "content-type": "application/json",
                }
            bad += http.post(CREATE_PATH, content=POST_BODY, headers=headers).status_code != 200
            if index + 1 == MARK:
                gc.collect()
                result["mark_mb"] = rss_mb() or 0.0
        elapsed = time.perf_counter() - started
        gc.collect()
        result["end_mb"] = rss_mb() or 0.0
        result["peak_mb"] = rss_mb(field_name="VmHWM") or 0.0
    result.update(creates=float(count), bad=float(bad), seconds=elapsed)
    return result


def measure(count: int) -> dict[str, float]:
    """Run the child in a fresh interpreter and return its JSON."""
    done = subprocess.run(
        [sys.executable, __file__, str(count)], capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    print(json.dumps(child(int(sys.argv[1]))))
