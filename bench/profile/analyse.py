"""Analyse what run_profile.py recorded: throughput, per-bucket µs per request (fake vs floor), top
functions by self time, other threads' CPU, GC time. From the repository root:

    .venv/bin/python bench/profile/run_profile.py --out /tmp/profile-after
    .venv/bin/python bench/profile/analyse.py /tmp/profile-after > report.md

    python3 bench/profile/analyse.py OUT_DIR [--top 15] [--json SHARES.json] > report.md

OUT_DIR holds results.json and the raw collapsed stacks (py-spy --format raw: one line per distinct
stack, ``thread (TID): NAME;frame;frame;... COUNT``, root first). Stdlib only.

How samples become µs per request. py-spy ran with --idle at a fixed rate, so the main thread's
samples cover its wall time, busy or not. Wall-scaled: a bucket's share of the main thread's
samples times the wall time per request of the unprofiled runs (1e6 / median req/s of the
throughput phase). CPU-scaled: its share of the busy samples (idle epoll samples removed) times the
main thread's CPU time per request in the unprofiled runs. Without a throughput phase, both fall
back to the profiled run's own req/s.

Buckets (main thread). The frames up to asyncio's ``Runner.run`` are the process's fixed root
(console script, uvicorn.Server.run, asyncio_run); what is above it is the callback the event loop
was running. A sample with no Python frame above the root is uvloop/libuv C (epoll wait, socket
reads, handle dispatch). Otherwise a few context rules look at the whole callback stack (the
lifespan ticker, uvicorn's server loop), then the frames are read from the leaf towards the root
and the first frame that belongs to a bucket decides: stdlib helpers (enum, dataclasses' generated
__init__, contextlib, asyncio.locks, threading, ...) pass through to their caller, so a sample in
``asyncio.Event.set`` called by uvicorn's ``send`` counts as uvicorn's response writing. Time in C
code called from Python (httptools' parser, transport.write's write(2), jsonschema_rs, the json C
accelerator) is the self time of the calling Python frame in the default (non-native) profiles;
the --native profiles split it out (see the native table).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True)
class Frame:
    func: str
    file: str
    line: str

    @property
    def python(self) -> bool:
        return self.file.endswith(".py") or self.file in ("mh-mock", "<string>") or self.file.startswith("<frozen")

    @property
    def key(self) -> str:
        return f"{self.func} ({self.file})"


def parse_frame(text: str) -> Frame:
    match = FRAME.match(text)
    if not match:
        return Frame(text, "", "")
    return Frame(match["func"], match["file"], match["line"] or "")


@dataclass
class Profile:
    """One raw file: per thread, a list of (frames, count)."""

    threads: dict[str, list[tuple[list[Frame], int]]] = field(default_factory=lambda: collections.defaultdict(list))
    names: dict[str, str] = field(default_factory=dict)


def load_profile(path: Path) -> Profile:
    profile = Profile()
    cache: dict[str, Frame] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        parts = stack.split(";")
        head = parts[0]  # "thread (TID): NAME" (or "thread (0x...)")
        match = re.match(r"thread \((\w+)\)(?::\s*(.*))?", head)
        tid, name = (match[1], match[2] or "") if match else (head, "")
        profile.names[tid] = name
        frames = [cache.setdefault(p, parse_frame(p)) for p in parts[1:]]
        profile.threads[tid].append((frames, int(count)))
    return profile


# ---------------------------------------------------------------------------- buckets

B_LOOP_C = "event loop C, no Python frame (uvloop/libuv: epoll, socket reads, dispatch)"
B_IDLE = "  of which idle: epoll_wait (native only)"
B_READ = "  of which socket read(2) (native only)"
B_GC = "garbage collection (native only: gcmodule.c frames)"
B_GIL = "waiting for the GIL (native only: take_gil)"
B_PARSE = "uvicorn: HTTP parsing (data_received, httptools callbacks)"
B_SETUP = "uvicorn: request setup (on_headers_complete: scope, cycle, task)"
B_WRITE = "uvicorn: response writing (send: headers, 2 transport.write)"
B_GLUE = "uvicorn: ASGI glue (run_asgi, receive)"
B_CONN = "uvicorn: connection open/close, flow control"
B_PROXY = "uvicorn: proxy-headers middleware"
B_SERVER = "uvicorn: server loop & lifespan"
B_GUARD = "connection guard (standalone/connections.py)"
B_APP = "FakeApp (standalone/app.py)"
B_HOST = "FakeApp: Host/Origin guard (standalone/guard.py)"
B_ANYIO = "anyio to_thread hand-off on the loop (FakeApp._run offload)"
B_TICKER = "ticker & webhook sender (event-loop side)"
B_DISPATCH = "dispatcher (routing/dispatch.py)"
B_ROUTES = "route table & handlers (routing/routes.py)"
B_SCHEMA = "schema validation (schema.py, bodies.validate, jsonschema_rs)"
B_ENGINE = "engine (engine/*, clock, catalogue, ...)"
B_SETTLE = "  of which State.settle (due clock transitions, inline)"
B_JOURNAL = "journal (journal.py + Dispatcher._record)"
B_JSON = "JSON encode/decode (json, _json.py, bodies.parse_json)"
B_MH_OTHER = "mh_mock other"
B_STARLETTE = "Starlette framework"
B_FLOOR = "floor handler (bench/_serve.py)"
B_LOGGING = "logging"
B_ASYNCIO = "asyncio Python code (other)"
B_OTHER = "other"

ORDER = [
    B_LOOP_C, B_IDLE, B_READ, B_GC, B_GIL, B_PARSE, B_SETUP, B_WRITE, B_GLUE, B_CONN, B_PROXY, B_SERVER, B_GUARD,
    B_APP, B_HOST, B_ANYIO, B_TICKER, B_DISPATCH, B_ROUTES, B_SCHEMA, B_ENGINE, B_SETTLE, B_JOURNAL, B_JSON,
    B_MH_OTHER, B_STARLETTE, B_FLOOR, B_LOGGING, B_ASYNCIO, B_OTHER,
]  # fmt: skip
SUB = {B_IDLE: B_LOOP_C, B_READ: B_LOOP_C, B_SETTLE: B_ENGINE}  # sub-rows, counted in their parent too

UVICORN_HTTP = {
    "data_received": B_PARSE, "on_message_begin": B_PARSE, "on_url": B_PARSE, "on_header": B_PARSE,
    "on_body": B_PARSE, "on_message_complete": B_PARSE, "_unset_keepalive_if_required": B_PARSE,
    "_get_upgrade": B_PARSE, "_should_upgrade": B_PARSE, "_should_upgrade_to_ws": B_PARSE,
    "on_headers_complete": B_SETUP, "_start_asgi_task": B_SETUP,
    "send": B_WRITE, "on_response_complete": B_WRITE, "send_500_response": B_WRITE, "send_400_response": B_WRITE,
    "run_asgi": B_GLUE, "receive": B_GLUE,
}  # fmt: skip
GC_FUNCS = re.compile(
    r"^(gc_collect|collect_generations|collect_with_callback|deduce_unreachable|move_unreachable|update_refs|"
    r"subtract_refs|visit_decref|visit_reachable|gc_freeze|delete_garbage|finalize_garbage|handle_weakrefs|"
    r"move_legacy|_PyGC_|gc_collect_main)"
)
PASS_THROUGH = ("mh_mock/errors.py", "mh_mock/vocabulary.py")


def classify_frame(frame: Frame) -> str | None:
    """The bucket a Python frame belongs to, or None to pass through to its caller."""
    f, func = frame.file, frame.func
    short = func.rsplit(".", 1)[-1]
    if f.startswith("json/") or f == "mh_mock/_json.py":
        return B_JSON
    if f == "mh_mock/routing/bodies.py":
        if short in ("parse_json", "_refuse_surrogates", "_reject_constant"):
            return B_JSON
        if short in ("validate", "check_enums"):
            return B_SCHEMA
        return B_DISPATCH
    if f == "mh_mock/schema.py" or f.startswith(("jsonschema/", "jsonschema_rs/")):
        return B_SCHEMA
    if f == "mh_mock/journal.py":
        return B_JOURNAL
    if f == "mh_mock/routing/dispatch.py":
        if short in ("_record", "_journal_body", "_journal_answer"):
            return B_JOURNAL
        return B_DISPATCH
    if f.startswith("mh_mock/routing/"):
        return B_ROUTES
    if f.startswith("mh_mock/engine/") or f in (
        "mh_mock/clock.py",
        "mh_mock/catalogue.py",
        "mh_mock/audio.py",
        "mh_mock/webhooks.py",
        "mh_mock/config.py",
    ):
        return B_ENGINE
    if f == "mh_mock/standalone/connections.py":
        return B_GUARD
    if f == "mh_mock/standalone/guard.py":
        return B_HOST
    if f == "mh_mock/standalone/app.py":
        return B_APP
    if f in PASS_THROUGH:
        return None
    if f.startswith("mh_mock/"):
        return B_MH_OTHER
    if f.startswith("anyio/"):
        return B_ANYIO
    if f.startswith("starlette/"):
        return B_STARLETTE
    if f.endswith("_serve.py"):
        return B_FLOOR
    if f == "uvicorn/protocols/http/httptools_impl.py" or f == "uvicorn/protocols/http/h11_impl.py":
        return UVICORN_HTTP.get(short, B_CONN)
    if f == "uvicorn/protocols/http/flow_control.py":
        return B_WRITE
    if f == "uvicorn/protocols/utils.py":
        return B_CONN
    if f.startswith("uvicorn/middleware/"):
        return B_PROXY
    if f.startswith(("uvicorn/server.py", "uvicorn/lifespan/")):
        return B_SERVER
    if f.startswith("uvicorn/"):
        return B_SERVER
    if f.startswith("logging/"):
        return B_LOGGING
    return None


def root_end(frames: list[Frame]) -> int:
    """Index of the last frame of the fixed root (asyncio's Runner.run), -1 if absent."""
    for index in range(len(frames) - 1, -1, -1):
        frame = frames[index]
        if frame.file == "asyncio/runners.py" and frame.func in ("Runner.run", "run", "Runner.run_until_complete"):
            return index
    return -1


def classify_main(frames: list[Frame]) -> list[str]:
    """Buckets of one main-thread sample: the bucket, plus a sub-row when one applies."""
    if any(GC_FUNCS.match(f.func) for f in frames if not f.python):
        return [B_GC]
    if any(f.func == "take_gil" for f in frames if not f.python):
        return [B_GIL]
    start = root_end(frames)
    callback = frames[start + 1 :]
    python = [f for f in callback if f.python]
    if not python:
        leaf = callback[-1].func if callback else ""
        if "epoll" in leaf:
            return [B_LOOP_C, B_IDLE]
        if leaf == "read" and any(f.func == "uv__read" for f in callback):
            return [B_LOOP_C, B_READ]
        return [B_LOOP_C]
    for frame in python:
        if frame.file == "mh_mock/standalone/app.py" and "_lifespan" in frame.func:
            return [B_TICKER]
        if frame.file == "mh_mock/standalone/sender.py":
            return [B_TICKER]
        if frame.file == "uvicorn/server.py" or frame.file.startswith("uvicorn/lifespan/"):
            return [B_SERVER]
    for frame in reversed(python):
        bucket = classify_frame(frame)
        if bucket is not None:
            if bucket == B_ENGINE and any(f.func == "State.settle" for f in python):
                return [B_ENGINE, B_SETTLE]
            return [bucket]
    if any(f.file.startswith("asyncio/") for f in python):
        return [B_ASYNCIO]
    return [B_OTHER]


def leaf_python(frames: list[Frame]) -> Frame | None:
    for frame in reversed(frames):
        if frame.python:
            return frame
    return None


NATIVE_LEAF = [
    ("write(2) syscall (socket send)", lambda f: f.func in ("write", "send", "writev", "__send", "sendmsg") and "libc" in f.file),
    ("read(2) syscall (socket recv)", lambda f: f.func in ("read", "recv", "__recv", "recvmsg") and "libc" in f.file),
    ("epoll_wait (idle)", lambda f: "epoll" in f.func),
    ("garbage collection", lambda f: bool(GC_FUNCS.match(f.func))),
    ("refcounting / dealloc (Py_DECREF, *_dealloc)", lambda f: f.func.startswith(("Py_DECREF", "Py_XDECREF", "_Py_Dealloc")) or "dealloc" in f.func),
    ("uvloop / libuv C", lambda f: f.file.startswith(("loop.c", "core.c", "linux.c", "stream.c", "timer.c", "queue.h",
                                                       "heap-inl.h", "loop-watcher.c", "async.c")) or "uvloop" in f.func),
    ("httptools / llhttp C", lambda f: f.file.startswith(("parser.c", "llhttp.c", "http_parser.c", "url_parser.c", "api.c"))),
    ("asyncio C (_asynciomodule)", lambda f: f.file.startswith("_asynciomodule")),
    ("json C accelerator (_json.c)", lambda f: f.file.startswith("_json.c")),
    ("heapq C (_heapqmodule.c)", lambda f: f.file.startswith("_heapqmodule")),
    ("jsonschema_rs (Rust)", lambda f: "jsonschema_rs" in f.file),
    ("libc other (malloc, memcpy, ...)", lambda f: "libc" in f.file),
    ("CPython runtime C (objects, dicts, calls)", lambda f: not f.python),
    ("Python bytecode (interpreter, leaf is a Python frame)", lambda f: f.python),
]  # fmt: skip


def native_leaf_category(frames: list[Frame]) -> str:
    leaf = frames[-1] if frames else Frame("", "", "")
    if any(GC_FUNCS.match(f.func) for f in frames if not f.python):
        return "garbage collection"
    if any(f.func == "take_gil" for f in frames if not f.python):
        return "waiting for the GIL"
    for name, test in NATIVE_LEAF:
        if test(leaf):
            return name
    return "other"


# ---------------------------------------------------------------------------- per-thread

IDLE_LEAF = re.compile(r"(^|\.)(wait|get|_wait_for_tstate_lock|select|poll|accept|sleep)$")


def thread_role(name: str, frames: list[Frame]) -> str:
    if name == "MainThread":
        return "main (event loop)"
    if "AnyIO worker" in name:
        return "anyio worker threads"
    return name or "unnamed"


def worker_activity(frames: list[Frame]) -> str | None:
    """What an anyio worker thread was doing in one sample; None when idle (waiting for work)."""
    python = [f for f in frames if f.python]
    if not python:
        return "native"
    leaf = python[-1]
    if leaf.file in ("threading.py", "queue.py") and IDLE_LEAF.search(leaf.func):
        return None
    funcs = {f.func for f in python}
    if "Engine.tick" in funcs:
        return "ticker: Engine.tick (settle due transitions)"
    if "Engine.take_due_webhooks" in funcs or "Engine.record_webhook" in funcs:
        return "webhook bookkeeping"
    if any(f.func.startswith("Dispatcher.") for f in python):
        waiting = (
            leaf.func in ("Engine.transaction", "_GeneratorContextManager.__enter__") or leaf.file == "contextlib.py"
        )
        return "offloaded request: " + ("waiting for the engine lock" if waiting else "dispatcher work")
    return f"other ({leaf.key})"


# ---------------------------------------------------------------------------- report


def median_run(runs: list[dict], server: str, method: str, key: str) -> float | None:
    values = [float(r[key]) for r in runs if r["server"] == server and r["method"] == method]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def throughput_section(
    results: dict, out: list[str]
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """The throughput table; returns median req/s and median main-thread CPU µs/req per (server, method)."""
    runs = results.get("throughput", {}).get("runs", [])
    medians: dict[tuple[str, str], float] = {}
    cpu_medians: dict[tuple[str, str], float] = {}
    if not runs:
        out.append("(no throughput phase)\n")
        return medians, cpu_medians
    reps = max(int(r["rep"]) for r in runs) + 1
    out.append(
        f"Median of {reps} interleaved runs per cell (order rotating each round), wrk -t1 -c16, "
        f"{results['settings']['seconds']} s each. µs/req (wall) = 1e6 / median req/s; CPU µs/req = the "
        "server process's CPU time (all threads, /proc) over the run / requests, median.\n"
    )
    out.append(
        "| method | server | req/s median | req/s per round | µs/req (wall) | CPU µs/req (process) | CPU µs/req (main thread) | main thread idle in epoll | p99 ms | non-2xx/errors | other processes, cores (median, range) |"
    )
    out.append("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for method in ("GET", "POST"):
        for server in ("fake", "floor"):
            mine = [r for r in runs if r["server"] == server and r["method"] == method]
            rps = statistics.median(float(r["rps"]) for r in mine)
            medians[(server, method)] = rps
            states = collections.Counter()
            for r in mine:
                states.update(r.get("main_states") or {})
            # "-" for runs recorded before run_profile.py had its main-thread sampler
            idle_text = (
                f"{sum(v for k, v in states.items() if k.startswith('epoll')) / sum(states.values()) * 100:.1f} %"
                if states
                else "-"
            )
            cpu = statistics.median(float(r["cpu_s"]) / float(r["requests"]) * 1e6 for r in mine)
            main = statistics.median(float(r["main_cpu_s"]) / float(r["requests"]) * 1e6 for r in mine)
            cpu_medians[(server, method)] = main
            p99 = statistics.median(float(r["p99_ms"]) for r in mine)
            rounds = ", ".join(f"{float(r['rps']):,.0f}" for r in sorted(mine, key=lambda r: r["rep"]))
            bad = sum(int(r["bad"]) for r in mine)
            label = "mh-mock serve" if server == "fake" else "bare Starlette (bench/_serve.py)"
            foreign = [float(r["foreign_cores"]) for r in mine if "foreign_cores" in r]
            other = f"{statistics.median(foreign):.2f} ({min(foreign):.2f}-{max(foreign):.2f})" if foreign else "-"
            out.append(
                f"| {method} | {label} | {rps:,.0f} | {rounds} | {1e6 / rps:.1f} | {cpu:.1f} | {main:.1f} | "
                f"{idle_text} | {p99:.2f} | {bad} | {other} |"
            )
        fake, floor = medians[("fake", method)], medians[("floor", method)]
        cf, cl = cpu_medians[("fake", method)], cpu_medians[("floor", method)]
        out.append(
            f"| {method} | **difference** | ratio {fake / floor:.2f}x | | **{1e6 / fake - 1e6 / floor:+.1f}** | | "
            f"**{cf - cl:+.1f}** | | | | |"
        )
    state = results["throughput"].get("fake_state_after", {})
    rss = results["throughput"].get("rss_mb", {})
    out.append(
        f"\nFake state after the phase: {state.get('projects', '?'):,} projects, {state.get('accounts', '?')} "
        f"accounts; RSS fake {fmt(rss.get('fake'))} MB, floor {fmt(rss.get('floor'))} MB.\n"
    )
    return medians, cpu_medians


def analyse_file(path: Path, run: dict) -> dict:
    profile = load_profile(path)
    pid = str(run["pid"])
    main_tid = pid if pid in profile.threads else next(t for t, n in profile.names.items() if n == "MainThread")
    buckets: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    native: collections.Counter[str] = collections.Counter()
    total = 0
    for frames, count in profile.threads[main_tid]:
        total += count
        for bucket in classify_main(frames):
            buckets[bucket] += count
        leaf = leaf_python(frames[root_end(frames) + 1 :])
        self_time[leaf.key if leaf else "(no Python frame: uvloop/libuv C)"] += count
        native[native_leaf_category(frames)] += count
    threads: dict[str, dict[str, object]] = {}
    for tid, stacks in profile.threads.items():
        if tid == main_tid:
            continue
        name = profile.names.get(tid, "")
        role = thread_role(name, stacks[0][0] if stacks else [])
        entry = threads.setdefault(role, {"threads": 0, "samples": 0, "active": collections.Counter()})
        entry["threads"] = int(entry["threads"]) + 1  # type: ignore[call-overload]
        for frames, count in stacks:
            entry["samples"] = int(entry["samples"]) + count  # type: ignore[call-overload]
            activity = worker_activity(frames)
            if activity is not None:
                entry["active"][activity] += count  # type: ignore[index]
    return {
        "total": total,
        "buckets": buckets,
        "self": self_time,
        "native": native,
        "threads": threads,
        "names": profile.names,
    }


def idle_fraction(data: dict, native: bool) -> float:
    """Share of the main thread's wall time spent idle in epoll_wait during the profile: from the native
    stacks when there are any, else from run_profile.py's /proc/PID/task/PID/syscall sampler."""
    if native:
        return data["buckets"].get(B_IDLE, 0) / data["total"]
    states = data["run"].get("main_states") or {}
    total = sum(states.values())
    idle = sum(v for k, v in states.items() if k.startswith("epoll"))
    return idle / total if total else 0.0


def shares(data: dict, native: bool) -> tuple[dict[str, float], dict[str, float], float]:
    """(wall shares, busy shares, idle fraction) of every bucket. Busy shares leave out the idle
    epoll samples (taken from the no-Python-frame bucket) and sum to 1 over the rest."""
    total = data["total"]
    idle = min(idle_fraction(data, native) * total, data["buckets"].get(B_LOOP_C, 0))
    busy_total = total - idle
    wall = {b: data["buckets"].get(b, 0) / total for b in ORDER}
    busy = {}
    for b in ORDER:
        count = data["buckets"].get(b, 0)
        if b == B_LOOP_C:
            count -= idle
        elif b == B_IDLE:
            count = max(0.0, count - idle)
        busy[b] = count / busy_total if busy_total else 0.0
    return wall, busy, idle / total if total else 0.0


def scales(results_medians: dict, cpu_medians: dict, analysed: dict, method: str) -> tuple[dict, dict]:
    """Per server: wall µs per request (unprofiled median req/s, else the profiled run's) and main-thread CPU µs."""
    wall = {
        s: 1e6 / results_medians[(s, method)]
        if (s, method) in results_medians
        else 1e6 / float(analysed[(s, method)]["run"]["rps"])
        for s in ("fake", "floor")
    }
    cpu = {s: cpu_medians.get((s, method), wall[s]) for s in ("fake", "floor")}
    return wall, cpu


def profile_section(
    results: dict,
    out_dir: Path,
    mode_key: str,
    medians: dict[tuple[str, str], float],
    cpu_medians: dict[tuple[str, str], float],
    top: int,
    out: list[str],
    native: bool,
) -> dict:
    section = results.get(mode_key)
    if not section:
        out.append(f"(no {mode_key} phase)\n")
        return {}
    analysed: dict[tuple[str, str], dict] = {}
    runs = {(r["server"], r["method"]): r for r in section["runs"]}
    for key, run in runs.items():
        analysed[key] = analyse_file(out_dir / run["file"], run)
        analysed[key]["run"] = run
    out.append(
        "| profile | file | req/s under py-spy | ÷ unprofiled median | main-thread samples | sampled s | "
        "main-thread CPU s in window | main thread idle in epoll (sampler) | Python threads | load avg before |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (server, method), data in sorted(analysed.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        run = data["run"]
        main_cpu = run["threads"].get(str(run["pid"]), {}).get("cpu_s")
        unprof = medians.get((server, method))
        ratio = f"{float(run['rps']) / unprof:.2f}" if unprof else "-"
        threads = 1 + sum(int(e["threads"]) for e in data["threads"].values())
        load = run.get("loadavg_before", ["?"])[0]
        out.append(
            f"| {server} {method} | `{run['file']}` | {float(run['rps']):,.0f} | {ratio} | {data['total']:,} | "
            f"{float(run['sampled_wall_s']):.1f} | {fmt(main_cpu, 2)} | {idle_fraction(data, native) * 100:.1f} % | "
            f"{threads} | {load} |"
        )
    out.append("")
    for method in ("GET", "POST"):
        fake, floor = analysed.get(("fake", method)), analysed.get(("floor", method))
        if not fake or not floor:
            continue
        wall, cpu = scales(medians, cpu_medians, analysed, method)
        (fw, fb, fi), (lw, lb, li) = shares(fake, native), shares(floor, native)
        out.append(f"#### {method}: main (event-loop) thread, µs per request by bucket\n")
        out.append(
            f"CPU columns: busy shares (idle epoll samples removed: fake {fi * 100:.1f} %, floor {li * 100:.1f} % "
            f"of the samples) x the unprofiled main-thread CPU time per request (fake {cpu['fake']:.1f} µs, floor "
            f"{cpu['floor']:.1f} µs: {cpu['fake'] - cpu['floor']:+.1f} µs). Wall columns: all samples x 1e6 / "
            f"unprofiled req/s (fake {wall['fake']:.1f} µs, floor {wall['floor']:.1f} µs: "
            f"{wall['fake'] - wall['floor']:+.1f} µs).\n"
        )
        out.append(
            "| bucket | fake % (all) | floor % (all) | fake CPU µs | floor CPU µs | **fake - floor CPU µs** | fake wall µs | floor wall µs | fake - floor wall µs |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for bucket in ORDER:
            if not fw[bucket] and not lw[bucket]:
                continue
            name = bucket if bucket not in SUB else f"*{bucket.strip()}*"
            a, b = fb[bucket] * cpu["fake"], lb[bucket] * cpu["floor"]
            c, d = fw[bucket] * wall["fake"], lw[bucket] * wall["floor"]
            out.append(
                f"| {name} | {fw[bucket] * 100:.1f} | {lw[bucket] * 100:.1f} | {a:.1f} | {b:.1f} | **{a - b:+.1f}** | "
                f"{c:.1f} | {d:.1f} | {c - d:+.1f} |"
            )
        out.append(
            f"| **total** | 100 | 100 | {cpu['fake']:.1f} | {cpu['floor']:.1f} | **{cpu['fake'] - cpu['floor']:+.1f}** | "
            f"{wall['fake']:.1f} | {wall['floor']:.1f} | {wall['fake'] - wall['floor']:+.1f} |"
        )
        out.append("")
        if native:
            out.append(f"#### {method}: main thread by leaf frame (native), share of busy samples x CPU µs/req\n")
            out.append(
                "| leaf category | fake % (all) | fake CPU µs | floor % (all) | floor CPU µs | fake - floor µs |"
            )
            out.append("|---|---:|---:|---:|---:|---:|")
            names = [n for n, _ in NATIVE_LEAF] + ["garbage collection", "waiting for the GIL", "other"]
            for name in dict.fromkeys(names):
                a = fake["native"].get(name, 0) / fake["total"]
                b = floor["native"].get(name, 0) / floor["total"]
                if not a and not b:
                    continue
                if name.startswith("epoll"):
                    out.append(f"| {name} | {a * 100:.1f} | (idle) | {b * 100:.1f} | (idle) | |")
                    continue
                x, y = a / (1 - fi) * cpu["fake"], b / (1 - li) * cpu["floor"]
                out.append(f"| {name} | {a * 100:.1f} | {x:.1f} | {b * 100:.1f} | {y:.1f} | {x - y:+.1f} |")
            out.append("")
            continue
        for server in ("fake", "floor"):
            data = analysed[(server, method)]
            _, _, idle = shares(data, native)
            out.append(f"#### {method} {server}: top {top} functions by self time (leaf Python frame, main thread)\n")
            out.append(
                "CPU µs = share of busy samples x unprofiled main-thread CPU µs/req (the no-Python-frame row "
                "has the idle epoll samples removed).\n"
            )
            out.append("| CPU µs/req | % of all main-thread samples | function (file) |")
            out.append("|---:|---:|---|")
            for key, count in data["self"].most_common(top):
                share = count / data["total"]
                busy = (count - (idle * data["total"] if key.startswith("(no Python") else 0)) / (
                    data["total"] * (1 - idle)
                )
                out.append(f"| {busy * cpu[server]:.1f} | {share * 100:.1f} | `{key}` |")
            out.append("")
        out.append(f"#### {method}: other threads in the profile (py-spy samples; 'active' = not waiting for work)\n")
        out.append(
            "| server | role | Python threads seen | active samples (% of main-thread samples) | what the active samples were |"
        )
        out.append("|---|---|---:|---:|---|")
        for server in ("fake", "floor"):
            data = analysed[(server, method)]
            if not data["threads"]:
                out.append(f"| {server} | (no other Python thread) | 0 | 0 | |")
            for role, entry in data["threads"].items():
                active = sum(entry["active"].values())
                what = "; ".join(f"{k}: {v}" for k, v in entry["active"].most_common(4))
                out.append(
                    f"| {server} | {role} | {entry['threads']} | {active} ({active / data['total'] * 100:.1f} %) | {what} |"
                )
        out.append("")
    return analysed


def thread_cpu_section(results: dict, out: list[str]) -> None:
    runs = results.get("throughput", {}).get("runs", [])
    if not runs:
        return
    out.append(
        "Per-thread CPU from /proc/PID/task/*/stat (utime+stime, 10 ms ticks) over each unprofiled run; "
        "median µs per request per thread group (main = the event-loop thread, tid = pid; "
        "'mh-mock'/'python' threads other than main are anyio workers: the ticker's and any offloaded "
        "request's; libuv-worker = uvloop's thread pool).\n"
    )
    out.append(
        "| method | server | threads at end | main µs/req | anyio/Python worker threads µs/req | libuv-worker µs/req | total µs/req |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|")
    for method in ("GET", "POST"):
        for server in ("fake", "floor"):
            mine = [r for r in runs if r["server"] == server and r["method"] == method]
            rows = []
            for r in mine:
                pid = str(  # the main thread's tid is the pid
                    r.get("pid")
                    or results.get("servers", {}).get("throughput", {}).get(server, {}).get("pid")
                    or min(r["threads"], key=int)
                )
                groups: collections.Counter[str] = collections.Counter()
                for tid, t in r["threads"].items():
                    group = "main" if tid == pid else ("libuv" if t["comm"].startswith("libuv") else "worker")
                    groups[group] += float(t["cpu_s"]) / float(r["requests"]) * 1e6
                rows.append((len(r["threads"]), groups))
            main, worker, libuv = (statistics.median(g[k] for _, g in rows) for k in ("main", "worker", "libuv"))
            total = statistics.median(sum(g.values()) for _, g in rows)
            out.append(
                f"| {method} | {server} | {max(n for n, _ in rows)} | {main:.1f} | {worker:.2f} | {libuv:.2f} | {total:.1f} |"
            )
    out.append("")


def gc_section(results: dict, out: list[str]) -> None:
    gc = results.get("gc")
    if not gc:
        return
    out.append("GC time from gc.callbacks (gc_wrapper.py; fresh fake and floor, same warm-up), per run:\n")
    out.append(
        "| rep | method | server | req/s | gen0 n / ms | gen1 n / ms | gen2 n / ms | GC µs/req | max pause ms (gen2, ever) |"
    )
    out.append("|---|---|---|---:|---|---|---|---:|---:|")
    for r in gc["runs"]:
        g = r["gc"]
        total = sum(float(v["seconds"]) for v in g.values())
        cells = " | ".join(f"{int(g[x]['collections'])} / {float(g[x]['seconds']) * 1e3:.1f}" for x in ("0", "1", "2"))
        out.append(
            f"| {r['rep'] + 1} | {r['method']} | {r['server']} | {float(r['rps']):,.0f} | {cells} | "
            f"{total / float(r['requests']) * 1e6:.2f} | {float(g['2']['max_seconds_ever']) * 1e3:.1f} |"
        )
    out.append("")


GROUPS = [
    ("uvicorn protocol (parse, setup, write, glue, connections, proxy mw, server loop)",
     (B_PARSE, B_SETUP, B_WRITE, B_GLUE, B_CONN, B_PROXY, B_SERVER)),
    ("  of which response writing (send)", (B_WRITE,)),
    ("event loop C, no Python frame", (B_LOOP_C,)),
    ("connection guard", (B_GUARD,)),
    ("FakeApp (app.py + guard.py)", (B_APP, B_HOST)),
    ("anyio hand-off + ticker (loop side)", (B_ANYIO, B_TICKER)),
    ("dispatcher + routes", (B_DISPATCH, B_ROUTES)),
    ("schema validation", (B_SCHEMA,)),
    ("engine", (B_ENGINE,)),
    ("  of which State.settle", (B_SETTLE,)),
    ("journal", (B_JOURNAL,)),
    ("JSON", (B_JSON,)),
    ("GC (native only)", (B_GC,)),
    ("Starlette + floor handler", (B_STARLETTE, B_FLOOR)),
    ("other (logging, asyncio, mh_mock other, ...)", (B_LOGGING, B_ASYNCIO, B_MH_OTHER, B_OTHER, B_GIL)),
]  # fmt: skip


def summary_section(
    all_analysed: dict[str, dict],
    medians: dict[tuple[str, str], float],
    cpu_medians: dict[tuple[str, str], float],
    out: list[str],
) -> dict:
    """fake - floor µs per request by bucket group, one column per profile mode."""
    table: dict = {}
    if not all_analysed:
        return table
    out.append("## Summary: fake - floor, µs per request, by bucket group and profile mode\n")
    out.append(
        "Each cell: fake - floor (fake vs floor), CPU-scaled: busy share (idle epoll samples removed) x the "
        "unprofiled main-thread CPU µs/req. The first rows say how much py-spy (and the machine) slowed each "
        "server in that mode (profiled ÷ unprofiled req/s) and how idle its loop was: the closer to 1 and 0, "
        "the more the column is worth. A second table gives the wall-scaled figures.\n"
    )
    for scaling in ("cpu", "wall"):
        for method in ("GET", "POST"):
            keys = [k for k, a in all_analysed.items() if ("fake", method) in a and ("floor", method) in a]
            if not keys or ("fake", method) not in medians:
                continue
            wall, cpu = scales(medians, cpu_medians, all_analysed[keys[0]], method)
            scale = cpu if scaling == "cpu" else wall
            out.append(
                f"### {method} ({scaling}-scaled): fake {scale['fake']:.1f} µs vs floor {scale['floor']:.1f} µs "
                f"per request ({scale['fake'] - scale['floor']:+.1f} µs)\n"
            )
            out.append(
                "| bucket group | "
                + " | ".join(k.replace("profiles-", "").replace("profiles", "blocking") for k in keys)
                + " |"
            )
            out.append("|---|" + "---:|" * len(keys))
            for server in ("fake", "floor"):
                cells = []
                for k in keys:
                    d = all_analysed[k][(server, method)]
                    native = k.endswith("native")
                    cells.append(
                        f"{float(d['run']['rps']) / medians[(server, method)]:.2f}, idle {idle_fraction(d, native) * 100:.0f} %"
                    )
                out.append(f"| *{server}: req/s under py-spy ÷ unprofiled, loop idle* | " + " | ".join(cells) + " |")
            for name, members in GROUPS:
                cells = []
                for k in keys:
                    native = k.endswith("native")
                    sf = shares(all_analysed[k][("fake", method)], native)
                    sl = shares(all_analysed[k][("floor", method)], native)
                    index = 1 if scaling == "cpu" else 0
                    a = sum(sf[index][b] for b in members) * scale["fake"]
                    b = sum(sl[index][b] for b in members) * scale["floor"]
                    table.setdefault(scaling, {}).setdefault(method, {}).setdefault(name, {})[k] = (a, b)
                    cells.append(f"{a - b:+.1f} ({a:.1f} vs {b:.1f})")
                out.append(f"| {name} | " + " | ".join(cells) + " |")
            out.append("")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--json", type=Path, help="also write the bucket shares as JSON here")
    args = parser.parse_args()
    results = json.loads((args.out_dir / "results.json").read_text())
    out: list[str] = []
    out.append("## Throughput\n")
    medians, cpu_medians = throughput_section(results, out)
    out.append("## Other threads' CPU during the unprofiled runs\n")
    thread_cpu_section(results, out)
    out.append("## GC\n")
    gc_section(results, out)
    summary: dict[str, dict] = {}
    modes = [
        ("profiles", "py-spy default (blocking: pauses the process per sample), 500 Hz", False),
        ("profiles-nonblocking", "py-spy --nonblocking (reads stacks while the process runs), 500 Hz", False),
        ("profiles-native", "py-spy --native (blocking; C frames included), 500 Hz", True),
        ("profiles-lowrate", "py-spy default (blocking) at a low rate (least perturbation)", False),
    ]
    all_analysed: dict[str, dict] = {}
    for key, title, native in modes:
        if key not in results:
            continue
        out.append(f"## Profiles: {title}\n")
        analysed = profile_section(results, args.out_dir, key, medians, cpu_medians, args.top, out, native)
        all_analysed[key] = analysed
        summary[key] = {
            f"{s} {m}": {
                "total": d["total"],
                "buckets": dict(d["buckets"]),
                "native": dict(d["native"]),
                "rps_profiled": d["run"]["rps"],
            }
            for (s, m), d in analysed.items()
        }
    summary_table = summary_section(all_analysed, medians, cpu_medians, out)
    print("\n".join(out))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rps_medians": {f"{s} {m}": v for (s, m), v in medians.items()},
                    "main_cpu_us_medians": {f"{s} {m}": v for (s, m), v in cpu_medians.items()},
                    "profiles": summary,
                    "summary": summary_table,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
