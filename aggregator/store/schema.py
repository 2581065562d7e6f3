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


def _m7_source_documents(db: sqlite_utils.Database) -> None:
    # One row per source: the fingerprint of the last document whose entries were
    # stored, so that an identical document is not parsed again (aggregator.unchanged).
    db.execute(
        """
        CREATE TABLE source_documents (
            source TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            entries INTEGER NOT NULL,
            stored_at TEXT NOT NULL
        )"""
    )


#: Versioned migrations, applied in order, each in its own transaction and recorded.
MIGRATIONS: tuple[tuple[int, str, Migration], ...] = (
    (1, "initial schema", _m1_initial),
    (7, "fingerprints of sources' last documents", _m7_source_documents),
)
