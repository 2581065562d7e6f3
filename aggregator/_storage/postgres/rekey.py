"""Migration 18 on PostgreSQL: stored ``url:`` keys made again, rows whose new keys are
equal merged into one. The same rules as ``sqlite/rekey.py`` (read its docstring: the
row seen first stays, gains the fields it lacked, the earliest ``first_seen`` and the
latest ``updated``; every filing, source link, announcement, tombstone, duplicate
link, work key, signature, score and search row moves to it, where the kept row has
no such attachment of its own; deliveries and summaries name no entry), in
PostgreSQL's SQL.

Two things SQLite does by itself are done here by hand. Its ``UPDATE OR IGNORE``
skips the rows a move would make repeat one the kept row already has: here each row
is moved in a savepoint, undone on a unique violation. Its deferred foreign keys let
a key change before the rows naming it: here the foreign keys on ``entries`` are
made deferrable for the migration's transaction, checked at its end, and made as
they were again. Called only from the migration, inside its transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..sqlite.rekey import url_key

#: Entry columns the kept row takes from a merged one when it has none of its own.
_FILLED = ("link", "published", "summary", "content", "pdf_url", "doi", "language")

#: The columns naming an entry key, in the tables that have them.
_KEY_COLUMNS = ("entry_key", "kept_key", "other_key")


def rekey_url_entries(conn: Any, canonical: Callable[[str], str]) -> int:
    """Give every ``url:`` entry the key ``canonical`` makes of it; merge the rows whose
    keys become equal. Returns the number of rows merged away."""
    rows = conn.execute(
        "SELECT key, link FROM entries WHERE key LIKE 'url:%%' ORDER BY first_seen, key"
    ).fetchall()
    groups: dict[str, list[str]] = defaultdict(list)
    for key, link in rows:
        groups[url_key(link, key, canonical)].append(key)
    changing = {new: members for new, members in groups.items() if members != [new]}
    merged = 0
    if changing:
        tables = _key_tables(conn)
        with _deferred_foreign_keys(conn):
            for new, members in changing.items():
                kept, *others = members  # in order of first_seen: the first seen stays
                for other in others:
                    _merge_row(conn, kept, other)
                    _move(conn, tables, other, kept)
                    conn.execute("DELETE FROM entries WHERE key = %s", [other])
                    merged += 1
                if kept != new:
                    _move(conn, tables, kept, new)
                    conn.execute("UPDATE entries SET key = %s WHERE key = %s", [new, kept])
    _rekey_tombstones(conn, canonical)
    return merged


@contextmanager
def _deferred_foreign_keys(conn: Any) -> Iterator[None]:
    """The foreign keys naming ``entries`` deferred inside the block, then checked and
    made as they were (not deferrable). An error inside undoes the transaction, and
    the alterations with it."""
    names = conn.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint"
        " WHERE confrelid = 'entries'::regclass AND contype = 'f' ORDER BY 1, 2"
    ).fetchall()
    for table, name in names:
        conn.execute(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" DEFERRABLE')
    conn.execute("SET CONSTRAINTS ALL DEFERRED")
    yield
    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checked here
    for table, name in names:
        conn.execute(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" NOT DEFERRABLE')


def _key_tables(conn: Any) -> dict[str, list[str]]:
    """Every table but ``entries`` with a column naming an entry key, and those columns."""
    found: dict[str, list[str]] = defaultdict(list)
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name <> 'entries'"
        " AND column_name = ANY(%s) ORDER BY table_name, column_name",
        [list(_KEY_COLUMNS)],
    ):
        found[table].append(column)
    return {table: sorted(columns, key=_KEY_COLUMNS.index) for table, columns in found.items()}


def _move(conn: Any, tables: dict[str, list[str]], old: str, new: str) -> None:
    """Point every row naming ``old`` at ``new``; a row that would repeat one ``new``
    already has (a primary key or unique column) is dropped, and so is a link of an
    entry to itself."""
    import psycopg

    for table, columns in tables.items():
        for column in columns:
            places = conn.execute(
                f'SELECT ctid::text FROM "{table}" WHERE {column} = %s', [old]
            ).fetchall()
            for (place,) in places:
                try:
                    with conn.transaction():  # a savepoint: a repeated row stays behind
                        conn.execute(
                            f'UPDATE "{table}" SET {column} = %s WHERE ctid = %s::tid',
                            [new, place],
                        )
                except psycopg.errors.UniqueViolation:
                    pass
            conn.execute(f'DELETE FROM "{table}" WHERE {column} = %s', [old])
        if len(columns) > 1:
            first, *rest = columns
            for column in rest:
                conn.execute(f'DELETE FROM "{table}" WHERE {first} = {column}')


def _merge_row(conn: Any, kept: str, other: str) -> None:
    fills = ", ".join(f"{c} = coalesce(k.{c}, o.{c})" for c in _FILLED)
    conn.execute(
        f"UPDATE entries AS k SET {fills}, first_seen = least(k.first_seen, o.first_seen),"
        " updated = greatest(k.updated, o.updated)"
        " FROM entries AS o WHERE k.key = %s AND o.key = %s",
        [kept, other],
    )
    # Rendered again: the digest days of both rows (SQLite's strftime('%f') format).
    conn.execute(
        "INSERT INTO digests_due SELECT digest_day, to_char(now() AT TIME ZONE 'UTC',"
        ' \'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"\') FROM entries WHERE key IN (%s, %s)'
        " ON CONFLICT DO NOTHING",
        [kept, other],
    )


def _rekey_tombstones(conn: Any, canonical: Callable[[str], str]) -> None:
    """Tombstones of pruned entries (no row, so no link): keyed again from their key."""
    pruned = conn.execute(
        "SELECT DISTINCT entry_key FROM pruned_entries WHERE entry_key LIKE 'url:%%'"
    ).fetchall()
    for (old,) in pruned:
        new = url_key(None, old, canonical)
        if new != old:
            conn.execute(
                "UPDATE pruned_entries AS p SET entry_key = %s WHERE entry_key = %s"
                " AND NOT EXISTS (SELECT 1 FROM pruned_entries AS q"
                " WHERE q.entry_key = %s AND q.source = p.source)",
                [new, old, new],
            )
            conn.execute("DELETE FROM pruned_entries WHERE entry_key = %s", [old])
