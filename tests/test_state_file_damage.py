"""A state file that is damaged or read-only is refused at start with one line naming the problem
(the table, row and field of a damaged row), never a traceback; a new one is private (0600)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mh_mock.config import Config
from mh_mock.engine import Engine
from mh_mock.engine.store import Store, StoreError

from .engines import START, create_voice
from .serving import free_port, serving

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="file modes and read-only files are POSIX behaviour")

KEY = "mhk_live_damage_test_key"
SHOWN_KEY = "mhk_…_key"
"""How a message names the account row of :data:`KEY` (an API key is never printed whole)."""
DAMAGED = "; it is damaged: move it away or pick another --state PATH"

META_KEYS = ("secret", "audio_key", "options", "seed_options", "restarts", "tenants", "scenarios", "faults", "webhooks",
             "issued")  # fmt: skip
"""Keys of the ``engine`` document the loader cannot do without."""
ROW_FIELDS = {
    "accounts": ("token", "id", "credits", "email", "tier", "charged", "refunded"),
    "projects": ("id", "owner", "endpoint", "name", "created_at", "charge", "seconds", "outcome", "timing", "status",
                 "status_since", "step", "reads", "enabled", "refunded", "paid", "history"),
    "uploads": ("file_path", "owner", "expires_at", "file"),
    "deliveries": ("id", "seq", "endpoint_id", "event", "project_id", "owner", "body", "created_at", "next_attempt_at",
                   "state", "attempts", "redelivery_of"),
}  # fmt: skip
REQUIRED_ROW_FIELDS = {
    "accounts": ("token", "id", "credits"),
    "projects": ("id", "owner", "endpoint", "name", "created_at", "charge", "seconds", "outcome", "timing", "status",
                 "history"),
    "uploads": ROW_FIELDS["uploads"],
    "deliveries": ("id", "seq", "endpoint_id", "event", "project_id", "owner", "body", "created_at", "next_attempt_at",
                   "attempts"),
}  # fmt: skip
NESTED_FIELDS = {
    "tenants[1]": ("key", "clock", "progression", "options", "tokens", "lease", "random"),
    "webhooks[0]": ("id", "url", "secret", "events", "token", "tenant"),
    "faults[0]": ("id", "kind", "route", "project_id", "token", "tenant", "nth", "probability", "after", "times",
                  "retry_after", "seen"),
    "scenarios[0]": ("id", "outcome", "name_contains", "times", "timing"),
}  # fmt: skip
"""One item of each list in the ``engine`` document, with every field the saved file has."""
REQUIRED_NESTED_FIELDS = {
    "tenants[1]": NESTED_FIELDS["tenants[1]"],
    "webhooks[0]": ("id", "url", "secret", "events"),
    "faults[0]": ("id", "kind"),
    "scenarios[0]": ("id", "outcome"),
}


# ---------------------------------------------------------------------------- a real file, and damage done to it


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state file holding every kind of row and every list of the ``engine`` document."""
    path = tmp_path_factory.mktemp("saved") / "s.db"
    engine = Engine(Config(start_time=START), store=Store(path))
    try:
        engine.accounts.reset_tenant("mine", progression="poll", reads_per_step=2, starting_balance=900)
        engine.webhooks.add("http://127.0.0.1:9/hook", "whsec_test")
        engine.simulation.add_rule(
            {"outcome": "error:invalid_voice", "name_contains": "x", "times": 2, "timing": [1, 2]}
        )
        engine.simulation.add_fault({"kind": "rate_limit", "route": "account.get"})
        engine.simulation.set_random_failures(0.1, ["invalid_voice"])
        engine.controls.finish(create_voice(engine, KEY))
        create_voice(engine, "mine")
        [slot] = engine.api.create_upload_urls(KEY, [("audio", "wav")])
        engine.api.put_upload(slot["file_path"], parse_qs(urlsplit(slot["upload_url"]).query)["auth-value"][0], b"RIFF")
        [attempt, *_] = engine.webhooks.take_due()
        engine.webhooks.record(attempt.delivery_id, 500, None, attempt.at)
    finally:
        engine.close()
    with sqlite3.connect(path) as db:  # the field lists below are those of this file
        meta = json.loads(db.execute("SELECT value FROM meta WHERE key = 'engine'").fetchone()[0])
        rows = {table: json.loads(db.execute(f"SELECT value FROM {table}").fetchone()[0]) for table in ROW_FIELDS}
    db.close()
    assert set(meta) == set(META_KEYS)
    assert {table: set(row) for table, row in rows.items()} == {t: set(fields) for t, fields in ROW_FIELDS.items()}
    nested = {name: meta[_nested(name)[0]][_nested(name)[1]] for name in NESTED_FIELDS}
    assert {name: set(item) for name, item in nested.items()} == {n: set(f) for n, f in NESTED_FIELDS.items()}
    assert _first_key(path, "accounts") == KEY
    return path


def _first_key(path: Path, table: str) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute(f"SELECT key FROM {table} ORDER BY rowid LIMIT 1").fetchone()[0])


def _damage(saved: Path, folder: Path, table: str, change: Callable[[Any], object]) -> Path:
    """A copy of ``saved`` whose ``engine`` document (table ``meta``) or first row of ``table`` was
    edited in place by ``change``."""
    path = folder / "damaged.db"
    shutil.copy(saved, path)
    where = ("key = 'engine'", ()) if table == "meta" else ("key = ?", (_first_key(path, table),))
    with sqlite3.connect(path) as db:
        value = json.loads(db.execute(f"SELECT value FROM {table} WHERE {where[0]}", where[1]).fetchone()[0])
        change(value)
        db.execute(f"UPDATE {table} SET value = ? WHERE {where[0]}", (json.dumps(value), *where[1]))
    db.close()
    return path


def _refusal(path: Path) -> str:
    """The message a fake started on ``path`` is refused with (it must be refused)."""
    store = Store(path)
    try:
        with pytest.raises(StoreError) as refused:
            Engine(Config(start_time=START), store=store).close()
    finally:
        store.close()
    message = str(refused.value)
    assert "\n" not in message
    return message


def _row(path: Path, table: str) -> str:
    """How a message names the damaged row: ``table row 'key'``."""
    if table == "meta":
        return "meta row 'engine'"
    key = SHOWN_KEY if table == "accounts" else _first_key(path, table)
    return f"{table} row {key!r}"


def _assert_names(message: str, path: Path, table: str, problem: str) -> None:
    """``message`` names the file, the table and row, and then ``problem`` (a regular expression)."""
    prefix = f"cannot use the state file {path}: {_row(path, table)}: "
    assert message.startswith(prefix), message
    assert message.endswith(DAMAGED), message
    assert re.fullmatch(problem, message[len(prefix) : -len(DAMAGED)]), message


def _wrong(value: Any) -> Any:
    """A value of another JSON type than ``value``."""
    if isinstance(value, bool) or value is None:
        return "yes" if isinstance(value, bool) else {"a": 1}
    return "x" if isinstance(value, (int, float, list, dict)) else 5


def _nested(name: str) -> tuple[str, int]:
    kind, index = name.rstrip("]").split("[")
    return kind, int(index)


# ---------------------------------------------------------------------------- the variants the issue names

ISSUE_VARIANTS: dict[str, tuple[str, Callable[[Any], object], str]] = {
    "meta without options": ("meta", lambda m: m.pop("options"), r"missing required field: options"),
    "meta without tenants": ("meta", lambda m: m.pop("tenants"), r"missing required field: tenants"),
    "progression warp": (
        "meta", lambda m: m["tenants"][0].update(progression="warp"),
        r"invalid value for tenants\[0\]\.progression: 'warp' is not one of 'clock', 'poll'",
    ),
    "unknown project status": (
        "projects", lambda p: p.update(status="warp"),
        r"invalid value for status: 'warp' is not one of 'queued', 'rendering', 'complete', 'error', 'canceled'",
    ),
    "unknown endpoint": (
        "projects", lambda p: p.update(endpoint="teleporter"),
        r"invalid value for endpoint: 'teleporter' is not one of 'voice_generator', .*",
    ),
    "webhook without url": ("meta", lambda m: m["webhooks"][0].pop("url"),
                            r"missing required field: webhooks\[0\]\.url"),
}  # fmt: skip


@pytest.mark.parametrize("variant", ISSUE_VARIANTS)
def test_the_damaged_files_of_the_issue_are_refused_naming_row_and_field(
    saved: Path, tmp_path: Path, variant: str
) -> None:
    table, change, problem = ISSUE_VARIANTS[variant]
    path = _damage(saved, tmp_path, table, change)
    _assert_names(_refusal(path), path, table, problem)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ISSUE_VARIANTS)
def test_serve_on_a_damaged_file_exits_with_one_line_naming_row_and_field(
    saved: Path, tmp_path: Path, variant: str
) -> None:
    table, change, problem = ISSUE_VARIANTS[variant]
    path = _damage(saved, tmp_path, table, change)
    status, lines = _start_server(path)
    assert status not in (None, 0) and len(lines) == 1, lines
    assert lines[0].startswith("mh-mock: cannot use the state file"), lines
    _assert_names(lines[0].removeprefix("mh-mock: ").rstrip("\n"), path, table, problem)


def _start_server(path: Path) -> tuple[int | None, list[str]]:
    """Start ``mh-mock serve --state path``: its exit status (None if it started listening) and stderr lines."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mh_mock", "serve", "--state", str(path), "--port", str(free_port())],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if "Uvicorn running on" in line:  # it accepted the file: stop it, and say so
            process.terminate()
            process.wait(timeout=30)
            process.stderr.close()
            return None, lines
    process.stderr.close()
    return process.wait(timeout=30), lines


# ---------------------------------------------------------------------------- every field of every row kind


@pytest.mark.parametrize("key", META_KEYS)
def test_an_engine_document_without_a_key_is_refused_naming_it(saved: Path, tmp_path: Path, key: str) -> None:
    path = _damage(saved, tmp_path, "meta", lambda meta: meta.pop(key))
    _assert_names(_refusal(path), path, "meta", f"missing required field: {key}")


@pytest.mark.parametrize("key", [*META_KEYS, "issued"])
def test_an_engine_document_with_a_wrong_type_is_refused_naming_the_key(saved: Path, tmp_path: Path, key: str) -> None:
    path = _damage(saved, tmp_path, "meta", lambda meta: meta.update({key: _wrong(meta[key])}))
    _assert_names(_refusal(path), path, "meta", rf"invalid (type|value) for {key}: .*")


@pytest.mark.parametrize("key", ["tenants", "scenarios", "faults", "webhooks", "options"])
def test_a_null_where_a_list_or_object_belongs_is_refused_saying_so(saved: Path, tmp_path: Path, key: str) -> None:
    path = _damage(saved, tmp_path, "meta", lambda meta: meta.update({key: None}))
    _assert_names(_refusal(path), path, "meta", rf"invalid type for {key}: expected (array|object), got null")


@pytest.mark.parametrize(("item", "field"), [(item, f) for item, fields in NESTED_FIELDS.items() for f in fields])
def test_a_wrong_type_in_a_tenant_webhook_fault_or_scenario_is_refused_naming_it(
    saved: Path, tmp_path: Path, item: str, field: str
) -> None:
    kind, index = _nested(item)
    path = _damage(saved, tmp_path, "meta", lambda m: m[kind][index].update({field: _wrong(m[kind][index][field])}))
    _assert_names(_refusal(path), path, "meta", rf"invalid (type|value) for {re.escape(f'{item}.{field}')}: .*")


@pytest.mark.parametrize(
    ("item", "field"), [(item, f) for item, fields in REQUIRED_NESTED_FIELDS.items() for f in fields]
)
def test_a_tenant_webhook_fault_or_scenario_without_a_field_it_needs_is_refused(
    saved: Path, tmp_path: Path, item: str, field: str
) -> None:
    kind, index = _nested(item)
    path = _damage(saved, tmp_path, "meta", lambda meta: meta[kind][index].pop(field))
    _assert_names(_refusal(path), path, "meta", f"missing required field: {re.escape(f'{item}.{field}')}")


@pytest.mark.parametrize(("table", "field"), [(t, f) for t, fields in ROW_FIELDS.items() for f in fields])
def test_a_wrong_type_in_any_field_of_a_row_is_refused_naming_row_and_field(
    saved: Path, tmp_path: Path, table: str, field: str
) -> None:
    path = _damage(saved, tmp_path, table, lambda row: row.update({field: _wrong(row[field])}))
    _assert_names(_refusal(path), path, table, rf"invalid (type|value) for {field}: .*")


@pytest.mark.parametrize(("table", "field"), [(t, f) for t, fields in REQUIRED_ROW_FIELDS.items() for f in fields])
def test_a_row_without_a_field_it_needs_is_refused_naming_row_and_field(
    saved: Path, tmp_path: Path, table: str, field: str
) -> None:
    path = _damage(saved, tmp_path, table, lambda row: row.pop(field))
    _assert_names(_refusal(path), path, table, f"missing required field: {field}")


@pytest.mark.parametrize("table", ROW_FIELDS)
def test_a_row_with_a_field_its_record_does_not_have_is_refused(saved: Path, tmp_path: Path, table: str) -> None:
    path = _damage(saved, tmp_path, table, lambda row: row.update(colour="blue"))
    _assert_names(_refusal(path), path, table, r"unknown field\(s\) colour in the row; valid fields are: .*")


UNKNOWN_WORDS = [
    ("projects", lambda p: p.update(history=[["warp", 1.0]]), r"history\[0\]\[0\]"),
    ("projects", lambda p: p.update(outcome=["warp", None, None]), r"outcome\[0\]"),
    ("accounts", lambda a: a.update(tier="emperor"), "tier"),
    ("deliveries", lambda d: d.update(event="audio.exploded"), "event"),
    ("meta", lambda m: m["webhooks"][0].update(events=["audio.exploded"]), r"webhooks\[0\]\.events\[0\]"),
    ("meta", lambda m: m["faults"][0].update(kind="meteor"), r"faults\[0\]\.kind"),
    ("meta", lambda m: m["options"].update(progression="warp"), r"options\.progression"),
    ("meta", lambda m: m["scenarios"][0].update(endpoint="teleporter"), r"scenarios\[0\]\.endpoint"),
    ("meta", lambda m: m["tenants"][0].update(random=[0.1, ["no_such_code"]]), r"tenants\[0\]\.random\[1\]\[0\]"),
]


@pytest.mark.parametrize(("table", "change", "field"), UNKNOWN_WORDS)
def test_an_unknown_word_is_refused_naming_its_field(
    saved: Path, tmp_path: Path, table: str, change: Callable[[Any], object], field: str
) -> None:
    path = _damage(saved, tmp_path, table, change)
    _assert_names(_refusal(path), path, table, rf"invalid value for {field}: '[a-z_.]+' is not one of .*")


BEYOND_A_SCHEMA = [
    ("projects", lambda p: p.update(outcome=["error", "no_such_code", None]), r"unknown job error code 'no_such_code'.*"),
    ("meta", lambda m: m["faults"][0].update(kind="latency"), r"faults\[0\]: retry_after only applies to rate_limit faults, not latency"),
    ("meta", lambda m: m["options"].update(default_outcome="error:no_such_code"),
     r"options: .*unknown job error code 'no_such_code'.*"),
    ("projects", lambda p: p.update(id="c-another-project"), r"its id is 'c-another-project', not the row's key"),
    ("meta", lambda m: m.update(secret="short"), r"secret must be at least 16 characters long"),
    ("meta", lambda m: m["tenants"][0]["clock"].pop("now"), r"missing required field: tenants\[0\]\.clock\.now"),
    ("meta", lambda m: m["options"].update(nonsense=1), r"unknown field\(s\) nonsense in options; .*"),
]  # fmt: skip


@pytest.mark.parametrize(("table", "change", "problem"), BEYOND_A_SCHEMA)
def test_what_the_loader_would_trip_over_is_refused_naming_row_and_field(
    saved: Path, tmp_path: Path, table: str, change: Callable[[Any], object], problem: str
) -> None:
    path = _damage(saved, tmp_path, table, change)
    _assert_names(_refusal(path), path, table, problem)


@pytest.mark.parametrize(
    ("value", "problem"),
    [("{broken", r"not JSON \(Expecting property name .*\)"), (b"\xff", r"not JSON \('utf-8' codec can't .*\)"),
     (5, r"invalid type for the row: expected object, got integer")],
)  # fmt: skip
def test_a_row_that_is_not_a_json_object_is_refused_naming_the_row(
    saved: Path, tmp_path: Path, value: Any, problem: str
) -> None:
    path = tmp_path / "s.db"
    shutil.copy(saved, path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE projects SET value = ? WHERE key = ?", (value, _first_key(path, "projects")))
    db.close()
    _assert_names(_refusal(path), path, "projects", problem)


def test_an_uploads_data_that_is_not_a_blob_is_refused(saved: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    shutil.copy(saved, path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE uploads SET data = 'RIFF'")
    db.close()
    _assert_names(_refusal(path), path, "uploads", "its data is a str, not a blob")


def test_a_value_with_a_line_break_still_makes_one_line(saved: Path, tmp_path: Path) -> None:
    path = _damage(saved, tmp_path, "projects", lambda p: p.update(status="warp\nspeed"))
    _assert_names(_refusal(path), path, "projects", r"invalid value for status: 'warp\\nspeed' is not one of .*")


# ---------------------------------------------------------------------------- a file that cannot be written


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], None]]:
    """``read_only(path)``: make a file this process cannot write (root ignores modes: ``chattr +i``)."""
    immutable: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o444)
            return
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("root ignores file modes, and chattr +i is not available here")
        immutable.append(path)

    yield make
    for path in immutable:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_file_in_a_writable_directory_is_refused_when_opened(
    tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    path = tmp_path / "s.db"
    Engine(Config(), store=Store(path)).close()
    read_only(path)
    with pytest.raises(StoreError) as refused:
        Store(path).close()
    assert str(refused.value) == (
        f"cannot use the state file {path}: attempt to write a readonly database; "
        "make it (and its directory) writable, or pick another --state PATH"
    )


@pytest.mark.slow
def test_serve_on_a_read_only_file_exits_at_start_with_one_line(
    tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    path = tmp_path / "s.db"
    Engine(Config(), store=Store(path)).close()
    read_only(path)
    status, lines = _start_server(path)
    assert status not in (None, 0), lines
    assert lines == [f"mh-mock: cannot use the state file {path}: attempt to write a readonly database; "
                     "make it (and its directory) writable, or pick another --state PATH\n"]  # fmt: skip


# ---------------------------------------------------------------------------- who may read a new file

COMPANIONS = ("s.db", "s.db-wal", "s.db-shm", "s.db.lock")


def _modes(folder: Path) -> dict[str, int]:
    return {name: stat.S_IMODE((folder / name).stat().st_mode) for name in COMPANIONS}


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Run with umask 022 (files readable by everyone unless the code says otherwise)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
def test_a_new_state_file_and_its_companions_are_readable_by_the_owner_alone(tmp_path: Path) -> None:
    engine = Engine(Config(), store=Store(tmp_path / "s.db"))
    try:
        engine.api.account_body(KEY)
        modes = _modes(tmp_path)
    finally:
        engine.close()
    assert modes == dict.fromkeys(COMPANIONS, 0o600)


@pytest.mark.slow
@pytest.mark.usefixtures("permissive_umask")
def test_a_server_makes_its_new_state_file_and_companions_private(tmp_path: Path) -> None:
    with serving("--state", str(tmp_path / "s.db")) as server:
        answer = httpx.get(f"{server.url}/v1/account", headers={"authorization": f"Bearer {KEY}"}, timeout=10)
        assert answer.status_code == 200
        assert _modes(tmp_path) == dict.fromkeys(COMPANIONS, 0o600)


def test_every_row_schema_compiles_for_the_fast_validator() -> None:
    """Loading a large file checks each row in microseconds, not in the slow engine's milliseconds."""
    fast = pytest.importorskip("jsonschema_rs")
    from mh_mock.engine.saved import ROW_SCHEMAS

    for schema in ROW_SCHEMAS.values():
        fast.validator_for(dict(schema))
