"""The connection, transactions and migrations every PostgreSQL store query builds on.

Mirrors ``sqlite/base.py``: the same :meth:`transaction` (savepoints inside an open
one), :meth:`batch` (commits of about two seconds) and migrations, and the same error
boundary: every public method of every query mixin turns a psycopg error into
:class:`StorageError`, so no caller ever sees one. A store holds one connection from
the process's pool for its life (its transactions span calls) and gives it back on
:meth:`close`.

Adding a query: write the method in the mixin of its concern with PostgreSQL's SQL
(``%s`` placeholders; ``= ANY(%s)`` for a list), beside its SQLite twin of the same
name; the protocol conformance check (``protocol._conforms_postgres``) and the
parametrised storage tests then hold it to the SQLite one.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from ...errors import StorageError
from . import connect
from .schema import MIGRATIONS

if TYPE_CHECKING:
    import psycopg

    from ...config.settings import StorageSettings

#: Any key for the advisory lock that keeps two processes from migrating at once.
_MIGRATION_LOCK = 0x61676772_6D696772  # "aggrmigr"


class PgStoreBase:
    """An open PostgreSQL database with the schema migrated to the newest version."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(value):
                setattr(cls, name, _converting(value))

    def __init__(self, settings: StorageSettings, *, migrate: bool = True) -> None:
        """Connect (through the pool) and migrate. ``created``: the schema was new.

        Raises StorageError when the server cannot be reached or refuses the login,
        ConfigError when ``password_env`` names an unset variable.
        """
        self.settings = settings
        self.where = settings.describe()
        self._batch: PgBatch | None = None
        self.created = False
        self.conn: psycopg.Connection[Any] = connect.connect(settings)
        try:
            if migrate:
                self._migrate()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        conn, self.conn = self.conn, None  # type: ignore[assignment]
        if conn is not None:
            connect.give_back(self.settings, conn)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statements -------------------------------------------------------------------

    def _execute(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """Run one statement; its cursor (rows, rowcount)."""
        return self.conn.execute(query, params)

    def _many(self, query: str, rows: Sequence[Any]) -> None:
        """Run ``query`` once per row, pipelined (one round trip for all of them)."""
        if rows:
            with self.conn.cursor() as cursor:
                cursor.executemany(query, rows)

    @property
    def _in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.conn.info.transaction_status != TransactionStatus.IDLE

    # -- transactions -----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen, or none do; inside an open transaction (a
        :meth:`batch`'s, or an enclosing one) a savepoint of it."""
        if self._batch is not None:
            self._batch.begin()
        if self._in_transaction:
            begin, end, undo = (
                ["SAVEPOINT unit"],
                ["RELEASE SAVEPOINT unit"],
                ["ROLLBACK TO SAVEPOINT unit", "RELEASE SAVEPOINT unit"],
            )
        else:
            begin, end, undo = ["BEGIN"], ["COMMIT"], ["ROLLBACK"]
        try:
            for statement in begin:
                self.conn.execute(statement)
            yield
            for statement in end:
                self.conn.execute(statement)
        except BaseException as err:
            self._undo(undo)
            self._raise_storage(err)
            raise

    def _undo(self, statements: list[str]) -> None:
        import psycopg

        try:
            if self._in_transaction:
                for statement in statements:
                    self.conn.execute(statement)
        except psycopg.Error:
            # A broken connection: the server drops the transaction with it.
            pass

    def _raise_storage(self, err: BaseException) -> None:
        import psycopg

        if isinstance(err, psycopg.Error):
            raise connect.storage_error(err, self.where) from err

    @contextmanager
    def batch(self, *, seconds: float = 2.0) -> Iterator[PgBatch]:
        """Group the :meth:`transaction` blocks inside into commits of about ``seconds``
        (see the SQLite store's: the same contract)."""
        batch = PgBatch(self, seconds)
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

    # -- migrations -------------------------------------------------------------------

    def _migrate(self) -> None:
        import psycopg

        try:
            with self.transaction():
                # Two processes starting on a new database: one migrates, the other
                # waits here and then finds nothing to do.
                self._execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK])
                self._execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                done = {row[0] for row in self._execute("SELECT version FROM schema_migrations")}
                newest = max(version for version, _, _ in MIGRATIONS)
                if done and max(done) > newest:
                    raise StorageError(
                        f"{self.where} was written by a newer aggregator (schema {max(done)},"
                        f" this one knows up to {newest})",
                        hint="upgrade aggregator, or point [storage] url at another database",
                    )
                self.created = not done
                for version, name, migration in MIGRATIONS:
                    if version in done:
                        continue
                    with self.transaction():
                        migration(self.conn)
                        self._execute(
                            "INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                            [version, name, _now()],
                        )
        except psycopg.Error as err:
            raise connect.storage_error(err, self.where) from err

    def schema_version(self) -> int:
        row = self._execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _converting(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with its psycopg errors raised as StorageError."""

    @functools.wraps(method)
    def converted(self: PgStoreBase, *args: Any, **kwargs: Any) -> Any:
        import psycopg

        try:
            return method(self, *args, **kwargs)
        except psycopg.Error as err:
            raise connect.storage_error(err, self.where) from err

    return converted


class PgBatch:
    """An open :meth:`PgStoreBase.batch`: :meth:`due` says when to :meth:`commit`."""

    def __init__(self, store: PgStoreBase, seconds: float) -> None:
        self._store = store
        self._seconds = seconds
        self._started: float | None = None

    def begin(self) -> None:
        """Open the batch's transaction, unless it is open."""
        if self._started is not None:
            return
        try:
            self._store.conn.execute("BEGIN")
        except Exception as err:
            self._store._raise_storage(err)
            raise
        self._started = time.monotonic()

    def due(self) -> bool:
        return self._started is not None and time.monotonic() - self._started >= self._seconds

    def commit(self) -> bool:
        """Make everything so far durable; False when there was nothing to commit."""
        if self._started is None:
            return False
        try:
            self._store.conn.execute("COMMIT")
        except Exception as err:
            self._store._raise_storage(err)
            raise
        self._started = None
        return True
