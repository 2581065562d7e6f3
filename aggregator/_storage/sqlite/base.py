"""The connection, transactions and migrations every store query builds on.

Also the store's error boundary: every public method of every store mixin turns an
``sqlite3`` error into :class:`StorageError` (``raise ... from err``), worded for people
(a damaged file, a lock held too long, a read-only folder), so that no caller ever
sees an ``sqlite3`` exception.
"""

from __future__ import annotations

import functools
import inspect
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlite_utils

from ...errors import StorageError
from .schema import MIGRATIONS

_T = TypeVar("_T")


class StoreBase:
    """An open SQLite database with the schema migrated to the newest version."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The error boundary (see the module docstring): each query mixin's public
        # methods, wrapped once where they are defined.
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(value):
                setattr(cls, name, _converting(value))

    def __init__(self, path: Path, *, busy_timeout: float = 30.0, verify: bool = True) -> None:
        """Open (creating if needed) and migrate ``path``.

        ``busy_timeout`` is how long a statement waits while another program holds a
        lock on the database before it fails with StorageError. ``verify`` first reads
        every page (SQLite's ``quick_check``, about 0.2 s per 100 MB) and refuses a
        damaged database with StorageError; the frequent unattended run skips it, as
        it reads the tables it uses anyway. ``created`` says whether the file was new.
        """
        self.path = path
        self.busy_timeout = busy_timeout
        self._batch: Batch | None = None
        self._verified = False
        conn: sqlite3.Connection | None = None
        self.created = not path.exists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA cache_size = -32768")
            problem = _quick_check(conn) if verify and not self.created else None
            self._verified = verify
        except (OSError, sqlite3.Error) as err:
            if conn is not None:
                conn.close()
            if isinstance(err, sqlite3.Error):
                raise storage_error(err, path, busy_timeout) from err
            raise StorageError(
                f"cannot open database {path}: {err}",
                hint="check the folder exists and is writable by this user",
            ) from err
        if problem is not None:
            conn.close()
            raise damaged(path, problem)
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

        Inside an open transaction (a :meth:`batch`'s, or an enclosing
        :meth:`transaction`) this is a savepoint of it: undone alone when it fails, and
        made durable when the transaction commits.
        """
        conn = self.db.conn
        if self._batch is not None:
            self._batch.begin()
        if conn.in_transaction:
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
            self._undo(undo)
            self._raise_storage(err)
            raise

    def _undo(self, statements: list[str]) -> None:
        """Roll back what is open; a damaged file may refuse even that (the error
        being raised already says so, and SQLite drops the transaction on close)."""
        conn = self.db.conn
        try:
            if conn.in_transaction:
                for statement in statements:
                    conn.execute(statement)
        except sqlite3.Error:
            pass

    def _raise_storage(self, err: BaseException) -> None:
        if isinstance(err, sqlite3.Error):
            raise storage_error(err, self.path, self.busy_timeout) from err

    @contextmanager
    def batch(self, *, seconds: float = 2.0) -> Iterator[Batch]:
        """Group the :meth:`transaction` blocks inside into commits of about ``seconds``.

        Each commit writes every page changed since the last; sources that change
        rows in the same indexes share pages, so fewer commits write less (measured:
        a few percent of a big first run, see the README). A crash loses at most the
        uncommitted batch, which the next run simply does again (the sources' fetch
        states are in it too, so nothing answers 304 for it).

        The batch's transaction begins with its first write (or ``known`` read) and
        ends at each :meth:`Batch.commit`: between the two, the database is not
        locked, and that is where a caller waits on the network.
        """
        batch = Batch(self, seconds)
        self._batch = batch
        try:
            yield batch
            batch.commit()
        except BaseException as err:
            self._undo(["ROLLBACK"])
            self._raise_storage(err)
            raise
        finally:
            self._batch = None

    def _insert_all(self, table: str, rows: list[tuple[Any, ...]], *, verb: str) -> None:
        """``rows`` (whole rows of ``table``, in order) written by one ``verb ... SELECT``
        statement over a JSON array of them (``json_each``); ``verb`` is for example
        ``INSERT OR IGNORE``. Values: text, integers and NULL.

        For the tables with triggers (the output generation's) and foreign keys: SQLite
        gives each statement that fires triggers and may abort a statement journal, so
        that row by row (``executemany``) every row copies the pages it touches
        (measured: 20 us per entry_categories row, 5 us in one statement).
        """
        if not rows:
            return
        data = json_param(rows)
        if data is None:
            self.db.conn.executemany(
                f"{verb} INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows
            )
            return
        columns = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(rows[0])))
        self.db.conn.execute(
            f"{verb} INTO {table} SELECT {columns} FROM json_each(?) ORDER BY key", [data]
        )

    # -- migrations -------------------------------------------------------------------

    def _migrate(self) -> None:
        try:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in self.db.execute("SELECT version FROM schema_migrations")}
        except sqlite3.Error as err:
            raise storage_error(err, self.path, self.busy_timeout) from err
        newest = max(version for version, _, _ in MIGRATIONS)
        pending = [version for version, _, _ in MIGRATIONS if version not in done]
        if done and pending and not self._verified:
            # An upgrade writes: never into a damaged file, even on the run's fast path.
            try:
                problem = _quick_check(self.db.conn)
            except sqlite3.Error as err:
                raise storage_error(err, self.path, self.busy_timeout) from err
            if problem is not None:
                raise damaged(self.path, problem)
        if done and max(done) > newest:
            raise StorageError(
                f"{self.path} was written by a newer aggregator (schema {max(done)},"
                f" this one knows up to {newest})",
                hint="upgrade aggregator, or point [storage].database at another file",
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
        try:
            row = self.db.execute("SELECT max(version) FROM schema_migrations").fetchone()
        except sqlite3.Error as err:
            raise storage_error(err, self.path, self.busy_timeout) from err
        return int(row[0] or 0)


def _quick_check(conn: sqlite3.Connection) -> str | None:
    """SQLite's first complaint about the file's pages and b-trees, or None."""
    answer = str(conn.execute("PRAGMA quick_check(1)").fetchone()[0])
    return None if answer == "ok" else answer


def damaged(path: Path, problem: str) -> StorageError:
    """The error of a database whose file is damaged (``problem`` as SQLite says it)."""
    text = " ".join(problem.replace("*** in database main ***", "").split())
    return StorageError(f"database {path} is damaged: {text}", hint="run `aggregator check`")


#: Words of SQLite's messages for a file whose content is broken (SQLITE_CORRUPT,
#: SQLITE_NOTADB): "database disk image is malformed", "file is not a database",
#: "malformed database schema (...)".
_DAMAGED = ("malformed", "not a database", "corrupt")


def is_damage(err: sqlite3.Error) -> bool:
    """Whether ``err`` says the database file's content is broken."""
    return any(word in str(err).lower() for word in _DAMAGED)


def storage_error(err: sqlite3.Error, path: Path, waited: float) -> StorageError:
    """``err`` as one line for people: what is wrong with the database and what to do."""
    text = str(err).lower()
    if "not a database" in text:
        return StorageError(
            f"{path} is not an SQLite database, or its first page is damaged",
            hint="check [storage] database names the right file, or run `aggregator check`",
        )
    if is_damage(err):
        return damaged(path, str(err))
    if "locked" in text or "busy" in text:
        return StorageError(
            f"database {path}: {err}",
            hint=f"another program kept the database locked for more than {waited:g} s"
            " (an sqlite3 shell or a backup in a transaction?); close it, or raise"
            " [storage].lock_timeout",
        )
    if "readonly" in text or "read-only" in text:
        return StorageError(
            f"database {path}: {err}",
            hint="the database file or its folder is read-only for this user; fix the"
            " permissions, or point [storage].database at a writable place",
        )
    if "unable to open" in text:
        return StorageError(
            f"cannot open database {path}: {err}",
            hint="check the folder exists and is writable by this user",
        )
    if "disk i/o" in text or "full" in text:
        return StorageError(
            f"database {path}: {err}",
            hint="check the disk: free space, and the kernel log for read errors",
        )
    return StorageError(f"database {path}: {err}")


def _converting(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with its ``sqlite3`` errors raised as StorageError."""

    @functools.wraps(method)
    def converted(self: StoreBase, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as err:
            raise storage_error(err, self.path, self.busy_timeout) from err

    return converted


#: ``json.dumps(value, ensure_ascii=False)``, without making an encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode


def json_param(value: object) -> str | None:
    """``value`` as JSON text for SQLite's ``json_each``, or None when SQLite would not
    read its strings back exactly: a NUL character ends a string there (SQLite 3.40),
    so the caller binds the values one by one instead."""
    text = _encode(value)
    return None if "\\u0000" in text else text


def chunks(items: list[_T], size: int = 500) -> Iterator[list[_T]]:
    """``items`` in slices small enough for SQLite's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stamp(value: datetime) -> str:
    """UTC, second precision: stored times compare correctly as text."""
    if value.tzinfo is UTC:  # most are: no new datetime to make
        return value.isoformat(timespec="seconds")
    return value.astimezone(UTC).isoformat(timespec="seconds")


class Batch:
    """An open :meth:`StoreBase.batch`: :meth:`due` says when to :meth:`commit`."""

    def __init__(self, store: StoreBase, seconds: float) -> None:
        self._store = store
        self._seconds = seconds
        self._started: float | None = None

    def begin(self) -> None:
        """Open the batch's transaction, unless it is open (taking the write lock)."""
        if self._started is not None:
            return
        try:
            self._store.db.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            self._store._raise_storage(err)
            raise
        self._started = time.monotonic()

    def due(self) -> bool:
        """Whether the transaction has been open for the batch's seconds."""
        return self._started is not None and time.monotonic() - self._started >= self._seconds

    def commit(self) -> bool:
        """Make everything so far durable and release the write lock; the next write
        takes it again. False when there was nothing to commit."""
        if self._started is None:
            return False
        try:
            self._store.db.conn.execute("COMMIT")
        except sqlite3.Error as err:
            self._store._raise_storage(err)
            raise
        self._started = None
        return True
