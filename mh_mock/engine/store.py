"""Persistence of one engine in an embedded SQLite database (``mh-mock serve --state PATH``).

The saver hands :meth:`Store.save` the rows each operation changed and the small global state,
written in one transaction before the answer leaves the server, so a ``kill -9`` never loses an
acknowledged change. WAL mode keeps writes cheap; :meth:`Store.close` checkpoints, so the file
alone holds everything after a clean stop. One process owns a state file at a time (a lock on
the real file, symlinks resolved): a second one is refused with a message.

The file holds every API key, webhook secret and the URL signing secret, so a new one is created
readable by its owner alone (0600), as are its ``.lock`` and (SQLite copies the database file's
mode) its ``-wal`` and ``-shm`` companions. An existing file keeps the permissions it has: they
are never loosened nor changed behind the owner's back. A file this process cannot write is
refused when it is opened, not on the first change.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError

__all__ = ["SCHEMA_VERSION", "TABLES", "Rows", "Store", "StoreError", "damaged"]

TABLES = ("accounts", "projects", "uploads", "deliveries")
"""The row tables, beside ``meta`` (which holds the ``engine`` document and the schema version)."""
SCHEMA_VERSION = 3

Rows = Sequence[tuple[str, "dict[str, Any] | None", "bytes | None"]]
"""Changed rows of one table: ``(key, json, blob)``; ``json`` None deletes the row."""


class StoreError(ConfigError):
    """The state file cannot be used; the message says what is wrong and what to do."""


class Store:
    """A SQLite file holding accounts, projects, uploads, deliveries and global state."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        real = Path(os.path.realpath(self.path))
        if real.is_dir():
            raise StoreError(f"the state file {self.path} is a directory; give a file path to --state")
        self._lock_file = _lock(real)
        try:
            _create_private(real)
        except OSError as error:
            self._release()
            raise StoreError(f"cannot use the state file {self.path}: {error.strerror}; {_WRITABLE}") from None
        try:
            self._db = sqlite3.connect(real, check_same_thread=False, isolation_level=None, timeout=busy_timeout)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a process crash loses no commit
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for table in TABLES:
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL, data BLOB)"
                )
            version = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            _check_writable(self._db)
        except sqlite3.Error as error:
            if hasattr(self, "_db"):
                self._db.close()  # no checkpoint: the file was not changed
            self._release()
            raise StoreError(_explain(self.path, error)) from None
        if version is not None and version[0] != str(SCHEMA_VERSION):
            self.close()
            raise StoreError(
                f"{self.path} was written by another mh-mock version (state file schema {version[0]}, "
                f"this one reads {SCHEMA_VERSION}); start with a new --state PATH"
            )
        self._write = threading.Lock()

    def is_empty(self) -> bool:
        """True for a new file (nothing saved yet)."""
        return self._db.execute("SELECT 1 FROM meta WHERE key = 'engine'").fetchone() is None

    def load(self) -> dict[str, Any]:
        """Everything saved: ``{"engine": meta, "accounts": [(json, blob)], "projects": [...], ...}``,
        with ``"file"`` (this file's path) and ``"keys"`` (``table → row keys``, in the rows' order)
        for messages about a row (see :func:`mh_mock.engine.saved.check_saved`)."""
        keys: dict[str, list[Any]] = {}
        state: dict[str, Any] = {"file": self.path, "keys": keys}
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'engine'").fetchone()
            state["engine"] = _parse(self.path, "meta", "engine", row[0]) if row else {}
            for table in TABLES:
                rows = self._db.execute(f"SELECT key, value, data FROM {table} ORDER BY rowid").fetchall()
                keys[table] = [key for key, _, _ in rows]
                state[table] = [(_parse(self.path, table, key, value), data) for key, value, data in rows]
        except sqlite3.Error as error:
            raise StoreError(_explain(self.path, error)) from None
        return state

    def save(self, meta: Mapping[str, Any], changes: Mapping[str, Rows]) -> None:
        """Write the global state and the changed rows (``table → rows``) atomically."""
        with self._write:
            self._transaction(meta, changes, replace=False)

    def replace(self, meta: Mapping[str, Any], rows: Mapping[str, Rows]) -> None:
        """Make the file hold exactly ``meta`` and ``rows`` (a reset), atomically."""
        with self._write:
            self._transaction(meta, rows, replace=True)

    def _transaction(self, meta: Mapping[str, Any], changes: Mapping[str, Rows], *, replace: bool) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if replace:
                for table in (*TABLES, "meta"):
                    db.execute(f"DELETE FROM {table}")
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('engine', ?), ('schema', ?)",
                (json.dumps(meta), str(SCHEMA_VERSION)),
            )
            for table, rows in changes.items():
                kept = [(key, json.dumps(value), data) for key, value, data in rows if value is not None]
                gone = [(key,) for key, value, _ in rows if value is None]
                if kept:
                    db.executemany(  # an upsert keeps the row's rowid, so rows load back in creation order
                        f"INSERT INTO {table} (key, value, data) VALUES (?, ?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, data = excluded.data",
                        kept,
                    )
                if gone:
                    db.executemany(f"DELETE FROM {table} WHERE key = ?", gone)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Checkpoint (so the file alone holds everything), close the database and release the file."""
        db = getattr(self, "_db", None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):  # busy elsewhere: SQLite checkpoints at the last close
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            self._db = None  # type: ignore[assignment]
        self._release()

    def _release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def _lock(real: Path) -> IO[str] | None:
    """Hold an exclusive lock beside the real file; refuse if another process holds it."""
    try:  # held until close; a new lock file is private like the state file
        handle = os.fdopen(os.open(f"{real}.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w")
    except OSError as error:
        raise StoreError(f"cannot use the state file {real}: {error.strerror}; {_WRITABLE}") from None
    try:
        import fcntl
    except ImportError:  # Windows: msvcrt locks a byte range instead
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            handle.close()
            raise StoreError(_busy(real)) from None
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreError(_busy(real)) from None
    return handle


def _create_private(real: Path) -> None:
    """Create a missing state file with mode 0600 before SQLite opens it (SQLite gives its -wal and
    -shm files the same mode); an existing file is left exactly as it is."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(real, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _check_writable(db: sqlite3.Connection) -> None:
    """Raise the error a write would meet: a read-only file opens and reads fine, and even
    ``BEGIN IMMEDIATE`` succeeds on it; only a statement that writes is refused. This one writes nothing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM meta WHERE 0")
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")


def _parse(path: Path, table: str, key: Any, value: Any) -> Any:
    """One row's JSON, or a :class:`StoreError` naming the row."""
    try:
        return json.loads(value)
    except (TypeError, ValueError) as error:
        raise damaged(path, table, key, f"not JSON ({error})") from None


def damaged(path: Path, table: str, key: Any, problem: str) -> StoreError:
    """The error for a row that is not what mh-mock writes: one line naming the file, table, row and problem."""
    shown = _masked(key) if table == "accounts" and isinstance(key, str) else key
    if isinstance(shown, str) and len(shown) > 60:
        shown = shown[:60] + "…"
    problem = " ".join(problem.splitlines())
    return StoreError(
        f"cannot use the state file {path}: {table} row {shown!r}: {problem}; "
        "it is damaged: move it away or pick another --state PATH"
    )


def _masked(token: str) -> str:
    """An API key (the key of an ``accounts`` row) as listings show it: its first and last few characters."""
    shown = min(8, len(token) // 3)
    head, tail = (shown + 1) // 2, shown // 2
    return token[:head] + "…" + (token[-tail:] if tail else "")


_WRITABLE = "check the directory exists and is writable"


def _busy(real: Path) -> str:
    return (
        f"another mh-mock process is using the state file {real}; one server per state file "
        "(start this one with its own --state PATH)"
    )


def _explain(path: Path, error: Exception) -> str:
    text = str(error)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        hint = "make it (and its directory) writable, or pick another --state PATH"
    elif "not a database" in text or "malformed" in text or isinstance(error, ValueError):
        hint = "it is not an mh-mock state file or it is damaged; move it away or pick another --state PATH"
    else:
        hint = "move it away or pick another --state PATH"
    return f"cannot use the state file {path}: {text}; {hint}"
