"""Filling the full-text index: the text of the entries noted in ``search_pending``
written into ``search_text`` in bulk (see :mod:`.search`).

Apart from the store's mixins so that the schema's migration 15, which fills the index
of an existing database, can use it too.
"""

from __future__ import annotations

import sqlite3

from .. import fts

#: Entries indexed per statement.
CHUNK = 500

_COLUMNS = "title, abstract, authors, content"


def fill_search_index(conn: sqlite3.Connection) -> int:
    """Index the entries noted in ``search_pending`` (inside the caller's transaction);
    returns how many were indexed (keys of entries deleted since are dropped).

    Each chunk: the entries' old rows deleted (their words leave the index by trigger),
    the new rows inserted, then indexed by one statement.
    """
    indexed = 0
    while True:
        keys = [
            key
            for (key,) in conn.execute(
                "SELECT entry_key FROM search_pending ORDER BY entry_key LIMIT ?", [CHUNK]
            )
        ]
        if not keys:
            return indexed
        marks = ",".join("?" * len(keys))
        rows = [
            (key, *fts.index_columns(title=t, summary=s, sections=x, authors=a, content=c))
            for key, t, s, x, a, c in conn.execute(
                "SELECT key, title, summary, sections, authors, content FROM entries"
                f" WHERE key IN ({marks})",
                keys,
            )
        ]
        conn.execute(f"DELETE FROM search_text WHERE entry_key IN ({marks})", keys)
        (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM search_text").fetchone()
        conn.executemany(
            f"INSERT INTO search_text (entry_key, {_COLUMNS}) VALUES (?, ?, ?, ?, ?)", rows
        )
        conn.execute(
            f"INSERT INTO search_text_fts (rowid, {_COLUMNS})"
            f" SELECT id, {_COLUMNS} FROM search_text WHERE id > ?",
            [last],
        )
        conn.execute(f"DELETE FROM search_pending WHERE entry_key IN ({marks})", keys)
        indexed += len(rows)
