"""The database schema: versioned migrations, applied in order and recorded.

Each feature that needs tables appends one migration with the next version number;
a migration never changes after it has shipped.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


def _m1_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE entries (
            key TEXT PRIMARY KEY,
            atom_id TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            link TEXT,
            published TEXT,
            updated TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            digest_day TEXT NOT NULL,
            authors TEXT NOT NULL DEFAULT '[]',
            summary TEXT,
            content TEXT,
            sections TEXT NOT NULL DEFAULT '[]',
            pdf_url TEXT,
            arxiv_id TEXT,
            doi TEXT,
            language TEXT,
            content_hash TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX entries_digest_day ON entries (digest_day)")
    db.execute("CREATE INDEX entries_updated ON entries (updated)")
    db.execute(
        """
        CREATE TABLE entry_categories (
            entry_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            category TEXT NOT NULL,
            source TEXT NOT NULL,
            how TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (entry_key, category, source)
        )"""
    )
    db.execute("CREATE INDEX entry_categories_category ON entry_categories (category)")
    db.execute(
        """
        CREATE TABLE entry_sources (
            entry_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            source TEXT NOT NULL,
            guid TEXT,
            content_hash TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (entry_key, source)
        )"""
    )
    db.execute(
        """
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            location TEXT NOT NULL,
            last_attempt TEXT,
            last_success TEXT,
            last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_new_entries TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            run_date TEXT NOT NULL,
            status TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '{}'
        )"""
    )


def _m6_duplicates(db: sqlite_utils.Database) -> None:
    """Near-duplicate detection: signatures, LSH band keys, work keys, links, splits."""
    db.execute(
        """
        CREATE TABLE entry_signatures (
            id INTEGER PRIMARY KEY,
            entry_key TEXT NOT NULL UNIQUE REFERENCES entries (key) ON DELETE CASCADE,
            scheme TEXT NOT NULL,
            signature BLOB,
            shingles INTEGER NOT NULL DEFAULT 0,
            seen TEXT NOT NULL
        )"""
    )
    # One row per (band key, entry): finding candidates is one index seek per band.
    db.execute(
        """
        CREATE TABLE lsh_bands (
            band INTEGER NOT NULL,
            sig_id INTEGER NOT NULL,
            PRIMARY KEY (band, sig_id)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX lsh_bands_sig ON lsh_bands (sig_id)")
    db.execute(
        "CREATE TRIGGER entry_signatures_delete AFTER DELETE ON entry_signatures"
        " BEGIN DELETE FROM lsh_bands WHERE sig_id = OLD.id; END"
    )
    db.execute(
        """
        CREATE TABLE entry_work_keys (
            work_key TEXT NOT NULL,
            entry_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            PRIMARY KEY (work_key, entry_key)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX entry_work_keys_entry ON entry_work_keys (entry_key)")
    db.execute(
        """
        CREATE TABLE duplicates (
            id INTEGER PRIMARY KEY,
            entry_key TEXT NOT NULL UNIQUE REFERENCES entries (key) ON DELETE CASCADE,
            kept_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            reason TEXT NOT NULL,
            similarity REAL,
            linked_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX duplicates_kept ON duplicates (kept_key)")
    db.execute(
        """
        CREATE TABLE duplicate_splits (
            entry_key TEXT NOT NULL,
            other_key TEXT NOT NULL,
            split_at TEXT NOT NULL,
            PRIMARY KEY (entry_key, other_key)
        ) WITHOUT ROWID"""
    )


#: Versioned migrations, applied in order, each in its own transaction and recorded.
MIGRATIONS: tuple[tuple[int, str, Migration], ...] = (
    (1, "initial schema", _m1_initial),
    (6, "duplicates beyond identity keys", _m6_duplicates),
)
