"""serve --state: everything acknowledged survives a restart, and a kill -9."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from mh_mock.client import Client
from mh_mock.config import Config
from mh_mock.engine import Engine
from mh_mock.engine.store import Store
from mh_mock.errors import ConfigError
from mh_mock.standalone.threaded import LiveServer

from .webhook_receiver import SECRET


def _snapshot(server: LiveServer) -> tuple[Any, ...]:
    projects = [{k: v for k, v in p.items() if k != "downloads"} for p in server.projects()]
    return (
        projects,
        server.accounts(),
        server.scenarios(),
        server.faults(),
        server.webhooks(),
        server.deliveries(),
        server.state(),
    )


def test_a_restart_resumes_exactly_where_it_stopped(tmp_path: Path, wav_file: Path) -> None:
    state = tmp_path / "state.db"
    options: dict[str, Any] = {"state": state, "frozen_clock": True, "progression": "clock", "seed": 4}
    with LiveServer(**options) as server, Client("alice", base_url=server.url) as alice:
        server.reset(starting_balance=900)
        asset = alice.upload_file(wav_file)
        cloned = alice.clone_voice(asset, "Clone me")["id"]
        server.advance(6)  # the clone (1 s queued + 4 s rendering) is complete
        queued = alice.create_music(20, "waltz")["id"]
        server.fail_next(1, "invalid_voice")
        server.add_fault("rate_limit", route="account.get", nth=5)
        server.add_webhook("http://127.0.0.1:9/hook", SECRET)  # unreachable: its deliveries stay pending
        server.set_balance("bob", 77)
        server.advance(1)
        server.deliver_webhooks()  # the first attempts fail; retries wait for the (frozen) clock
        before = _snapshot(server)
        url_before = alice.get(cloned)["downloads"]
    with LiveServer(**options) as server, Client("alice", base_url=server.url) as alice:
        after = _snapshot(server)
        assert after[:6] == before[:6]
        assert after[6]["epoch"] == before[6]["epoch"]  # a frozen clock stands where it stood
        assert alice.account()["credits"] == 900 - 1 - 20
        [download] = alice.get(cloned)["downloads"]
        path = download["url"].split("/outputs/")[1]
        assert path == url_before[0]["url"].split("/outputs/")[1]  # same secret, same clock: same URL
        assert httpx.get(f"{server.url}/outputs/{path}").content[:4] == b"RIFF"
        server.advance(10)
        assert alice.get(queued)["status"] == "complete"
        fresh = alice.create_voice("after restart", "Elon Musk")["id"]
        assert fresh not in {p["id"] for p in before[0]}
        assert alice.get(fresh)["status"] == "queued"


def test_two_processes_cannot_share_a_state_file(tmp_path: Path) -> None:
    first = Store(tmp_path / "s.db")
    try:
        with pytest.raises(ConfigError, match="another mh-mock process is using the state file"):
            Store(tmp_path / "s.db")
    finally:
        first.close()
    Store(tmp_path / "s.db").close()  # released on close


def _serve(port: int, state: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mh_mock", "serve", "--port", str(port), "--state", str(state), "--progression", "poll", "--frozen-clock"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if "Uvicorn running on" in line:
            return process
    raise AssertionError(f"server did not start: {process.wait()}")


def test_kill_9_mid_stream_loses_nothing_acknowledged(tmp_path: Path, wav_file: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state, url = tmp_path / "state.db", f"http://127.0.0.1:{port}"
    process = _serve(port, state)
    acknowledged: list[tuple[str, str, int]] = []  # (token, project id, charge)
    uploads: list[tuple[str, str]] = []
    enough = threading.Event()

    def writer(token: str) -> None:
        with Client(token, base_url=url, timeout=5) as client:
            for n in range(400):
                try:
                    if n % 5 == 0:
                        uploads.append((token, client.upload_file(wav_file)))
                    created = client.create_voice("x" * (10 + n % 30), "Elon Musk")
                    acknowledged.append((token, created["id"], created["credits_charged"]))
                    client.get(created["id"])
                except (httpx.TransportError, OSError):
                    return  # the server died under us
                if len(acknowledged) >= 60:
                    enough.set()

    threads = [threading.Thread(target=writer, args=(f"tok{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=60)
    os.kill(process.pid, signal.SIGKILL)  # while the writers are still sending
    process.wait()
    process.stderr.close()  # type: ignore[union-attr]
    for thread in threads:
        thread.join(timeout=30)

    process = _serve(port, state)
    try:
        with httpx.Client(base_url=url) as http:
            projects = {p["id"]: p for p in http.get("/mh-mock-api/projects").json()}
            accounts = {a["id"]: a for a in http.get("/mh-mock-api/accounts").json()}
            for token, project_id, charge in acknowledged:
                owner = http.get(f"/mh-mock-api/accounts/{token}").json()["id"]
                assert projects[project_id]["account_id"] == owner and projects[project_id]["credits_charged"] == charge
            for account_id, account in accounts.items():  # the ledger balances, acknowledged or not
                charged = sum(p["credits_charged"] for p in projects.values() if p["account_id"] == account_id)
                assert account["credits"] == 10_000 - charged == 10_000 - account["charged"] + account["refunded"]
            for token, file_path in uploads:
                with Client(token, base_url=url) as client:
                    project = client.clone_voice(file_path, "still there?")
                    for _ in range(3):
                        body = client.get(project["id"])
                    assert body["status"] == "complete", body["error"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()  # type: ignore[union-attr]


def test_deliveries_and_removed_endpoints_survive_a_restart(tmp_path: Path) -> None:
    engine = Engine(Config(), store=Store(tmp_path / "s.db"))
    kept = engine.controls.add_webhook("http://127.0.0.1:9/kept", "s")
    gone = engine.controls.add_webhook("http://127.0.0.1:9/gone", "s")
    project = engine.api.create_voice("t", prompt="a", voice_name="Elon Musk")
    engine.controls.finish(project.id)  # started + completed for each endpoint, not yet attempted
    engine.controls.remove_webhook(gone.id)
    engine.close()
    again = Engine(Config(), store=Store(tmp_path / "s.db"))
    try:
        states = sorted((d.endpoint_id, d.event.value, d.state) for d in again.state.hub.deliveries())
        assert states == sorted(
            [
                (gone.id, "audio.completed", "failed"),
                (gone.id, "audio.started", "failed"),
                (kept.id, "audio.completed", "pending"),
                (kept.id, "audio.started", "pending"),
            ]
        )
        due = again.take_due_webhooks()
        assert [(a.endpoint.id, json.loads(a.body)["type"]) for a in due] == [(kept.id, "audio.started")]  # in order
    finally:
        again.close()


def test_a_seed_files_config_survives_a_restart_and_explicit_options_win(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    with LiveServer(state=state, preload="examples", frozen_clock=True) as server:
        server.reset(strict_auth=False)
        server.reset(strict_auth=False)  # the same reset twice is still saved
        assert server.add_account("before")["tier"] == "pro"
    with LiveServer(state=state, preload="examples", frozen_clock=True) as server:
        after = server.add_account("after")
        assert (after["tier"], after["credits"]) == ("pro", 12_500)
    with LiveServer(preload="examples", starting_balance=5) as server:
        assert server.add_account("explicit")["credits"] == 5


def test_a_repeated_reset_with_options_is_what_a_restart_resumes(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    options = {"state": state, "frozen_clock": True, "seed": 1, "start_time": 1_767_225_600.0}
    with LiveServer(**options) as server:  # type: ignore[arg-type]
        server.reset(strict_auth=True)
        server.reset(strict_auth=True)
    with LiveServer(**options) as server:  # type: ignore[arg-type]
        assert httpx.get(f"{server.url}/v1/account", headers={"authorization": "Bearer stranger"}).status_code == 401
