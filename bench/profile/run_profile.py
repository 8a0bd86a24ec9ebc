"""Drive `mh-mock serve` and the bench's bare-Starlette floor with wrk; measure throughput,
per-thread CPU, GC time, and record py-spy profiles (collapsed stacks) of both under load.

From the repository root:

    .venv/bin/python bench/profile/run_profile.py --out /tmp/profile-after
    .venv/bin/python bench/profile/analyse.py /tmp/profile-after > report.md

    python3 bench/profile/run_profile.py --out OUT [--checkout CHECKOUT] [--venv CHECKOUT/.venv]
        [--phases throughput,profile,nonblocking,native,lowrate,gc]
        [--reps 5] [--seconds 15] [--profile-seconds 20] [--rate 500]

--out is required (there is no default: results.json there is merged with, not replaced, so a
shared default would mix runs). --checkout defaults to this repository (the parent of bench/),
--venv to CHECKOUT/.venv; point --checkout at another checkout to profile that one with these
tools. --phases picks some of the phases.

Any python3 can run it (stdlib only); the servers run from VENV (VENV/bin/mh-mock, VENV/bin/python
for the floor CHECKOUT/bench/_serve.py); py-spy is VENV/bin/py-spy unless --pyspy says otherwise.
Nothing is written inside CHECKOUT unless OUT is there (the servers run in temporary
directories, whose logs are copied to OUT/logs/). Results go to OUT/results.json (merged with
what is already there, so phases can be run separately), raw collapsed stacks to
OUT/<name>.txt. Analyse with bench/profile/analyse.py OUT; bench/profile/drill.py splits one
function's time by its callees.

The fake is started as the README starts it, with --log-level warning:
    VENV/bin/mh-mock serve --port P --log-level warning
(default stack: uvicorn 'auto' = uvloop + httptools, access log off, gc.freeze every 5,000
requests, 10,000 credits per account). The GET target is made as the bench makes it: a POST
create with the bench token, then the documented admin call POST /mh-mock-api/finish (every
unfinished project to its terminal status), then a GET checks it is complete. The floor is the
bench's own: VENV/bin/python CHECKOUT/bench/_serve.py starlette P WORKDIR uvloop httptools,
answering the bytes the fake answered (same headers minus date/server/content-length/connection).
Load is the bench's wrk scripts (CHECKOUT/bench/wrk_get.lua, wrk_post.lua), wrk -t1 -c16. The GC
phase runs both servers under gc_wrapper.py, found next to this file.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent  # bench/profile: gc_wrapper.py is here
REPO = HERE.parent.parent  # the checkout these tools belong to (the parent of bench/)
TOKEN = "mhk_bench"  # the bench token (bench/_common.py, bench/wrk_get.lua)
POST_BODY = b'{"style":{"prompt":"Hello world","voice_name":"Elon Musk"}}'  # bench/_common.py POST_BODY
CREATE_PATH = "/v1/ai-voice-generator"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


# ---------------------------------------------------------------------------- /proc


def thread_cpu(pid: int) -> dict[int, dict[str, object]]:
    """tid -> {comm, ticks (utime+stime)} for every thread of pid."""
    out: dict[int, dict[str, object]] = {}
    with contextlib.suppress(FileNotFoundError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                    text = stat.read()
            except OSError:
                continue
            comm = text[text.index("(") + 1 : text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            out[int(tid)] = {"comm": comm, "ticks": int(fields[11]) + int(fields[12])}
    return out


def cpu_delta(
    before: dict[int, dict[str, object]], after: dict[int, dict[str, object]]
) -> dict[str, dict[str, object]]:
    """Per thread (tid as a string): comm and CPU seconds between two snapshots."""
    delta: dict[str, dict[str, object]] = {}
    for tid, now in after.items():
        then = before.get(tid, {"ticks": 0})
        seconds = (int(now["ticks"]) - int(then["ticks"])) / CLK_TCK  # type: ignore[arg-type]
        delta[str(tid)] = {"comm": now["comm"], "cpu_s": seconds}
    return delta


def process_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


SYSCALLS = {
    "0": "read",
    "1": "write",
    "20": "writev",
    "44": "sendto",
    "45": "recvfrom",
    "202": "futex",
    "232": "epoll_wait",
    "281": "epoll_pwait",
    "441": "epoll_pwait2",
}  # x86-64


class StateSampler:
    """Samples what the main thread is doing from /proc/PID/task/PID/syscall at ~``hz``: 'running'
    (on a CPU or runnable), or blocked in a syscall (epoll_wait = the event loop idle, futex = waiting
    for the GIL or a lock, ...). Independent of py-spy; a cheap file read per sample."""

    def __init__(self, pid: int, hz: int = 200) -> None:
        import threading

        self.path = f"/proc/{pid}/task/{pid}/syscall"
        self.interval = 1 / hz
        self.counts: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with open(self.path) as file:
                    first = file.read().split(" ", 1)[0].strip()
            except OSError:
                continue
            self.counts[first if first == "running" else SYSCALLS.get(first, f"syscall {first}")] += 1

    def __enter__(self) -> StateSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def system_busy_s() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Foreign:
    """CPU used on the machine by anything but the server under load and this script's children
    (wrk, py-spy): other users' processes. The machine is shared; this says how much they took."""

    def __enter__(self) -> Foreign:
        self.busy, self.children, self.t0 = system_busy_s(), children_cpu_s(), time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.monotonic() - self.t0
        self.busy = system_busy_s() - self.busy
        self.children = children_cpu_s() - self.children

    def cores(self, server_cpu_s: float) -> float:
        """Average cores used by everything else over the run."""
        return max(0.0, self.busy - self.children - server_cpu_s) / self.wall if self.wall else 0.0


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


# ---------------------------------------------------------------------------- servers


class Server:
    def __init__(self, name: str, command: list[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.workdir = workdir
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.get_path = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        logfile = self.workdir / f"{self.name}.log"
        with open(logfile, "wb") as out:
            self.proc = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(self.workdir),
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        log(f"started {self.name} pid {self.proc.pid}: {' '.join(self.command)}")

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {(self.workdir / f'{self.name}.log').read_text()[-2000:]}")
            try:
                http("GET", self.url + "/", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready")
            time.sleep(0.05)

    def loaded(self) -> str:
        maps = Path(f"/proc/{self.pid}/maps").read_text()
        return ("uvloop" if "/uvloop/" in maps else "asyncio") + "+" + ("httptools" if "/httptools/" in maps else "h11")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def prepare(fake: Server, floor: Server | None, workdir: Path) -> None:
    """A complete project on the fake (POST create, POST /mh-mock-api/finish); the floor's bodies."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, _, created = http("POST", fake.url + CREATE_PATH, POST_BODY, {**auth, "Content-Type": "application/json"})
    assert status == 200, created
    project_id = json.loads(created)["id"]
    status, _, finished = http("POST", fake.url + "/mh-mock-api/finish", b"{}", {"Content-Type": "application/json"})
    assert status == 200, finished
    fake.get_path = f"/v1/audio-projects/{project_id}"
    status, headers, got = http("GET", fake.url + fake.get_path, None, auth)
    assert status == 200 and json.loads(got)["status"] == "complete", got
    # as bench/_standalone.py capture_bodies (which reads them through a keep-alive httpx client); urllib sends
    # "Connection: close", so uvicorn's answer carries a connection header that must not reach the floor
    hop = ("date", "server", "content-length", "connection", "keep-alive", "transfer-encoding")
    kept = [(k, v) for k, v in headers.items() if k.lower() not in hop]
    (workdir / "get.body").write_bytes(got)
    (workdir / "post.body").write_bytes(created)
    (workdir / "headers.json").write_text(json.dumps(kept))
    (workdir / "bodies.ready").touch()
    if floor is not None:
        floor.get_path = fake.get_path


def check(server: Server) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    got = http("GET", server.url + server.get_path, None, auth)[0]
    created = http("POST", server.url + CREATE_PATH, POST_BODY, {**auth, "Content-Type": "application/json"})[0]
    if got != 200 or created != 200:
        raise RuntimeError(f"{server.name}: GET {got}, POST {created}")


def fake_state(fake: Server) -> dict[str, object]:
    with contextlib.suppress(Exception):
        state = json.loads(http("GET", fake.url + "/mh-mock-api/state", timeout=60)[2])
        return {"projects": state.get("projects"), "accounts": state.get("accounts")}
    return {}


def wait_idle(servers: list[Server], limit: float = 30.0) -> float:
    """Like bench/_servers.py wait_idle: until no server uses more than ~4 % of a core over 0.25 s."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = sum(process_ticks(s.pid) for s in servers)
        time.sleep(0.25)
        if sum(process_ticks(s.pid) for s in servers) - before <= 1:
            break
    return time.monotonic() - started


# ---------------------------------------------------------------------------- load


def wrk_command(
    checkout: Path, server: Server, method: str, seconds: int, nonce: str, args: argparse.Namespace
) -> list[str]:
    script = checkout / "bench" / ("wrk_get.lua" if method == "GET" else "wrk_post.lua")
    url = server.url + (server.get_path if method == "GET" else CREATE_PATH)
    return [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
        "--",
        nonce,
    ]


def parse_wrk(stdout: str) -> dict[str, float]:
    for line in stdout.splitlines():
        if line.startswith("BENCHJSON "):
            data = json.loads(line[len("BENCHJSON ") :])
            return {
                "rps": data["requests"] / (data["duration_us"] / 1e6),
                "requests": data["requests"],
                "duration_s": data["duration_us"] / 1e6,
                "p50_ms": data["p50_us"] / 1e3,
                "p99_ms": data["p99_us"] / 1e3,
                "bad": data["non2xx"] + data["socket_errors"],
            }
    raise RuntimeError(f"no BENCHJSON in wrk output: {stdout}")


def run_wrk(
    checkout: Path, server: Server, method: str, seconds: int, nonce: str, args: argparse.Namespace
) -> dict[str, object]:
    """One wrk run, with the server's per-thread CPU, the load average and the elapsed time around it."""
    command = wrk_command(checkout, server, method, seconds, nonce, args)
    load = loadavg()
    before, t0 = thread_cpu(server.pid), time.monotonic()
    with StateSampler(server.pid) as states, Foreign() as foreign:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    wall, after = time.monotonic() - t0, thread_cpu(server.pid)
    result: dict[str, object] = dict(parse_wrk(done.stdout))
    threads = cpu_delta(before, after)
    server_cpu = sum(float(t["cpu_s"]) for t in threads.values())  # type: ignore[arg-type]
    result.update(
        server=server.name,
        method=method,
        pid=server.pid,
        wall_s=wall,
        loadavg_before=load,
        threads=threads,
        main_states=dict(states.counts),
        wrk_cpu_s=foreign.children,
        foreign_cores=foreign.cores(server_cpu),
        cpu_s=sum(float(t["cpu_s"]) for t in threads.values()),  # type: ignore[arg-type]
        main_cpu_s=float(threads.get(str(server.pid), {"cpu_s": 0.0})["cpu_s"]),  # type: ignore[arg-type]
    )
    return result


def describe(run: dict[str, object]) -> str:
    reqs = float(run["requests"])  # type: ignore[arg-type]
    other = f", other processes {float(run['foreign_cores']):.2f} cores" if "foreign_cores" in run else ""  # type: ignore[arg-type]
    return (
        f"{run['server']} {run['method']}: {float(run['rps']):,.0f} req/s, p99 {float(run['p99_ms']):.2f} ms, "  # type: ignore[arg-type]
        f"CPU {float(run['cpu_s']) / reqs * 1e6:.1f} µs/req (main {float(run['main_cpu_s']) / reqs * 1e6:.1f}), "  # type: ignore[arg-type]
        f"bad {run['bad']}{other}"
    )


# ---------------------------------------------------------------------------- phases


def start_pair(args: argparse.Namespace, workdir: Path, gc_stats: bool = False) -> tuple[Server, Server]:
    venv, checkout = args.venv, args.checkout
    fake_cmd = [str(venv / "bin" / "mh-mock"), "serve", "--port", "{port}", "--log-level", "warning"]
    floor_cmd = [
        str(venv / "bin" / "python"),
        str(checkout / "bench" / "_serve.py"),
        "starlette",
        "{port}",
        str(workdir),
        "uvloop",
        "httptools",
    ]
    if gc_stats:
        wrapper = [str(venv / "bin" / "python"), str(HERE / "gc_wrapper.py")]
        fake_cmd = [*wrapper, str(workdir / "gc-fake.json"), *fake_cmd]
        floor_cmd = [*wrapper, str(workdir / "gc-floor.json"), *floor_cmd[1:]]
    fake = Server("fake", fake_cmd, workdir)
    floor = Server("floor", floor_cmd, workdir)
    fake.start()
    fake.wait_ready()
    prepare(fake, floor, workdir)
    floor.start()
    floor.wait_ready()
    for server in (fake, floor):
        check(server)
    return fake, floor


def warm_up(args: argparse.Namespace, fake: Server, floor: Server) -> None:
    for server in (fake, floor):
        for method in ("GET", "POST"):
            run_wrk(args.checkout, server, method, 2, f"w{server.port}{method}", args)


def phase_throughput(args: argparse.Namespace, fake: Server, floor: Server, results: dict[str, object]) -> None:
    combos = [(fake, "GET"), (floor, "GET"), (fake, "POST"), (floor, "POST")]
    runs: list[dict[str, object]] = []
    for rep in range(args.reps):
        shift = rep % len(combos)
        for server, method in combos[shift:] + combos[:shift]:
            waited = wait_idle([fake, floor])
            run = run_wrk(args.checkout, server, method, args.seconds, f"t{rep}p{server.port}", args)
            run.update(rep=rep, idle_wait_s=waited)
            runs.append(run)
            log(f"rep {rep + 1}/{args.reps} {describe(run)}")
    results["throughput"] = {
        "runs": runs,
        "fake_state_after": fake_state(fake),
        "rss_mb": {"fake": rss_mb(fake.pid), "floor": rss_mb(floor.pid)},
    }


def profile_one(args: argparse.Namespace, server: Server, method: str, out: Path, mode: str) -> dict[str, object]:
    """wrk for the profile's seconds + 6 s; py-spy records that many seconds of it, starting 2 s in.
    "lowrate" is the default (blocking) mode at --low-rate Hz for --low-seconds: less perturbation."""
    rate, seconds = (args.low_rate, args.low_seconds) if mode == "lowrate" else (args.rate, args.profile_seconds)
    command = wrk_command(args.checkout, server, method, seconds + 6, f"p{server.port}{method}{mode}", args)
    pyspy = [
        str(args.pyspy),
        "record",
        "--pid",
        str(server.pid),
        "--threads",
        "--idle",
        "--rate",
        str(rate),
        "--duration",
        str(seconds),
        "--format",
        "raw",
        "-o",
        str(out),
    ]
    if mode == "native":
        pyspy.insert(2, "--native")
    elif mode == "nonblocking":
        pyspy.insert(2, "--nonblocking")
    load = loadavg()
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    before, t0 = thread_cpu(server.pid), time.monotonic()
    with StateSampler(server.pid) as states, Foreign() as foreign:
        spy = subprocess.run(pyspy, capture_output=True, text=True, check=False)
    wall, after = time.monotonic() - t0, thread_cpu(server.pid)
    stdout, _ = wrk.communicate(timeout=seconds + 60)
    result: dict[str, object] = dict(parse_wrk(stdout))
    threads = cpu_delta(before, after)
    result.update(
        server=server.name,
        method=method,
        mode=mode,
        file=out.name,
        pyspy_command=" ".join(pyspy),
        pyspy_output=(spy.stdout + spy.stderr).strip()[-600:],
        sampled_wall_s=wall,
        threads=threads,
        loadavg_before=load,
        pid=server.pid,
        main_states=dict(states.counts),
        pyspy_cpu_s=foreign.children,
        foreign_cores_incl_wrk=foreign.cores(sum(float(t["cpu_s"]) for t in threads.values())),  # type: ignore[arg-type]
        loadavg_after=loadavg(),
    )
    first_line = "".join(str(result["pyspy_output"]).splitlines()[:1])
    log(f"profile {out.name}: {float(result['rps']):,.0f} req/s under py-spy; {first_line}")  # type: ignore[arg-type]
    return result


def phase_profile(args: argparse.Namespace, fake: Server, floor: Server, results: dict[str, object], mode: str) -> None:
    """mode: "profile" (py-spy's default, blocking: it pauses the process for each sample),
    "nonblocking" (--nonblocking: reads the stacks while the process runs) or "native" (--native)."""
    profiles: list[dict[str, object]] = []
    suffix = {"profile": "", "lowrate": f"-rate{args.low_rate}"}.get(mode, f"-{mode}")
    for method in ("GET", "POST"):
        for server in (fake, floor):
            wait_idle([fake, floor])
            out = args.out / f"{server.name}-{method.lower()}{suffix}.txt"
            profiles.append(profile_one(args, server, method, out, mode))
    results["profiles" if mode == "profile" else f"profiles-{mode}"] = {
        "runs": profiles,
        "fake_state_after": fake_state(fake),
    }


def signal_stats(server: Server, path: Path) -> dict[str, object]:
    previous = json.loads(path.read_text())["seq"] if path.exists() else 0
    os.kill(server.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            data = json.loads(path.read_text())
            if data["seq"] > previous:
                return data  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise RuntimeError(f"{server.name}: no GC stats after SIGUSR1")


def gc_delta(before: dict[str, object], after: dict[str, object]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for generation in ("0", "1", "2"):
        b, a = before["generations"][generation], after["generations"][generation]  # type: ignore[index]
        out[generation] = {
            "collections": a["collections"] - b["collections"],
            "seconds": a["seconds"] - b["seconds"],
            "collected": a["collected"] - b["collected"],
            "max_seconds_ever": a["max_seconds"],
        }
    return out


def phase_gc(args: argparse.Namespace, results: dict[str, object]) -> None:
    """Fresh fake and floor under gc_wrapper.py; GC time per run from gc.callbacks."""
    workdir = Path(tempfile.mkdtemp(prefix="mh-gc-"))
    fake, floor = start_pair(args, workdir, gc_stats=True)
    runs: list[dict[str, object]] = []
    try:
        warm_up(args, fake, floor)
        for rep in range(args.gc_reps):
            for method in ("GET", "POST"):
                for server in (fake, floor):
                    stats = workdir / f"gc-{server.name}.json"
                    wait_idle([fake, floor])
                    before = signal_stats(server, stats)
                    run = run_wrk(args.checkout, server, method, args.seconds, f"g{rep}p{server.port}", args)
                    after = signal_stats(server, stats)
                    run.update(rep=rep, gc=gc_delta(before, after), freeze_count_after=after["freeze_count"])
                    runs.append(run)
                    total = sum(g["seconds"] for g in run["gc"].values())  # type: ignore[union-attr]
                    log(f"gc rep {rep + 1} {describe(run)}; GC {total / float(run['requests']) * 1e6:.2f} µs/req")  # type: ignore[arg-type]
        results["gc"] = {"runs": runs, "fake_state_after": fake_state(fake), "command_prefix": "gc_wrapper.py STATS"}
    finally:
        for server in (fake, floor):
            server.stop()
        keep_logs(workdir, args.out, "gc")


def keep_logs(workdir: Path, out: Path, phase: str) -> None:
    """Copy the servers' logs to OUT/logs/PHASE-NAME.log and remove the temporary directory."""
    (out / "logs").mkdir(exist_ok=True)
    for log_file in workdir.glob("*.log"):
        shutil.copy(log_file, out / "logs" / f"{phase}-{log_file.name}")
    shutil.rmtree(workdir, ignore_errors=True)


def versions(venv: Path) -> dict[str, str]:
    code = (
        "import sys, importlib.metadata as m\n"
        "out = {'python': sys.version.split()[0]}\n"
        "for n in ('uvicorn','uvloop','httptools','starlette','anyio','jsonschema-rs','jsonschema','mh-mock','py-spy'):\n"
        "    try: out[n] = m.version(n)\n"
        "    except Exception: out[n] = 'not installed'\n"
        "import json; print(json.dumps(out))"
    )
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True)
    data: dict[str, str] = json.loads(done.stdout)
    data["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.splitlines()[0]
    return data


def machine(checkout: Path) -> dict[str, object]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "loadavg": loadavg(),
        "commit": commit,
        "dirty": bool(dirty),
        "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--checkout", type=Path, default=REPO, help=f"the checkout to profile (default: this one, {REPO})"
    )
    parser.add_argument("--venv", type=Path, default=None, help="default: CHECKOUT/.venv")
    parser.add_argument(
        "--out", type=Path, required=True, help="results directory (results.json there is merged with, not replaced)"
    )
    parser.add_argument(
        "--phases",
        default="throughput,profile,nonblocking,native,lowrate,gc",
        help="any of: throughput, profile (py-spy default, blocking), nonblocking, native, "
        "lowrate (blocking at --low-rate Hz for --low-seconds), gc",
    )
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--gc-reps", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--profile-seconds", type=int, default=20)
    parser.add_argument(
        "--pyspy", type=Path, default=None, help="py-spy executable (default: VENV/bin/py-spy, else py-spy on PATH)"
    )
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--low-rate", type=int, default=100, help="py-spy rate of the lowrate phase")
    parser.add_argument("--low-seconds", type=int, default=60, help="py-spy duration of the lowrate phase")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    args = parser.parse_args()
    args.checkout = args.checkout.resolve()
    args.venv = (args.venv or args.checkout / ".venv").absolute()
    if args.pyspy is None:
        beside = args.venv / "bin" / "py-spy"
        found = beside if beside.exists() else shutil.which("py-spy")
        args.pyspy = Path(found) if found else beside
    args.out.mkdir(parents=True, exist_ok=True)
    phases = set(args.phases.split(","))
    results_file = args.out / "results.json"
    results: dict[str, object] = json.loads(results_file.read_text()) if results_file.exists() else {}
    results["machine_start"] = machine(args.checkout)
    results["versions"] = versions(args.venv)
    results["settings"] = {k: str(v) for k, v in vars(args).items()}
    results["argv"] = sys.argv
    results.setdefault("invocations", []).append(  # type: ignore[union-attr]
        {"argv": sys.argv, "machine": results["machine_start"], "settings": results["settings"]}
    )

    def save() -> None:
        results_file.write_text(json.dumps(results, indent=1))

    # Every phase gets a fresh fake and floor (same preparation and warm-up), so each starts from the
    # same state: the fake keeps every project it creates, ~6,000 per second of POST load.
    for phase in ("throughput", "profile", "nonblocking", "native", "lowrate"):
        if phase not in phases:
            continue
        workdir = Path(tempfile.mkdtemp(prefix=f"mh-{phase}-"))
        fake, floor = start_pair(args, workdir)
        try:
            results.setdefault("servers", {})[phase] = {  # type: ignore[index]
                s.name: {"command": s.command, "pid": s.pid, "loaded": s.loaded()} for s in (fake, floor)
            }
            warm_up(args, fake, floor)
            if phase == "throughput":
                phase_throughput(args, fake, floor, results)
            else:
                phase_profile(args, fake, floor, results, phase)
            save()
        finally:
            for server in (fake, floor):
                server.stop()
            keep_logs(workdir, args.out, phase)
    if "gc" in phases:
        phase_gc(args, results)
    results["machine_end"] = machine(args.checkout)
    save()
    log(f"wrote {results_file}")


if __name__ == "__main__":
    main()
