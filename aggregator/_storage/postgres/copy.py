"""Copying a SQLite database into PostgreSQL (``aggregator migrate``).

Owns the order of the tables (parents before the rows that refer to them), the copy
itself (in batches, all in one PostgreSQL transaction: a failure leaves the target as
it was), and the row counts checked after it. Both databases are first migrated to
the same, newest schema by their stores, so the columns match by name. SQLite's
rowid order becomes the ``seq`` column where the PostgreSQL schema has one, and
identity counters continue after the copied ids. Decides nothing about the data.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import StorageError
from ..sqlite import Store
from . import PostgresStore
from .schema import ORDERED_TABLES
from .search_index import fill_search_index

if TYPE_CHECKING:
    from ...config.settings import StorageSettings

#: Every table, parents first. Not copied: schema_migrations (each store has its own),
#: output_generation (PostgreSQL's is a sequence, moved by the copy itself), and the
#: search index (each backend's own: PostgreSQL's is made again from the entries).
TABLES = (
    "entries",
    "entry_categories",
    "entry_sources",
    "sources",
    "runs",
    "source_fetch",
    "arxiv_announcements",
    "arxiv_batches",
    "deliveries",
    "pruned_entries",
    "entry_signatures",
    "lsh_bands",
    "lsh_bands_recent",
    "entry_work_keys",
    "duplicates",
    "duplicate_splits",
    "source_documents",
    "published_files",
    "digests_due",
    "entry_scores",
    "secrets",
    "unsubscribes",
    "summaries",
    "article_fetches",
)
#: Tables with an identity column whose counter must continue after the copied ids.
_IDENTITIES = {"runs": "id", "entry_signatures": "id", "duplicates": "id"}
#: SQLite tables WITHOUT ROWID: copied in primary key order.
_WITHOUT_ROWID = (
    "lsh_bands",
    "lsh_bands_recent",
    "entry_work_keys",
    "duplicate_splits",
    "entry_scores",
    "summaries",
)

#: Rows per INSERT batch.
BATCH_ROWS = 5000


def copy_sqlite_to_postgres(
    source: Path,
    target: StorageSettings,
    *,
    force: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Copy every table of the SQLite file ``source`` into ``target``'s database.

    Refuses (StorageError) a target holding entries or runs unless ``force``, which
    empties it first. Returns the rows copied per table, each checked against the
    target's count before the transaction commits.
    """
    if not source.is_file():
        raise StorageError(f"no SQLite database at {source}")
    counts: dict[str, int] = {}
    with Store(source) as sqlite_store, PostgresStore(target) as pg:
        conn = sqlite_store.db.conn
        with pg.transaction():
            present = pg._execute(
                "SELECT (SELECT count(*) FROM entries) + (SELECT count(*) FROM runs)"
            ).fetchone()[0]
            if present and not force:
                raise StorageError(
                    f"{target.describe()} already holds entries or runs",
                    hint="copy into a new, empty database, or add --force to replace"
                    " everything in it",
                )
            if present or force:
                pg._execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
            for table in TABLES:
                counts[table] = _copy_table(conn, pg, table)
                if progress is not None:
                    progress(table, counts[table])
            for table in TABLES:
                (found,) = pg._execute(f"SELECT count(*) FROM {table}").fetchone()
                if int(found) != counts[table]:
                    raise StorageError(
                        f"copying {table}: {counts[table]} rows read, {found} in the target",
                        hint="nothing was committed; report this as a bug",
                    )
            pg._execute("TRUNCATE search_text, search_pending")
            pg._execute("INSERT INTO search_pending SELECT key FROM entries")
            fill_search_index(pg.conn)
            identities = {**_IDENTITIES, **dict.fromkeys(ORDERED_TABLES, "seq")}
            for table, column in identities.items():
                pg._execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                    f" coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
                )
    return counts


def _copy_table(conn: sqlite3.Connection, pg: PostgresStore, table: str) -> int:
    columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    selected = [*columns, "rowid"] if table in ORDERED_TABLES else columns
    names = [*columns, "seq"] if table in ORDERED_TABLES else columns
    insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
    cursor = conn.execute(
        f"SELECT {', '.join(selected)} FROM {table} ORDER BY rowid"
        if table not in _WITHOUT_ROWID
        else f"SELECT {', '.join(selected)} FROM {table}"
    )
    copied = 0
    while True:
        rows: list[Any] = cursor.fetchmany(BATCH_ROWS)
        if not rows:
            break
        pg._many(insert, rows)
        copied += len(rows)
    return copied
