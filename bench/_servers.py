"""Processes of the standalone rows: the servers under test, wrk, and the tools they need."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

import httpx
from _common import HERE, rss_mb

PRISM_CANDIDATES = ("/work/bench-tools/node_modules/.bin/prism",)
HIDE = "raise ImportError('hidden by bench/_servers.py: this server runs as if {name} were not installed')\n"


# ---------------------------------------------------------------------------- tools


def find_prism(explicit: str | None) -> str | None:
    """The prism executable: ``explicit`` (--prism; "none" disables Prism), else $MH_BENCH_PRISM, PATH, DIRS."""
    explicit = explicit or os.environ.get("MH_BENCH_PRISM")
    candidates = [explicit] if explicit else [shutil.which("prism"), *PRISM_CANDIDATES]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def mh_mock_script() -> str | None:
    """The ``mh-mock`` console script of this interpreter's environment (else the one on PATH)."""
    beside = Path(sys.executable).parent / "mh-mock"
    return str(beside) if beside.is_file() else shutil.which("mh-mock")


def tool_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].split(" Copyright")[0].strip() if lines else "unknown"


def stacks_installed() -> bool:
    """Whether uvloop and httptools are installed (distributions, not just importable names)."""
    try:
        metadata.version("uvloop"), metadata.version("httptools")
    except metadata.PackageNotFoundError:
        return False
    return find_spec("uvloop") is not None and find_spec("httptools") is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------- servers


@dataclass
class Server:
    """One server process under test."""

    key: str  # e.g. "fake asyncio+h11"
    role: str  # "fake", "starlette", "raw", "prism"
    stack: str  # a STACKS key, or "node" for Prism
    command: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    get_path: str = ""  # the project the GET load reads (set once the fakes have one)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / (self.key.replace(" ", "_").replace("+", "_") + ".log")

    def start(self) -> None:
        with open(self.log, "wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [part.replace("{port}", str(self.port)) for part in self.command],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=str(self.workdir), env={**os.environ, **self.env}, start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 90) -> None:
        """Ready once it answers any HTTP request."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.key} exited early ({self.proc.returncode}): {self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"{self.url}/", timeout=2)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.key} did not answer on {self.url} within {timeout:.0f} s")
            time.sleep(0.05)

    def describe(self) -> str:
        shown = [Path(self.command[0]).name, *self.command[1:]]
        if self.role == "fake":
            shown = [shown[0], *shown[1:3], "P"]  # the console script and its one flag
        elif self.role == "prism":
            shown = [shown[0], shown[1], Path(shown[2]).name, *shown[3:]]
        else:
            shown = [Path(self.command[1]).name, *self.command[2:3], *self.command[5:]]
        text = f"{self.key}: `{' '.join(shown).replace('{port}', 'P')}`"
        if "PYTHONPATH" in self.env:
            text += " (PYTHONPATH hides uvloop/httptools)"
        return text + ("" if self.role == "prism" else f", loaded {self.loaded()}")

    def cpu_ticks(self) -> int:
        assert self.proc is not None
        try:
            with open(f"/proc/{self.proc.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            return 0

    def loaded(self) -> str:
        """Which of uvloop / httptools this process has mapped (Linux), e.g. 'uvloop+httptools'."""
        assert self.proc is not None
        try:
            maps = Path(f"/proc/{self.proc.pid}/maps").read_text()
        except OSError:
            return "unknown"
        loop = "uvloop" if "/uvloop/" in maps else "asyncio"
        http = "httptools" if "/httptools/" in maps else "h11"
        return f"{loop}+{http}"

    def rss(self) -> float | None:
        return rss_mb(self.proc.pid) if self.proc else None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # uvicorn and Prism shut down on SIGINT
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_idle(servers: list[Server], limit: float = 15.0) -> float:
    """Wait until no server uses more than ~4 % of a core over 0.25 s; return the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = sum(server.cpu_ticks() for server in servers)
        time.sleep(0.25)
        if sum(server.cpu_ticks() for server in servers) - before <= 1:  # USER_HZ is 100
            break
    return time.monotonic() - started


# ---------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int

    def describe(self) -> str:
        return f"wrk -t{self.threads} -c{self.connections}"

    def run(self, url: str, method: str, seconds: int, nonce: str) -> dict[str, float]:
        script = HERE / ("wrk_get.lua" if method == "GET" else "wrk_post.lua")
        command = [
            "wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{seconds}s", "--timeout", "5s",
            "-s", str(script), url, "--", nonce,
        ]  # fmt: skip
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
