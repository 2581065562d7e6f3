"""Checking a database file, and tidying one that was restored or recovered.

:func:`inspect_database` reads the file through a read-only connection that never
migrates or creates anything: SQLite's ``integrity_check`` (or ``quick_check``), its
``foreign_key_check``, the tables each problem is in, and the schema version against
the code's. It reports; the CLI says what the findings mean and what to do.

:class:`RepairQueries` is what ``aggregator check --repair`` writes into a database
that reads well again: rows left pointing at entries lost with the damage are
deleted, and every published file and digest is marked for rewriting.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from .base import StoreBase, stamp
from .dupes import drop_band_keys
from .schema import MIGRATIONS

#: Problems listed at most (SQLite's own default for integrity_check).
MAX_PROBLEMS = 100


@dataclass(frozen=True)
class Orphans:
    """Rows of ``table`` whose ``columns`` name a row of ``parent`` that does not exist."""

    table: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    rows: int


@dataclass(frozen=True)
class Inspection:
    """What :func:`inspect_database` found; ``problems`` empty and ``unreadable`` None
    mean the file is sound."""

    path: Path
    size: int
    #: The write-ahead log and shared-memory files beside it, when present.
    companions: tuple[Path, ...]
    #: SQLite could not read the file at all (not a database, header or schema broken).
    unreadable: str | None
    #: "integrity_check" or "quick_check".
    check: str
    problems: tuple[str, ...]
    #: Tables (and their indexes) in which the check fails on its own.
    damaged_tables: tuple[str, ...]
    orphans: tuple[Orphans, ...]
    #: The newest migration recorded; None when the file has no aggregator schema.
    schema: int | None
    known_schema: int = MIGRATIONS[-1][0]

    @property
    def damaged(self) -> bool:
        return self.unreadable is not None or bool(self.problems)


def companions_of(path: Path) -> tuple[Path, ...]:
    names = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    return tuple(companion for companion in names if companion.exists())


def inspect_database(path: Path, *, quick: bool = False) -> Inspection:
    """Check ``path`` (which must exist) without writing to it."""
    check = "quick_check" if quick else "integrity_check"
    found = Inspection(
        path=path,
        size=path.stat().st_size if path.is_file() else 0,
        companions=companions_of(path),
        unreadable=None,
        check=check,
        problems=(),
        damaged_tables=(),
        orphans=(),
        schema=None,
    )
    if not path.is_file():
        return replace(found, unreadable="not a file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as err:
        return replace(found, unreadable=str(err))
    try:
        try:
            tables = [
                str(name)
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
                )
            ]
        except sqlite3.Error as err:
            return replace(found, unreadable=str(err))
        problems = _problems(conn, f"PRAGMA {check}({MAX_PROBLEMS})")
        damaged = (
            tuple(t for t in tables if _problems(conn, f"PRAGMA quick_check({_quoted(t)})"))
            if problems
            else ()
        )
        schema: int | None = None
        if "schema_migrations" in tables:
            try:
                row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
                schema = int(row[0] or 0)
            except sqlite3.Error as err:
                problems = (*problems, f"schema_migrations: {err}")
        return replace(
            found,
            problems=problems,
            damaged_tables=damaged,
            orphans=_orphans(conn, tables),
            schema=schema,
        )
    finally:
        conn.close()


def _problems(conn: sqlite3.Connection, pragma: str) -> tuple[str, ...]:
    """The lines of an integrity or quick check other than "ok" (its error, if it fails)."""
    try:
        lines = [str(line) for (line,) in conn.execute(pragma)]
    except sqlite3.Error as err:
        return (str(err),)
    return tuple(
        part
        for line in lines
        if line != "ok"
        for part in line.splitlines()
        if part.strip() and part.strip() != "*** in database main ***"
    )


def _orphans(conn: sqlite3.Connection, tables: list[str]) -> tuple[Orphans, ...]:
    """Foreign-key violations, counted per (table, constraint)."""
    counts: dict[tuple[str, int], int] = {}
    for table in tables:
        try:
            rows = conn.execute(f"PRAGMA foreign_key_check({_quoted(table)})").fetchall()
        except sqlite3.Error:
            continue  # an unreadable table is reported by the integrity check
        for _table, _rowid, _parent, fkid in rows:
            counts[(table, int(fkid))] = counts.get((table, int(fkid)), 0) + 1
    found = []
    for (table, fkid), count in sorted(counts.items()):
        listed = conn.execute(f"PRAGMA foreign_key_list({_quoted(table)})").fetchall()
        keys = [row for row in listed if row[0] == fkid]
        keys.sort(key=lambda row: row[1])
        parent = str(keys[0][2])
        columns = tuple(str(row[3]) for row in keys)
        targets = tuple(str(row[4]) if row[4] else "rowid" for row in keys)
        found.append(Orphans(table, columns, parent, targets, count))
    return tuple(found)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class RepairQueries(StoreBase):
    def delete_orphans(self, orphans: tuple[Orphans, ...]) -> int:
        """Delete the rows ``orphans`` describes (found by :func:`inspect_database`).

        They are what a recovery leaves of entries lost with damaged pages; left in
        place, a source's remembered hash of such an entry would keep the lost entry
        from ever being stored again. Returns the rows deleted.
        """
        deleted = 0
        with self.transaction():
            for orphan in orphans:
                wanted = ", ".join(_quoted(c) for c in orphan.columns)
                present = " AND ".join(f"{_quoted(c)} IS NOT NULL" for c in orphan.columns)
                targets = ", ".join(_quoted(c) for c in orphan.parent_columns)
                where = (
                    f"{present} AND ({wanted})"
                    f" NOT IN (SELECT {targets} FROM {_quoted(orphan.parent)})"
                )
                if orphan.table == "entry_signatures":  # their band keys go first
                    drop_band_keys(self.db.conn, where, [])
                cursor = self.db.execute(f"DELETE FROM {_quoted(orphan.table)} WHERE {where}")
                deleted += max(cursor.rowcount, 0)
        return deleted

    def forget_what_was_read_and_written(self, *, now: datetime) -> None:
        """Make the next run read every source in full and rewrite every output file.

        For a restored or recovered database, whose memory of sources' last documents
        (their fingerprints, ETags and Last-Modified dates) and of the files published
        describes another state of the data than the one it now holds: entries lost
        with the damage are stored again when their sources still list them, and the
        feeds, index page and digests are written from what is there now.
        """
        with self.transaction():
            self.db.execute("DELETE FROM source_documents")
            self.db.execute("UPDATE source_fetch SET etag = NULL, last_modified = NULL")
            self.db.execute("DELETE FROM published_files")
            self.db.execute(
                "INSERT OR IGNORE INTO digests_due SELECT day, ? FROM (SELECT digest_day AS day"
                " FROM entries UNION SELECT day FROM arxiv_announcements)",
                [stamp(now)],
            )
