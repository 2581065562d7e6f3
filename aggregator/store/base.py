"""The connection, transactions and migrations every store query builds on."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import sqlite_utils

from ..errors import StorageError
from .schema import MIGRATIONS


class StoreBase:
    """An open SQLite database with the schema migrated to the newest version."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        """Open (creating if needed) and migrate ``path``.

        ``busy_timeout`` is how long a statement waits while another program holds a
        lock on the database before it fails with StorageError.
        """
        self.path = path
        self.busy_timeout = busy_timeout
        self._batch: Batch | None = None
        conn: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA cache_size = -32768")
        except (OSError, sqlite3.Error) as err:
            if conn is not None:
                conn.close()
            known = _hint(err, busy_timeout) if isinstance(err, sqlite3.Error) else None
            raise StorageError(
                f"cannot open database {path}: {err}",
                hint=known
                or "check the folder is writable and the file is an SQLite database"
                " (or point [storage].database at a new file)",
            ) from err
        self.db = sqlite_utils.Database(conn)
        try:
            self._migrate()
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen, or none do.

        Inside :meth:`batch` this is a savepoint of the batch's transaction: it is
        undone alone when it fails, and made durable when the batch commits.
        """
        conn = self.db.conn
        if self._batch is not None:
            begin, end, undo = (
                ["SAVEPOINT unit"],
                ["RELEASE unit"],
                ["ROLLBACK TO unit", "RELEASE unit"],
            )
        else:
            begin, end, undo = ["BEGIN IMMEDIATE"], ["COMMIT"], ["ROLLBACK"]
        try:
            for statement in begin:
                conn.execute(statement)
            yield
            for statement in end:
                conn.execute(statement)
        except BaseException as err:
            if conn.in_transaction:
                for statement in undo:
                    conn.execute(statement)
            self._raise_storage(err)
            raise

    def _raise_storage(self, err: BaseException) -> None:
        if isinstance(err, sqlite3.Error):
            raise StorageError(
                f"database {self.path}: {err}", hint=_hint(err, self.busy_timeout)
            ) from err

    @contextmanager
    def batch(self, *, seconds: float = 2.0) -> Iterator[Batch]:
        """Group the :meth:`transaction` blocks inside into commits of about ``seconds``.

        Each commit writes every page changed since the last; sources that change
        rows in the same indexes share pages, so fewer commits write less (measured:
        a few percent of a big first run, see the README). A crash loses at most the
        uncommitted batch, which the next run simply does again (the sources' fetch
        states are in it too, so nothing answers 304 for it).
        """
        conn = self.db.conn
        batch = Batch(self, seconds)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            self._raise_storage(err)
            raise
        self._batch = batch
        try:
            yield batch
            conn.execute("COMMIT")
        except BaseException as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._raise_storage(err)
            raise
        finally:
            self._batch = None

    # -- migrations -------------------------------------------------------------------

    def _migrate(self) -> None:
        try:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in self.db.execute("SELECT version FROM schema_migrations")}
        except sqlite3.DatabaseError as err:
            hint = _hint(err, self.busy_timeout)
            if hint:
                raise StorageError(f"database {self.path}: {err}", hint=hint) from err
            raise StorageError(
                f"{self.path} is not a usable SQLite database: {err}",
                hint="point [storage].database at a new file, or restore a backup",
            ) from err
        newest = max(version for version, _, _ in MIGRATIONS)
        if done and max(done) > newest:
            raise StorageError(
                f"{self.path} was written by a newer aggregator (schema {max(done)})",
                hint="upgrade aggregator",
            )
        for version, name, migrate in MIGRATIONS:
            if version in done:
                continue
            with self.transaction():
                migrate(self.db)
                self.db.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))",
                    [version, name],
                )

    def schema_version(self) -> int:
        row = self.db.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)


def _hint(err: sqlite3.Error, waited: float) -> str | None:
    text = str(err).lower()
    if "locked" in text or "busy" in text:
        return (
            f"another program kept the database locked for more than {waited:g} s"
            " (an sqlite3 shell or a backup in a transaction?); close it, or raise"
            " [storage].lock_timeout"
        )
    if "readonly" in text or "read-only" in text:
        return (
            "the database file or its folder is read-only for this user; fix the"
            " permissions, or point [storage].database at a writable place"
        )
    return None


def chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    """``items`` in slices small enough for SQLite's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stamp(value: datetime) -> str:
    """UTC, second precision: stored times compare correctly as text."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


class Batch:
    """An open :meth:`StoreBase.batch`: :meth:`due` says when to :meth:`commit`."""

    def __init__(self, store: StoreBase, seconds: float) -> None:
        self._store = store
        self._seconds = seconds
        self._started = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self._started >= self._seconds

    def commit(self) -> None:
        """Make everything so far durable and go on in a new transaction."""
        conn = self._store.db.conn
        try:
            conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            self._store._raise_storage(err)
            raise
        self._started = time.monotonic()
