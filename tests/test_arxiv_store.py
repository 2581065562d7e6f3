"""Migration 3 on a database written before it, and the arXiv queries of the store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import sqlite_utils

from aggregator._storage.sqlite import Store
from aggregator._storage.sqlite.schema import MIGRATIONS
from aggregator._update.plan import Batch, Plan

NOW = datetime(2026, 1, 14, 12, tzinfo=UTC)


def test_a_database_from_before_migration_3_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    db.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    version, name, migrate = MIGRATIONS[0]
    migrate(db)
    db.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", [version, name])
    db.execute(
        "INSERT INTO entries (key, atom_id, title, updated, first_seen, digest_day, content_hash)"
        " VALUES ('arxiv:2601.00001', 'urn:uuid:x', 'Old', ?, ?, '2026-01-01', 'h')",
        [NOW.isoformat(), NOW.isoformat()],
    )
    conn.close()

    with Store(path) as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
        row = store.get_entries(["arxiv:2601.00001"])["arxiv:2601.00001"]
        assert row.title == "Old" and row.version is None and row.subjects == ()
        assert store.announcements_on(date(2026, 1, 1)) == {}
        assert store.last_batch("anything") is None
        batches = (
            Batch(date(2026, 1, 14), entries=3),
            Batch(date(2026, 1, 13), entries=2),
            Batch(date(2026, 1, 14), entries=3),  # repeat: no-op
        )
        store.apply([Plan("arxiv-ai", NOW, batches=batches)])
        assert store.last_batch("arxiv-ai") == date(2026, 1, 14)
        assert store.last_batch("arxiv-lg") is None
