"""Filling the full-text index: the text of the entries noted in ``search_pending``
written into ``search_text`` in bulk (see :mod:`.search`).

The text of most entries a run stores is made ahead, in the parsing worker processes
(``reading.read``), and comes with the plan (``Plan.search_text``): while the plan's
rows are written, :func:`stage_search_text` keeps it in ``temp.search_ready``, a table
of this connection (in the plan's savepoint: a plan undone takes its text along). After
ingest, :func:`fill_search_index` moves the staged text of the noted entries into the
index with one statement, and makes the text of the rest here (entries read in this
process, merged with their stored row, or noted by another connection's run).

Apart from the store's mixins so that the schema's migration 15, which fills the index
of an existing database, can use it too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from ..._common import fts

#: Entries whose text is made here per statement.
CHUNK = 500

_COLUMNS = "title, abstract, authors, content"

# A rowid table: its rows are long texts, which WITHOUT ROWID tables store badly
# (measured on 20,000 entries' 37 MB: 0.15 s to stage against 0.4 s; a JSON array
# per plan through json_each, 0.7 s).
_READY = (
    "CREATE TEMP TABLE IF NOT EXISTS search_ready (entry_key TEXT PRIMARY KEY,"
    " title TEXT NOT NULL, abstract TEXT NOT NULL, authors TEXT NOT NULL,"
    " content TEXT NOT NULL)"
)


def stage_search_text(
    conn: sqlite3.Connection,
    written: Sequence[str],
    made: Sequence[tuple[str, str, str, str, str]],
) -> None:
    """Keep the index text ``made`` ahead for rows just written (``(key, *columns)``),
    and forget any kept for the other ``written`` keys: their rows changed since."""
    if not made and not _staging(conn):
        return
    conn.execute(_READY)
    if made:
        conn.executemany(
            "INSERT OR REPLACE INTO temp.search_ready"
            f" (entry_key, {_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            made,
        )
    if len(made) < len(written):
        have = {row[0] for row in made}
        stale = [key for key in written if key not in have]
        conn.execute(
            "DELETE FROM temp.search_ready WHERE entry_key IN (SELECT value FROM json_each(?))",
            [json.dumps(stale)],
        )


def _staging(conn: sqlite3.Connection) -> bool:
    """Whether this connection has a ``search_ready`` table."""
    return (
        conn.execute(
            "SELECT 1 FROM temp.sqlite_master WHERE type = 'table' AND name = 'search_ready'"
        ).fetchone()
        is not None
    )


def fill_search_index(conn: sqlite3.Connection) -> int:
    """Index the entries noted in ``search_pending`` (inside the caller's transaction);
    returns how many were indexed (keys of entries deleted since are dropped).

    The noted entries' old rows are deleted (their words leave the index by trigger),
    the new rows inserted (text staged ahead by one statement, the rest made here, a
    chunk at a time), then all of them indexed by one statement.
    """
    conn.execute(
        "DELETE FROM search_text WHERE entry_key IN (SELECT entry_key FROM search_pending)"
    )
    # After the deletes: a new row's id is one more than the largest left.
    (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM search_text").fetchone()
    if _staging(conn):
        conn.execute(
            f"INSERT INTO search_text (entry_key, {_COLUMNS})"
            f" SELECT r.entry_key, r.{', r.'.join(_COLUMNS.split(', '))}"
            " FROM search_pending AS p CROSS JOIN temp.search_ready AS r"
            " ON r.entry_key = p.entry_key"
            " WHERE EXISTS (SELECT 1 FROM entries WHERE key = p.entry_key)"
        )
        conn.execute(
            "DELETE FROM search_pending WHERE entry_key IN"
            " (SELECT entry_key FROM temp.search_ready)"
        )
        conn.execute("DELETE FROM temp.search_ready")
    while True:
        keys = [
            key
            for (key,) in conn.execute(
                "SELECT entry_key FROM search_pending ORDER BY entry_key LIMIT ?", [CHUNK]
            )
        ]
        if not keys:
            break
        marks = ",".join("?" * len(keys))
        conn.executemany(
            f"INSERT INTO search_text (entry_key, {_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            [
                (key, *fts.index_columns(title=t, summary=s, sections=x, authors=a, content=c))
                for key, t, s, x, a, c in conn.execute(
                    "SELECT key, title, summary, sections, authors, content FROM entries"
                    f" WHERE key IN ({marks})",
                    keys,
                )
            ],
        )
        conn.execute(f"DELETE FROM search_pending WHERE entry_key IN ({marks})", keys)
    cursor = conn.execute(
        f"INSERT INTO search_text_fts (rowid, {_COLUMNS})"
        f" SELECT id, {_COLUMNS} FROM search_text WHERE id > ?",
        [last],
    )
    return cursor.rowcount
