"""Persistence of one engine in an embedded SQLite database (``mh-mock serve --state PATH``).

The engine marks what each call changed; :meth:`Store.save` writes those rows and the small
global state (clock, progression, scenarios, faults, webhook endpoints) in one transaction before
the answer leaves the server, so a ``kill -9`` never loses an acknowledged change. WAL mode keeps
writes cheap. One process owns a state file at a time: a second one is refused with a message.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError

__all__ = ["Store"]

_TABLES = ("accounts", "projects", "uploads", "deliveries")
SCHEMA_VERSION = 1


class Store:
    """A SQLite file holding accounts, projects, uploads, deliveries and global state."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock_file: IO[str] | None = open(f"{self.path}.lock", "w")  # noqa: SIM115 (held until close)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            raise ConfigError(
                f"another mh-mock process is using the state file {self.path}; one server per state file "
                "(start this one with its own --state PATH)"
            ) from None
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a process crash loses no commit
        self._write = threading.Lock()
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for table in _TABLES:
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL, data BLOB)"
            )
        version = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if version is not None and int(version[0]) != SCHEMA_VERSION:
            raise ConfigError(f"{self.path} was written by another mh-mock version (schema {version[0]})")

    def is_empty(self) -> bool:
        """True for a new file (nothing saved yet)."""
        return self._db.execute("SELECT 1 FROM meta WHERE key = 'engine'").fetchone() is None

    def load(self) -> dict[str, Any]:
        """Everything saved: ``{"engine": meta, "accounts": [...], "projects": [...], ...}``."""
        state: dict[str, Any] = {}
        row = self._db.execute("SELECT value FROM meta WHERE key = 'engine'").fetchone()
        state["engine"] = json.loads(row[0]) if row else {}
        for table in _TABLES:
            rows = self._db.execute(f"SELECT value, data FROM {table} ORDER BY rowid").fetchall()
            state[table] = [(json.loads(value), data) for value, data in rows]
        return state

    def save(
        self, engine_meta: dict[str, Any], changes: Mapping[str, Iterable[tuple[str, dict[str, Any], bytes | None]]]
    ) -> None:
        """Write the global state and the changed rows (``table → (key, json, blob)``) atomically."""
        with self._write:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('engine', ?), ('schema', ?)",
                    (json.dumps(engine_meta), str(SCHEMA_VERSION)),
                )
                for table, rows in changes.items():
                    self._db.executemany(
                        f"INSERT OR REPLACE INTO {table} (key, value, data) VALUES (?, ?, ?)",
                        [(key, json.dumps(value), data) for key, value, data in rows],
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def clear(self) -> None:
        """Forget everything (a reset)."""
        with self._write:
            self._db.execute("BEGIN IMMEDIATE")
            for table in (*_TABLES, "meta"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database and release the file."""
        self._db.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
