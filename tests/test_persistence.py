"""serve --state: everything acknowledged survives a restart, and a kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
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

from .serving import serve
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


def test_projects_changed_after_others_were_created_list_in_creation_order_after_a_restart(tmp_path: Path) -> None:
    options: dict[str, Any] = {"state": tmp_path / "state.db", "frozen_clock": True, "progression": "clock"}
    with LiveServer(**options) as server, Client("alice", base_url=server.url) as alice:
        created = [alice.create_voice(f"job {n}", "Elon Musk")["id"] for n in range(3)]
        server.finish(created[0])  # its row is written again after the others were created
        assert [p["id"] for p in server.projects()] == created
    with LiveServer(**options) as server:
        assert [p["id"] for p in server.projects()] == created


def test_two_processes_cannot_share_a_state_file(tmp_path: Path) -> None:
    first = Store(tmp_path / "s.db")
    try:
        with pytest.raises(ConfigError, match="another mh-mock process is using the state file"):
            Store(tmp_path / "s.db")
    finally:
        first.close()
    Store(tmp_path / "s.db").close()  # released on close


def test_a_symlink_does_not_let_a_second_server_open_the_same_file(tmp_path: Path) -> None:
    (tmp_path / "link.db").symlink_to(tmp_path / "s.db")
    first = Store(tmp_path / "s.db")
    try:
        with pytest.raises(ConfigError, match="another mh-mock process is using the state file"):
            Store(tmp_path / "link.db")
    finally:
        first.close()


@pytest.mark.slow
def test_a_save_that_fails_is_refused_rolled_back_and_what_a_restart_restores(tmp_path: Path) -> None:
    """Hold the database's write lock from another connection: the charge is refused, not half-applied."""
    state = tmp_path / "s.db"
    options = ("--state", str(state), "--frozen-clock", "--balance", "100", "--state-timeout", "0.3")
    server = serve(*options)
    auth = {"authorization": "Bearer mhk_live_ledger"}
    music = {"duration": 30, "style": {"prompt": "lofi"}}
    with httpx.Client(base_url=server.url, headers=auth, timeout=10) as http:
        assert http.get("/v1/account").json()["credits"] == 100
        blocker = sqlite3.connect(state, timeout=0, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        refused = http.post("/v1/ai-music-generator", json=music)
        assert refused.status_code == 503 and "nothing was changed" in refused.json()["message"]
        assert http.get("/v1/account").json()["credits"] == 100  # reads go on, and show no charge
        assert http.get("/mh-mock-api/projects").json() == []
        blocker.execute("ROLLBACK")
        blocker.close()
        created = http.post("/v1/ai-music-generator", json=music).json()
        assert http.get("/v1/account").json()["credits"] == 70
    server.stop(signal.SIGKILL)
    server = serve(*options, port=server.port)
    try:
        with httpx.Client(base_url=server.url, headers=auth, timeout=10) as http:
            projects = http.get("/mh-mock-api/projects").json()
            assert [p["id"] for p in projects] == [created["id"]]
            balance = http.get("/v1/account").json()["credits"]
            assert balance + sum(p["credits_charged"] for p in projects) == 100  # the ledger adds up
    finally:
        server.stop()


@pytest.mark.slow
def test_sigterm_checkpoints_the_state_file_and_exits_0(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    server = serve("--state", str(state))
    httpx.get(f"{server.url}/v1/account", headers={"authorization": "Bearer kept"})
    assert server.stop(signal.SIGTERM) == 0
    assert not Path(f"{state}-wal").exists() or Path(f"{state}-wal").stat().st_size == 0
    alone = tmp_path / "copy.db"
    alone.write_bytes(state.read_bytes())  # the file alone, without its -wal, holds everything
    with sqlite3.connect(alone) as db:
        assert db.execute("SELECT count(*) FROM accounts").fetchone() == (1,)


def _unusable(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mh_mock", "serve", "--state", str(path), "--port", "9"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


@pytest.mark.slow
def test_a_corrupt_truncated_or_wrong_state_file_stops_the_server_with_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(4096))
    assert "is not an mh-mock state file or it is damaged; move it away" in _unusable(garbage)
    valid = tmp_path / "valid.db"
    Store(valid).close()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(valid.read_bytes()[:1000])
    assert "cannot use the state file" in _unusable(truncated)
    folder = tmp_path / "folder.db"
    folder.mkdir()
    assert "is a directory; give a file path to --state" in _unusable(folder)
    missing_dir = tmp_path / "no-such-dir" / "s.db"
    assert "check the directory exists and is writable" in _unusable(missing_dir)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions, so a read-only file cannot be made")
def test_a_read_only_state_file_stops_the_server_with_one_line(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    Store(state).close()
    state.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        assert "writable" in _unusable(state)
    finally:
        tmp_path.chmod(0o755)


def test_kill_9_mid_stream_loses_nothing_acknowledged(tmp_path: Path, wav_file: Path) -> None:
    state = tmp_path / "state.db"
    server = serve("--state", str(state), "--progression", "poll", "--frozen-clock")
    process, url = server.process, server.url
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

    server = serve("--state", str(state), "--progression", "poll", "--frozen-clock", port=server.port)
    process = server.process
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
    kept = engine.webhooks.add("http://127.0.0.1:9/kept", "s")
    gone = engine.webhooks.add("http://127.0.0.1:9/gone", "s")
    project = engine.api.create("t", "voice_generator", prompt="a", voice_name="Elon Musk")
    engine.controls.finish(project.id)  # started + completed for each endpoint, not yet attempted
    engine.webhooks.remove(gone.id)
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
        due = again.webhooks.take_due()
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


def test_a_refund_and_webhook_attempts_made_in_later_calls_survive_a_restart(tmp_path: Path) -> None:
    """What changes after the call that created a job (its refund, later delivery attempts) is saved too."""
    attempts: list[int] = []

    def receiver(headers: object, body: bytes) -> int:
        attempts.append(1)
        return 500 if len(attempts) == 1 else 200  # the first attempt fails and is retried a second later

    state = tmp_path / "s.db"
    engine = Engine(Config(progression="poll"), store=Store(state))
    engine.webhooks.add(receiver, "s", ["audio.errored"])
    project = engine.api.create(
        "t", "voice_generator", prompt="x" * 20, voice_name="Elon Musk", outcome="error:invalid_voice"
    )
    for _ in range(3):  # polls: the job errors in a later call, and is refunded then
        engine.api.get_project("t", project.id)
    for _ in range(2):
        for attempt in engine.webhooks.take_due():
            status = receiver(attempt.headers, attempt.body)
            engine.webhooks.record(attempt.delivery_id, status, None, attempt.at)
        engine.controls.advance(1)
    engine.close()
    again = Engine(Config(progression="poll"), store=Store(state))
    try:
        account = again.accounts.account("t")
        assert (account.credits, account.charged, account.refunded) == (10_000, 2, 2)
        assert again.api.get_project("t", project.id)["credits_charged"] == 0
        [delivery] = again.state.hub.deliveries()
        assert (delivery.state, [a.status for a in delivery.attempts]) == ("delivered", [500, 200])
        assert again.webhooks.take_due() == []  # nothing is sent twice after a restart
    finally:
        again.close()
