"""Filling PostgreSQL's full-text index: the entries noted in ``search_pending``
written into ``search_text`` with their tsvector, in bulk (see :mod:`.search`).

Apart from the store's mixins so that migration 15, which indexes an existing
database, can use it too. The text is made by ``fts.index_columns``, as for SQLite.
"""

from __future__ import annotations

from typing import Any

from ..._common import fts

#: Entries indexed per statement.
CHUNK = 500

#: The text search configuration: words as written, lower case, no stemming (CJK
#: characters are words of their own, set apart by the separator).
CONFIG = "simple"

#: Weights of the four columns, as ``fts.WEIGHTS`` orders them (title, abstract,
#: authors, content): PostgreSQL's labels A to D.
_WORDS = " || ".join(
    f"setweight(to_tsvector('{CONFIG}', {column}), '{label}')"
    for column, label in (("t", "A"), ("n", "B"), ("a", "C"), ("c", "D"))
)


def fill_search_index(conn: Any) -> int:
    """Index the entries noted in ``search_pending`` (inside the caller's transaction);
    returns how many were indexed (keys of entries deleted since are dropped)."""
    indexed = 0
    while True:
        keys = [
            key
            for (key,) in conn.execute(
                "SELECT entry_key FROM search_pending ORDER BY entry_key LIMIT %s", [CHUNK]
            )
        ]
        if not keys:
            return indexed
        rows = [
            (key, *fts.index_columns(title=t, summary=s, sections=x, authors=a, content=c))
            for key, t, s, x, a, c in conn.execute(
                "SELECT key, title, summary, sections, authors, content FROM entries"
                " WHERE key = ANY(%s::text[])",
                [keys],
            )
        ]
        conn.execute("DELETE FROM search_text WHERE entry_key = ANY(%s::text[])", [keys])
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO search_text (entry_key, title, abstract, authors, content, words)"
                f" SELECT k, t, a, n, c, {_WORDS}"
                " FROM (VALUES (%s, %s, %s, %s, %s)) AS v (k, t, a, n, c)",
                rows,
            )
        conn.execute("DELETE FROM search_pending WHERE entry_key = ANY(%s::text[])", [keys])
        indexed += len(rows)
