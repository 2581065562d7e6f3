"""Migrations never change: what they execute is pinned, and they read no module data."""

from __future__ import annotations

import inspect
import json
import sqlite3
import types
from pathlib import Path
from typing import Any

from aggregator._storage.sqlite import Store, schema
from aggregator._storage.sqlite.schema import MIGRATIONS


class Recorder:
    """Stands in for the database and keeps the SQL a migration executes."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def execute(self, sql: str, *args: Any) -> None:
        self.sql.append(sql)


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def test_migrations_read_no_module_constant() -> None:
    # A migration that reads a module constant changes when the constant does, and a
    # database migrated before the change then differs from one migrated after it.
    for version, _, migration in MIGRATIONS:
        pending = [migration]
        while pending:
            function = pending.pop()
            for name in _global_names(function.__code__) & set(vars(schema)):
                value = getattr(schema, name)
                assert inspect.isfunction(value), (version, function.__name__, name)
                pending.append(value)


TRIGGER = (
    "CREATE TRIGGER {table}_{event}_generation AFTER {EVENT} ON {table}"
    " BEGIN UPDATE output_generation SET generation = generation + 1 WHERE id = 1; END"
)


def test_migration_9_executes_what_it_shipped_with() -> None:
    recorder = Recorder()
    schema._m9_output_generation(recorder)  # type: ignore[arg-type]
    triggers = [
        TRIGGER.format(table=table, event=event.lower(), EVENT=event)
        for table in ("entries", "entry_categories", "duplicates", "arxiv_announcements")
        for event in ("INSERT", "UPDATE", "DELETE")
    ]
    assert recorder.sql == [
        "CREATE TABLE output_generation ("
        " id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL)",
        "INSERT INTO output_generation VALUES (1, 0)",
        *triggers,
        "DROP INDEX entries_updated",
        "CREATE INDEX entries_updated_key ON entries (updated DESC, key)",
        "\n        CREATE TABLE published_files (\n"
        "            path TEXT PRIMARY KEY,\n"
        "            fingerprint TEXT NOT NULL,\n"
        "            size INTEGER NOT NULL,\n"
        "            mtime_ns INTEGER NOT NULL\n"
        "        )",
    ]


def test_migration_11_executes_what_it_shipped_with() -> None:
    recorder = Recorder()
    schema._m11_unused_indexes(recorder)  # type: ignore[arg-type]
    assert recorder.sql == ["DROP INDEX IF EXISTS deliveries_updated"]


def test_a_database_of_schema_10_loses_the_unused_index(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE INDEX deliveries_updated ON deliveries (updated_at)")
        conn.execute("DELETE FROM schema_migrations WHERE version = 11")
    conn.close()
    with Store(path) as store:
        names = {name for (name,) in store.db.execute("SELECT name FROM sqlite_master")}
        assert "deliveries_updated" not in names
        assert store.schema_version() == MIGRATIONS[-1][0]
        assert store.last_deliveries() == []


def test_migration_13_executes_what_it_shipped_with() -> None:
    recorder = Recorder()
    schema._m13_raw_authors(recorder)  # type: ignore[arg-type]
    assert recorder.sql == ["ALTER TABLE entries ADD COLUMN raw_authors TEXT"]


NAME = r"J\"urgen M\"uller"


def test_a_database_of_schema_12_gains_raw_authors_and_its_rows_read_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    with conn:  # a row written by schema 12, which had no raw_authors column
        conn.execute("ALTER TABLE entries DROP COLUMN raw_authors")
        conn.execute("DELETE FROM schema_migrations WHERE version = 13")
        conn.execute(
            "INSERT INTO entries (key, atom_id, title, updated, first_seen, digest_day,"
            " authors, content_hash) VALUES ('arxiv:2609.01234', 'urn:uuid:1', 'A paper',"
            " '2026-09-02T00:00:00+00:00', '2026-09-02T00:00:00+00:00', '2026-09-02',"
            " ?, 'h')",
            [json.dumps([NAME])],
        )
    conn.close()
    with Store(path) as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
        applied = store.db.execute("SELECT version FROM schema_migrations").fetchall()
        assert (13,) in applied
        (entry,) = store.get_entries(["arxiv:2609.01234"]).values()
        assert entry.authors == (NAME,)
        assert entry.raw_authors is None
