"""Storage tests over both backends: the settings of a new database of each kind, and
raw SQL (``?`` placeholders) run on whichever store a test has."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aggregator._storage.postgres import PostgresStore
from aggregator._storage.protocol import Storage
from aggregator.config.settings import StorageSettings

BACKENDS = ("sqlite", "postgresql")


def storage_settings(backend: str, tmp_path: Path, pg_url: str | None) -> StorageSettings:
    """A new database of ``backend``: a file in ``tmp_path``, or the test's PostgreSQL one."""
    if backend == "sqlite":
        return StorageSettings(database=tmp_path / "a.db")
    assert pg_url is not None
    return StorageSettings(database=tmp_path / "unused.db", url=pg_url)


def sql(store: Storage, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run ``query`` (SQLite's ``?`` placeholders) on ``store``; its rows."""
    if isinstance(store, PostgresStore):
        cursor = store.conn.execute(query.replace("?", "%s"), params)  # type: ignore[arg-type]
        rows = cursor.fetchall() if cursor.description is not None else []
    else:
        rows = store.db.execute(query, params).fetchall()  # type: ignore[attr-defined]
    return [tuple(row) for row in rows]


@contextmanager
def counting_changes(store: Storage) -> Iterator[list[int]]:
    """Rows inserted, updated or deleted by the block (not counting the output
    generation); the count is in the yielded list's one item after the block."""
    found = [0]
    if isinstance(store, PostgresStore):
        # The per-table counts of this backend not yet flushed to the statistics
        # (which happens only between transactions), before and after the block.
        query = (
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)"
            " FROM pg_stat_xact_user_tables"
        )
        with store.transaction():
            (before,) = store.conn.execute(query).fetchone() or (0,)
            yield found
            (after,) = store.conn.execute(query).fetchone() or (0,)
            found[0] = int(after) - int(before)
        return
    conn = store.db.conn  # type: ignore[attr-defined]
    before, generation = conn.total_changes, store.output_generation()
    yield found
    found[0] = conn.total_changes - before - (store.output_generation() - generation)
