"""Storage: the only package that speaks SQL.

``sqlite`` is the embedded implementation; ``postgres`` the one for a server
(``[storage] url``). Both implement ``protocol.Storage`` with the same schema
versions and semantics: schema and migrations, transactions, and queries named for
what they mean. Business rules (what is new, what goes into a digest) live in the
stages, never here. :func:`open_store` and :func:`run_lock` pick the backend the
settings name; nothing else needs to know which it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from .lock import database_lock
from .sqlite import Store

if TYPE_CHECKING:
    from ..config.settings import StorageSettings
    from .protocol import Storage


def open_store(
    settings: StorageSettings, *, busy_timeout: float = 30.0, verify: bool = True
) -> AbstractContextManager[Storage]:
    """The database ``settings`` name, opened and migrated, closed after the block.

    ``busy_timeout`` and ``verify`` are SQLite's (see ``sqlite.Store``); a PostgreSQL
    server checks its own pages.
    """
    if settings.url is not None:
        from .postgres import PostgresStore

        return PostgresStore(settings)
    return Store(settings.database, busy_timeout=busy_timeout, verify=verify)


def run_lock(
    settings: StorageSettings, *, timeout: float, purpose: str
) -> AbstractContextManager[None]:
    """The run lock of that database: the file beside SQLite's, an advisory lock in
    PostgreSQL's; the same waiting and the same LockedError."""
    if settings.url is not None:
        from .postgres.lock import advisory_lock

        return advisory_lock(settings, timeout=timeout, purpose=purpose)
    return database_lock(settings.database, timeout=timeout, purpose=purpose)


@contextmanager
def reading_store(settings: StorageSettings) -> Iterator[Storage | None]:
    """The database opened for reading, or None when there is none yet (a SQLite file
    not created; a PostgreSQL database is there once the server has it)."""
    if settings.url is None and not settings.database.exists():
        yield None
        return
    with open_store(settings) as store:
        yield store


def database_exists(settings: StorageSettings) -> bool:
    """Whether there is a database to read (PostgreSQL's: assumed, the server says)."""
    return settings.url is not None or settings.database.exists()


__all__ = ["Store", "database_exists", "open_store", "reading_store", "run_lock"]
