"""mh-mock benchmark: one run, one markdown table of fake vs floor, with ratios and targets.

    /work/venv/bin/python bench/run.py            # full run (~2-3 minutes)
    /work/venv/bin/python bench/run.py --quick    # smoke mode (a few seconds, same rows)

The machine is assumed noisy. Every number is the median of several repetitions, and every
verdict is a RATIO to a floor measured in the same run, with fake and floor interleaved
(rotating order) so that drift hits both alike. Only the per-test setup (2 ms) and memory
(200 MB) targets are absolute, because that is how they are stated.

Floors:
  * in-process: the same request through a bare respx route (``route.respond(content=...)``)
    or ``httpx.MockTransport`` answering the bytes the fake answered;
  * standalone: a bare Starlette app answering the same JSON bytes, under identical uvicorn
    settings, in its own subprocess, loaded by wrk (or a Python load generator if wrk is missing);
  * engine scaling: the same engine call with 10 projects in the store.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ["MAGIC_HOUR_POLL_INTERVAL"] = "0"  # the SDK must not sleep between polls

import httpx
import magic_hour
import respx

from mh_mock.control import RemoteControl
from mh_mock.mock import MhMock
from mh_mock.sslcache import shared_ssl_context as cached_ssl_context

HERE = Path(__file__).resolve().parent
TOKEN = "mhk_bench"  # also in the wrk Lua scripts
AUTH = {"authorization": f"Bearer {TOKEN}"}
API = "https://api.magichour.ai"
JSON_HEADERS = {"content-type": "application/json"}
PROMPT = "Hello world"
POST_BODY = b'{"style":{"prompt":"Hello world","voice_name":"Elon Musk"}}'  # same as bench/wrk_post.lua

# Measurement names, in table order (tests/test_bench_smoke.py checks they are all printed).
M_GET_SYNC = "in-process GET sync: fake vs bare respx route"
M_GET_SYNC_MT = "in-process GET sync: fake vs httpx.MockTransport"
M_GET_ASYNC = "in-process GET async: fake vs bare respx route"
M_GET_ASYNC_MT = "in-process GET async: fake vs httpx.MockTransport"
M_HANDLER_MT = "in-process GET sync: fake.handler in MockTransport vs MockTransport"
M_SDK_GET = "SDK audio_projects.get: fake vs bare respx route"
M_LIFE_FRESH = "SDK lifecycle, fresh SSL context: fake vs bare respx routes"
M_LIFE_CACHED = "SDK lifecycle, cached SSL context: fake vs bare respx routes"
M_LIFE_SSL = "SDK lifecycle on the fake: fresh vs cached SSL context"
M_CLIENT_SSL = "httpx.Client() construction: fresh vs cached SSL context"
M_SETUP = "per-test setup MhMock()+start()+stop() vs bare respx router"
M_SA_GET_RPS = "standalone GET project: throughput"
M_SA_GET_P50 = "standalone GET project: p50 latency"
M_SA_GET_P99 = "standalone GET project: p99 latency"
M_SA_POST_RPS = "standalone POST create: throughput"
M_SA_POST_P50 = "standalone POST create: p50 latency"
M_SA_POST_P99 = "standalone POST create: p99 latency"
M_SA_RSS = "standalone server RSS after load"
M_ENG_CREATE_10K = "engine create_voice @10k vs @10 projects"
M_ENG_CREATE_100K = "engine create_voice @100k vs @10 projects"
M_ENG_GET_10K = "engine get_project @10k vs @10 projects"
M_ENG_GET_100K = "engine get_project @100k vs @10 projects"
M_ENG_RSS = "engine RSS @100k projects vs @10"

MEASUREMENTS = (
    M_GET_SYNC, M_GET_SYNC_MT, M_GET_ASYNC, M_GET_ASYNC_MT, M_HANDLER_MT, M_SDK_GET,
    M_LIFE_FRESH, M_LIFE_CACHED, M_LIFE_SSL, M_CLIENT_SSL, M_SETUP,
    M_SA_GET_RPS, M_SA_GET_P50, M_SA_GET_P99, M_SA_POST_RPS, M_SA_POST_P50, M_SA_POST_P99, M_SA_RSS,
    M_ENG_CREATE_10K, M_ENG_CREATE_100K, M_ENG_GET_10K, M_ENG_GET_100K, M_ENG_RSS,
)  # fmt: skip


# ---------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    reps: int  # repetitions of every in-process batch (median taken)
    warm: int  # untimed calls before each batch (lifecycles: warm // 5, at least 1)
    get_n: int  # calls per batch, in-process GET and SDK get
    life_n: int  # SDK lifecycles per batch
    setup_n: int  # MhMock setups per batch
    client_n: int  # httpx.Client() constructions per batch
    sa_reps: int  # standalone: repetitions of each wrk run
    sa_seconds: int  # standalone: seconds per wrk run
    sa_warmup: bool
    eng_sizes: tuple[int, ...]
    eng_reps: int
    eng_batch: int


FULL = Settings(
    reps=15, warm=10, get_n=600, life_n=8, setup_n=200, client_n=10,
    sa_reps=5, sa_seconds=3, sa_warmup=True,
    eng_sizes=(10, 10_000, 100_000), eng_reps=21, eng_batch=100,
)  # fmt: skip
QUICK = Settings(
    reps=2, warm=3, get_n=50, life_n=2, setup_n=20, client_n=2,
    sa_reps=1, sa_seconds=1, sa_warmup=False,
    eng_sizes=(10, 10_000), eng_reps=5, eng_batch=50,
)  # fmt: skip


# ---------------------------------------------------------------------------- table


@dataclass
class Row:
    name: str
    fake: str
    floor: str
    ratio: str
    target: str
    verdict: str  # "met", "NOT MET", "info", "skipped"


ROWS: list[Row] = []
NOTES: list[str] = []


def add(name: str, fake: float | None, floor: float | None, fmt: Callable[[float], str], target: str = "",
        ok: Callable[[float, float, float], bool] | None = None) -> None:  # fmt: skip
    """One table row; ``ok(ratio, fake, floor)`` decides met / NOT MET (None: informational)."""
    if fake is None or floor is None:
        ROWS.append(Row(name, "n/a", "n/a", "n/a", target or "-", "skipped"))
        return
    ratio = fake / floor if floor else float("inf")
    verdict = "info" if ok is None else ("met" if ok(ratio, fake, floor) else "NOT MET")
    ROWS.append(Row(name, fmt(fake), fmt(floor), f"{ratio:.2f}x", target or "-", verdict))


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def rps(value: float) -> str:
    return f"{value:,.0f} req/s"


def mb(value: float) -> str:
    return f"{value:.1f} MB"


def print_table(settings_name: str, elapsed: float) -> None:
    print(f"\n## mh-mock benchmark ({settings_name}, {elapsed:.0f} s)\n")
    print("| # | measurement | fake | floor | ratio | target | met |")
    print("|---|---|---|---|---|---|---|")
    for index, row in enumerate(ROWS, 1):
        print(f"| {index} | {row.name} | {row.fake} | {row.floor} | {row.ratio} | {row.target} | {row.verdict} |")
    print("\nNotes:")
    for note in NOTES:
        print(f"- {note}")
    unmet = [row.name for row in ROWS if row.verdict == "NOT MET"]
    print(f"\nTargets not met: {len(unmet)}" + (": " + "; ".join(unmet) if unmet else ""))
    sys.stdout.flush()


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- timing

Batch = Callable[[int], float]
"""Runs a variant ``n`` times and returns the elapsed seconds of just those ``n`` calls."""


def sync_batch(call: Callable[[], Any], warm: int) -> Batch:
    def batch(n: int) -> float:
        for _ in range(warm):
            call()
        gc.collect()
        start = time.perf_counter()
        for _ in range(n):
            call()
        return time.perf_counter() - start

    return batch


def compare(variants: dict[str, Callable[[], contextlib.AbstractContextManager[Batch]]], n: int, reps: int
            ) -> dict[str, float]:  # fmt: skip
    """Median seconds per call of each variant; variants interleave, rotating their order per rep."""
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(reps):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            with variants[name]() as batch:
                samples[name].append(batch(n) / n)
    return {name: statistics.median(values) for name, values in samples.items()}


# ---------------------------------------------------------------------------- in-process


def bench_inprocess(s: Settings) -> None:
    fake = MhMock()
    project = fake.engine.create_voice(TOKEN, prompt=PROMPT, voice_name="Elon Musk")
    fake.engine.finish(project.id)
    url = f"{API}/v1/audio-projects/{project.id}"
    http = httpx.Client(headers=AUTH)
    with fake:
        answer = http.get(url)
    assert answer.status_code == 200 and answer.json()["status"] == "complete", answer.text
    body, content_type = answer.content, answer.headers["content-type"]
    headers = {"content-type": content_type}

    def static(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers=headers)

    mock_client = httpx.Client(headers=AUTH, transport=httpx.MockTransport(static))
    handler_client = httpx.Client(headers=AUTH, transport=httpx.MockTransport(fake.handler))

    def get_json(client: httpx.Client) -> Callable[[], Any]:
        return lambda: client.get(url).json()

    @contextlib.contextmanager
    def on_fake(call: Callable[[], Any]) -> Iterator[Batch]:
        fake.engine.journal.clear()  # a test starts with an empty journal
        with fake:
            yield sync_batch(call, s.warm)

    @contextlib.contextmanager
    def on_respx(call: Callable[[], Any]) -> Iterator[Batch]:
        with respx.mock(using="httpx", assert_all_called=False) as router:
            router.get(url).respond(content=body, headers=headers)
            yield sync_batch(call, s.warm)

    @contextlib.contextmanager
    def plain(call: Callable[[], Any]) -> Iterator[Batch]:
        yield sync_batch(call, s.warm)

    @contextlib.contextmanager
    def handler_direct(call: Callable[[], Any]) -> Iterator[Batch]:
        fake.engine.journal.clear()
        yield sync_batch(call, s.warm)

    progress("in-process GET, sync")
    sync = compare(
        {
            "fake": lambda: on_fake(get_json(http)),
            "respx": lambda: on_respx(get_json(http)),
            "mocktransport": lambda: plain(get_json(mock_client)),
            "handler": lambda: handler_direct(get_json(handler_client)),
        },
        s.get_n, s.reps,
    )  # fmt: skip
    add(M_GET_SYNC, sync["fake"], sync["respx"], us, "≤ 1.5x", lambda r, f, b: r <= 1.5)
    add(M_GET_SYNC_MT, sync["fake"], sync["mocktransport"], us)
    add(M_HANDLER_MT, sync["handler"], sync["mocktransport"], us)

    # ---- async
    def async_batch(transport: httpx.AsyncBaseTransport | None) -> Batch:
        async def run(n: int) -> float:
            async with httpx.AsyncClient(headers=AUTH, transport=transport) as client:
                for _ in range(s.warm):
                    (await client.get(url)).json()
                gc.collect()
                start = time.perf_counter()
                for _ in range(n):
                    (await client.get(url)).json()
                return time.perf_counter() - start

        return lambda n: asyncio.run(run(n))

    @contextlib.contextmanager
    def async_fake() -> Iterator[Batch]:
        fake.engine.journal.clear()
        with fake:
            yield async_batch(None)

    @contextlib.contextmanager
    def async_respx() -> Iterator[Batch]:
        with respx.mock(using="httpx", assert_all_called=False) as router:
            router.get(url).respond(content=body, headers=headers)
            yield async_batch(None)

    @contextlib.contextmanager
    def async_mock() -> Iterator[Batch]:
        yield async_batch(httpx.MockTransport(static))

    progress("in-process GET, async")
    with cached_ssl_context():  # AsyncClient() per batch: keep its SSL context out of the noise
        aio = compare({"fake": async_fake, "respx": async_respx, "mocktransport": async_mock}, s.get_n, s.reps)
    add(M_GET_ASYNC, aio["fake"], aio["respx"], us, "≤ 1.5x", lambda r, f, b: r <= 1.5)
    add(M_GET_ASYNC_MT, aio["fake"], aio["mocktransport"], us)

    # ---- SDK get
    sdk = magic_hour.Client(token=TOKEN, httpx_client=http)
    with fake:  # sanity check, untimed
        assert sdk.v1.audio_projects.get(id=project.id).status == "complete"
    sdk_get = lambda: sdk.v1.audio_projects.get(id=project.id)  # noqa: E731
    progress("SDK audio_projects.get")
    got = compare({"fake": lambda: on_fake(sdk_get), "respx": lambda: on_respx(sdk_get)}, s.get_n, s.reps)
    add(M_SDK_GET, got["fake"], got["respx"], us, "≤ 1.2x", lambda r, f, b: r <= 1.2)
    http.close()
    mock_client.close()
    handler_client.close()


def bench_lifecycle(s: Settings) -> None:
    """generate(wait, download) + delete through the SDK, fake vs bare respx routes, SSL fresh vs cached."""
    tmp = tempfile.mkdtemp(prefix="mh-bench-")
    try:
        _bench_lifecycle(s, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench_lifecycle(s: Settings, tmp: str) -> None:
    fake = MhMock(share_ssl_context=False)  # the SSL context is the variable measured here
    # Record what the fake answers along one lifecycle, raw, to build the floor from the same bytes.
    with fake, httpx.Client(headers=AUTH) as raw:
        created = raw.post(f"{API}/v1/ai-voice-generator", content=POST_BODY, headers=JSON_HEADERS)
        pid = created.json()["id"]
        polls = [raw.get(f"{API}/v1/audio-projects/{pid}") for _ in range(3)]
        statuses = [p.json()["status"] for p in polls]
        assert statuses == ["queued", "rendering", "complete"], statuses
        download_url = polls[-1].json()["downloads"][0]["url"]
        wav = raw.get(download_url)
        assert wav.status_code == 200, wav.text
        assert raw.delete(f"{API}/v1/audio-projects/{pid}").status_code == 204
    poll_bodies = [p.content for p in polls]
    reads = [0]

    def poll(_: httpx.Request) -> httpx.Response:
        content = poll_bodies[reads[0] % 3]
        reads[0] += 1
        return httpx.Response(200, content=content, headers=JSON_HEADERS)

    http = httpx.Client(timeout=60)
    sdk = magic_hour.Client(token=TOKEN, httpx_client=http)

    def lifecycle() -> None:
        result = sdk.v1.ai_voice_generator.generate(
            style={"prompt": PROMPT, "voice_name": "Elon Musk"},
            wait_for_completion=True,
            download_outputs=True,
            download_directory=tmp,
        )
        sdk.v1.audio_projects.delete(id=result.id)

    @contextlib.contextmanager
    def on_fake(cached: bool) -> Iterator[Batch]:
        fake.engine.reset()  # fresh state and journal, as a test would have
        with fake, cached_ssl_context() if cached else contextlib.nullcontext():
            yield sync_batch(lifecycle, max(1, s.warm // 5))

    @contextlib.contextmanager
    def on_respx(cached: bool) -> Iterator[Batch]:
        reads[0] = 0
        with (
            respx.mock(using="httpx", assert_all_called=False) as router,
            cached_ssl_context() if cached else contextlib.nullcontext(),
        ):
            router.post(f"{API}/v1/ai-voice-generator").respond(content=created.content, headers=JSON_HEADERS)
            router.get(f"{API}/v1/audio-projects/{pid}").mock(side_effect=poll)
            router.delete(f"{API}/v1/audio-projects/{pid}").respond(204)
            router.get(download_url.split("?")[0]).respond(content=wav.content, headers={"content-type": "audio/wav"})
            yield sync_batch(lifecycle, max(1, s.warm // 5))

    with fake:  # sanity check, untimed: the SDK completes and downloads a WAV
        result = sdk.v1.ai_voice_generator.generate(
            style={"prompt": PROMPT, "voice_name": "Elon Musk"}, wait_for_completion=True,
            download_outputs=True, download_directory=tmp,
        )  # fmt: skip
        assert result.status == "complete" and result.downloaded_paths, result
        assert Path(result.downloaded_paths[0]).read_bytes()[:4] == b"RIFF"

    progress("SDK lifecycle (generate+wait+download+delete)")
    life = compare(
        {
            "fake-fresh": lambda: on_fake(False),
            "respx-fresh": lambda: on_respx(False),
            "fake-cached": lambda: on_fake(True),
            "respx-cached": lambda: on_respx(True),
        },
        s.life_n, s.reps,
    )  # fmt: skip
    add(M_LIFE_FRESH, life["fake-fresh"], life["respx-fresh"], ms)
    add(M_LIFE_CACHED, life["fake-cached"], life["respx-cached"], ms)
    add(M_LIFE_SSL, life["fake-fresh"], life["fake-cached"], ms)
    http.close()

    @contextlib.contextmanager
    def construct(cached: bool) -> Iterator[Batch]:
        with cached_ssl_context() if cached else contextlib.nullcontext():
            yield sync_batch(lambda: httpx.Client().close(), max(1, s.warm // 5))

    progress("httpx.Client() construction")
    built = compare({"fresh": lambda: construct(False), "cached": lambda: construct(True)}, s.client_n, s.reps)
    add(M_CLIENT_SSL, built["fresh"], built["cached"], ms)


def bench_setup(s: Settings) -> None:
    def fake_setup() -> None:
        mock = MhMock()
        mock.start()
        mock.stop()

    def respx_setup() -> None:
        router = respx.MockRouter(assert_all_called=False, using="httpx")
        router.route(scheme="https", host="api.magichour.ai")
        router.start()
        router.stop()

    @contextlib.contextmanager
    def variant(call: Callable[[], None]) -> Iterator[Batch]:
        yield sync_batch(call, s.warm)

    progress("per-test setup")
    setup = compare({"fake": lambda: variant(fake_setup), "respx": lambda: variant(respx_setup)}, s.setup_n, s.reps)
    add(M_SETUP, setup["fake"], setup["respx"], ms, "fake ≤ 2 ms", lambda r, f, b: f <= 2e-3)


# ---------------------------------------------------------------------------- standalone


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One uvicorn server (bench/_serve.py) in a subprocess."""

    def __init__(self, kind: str, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(workdir / f"{kind}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_serve.py"), kind, str(self.port), str(workdir)],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=str(HERE.parent), env={**os.environ, **(env or {})},
        )  # fmt: skip
        self._logfile = workdir / f"{kind}.log"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited early: {self._logfile.read_text()}")
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} server did not start on {self.url}")
            time.sleep(0.02)

    def rss_mb(self) -> float | None:
        try:
            with open(f"/proc/{self.proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully (lets a profiler dump)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def run_wrk(url: str, script: str, seconds: int) -> dict[str, float]:
    command = ["wrk", "-t1", "-c4", f"-d{seconds}s", "--timeout", "5s", "-s", str(HERE / script), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            data = json.loads(line[len("BENCHJSON ") :])
            return {
                "rps": data["requests"] / (data["duration_us"] / 1e6),
                "p50": data["p50_us"] / 1e6,
                "p99": data["p99_us"] / 1e6,
                "requests": data["requests"],
                "bad": data["non2xx"] + data["socket_errors"],
            }
    raise RuntimeError(f"wrk printed no result: {done.stdout}\n{done.stderr}")


def run_python_load(url: str, method: str, body: bytes | None, seconds: float, connections: int = 4
                    ) -> dict[str, float]:  # fmt: skip
    """Fallback load generator: ``connections`` threads, each with one keep-alive httpx client."""
    headers = {**AUTH, **(JSON_HEADERS if body else {})}
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()

    def worker() -> None:
        mine: list[float] = []
        errors = 0
        with httpx.Client(headers=headers, timeout=5) as client:
            while True:
                start = time.perf_counter()
                if start >= deadline:
                    break
                try:
                    status = client.request(method, url, content=body).status_code
                except httpx.HTTPError:
                    status = 0
                mine.append(time.perf_counter() - start)
                errors += not 200 <= status < 300
        with lock:
            latencies.extend(mine)
            bad[0] += errors

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {"rps": len(latencies) / elapsed, "p50": pick(0.50), "p99": pick(0.99), "requests": len(latencies),
            "bad": bad[0]}  # fmt: skip


def bench_standalone(s: Settings, loadgen: str) -> None:
    use_wrk = loadgen == "wrk" or (loadgen == "auto" and shutil.which("wrk") is not None)
    workdir = Path(tempfile.mkdtemp(prefix="mh-bench-serve-"))
    servers: list[ServerProcess] = []
    try:
        progress("standalone: starting servers")
        fake = ServerProcess("fake", workdir)
        servers.append(fake)
        bare = ServerProcess("bare", workdir)  # imports while the fake starts; waits for bodies.ready
        servers.append(bare)
        fake.wait_ready()
        # Capture the fake's answers: a create, and the GET body of a finished project.
        with httpx.Client(base_url=fake.url, headers=AUTH) as client:
            created = client.post("/v1/ai-voice-generator", content=POST_BODY, headers=JSON_HEADERS)
            assert created.status_code == 200, created.text
            pid = created.json()["id"]
            control = RemoteControl(fake.url)
            control.finish(pid)
            control.close()
            got = client.get(f"/v1/audio-projects/{pid}")
            assert got.status_code == 200 and got.json()["status"] == "complete", got.text
        (workdir / "get.json").write_bytes(got.content)
        (workdir / "post.json").write_bytes(created.content)
        (workdir / "bodies.ready").touch()
        bare.wait_ready()

        targets = {
            "GET": ("wrk_get.lua", f"/v1/audio-projects/{pid}", None),
            "POST": ("wrk_post.lua", "/v1/ai-voice-generator", POST_BODY),
        }

        def load(server: ServerProcess, method: str, seconds: int) -> dict[str, float]:
            script, path, body = targets[method]
            if use_wrk:
                return run_wrk(server.url + path, script, seconds)
            return run_python_load(server.url + path, method, body, seconds)

        if s.sa_warmup:
            progress("standalone: warm-up")
            for server in (fake, bare):
                for method in targets:
                    load(server, method, 1)
        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        total = {"fake": 0, "bare": 0}
        bad = 0
        for rep in range(s.sa_reps):
            for method in targets:
                order = [fake, bare] if (rep + (method == "POST")) % 2 == 0 else [bare, fake]
                for server in order:
                    progress(f"standalone: {method} {server.kind} rep {rep + 1}/{s.sa_reps}")
                    outcome = load(server, method, s.sa_seconds)
                    results.setdefault((server.kind, method), []).append(outcome)
                    total[server.kind] += int(outcome["requests"])
                    bad += int(outcome["bad"])

        def med(kind: str, method: str, key: str) -> float:
            return statistics.median(r[key] for r in results[(kind, method)])

        for method, (m_rps, m_p50, m_p99) in {
            "GET": (M_SA_GET_RPS, M_SA_GET_P50, M_SA_GET_P99),
            "POST": (M_SA_POST_RPS, M_SA_POST_P50, M_SA_POST_P99),
        }.items():
            add(
                m_rps, med("fake", method, "rps"), med("bare", method, "rps"), rps, "≥ 0.75x", lambda r, f, b: r >= 0.75
            )
            add(m_p50, med("fake", method, "p50"), med("bare", method, "p50"), ms)
            add(m_p99, med("fake", method, "p99"), med("bare", method, "p99"), ms, "≤ 2x", lambda r, f, b: r <= 2)
        fake_rss, bare_rss = fake.rss_mb(), bare.rss_mb()
        add(M_SA_RSS, fake_rss, bare_rss, mb)
        generator = (
            "wrk -t1 -c4 (1 thread, 4 keep-alive connections; wrk 4 applies its coordinated-omission "
            "correction to latencies, so one server stall of S ms weighs like the requests that S ms would have held)"
            if use_wrk
            else "Python load generator, 4 threads x 1 keep-alive httpx client "
            + ("(forced by --loadgen python)" if loadgen == "python" else "(wrk unavailable)")
            + "; WARNING: on 2 cores this client is slower than either server, so the ratios understate the fake's cost"
        )
        NOTES.append(
            f"standalone: load generator = {generator}, {s.sa_seconds} s per run, median of {s.sa_reps} runs per "
            "cell, fake and bare alternating; latencies are under that saturating load. Both servers: "
            "uvicorn.run(app, host='127.0.0.1', port=P, log_level='warning'), 1 process, h11 + asyncio "
            f"(uvloop/httptools not installed); fake = create_app(Engine(standalone_config(url, starting_balance=10**12))). "
            f"Requests served: fake {total['fake']:,}, bare {total['bare']:,}; non-2xx or socket errors: {bad}."
        )
        if bad:
            NOTES.append(f"WARNING: {bad} standalone requests failed or were not 2xx: throughput figures are suspect")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------- engine scaling


def bench_engine(s: Settings) -> None:
    progress(f"engine scaling: {', '.join(map(str, s.eng_sizes))} projects (subprocess)")
    done = subprocess.run(
        [sys.executable, str(HERE / "_engine_scale.py"), ",".join(map(str, s.eng_sizes)), str(s.eng_reps),
         str(s.eng_batch)],
        capture_output=True, text=True, timeout=600, check=True, cwd=str(HERE.parent),
    )  # fmt: skip
    data = json.loads(done.stdout)
    sizes, rss = data["sizes"], data["rss_mb"]
    base = sizes["10"]

    def at(size: int, key: str) -> float | None:
        return sizes[str(size)][key] / 1e6 if str(size) in sizes else None

    flat = lambda r, f, b: r <= 1.5  # noqa: E731
    add(M_ENG_CREATE_10K, at(10_000, "create_us"), base["create_us"] / 1e6, us, "flat: ≤ 1.5x", flat)
    add(M_ENG_CREATE_100K, at(100_000, "create_us"), base["create_us"] / 1e6, us, "flat: ≤ 1.5x", flat)
    add(M_ENG_GET_10K, at(10_000, "get_us"), base["get_us"] / 1e6, us, "flat: ≤ 1.5x", flat)
    add(M_ENG_GET_100K, at(100_000, "get_us"), base["get_us"] / 1e6, us, "flat: ≤ 1.5x", flat)
    add(M_ENG_RSS, rss.get("100000"), rss["10"], mb, "fake ≤ 200 MB", lambda r, f, b: f <= 200)
    if "100000" in rss:
        per = (rss["100000"] - rss["10"]) * 1024 * 1024 / 100_000
        NOTES.append(
            f"engine: ~{per:,.0f} bytes of RSS per project (one account, poll progression); peak RSS {data['hwm_mb']:.1f} MB"
        )
    NOTES.append(
        "engine: direct Engine calls in a fresh subprocess; median of "
        f"{s.eng_reps} batches of {s.eng_batch} calls; get_project reads 100 completed projects spread over the store; "
        "store sizes while measuring: " + ", ".join(f"{k}→{v['store']:,}" for k, v in sizes.items())
    )


# ---------------------------------------------------------------------------- main


def describe_checkout() -> str:
    """The commit benchmarked, and whether mh_mock/ had uncommitted changes (read-only git calls)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "mh_mock", "pytest_plugin"],
            cwd=HERE.parent, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" + uncommitted changes in mh_mock/ or pytest_plugin/" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke mode: same rows, few iterations (a few seconds)")
    parser.add_argument(
        "--loadgen", choices=["auto", "wrk", "python"], default="auto",
        help="standalone load generator (auto: wrk if installed, else Python threads)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    began = time.perf_counter()
    bench_inprocess(settings)
    bench_lifecycle(settings)
    bench_setup(settings)
    bench_standalone(settings, args.loadgen)
    bench_engine(settings)
    NOTES.insert(0, f"code under test: {describe_checkout()}")
    NOTES.insert(
        0,
        f"in-process rows: median of {settings.reps} interleaved batches ({settings.get_n} GETs, "
        f"{settings.life_n} lifecycles, {settings.setup_n} setups per batch); python {sys.version.split()[0]}, "
        f"httpx {httpx.__version__}, respx {respx.__version__}, {os.cpu_count()} CPUs",
    )
    if args.quick:
        NOTES.append("--quick: few iterations; numbers are for smoke testing only, not for judging targets")
    # print ordered by MEASUREMENTS regardless of the order phases ran in
    ROWS.sort(key=lambda row: MEASUREMENTS.index(row.name))
    print_table("quick" if args.quick else "full", time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
