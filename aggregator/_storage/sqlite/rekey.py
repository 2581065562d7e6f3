"""Recomputing stored identity keys, merging the rows whose new keys are equal.

Owns one upgrade step: when the rules that make a key change (canonical URLs, in
:mod:`aggregator._common.urls`), every stored ``url:`` key is made again from the
entry's link, and entries whose keys become one are merged into one row, so that the
same article is no longer stored and published twice. Nothing an entry was attached
to is lost: its category filings, the sources that delivered it, arXiv announcements,
tombstones, duplicate links and splits, work keys and signature all move to the row
that stays (where the kept row already has the same attachment, its own is kept).
Delivery records name days and subscribers, not entries, and are not touched.

The row that stays is the one seen first (its Atom id stays the published one); it
gains the fields it lacked from the others, the earliest ``first_seen`` and the
latest ``updated``. The digest days of every merged row are marked to be rendered
again. Called only from the migration, inside its transaction; never does network I/O.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from urllib.parse import urlsplit

import sqlite_utils

#: Entry columns the kept row takes from a merged one when it has none of its own.
_FILLED = (
    "link",
    "published",
    "summary",
    "content",
    "pdf_url",
    "doi",
    "language",
)


def url_key(link: str | None, key: str, canonical: Callable[[str], str]) -> str:
    """The ``url:`` key of a stored entry under ``canonical``: made from its link (the
    key itself may be no valid URL, as IPv6 hosts were), else from the old key."""
    if link and urlsplit(link.strip()).scheme.lower() in ("http", "https"):
        return f"url:{canonical(link)}"
    return f"url:{canonical(key.removeprefix('url:'))}"


def rekey_url_entries(db: sqlite_utils.Database, canonical: Callable[[str], str]) -> int:
    """Give every ``url:`` entry the key ``canonical`` makes of it; merge the rows whose
    keys become equal. Returns the number of rows merged away."""
    conn = db.conn
    conn.execute("PRAGMA defer_foreign_keys = ON")  # keys move before the rows they name
    rows = conn.execute(
        "SELECT key, link, first_seen FROM entries WHERE key LIKE 'url:%' ORDER BY first_seen, key"
    ).fetchall()
    groups: dict[str, list[str]] = defaultdict(list)
    for key, link, _ in rows:
        groups[url_key(link, key, canonical)].append(key)
    tables = _key_tables(conn)
    merged = 0
    for new, members in groups.items():
        if members == [new]:
            continue
        kept, *others = members  # in order of first_seen: the first seen stays
        for other in others:
            _merge_row(conn, kept, other)
            _move(conn, tables, other, kept)
            conn.execute("DELETE FROM entries WHERE key = ?", [other])
            merged += 1
        if kept != new:
            _move(conn, tables, kept, new)
            conn.execute("UPDATE entries SET key = ? WHERE key = ?", [new, kept])
    _rekey_tombstones(conn, canonical)
    return merged


def _rekey_tombstones(conn: sqlite3.Connection, canonical: Callable[[str], str]) -> None:
    """Tombstones of pruned entries (no row, so no link): keyed again from their key."""
    pruned = conn.execute(
        "SELECT DISTINCT entry_key FROM pruned_entries WHERE entry_key LIKE 'url:%'"
    ).fetchall()
    for (old,) in pruned:
        new = url_key(None, old, canonical)
        if new != old:
            conn.execute(
                "UPDATE OR IGNORE pruned_entries SET entry_key = ? WHERE entry_key = ?", [new, old]
            )
            conn.execute("DELETE FROM pruned_entries WHERE entry_key = ?", [old])


def _key_tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Every ordinary table with a column naming an entry key, and those columns."""
    found: dict[str, list[str]] = {}
    names = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'entries'"
        " AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
    ).fetchall()
    for (name,) in names:
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')]
        keyed = [c for c in ("entry_key", "kept_key", "other_key") if c in columns]
        if keyed:
            found[name] = keyed
    return found


def _move(conn: sqlite3.Connection, tables: dict[str, list[str]], old: str, new: str) -> None:
    """Point every row naming ``old`` at ``new``; a row that would repeat one ``new``
    already has (a primary key or unique column) is dropped, and so is a link of an
    entry to itself."""
    for table, columns in tables.items():
        for column in columns:
            conn.execute(
                f'UPDATE OR IGNORE "{table}" SET {column} = ? WHERE {column} = ?', [new, old]
            )
            conn.execute(f'DELETE FROM "{table}" WHERE {column} = ?', [old])
        if len(columns) > 1:
            first, *rest = columns
            for column in rest:
                conn.execute(f'DELETE FROM "{table}" WHERE {first} = {column}')


def _merge_row(conn: sqlite3.Connection, kept: str, other: str) -> None:
    fills = ", ".join(
        f"{c} = coalesce({c}, (SELECT {c} FROM entries WHERE key = :o))" for c in _FILLED
    )
    conn.execute(
        f"UPDATE entries SET {fills},"
        " first_seen = min(first_seen, (SELECT first_seen FROM entries WHERE key = :o)),"
        " updated = max(updated, (SELECT updated FROM entries WHERE key = :o))"
        " WHERE key = :k",
        {"k": kept, "o": other},
    )
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'digests_due'").fetchone():
        conn.execute(
            "INSERT OR IGNORE INTO digests_due SELECT digest_day,"
            " strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') FROM entries WHERE key IN (?, ?)",
            [kept, other],
        )
