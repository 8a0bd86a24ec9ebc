"""The state file, in-process: every kind of change a control or call makes is there after a restart,
and a file that cannot be used is refused with a message that says why and what to do."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mh_mock.config import Config
from mh_mock.engine import Engine
from mh_mock.engine.seeds import import_upload
from mh_mock.engine.store import Store, StoreError
from mh_mock.errors import NotFound, Unavailable

from .engines import START, T, uploaded
from .engines import create_voice as _voice


@pytest.fixture
def restart(tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    """``restart(**options)``: close the engine made last (if any) and open the state file again."""
    opened: list[Engine] = []

    def reopen(**options: Any) -> Engine:
        if opened:
            opened[-1].close()
        engine = Engine(Config(start_time=START, **options), store=Store(tmp_path / "s.db"))
        opened.append(engine)
        return engine

    yield reopen
    opened[-1].close()


def test_a_file_just_created_opens_again(restart: Callable[..., Engine]) -> None:
    restart()
    assert restart().api.account_body(T)["credits"] == 10_000


def test_a_changed_outcome_survives_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    project_id = _voice(engine)
    engine.controls.set_outcome(project_id, "error:invalid_voice")
    again = restart()
    assert again.controls.finish(project_id)[0].outcome.code == "invalid_voice"


def test_balances_set_by_token_and_by_id_survive_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    engine.api.account_body("a")
    engine.api.account_body("b")
    engine.accounts.set_balance("a", 12)
    engine.accounts.set_balance_by_id(engine.accounts.account("b").id, 34)
    again = restart()
    assert [(a.token, a.credits) for a in again.accounts.accounts()] == [("a", 12), ("b", 34)]


def test_a_fault_alone_is_saved(restart: Callable[..., Engine]) -> None:
    restart().simulation.add_fault({"kind": "rate_limit", "route": "account.get"})
    assert restart().simulation.pick_fault("account.get", None, T) is not None


def test_random_failures_survive_a_restart(restart: Callable[..., Engine]) -> None:
    restart(seed=2).simulation.set_random_failures(1.0, ["invalid_voice"])
    again = restart(seed=2)
    assert again.controls.finish(_voice(again))[0].outcome.code == "invalid_voice"


def test_seeded_ids_after_a_restart_are_the_same_every_time(tmp_path: Path) -> None:
    def run(folder: Path) -> list[str]:
        folder.mkdir()
        engine = Engine(Config(seed=9, start_time=START), store=Store(folder / "s.db"))
        _voice(engine)
        engine.close()
        again = Engine(Config(seed=9, start_time=START), store=Store(folder / "s.db"))
        try:
            return [_voice(again), _voice(again)]
        finally:
            again.close()

    assert run(tmp_path / "one") == run(tmp_path / "two")


def test_reset_options_survive_two_restarts(restart: Callable[..., Engine]) -> None:
    restart().reset(starting_balance=77)
    restart().api.account_body("a")  # a later call saves again, with the options of the reset
    assert restart().api.account_body("b")["credits"] == 77


def test_a_read_count_survives_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart(reads_per_step=3)
    project_id = _voice(engine)
    engine.api.get_project(T, project_id)
    again = restart(reads_per_step=3)
    assert [again.api.get_project(T, project_id)["status"] for _ in range(2)] == ["queued", "queued"]
    assert again.controls.project(project_id).status == "rendering"


def test_a_project_restarted_by_a_progression_switch_is_still_there_after_a_restart(
    restart: Callable[..., Engine],
) -> None:
    engine = restart(progression="clock")
    project_id = _voice(engine)
    engine.controls.set_progression("poll")
    assert [p.id for p in restart(progression="clock").controls.projects()] == [project_id]


def test_an_uploaded_file_survives_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    [slot] = engine.api.create_upload_urls(T, [("audio", "wav")])
    auth = parse_qs(urlsplit(slot["upload_url"]).query)["auth-value"][0]
    engine.api.put_upload(slot["file_path"], auth, b"RIFFdata")
    assert uploaded(restart(), slot["file_path"]) == b"RIFFdata"


def test_a_tenants_options_survive_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    engine.accounts.reset_tenant("mine", progression="poll", reads_per_step=2, starting_balance=900)
    again = restart()
    assert again.api.account_body("mine")["credits"] == 900
    project_id = _voice(again, "mine")
    assert [again.api.get_project("mine", project_id)["status"] for _ in range(3)] == ["queued", "queued", "rendering"]


def test_a_removed_tenant_stays_removed_after_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    engine.accounts.reset_tenant("gone")
    engine.webhooks.add("http://127.0.0.1:9/hook", "s")
    gone, kept = _voice(engine, "gone"), _voice(engine, "kept")
    [slot] = engine.api.create_upload_urls("gone", [("audio", "wav")])
    engine.api.put_upload(slot["file_path"], parse_qs(urlsplit(slot["upload_url"]).query)["auth-value"][0], b"RIFF")
    engine.controls.finish(gone)
    engine.controls.finish(kept)
    for attempt in engine.webhooks.take_due():  # the started events are delivered and logged
        engine.webhooks.record(attempt.delivery_id, 200, None, attempt.at)
    engine.accounts.remove_tenant("gone")
    again = restart()
    assert [p.id for p in again.controls.projects()] == [kept]
    assert [a.token for a in again.accounts.accounts()] == ["kept"]
    assert uploaded(again, slot["file_path"]) is None
    assert {(d.owner, d.event.value, d.state) for d in again.state.hub.deliveries()} == {
        ("kept", "audio.started", "delivered"), ("kept", "audio.completed", "pending"),
    }  # fmt: skip


def test_the_delivery_log_limit_holds_after_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart(delivery_log_limit=2)
    engine.webhooks.add("http://127.0.0.1:9/hook", "s", ["audio.completed"])
    for _ in range(3):
        engine.controls.finish(_voice(engine))
    attempts = engine.webhooks.take_due()
    for attempt in attempts:
        engine.webhooks.record(attempt.delivery_id, 200, None, attempt.at)
    again = restart(delivery_log_limit=2)
    assert [d.id for d in again.state.hub.deliveries()] == [a.delivery_id for a in attempts[1:]]


def test_deliveries_for_a_python_receiver_fail_after_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    engine.webhooks.add(lambda headers, body: 200, "s")  # a callable is not saved; its deliveries are
    engine.controls.finish(_voice(engine))
    again = restart()
    assert again.webhooks.take_due() == []
    assert [(d.event.value, d.state) for d in again.state.hub.deliveries()] == [
        ("audio.started", "failed"), ("audio.completed", "failed"),
    ]  # fmt: skip


# ---------------------------------------------------------------------------- files that cannot be used


def test_a_directory_is_refused_as_a_state_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=re.escape(f"the state file {tmp_path} is a directory; give a file path")):
        Store(tmp_path)


def test_a_state_file_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="check the directory exists and is writable"):
        Store(tmp_path / "missing" / "s.db")


def test_a_second_store_on_the_same_file_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    first = Store(tmp_path / "s.db")
    try:
        with pytest.raises(StoreError) as refused:
            Store(tmp_path / "s.db")
        assert str(refused.value) == (
            f"another mh-mock process is using the state file {tmp_path / 's.db'}; one server per state file "
            "(start this one with its own --state PATH)"
        )
    finally:
        first.close()
    Store(tmp_path / "s.db").close()  # released on close


def test_a_file_that_is_not_a_database_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError) as refused:
        Store(path)
    assert str(refused.value).startswith(f"cannot use the state file {path}: file is not a database; ")
    assert "it is not an mh-mock state file or it is damaged" in str(refused.value)


def test_a_busy_file_gets_the_generic_hint(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("CREATE TABLE t (x)")
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError) as refused:
            Store(path, busy_timeout=0)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "database is locked; move it away or pick another --state PATH" in str(refused.value)


def test_a_file_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', '1')")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=re.escape("(state file schema 1, this one reads 3)")):
        Store(path)


def test_a_damaged_row_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    engine = Engine(Config(), store=Store(path))
    engine.api.account_body(T)
    engine.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE accounts SET value = '{broken'")
    db.commit()
    db.close()
    store = Store(path)
    try:
        with pytest.raises(StoreError, match=re.escape(f"cannot use the state file {path}: ")):
            store.load()
    finally:
        store.close()


def test_the_busy_timeout_given_is_the_one_waited(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    engine = Engine(Config(), store=Store(path, busy_timeout=0.05))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        began = time.monotonic()
        with pytest.raises(Unavailable):
            engine.api.account_body(T)
        assert time.monotonic() - began < 2.5  # not the default of 5 s
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        engine.close()


def test_closing_checkpoints_so_the_file_alone_holds_everything(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    engine = Engine(Config(), store=Store(path))
    engine.api.account_body(T)
    engine.close()
    wal = path.with_name("s.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    rows = sqlite3.connect(path).execute("SELECT value FROM accounts").fetchall()
    assert [json.loads(value)["token"] for (value,) in rows] == [T]


@pytest.mark.skipif(sys.platform == "win32", reason="how SQLite fails on these files is POSIX behaviour")
def test_a_state_file_whose_shared_memory_cannot_be_written_is_refused_as_read_only(tmp_path: Path) -> None:
    (tmp_path / "s.db-shm").mkdir()  # SQLite cannot write its shared memory: a read-only database to it
    with pytest.raises(StoreError) as refused:
        Store(tmp_path / "s.db")
    assert "readonly database; make it (and its directory) writable, or pick another --state PATH" in str(refused.value)


@pytest.mark.skipif(sys.platform == "win32", reason="how SQLite fails on these files is POSIX behaviour")
def test_a_path_sqlite_cannot_open_is_refused_with_the_writable_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a short relative path: socket paths have a length limit
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("s.db")
        with pytest.raises(StoreError) as refused:
            Store("s.db")
    assert "unable to open database file; make it (and its directory) writable" in str(refused.value)


@pytest.mark.skipif(sys.platform == "win32", reason="how SQLite fails on these files is POSIX behaviour")
def test_another_io_error_gets_the_generic_hint(tmp_path: Path) -> None:
    (tmp_path / "s.db-wal").mkdir()  # SQLite cannot open its write-ahead log
    with pytest.raises(StoreError) as refused:
        Store(tmp_path / "s.db")
    assert str(refused.value).endswith("disk I/O error; move it away or pick another --state PATH")


def test_an_upload_slot_survives_a_restart_before_its_file_is_put(restart: Callable[..., Engine]) -> None:
    [slot] = restart().api.create_upload_urls(T, [("audio", "wav")])
    auth = parse_qs(urlsplit(slot["upload_url"]).query)["auth-value"][0]
    again = restart()
    again.api.put_upload(slot["file_path"], auth, b"RIFF")
    assert uploaded(again, slot["file_path"]) == b"RIFF"


def test_an_account_made_by_its_first_call_keeps_its_id_after_a_restart(restart: Callable[..., Engine]) -> None:
    first = restart().api.account_body(T)
    assert restart().api.account_body(T) == first


def test_an_imported_upload_survives_a_restart(restart: Callable[..., Engine]) -> None:
    import_upload(restart(), "api-assets/x/voice.wav", "*", b"RIFFdata")
    assert uploaded(restart(), "api-assets/x/voice.wav") == b"RIFFdata"


# ---------------------------------------------------------------------------- more of what a restart restores


def test_a_failed_attempt_and_its_retry_time_survive_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    engine.webhooks.add("http://127.0.0.1:9/hook", "s", ["audio.completed"])
    engine.controls.finish(_voice(engine))
    [attempt] = engine.webhooks.take_due()
    engine.webhooks.record(attempt.delivery_id, 500, None, attempt.at)
    [delivery] = restart().state.hub.deliveries()
    assert ([a.status for a in delivery.attempts], delivery.next_attempt_at) == ([500], START + 1)


def test_a_tokens_own_webhook_stays_its_own_after_a_restart(restart: Callable[..., Engine]) -> None:
    restart().webhooks.add("http://127.0.0.1:9/hook", "s", token="mine")
    again = restart()
    again.controls.finish(_voice(again, "theirs"))
    assert again.webhooks.take_due() == []


def test_ids_of_removed_webhooks_rules_and_faults_are_never_given_out_again_after_a_restart(
    restart: Callable[..., Engine],
) -> None:
    engine = restart()
    hook = engine.webhooks.add("http://127.0.0.1:9/old", "whsec_old")
    engine.controls.finish(_voice(engine))
    [attempt, *_] = engine.webhooks.take_due()
    engine.webhooks.record(attempt.delivery_id, 200, None, attempt.at)
    engine.webhooks.remove(hook.id)
    rule = engine.simulation.add_rule({"outcome": "complete"})
    engine.simulation.remove_rule(rule.id)
    fault = engine.simulation.add_fault({"kind": "reset"})
    engine.simulation.remove_fault(fault.id)

    again = restart()
    new_hook = again.webhooks.add("http://127.0.0.1:9/new", "whsec_new")
    assert new_hook.id != hook.id
    assert again.simulation.add_rule({"outcome": "complete"}).id != rule.id
    assert again.simulation.add_fault({"kind": "reset"}).id != fault.id
    with pytest.raises(NotFound, match="is gone"):  # the old event is not sent to the new endpoint
        again.webhooks.redeliver(attempt.delivery_id)


def test_how_often_a_fault_has_matched_survives_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    engine.simulation.add_fault({"kind": "reset", "route": "account.get", "nth": 2})
    assert engine.simulation.pick_fault("account.get", None, T) is None
    assert restart().simulation.pick_fault("account.get", None, T) is not None  # the second match


def test_a_project_deleted_after_it_finished_stays_deleted_after_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    project_id = _voice(engine)
    engine.controls.finish(project_id)
    engine.api.delete_project(T, project_id)
    assert restart().controls.project(project_id).enabled is False


def test_a_progression_switch_restarts_the_timer_also_after_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart(progression="clock")
    project_id = _voice(engine)
    engine.controls.advance(0.5)
    engine.controls.set_progression("poll")
    engine.controls.set_progression("clock")  # the queued second starts again at +0.5
    again = restart(progression="clock")
    again.controls.advance(0.9)
    assert again.controls.project(project_id).status == "queued"
    again.controls.advance(0.1)
    assert again.controls.project(project_id).status == "rendering"


def test_a_reset_empties_the_state_file(restart: Callable[..., Engine]) -> None:
    engine = restart()
    _voice(engine)
    engine.reset()
    assert restart().controls.projects() == []


def test_the_audio_of_a_project_is_the_same_after_a_restart(restart: Callable[..., Engine]) -> None:
    engine = restart()
    project_id = _voice(engine)
    engine.controls.finish(project_id)
    url = urlsplit(engine.api.get_project(T, project_id)["downloads"][0]["url"])
    query = parse_qs(url.query)
    args = (project_id, "output.wav", query["expires"][0], query["signature"][0])
    before = bytes(engine.api.download(*args))
    assert bytes(restart().api.download(*args)) == before


def _ids_after_restarts(folder: Path, seed: int | None, per_restart: list[int]) -> list[list[str]]:
    folder.mkdir()
    made = []
    for count in [0, *per_restart]:
        engine = Engine(Config(seed=seed, start_time=START), store=Store(folder / "s.db"))
        try:
            made.append([_voice(engine) for _ in range(count)])
        finally:
            engine.close()
    return made[1:]


def test_each_restart_of_a_seeded_fake_draws_ids_from_a_new_stream(tmp_path: Path) -> None:
    _, second_restart = _ids_after_restarts(tmp_path / "a", 9, [1, 1])
    [first_two] = _ids_after_restarts(tmp_path / "b", 9, [2])
    assert second_restart[0] != first_two[1]


def test_an_unseeded_fake_draws_new_ids_after_every_restart(tmp_path: Path) -> None:
    assert _ids_after_restarts(tmp_path / "a", None, [2]) != _ids_after_restarts(tmp_path / "b", None, [2])


def test_seeded_random_failures_and_fault_probabilities_repeat_after_a_restart(tmp_path: Path) -> None:
    def run(folder: Path) -> tuple[list[str | None], list[bool]]:
        folder.mkdir()
        engine = Engine(Config(seed=3, start_time=START), store=Store(folder / "s.db"))
        engine.simulation.set_random_failures(0.5, ["invalid_voice"])
        engine.simulation.add_fault({"kind": "reset", "route": "account.get", "probability": 0.5, "times": None})
        engine.close()
        again = Engine(Config(seed=3, start_time=START), store=Store(folder / "s.db"))
        try:
            codes = [again.controls.finish(_voice(again))[0].outcome.code for _ in range(12)]
            struck = [again.simulation.pick_fault("account.get", None, T) is not None for _ in range(12)]
            return codes, struck
        finally:
            again.close()

    assert run(tmp_path / "one") == run(tmp_path / "two")


def test_a_truncated_state_file_is_refused_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    engine = Engine(Config(), store=Store(path))
    for _ in range(50):
        engine.api.create(T, "voice_generator", prompt="x" * 200, voice_name="Elon Musk")
    engine.close()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(StoreError) as refused:
        store = Store(path)
        store.load()
    assert "database disk image is malformed; it is not an mh-mock state file or it is damaged" in str(refused.value)
