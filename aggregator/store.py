"""The only module that speaks SQL: schema, migrations, upserts and queries.

Holds no business rules: it stores the rows ``dedup`` decided on and answers
questions named for what they mean (entries of a category, of a digest day, ...).
Every write happens inside a transaction, so a crash leaves the database as it
was before the batch or after it, never in between.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from .dedup import Decision, Outcome
from .errors import StorageError
from .types import StoredEntry

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


#: Versioned migrations, applied in order, each in its own transaction and recorded.
MIGRATIONS: tuple[tuple[int, str, Migration], ...] = ((1, "initial schema", _m1_initial),)


@dataclass(frozen=True)
class SourceHealth:
    name: str
    kind: str
    location: str
    last_attempt: str | None
    last_success: str | None
    last_error: str | None
    consecutive_failures: int
    last_new_entries: str | None


class Store:
    """A SQLite database holding entries, their categories and sources, and runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        conn: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except (OSError, sqlite3.Error) as err:
            if conn is not None:
                conn.close()
            raise StorageError(
                f"cannot open database {path}: {err}",
                hint="check the folder is writable and the file is an SQLite database"
                " (or point [storage].database at a new file)",
            ) from err
        self.db = sqlite_utils.Database(conn)
        try:
            self._migrate()
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen, or none do."""
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("COMMIT")
        except BaseException as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise StorageError(f"database {self.path}: {err}") from err
            raise

    # -- migrations -------------------------------------------------------------------

    def _migrate(self) -> None:
        try:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in self.db.execute("SELECT version FROM schema_migrations")}
        except sqlite3.DatabaseError as err:
            raise StorageError(
                f"{self.path} is not a usable SQLite database: {err}",
                hint="point [storage].database at a new file, or restore a backup",
            ) from err
        newest = max(version for version, _, _ in MIGRATIONS)
        if done and max(done) > newest:
            raise StorageError(
                f"{self.path} was written by a newer aggregator (schema {max(done)})",
                hint="upgrade aggregator",
            )
        for version, name, migrate in MIGRATIONS:
            if version in done:
                continue
            with self.transaction():
                migrate(self.db)
                self.db.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))",
                    [version, name],
                )

    def schema_version(self) -> int:
        row = self.db.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    # -- entries ----------------------------------------------------------------------

    def get_entries(self, keys: Sequence[str]) -> dict[str, StoredEntry]:
        """The stored rows for ``keys`` that exist."""
        found: dict[str, StoredEntry] = {}
        for chunk in _chunks(list(dict.fromkeys(keys)), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT * FROM entries WHERE key IN ({marks})", chunk)
            found.update(self._rows_to_entries(rows))
        return found

    def source_hashes(self, source: str, keys: Sequence[str]) -> dict[str, str]:
        """The content hash ``source`` last delivered for each of ``keys``."""
        hashes: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(keys)), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT entry_key, content_hash FROM entry_sources"
                f" WHERE source = ? AND entry_key IN ({marks})",
                [source, *chunk],
            )
            hashes.update({key: value for key, value in rows})
        return hashes

    def apply(self, decisions: Iterable[Decision], *, source: str, now: datetime) -> None:
        """Store the rows, categories and per-source hashes the decisions call for.

        Call inside :meth:`transaction`. Unchanged rows are not rewritten.
        """
        stamp = now.isoformat()
        for decision in decisions:
            row = decision.row
            if decision.changed:
                self._upsert_entry(row, decision.outcome)
            for category in decision.categories:
                self.db.execute(
                    "INSERT OR IGNORE INTO entry_categories VALUES (?, ?, ?, ?, ?)",
                    [row.key, category, source, "listed", stamp],
                )
            self.db.execute(
                "INSERT INTO entry_sources VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (entry_key, source) DO UPDATE SET"
                " content_hash = excluded.content_hash, guid = excluded.guid"
                " WHERE content_hash != excluded.content_hash"
                " OR guid IS NOT excluded.guid",
                [row.key, source, decision.source_guid, decision.source_hash, stamp],
            )

    def _upsert_entry(self, row: StoredEntry, outcome: Outcome) -> None:
        values = _entry_to_row(row)
        if outcome is Outcome.NEW:
            self.db.table("entries").insert(values)
            return
        columns = [c for c in values if c not in ("key", "atom_id", "first_seen")]
        assignments = ", ".join(f"{c} = :{c}" for c in columns)
        self.db.execute(
            f"UPDATE entries SET {assignments} WHERE key = :key AND content_hash != :content_hash",
            values,
        )

    def entries_in_category(self, category: str | None, limit: int) -> list[StoredEntry]:
        """Newest first by ``updated``; ``category=None`` means every entry."""
        if category is None:
            rows = self.db.execute(
                "SELECT * FROM entries ORDER BY updated DESC, key LIMIT ?", [limit]
            )
        else:
            rows = self.db.execute(
                "SELECT * FROM entries WHERE key IN"
                " (SELECT entry_key FROM entry_categories WHERE category = ?)"
                " ORDER BY updated DESC, key LIMIT ?",
                [category, limit],
            )
        return list(self._rows_to_entries(rows).values())

    def entries_for_day(self, day: date) -> list[StoredEntry]:
        """Entries whose digest day is ``day``, in arrival order."""
        rows = self.db.execute(
            "SELECT * FROM entries WHERE digest_day = ? ORDER BY first_seen, position, key",
            [day.isoformat()],
        )
        return list(self._rows_to_entries(rows).values())

    def entries_updated_between(
        self, start: datetime, end: datetime, *, before_day: date
    ) -> list[StoredEntry]:
        """Entries first shown before ``before_day`` whose ``updated`` is in [start, end)."""
        rows = self.db.execute(
            "SELECT * FROM entries WHERE updated >= ? AND updated < ? AND digest_day < ?"
            " ORDER BY updated, key",
            [_stamp(start), _stamp(end), before_day.isoformat()],
        )
        return list(self._rows_to_entries(rows).values())

    def categories(self) -> list[tuple[str, int]]:
        """Every category with its number of entries, by name."""
        rows = self.db.execute(
            "SELECT category, count(DISTINCT entry_key) FROM entry_categories"
            " GROUP BY category ORDER BY category"
        )
        return [(name, int(count)) for name, count in rows]

    def digest_days(self) -> list[date]:
        rows = self.db.execute("SELECT DISTINCT digest_day FROM entries ORDER BY digest_day")
        return [date.fromisoformat(day) for (day,) in rows]

    def count_entries(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def _rows_to_entries(self, cursor: sqlite3.Cursor) -> dict[str, StoredEntry]:
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
        if not rows:
            return {}
        keys = [row["key"] for row in rows]
        categories: dict[str, list[str]] = {key: [] for key in keys}
        sources: dict[str, list[str]] = {key: [] for key in keys}
        for chunk in _chunks(keys, 500):
            marks = ",".join("?" * len(chunk))
            for key, category in self.db.execute(
                "SELECT entry_key, category FROM entry_categories"
                f" WHERE entry_key IN ({marks}) ORDER BY rowid",
                chunk,
            ):
                if category not in categories[key]:
                    categories[key].append(category)
            for key, name in self.db.execute(
                f"SELECT entry_key, source FROM entry_sources WHERE entry_key IN ({marks})"
                " ORDER BY rowid",
                chunk,
            ):
                sources[key].append(name)
        return {
            row["key"]: _row_to_entry(row, categories[row["key"]], sources[row["key"]])
            for row in rows
        }

    # -- sources and runs -------------------------------------------------------------

    def record_source(
        self,
        *,
        name: str,
        kind: str,
        location: str,
        now: datetime,
        error: str | None,
        new_entries: int = 0,
    ) -> None:
        """Record one attempt at a source: success, or the error in words."""
        stamp = now.isoformat()
        self.db.execute(
            "INSERT INTO sources (name, kind, location) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, location = excluded.location",
            [name, kind, location],
        )
        if error is None:
            self.db.execute(
                "UPDATE sources SET last_attempt = ?, last_success = ?, last_error = NULL,"
                " consecutive_failures = 0,"
                " last_new_entries = CASE WHEN ? > 0 THEN ? ELSE last_new_entries END"
                " WHERE name = ?",
                [stamp, stamp, new_entries, stamp, name],
            )
        else:
            self.db.execute(
                "UPDATE sources SET last_attempt = ?, last_error = ?,"
                " consecutive_failures = consecutive_failures + 1 WHERE name = ?",
                [stamp, error, name],
            )

    def source_health(self) -> list[SourceHealth]:
        rows = self.db.execute(
            "SELECT name, kind, location, last_attempt, last_success, last_error,"
            " consecutive_failures, last_new_entries FROM sources ORDER BY name"
        )
        return [SourceHealth(*row) for row in rows]

    def start_run(self, *, now: datetime, run_date: date) -> int:
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (started_at, run_date, status) VALUES (?, ?, 'running')",
                [now.isoformat(), run_date.isoformat()],
            )
        return int(cursor.lastrowid or 0)

    def finish_run(
        self, run_id: int, *, now: datetime, status: str, summary: dict[str, Any]
    ) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                [now.isoformat(), status, json.dumps(summary, ensure_ascii=False), run_id],
            )

    def last_runs(self, limit: int = 5) -> list[dict[str, Any]]:
        cursor = self.db.execute(
            "SELECT id, started_at, finished_at, run_date, status, summary FROM runs"
            " ORDER BY id DESC LIMIT ?",
            [limit],
        )
        columns = [d[0] for d in cursor.description]
        runs = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        for run in runs:
            run["summary"] = json.loads(run["summary"])
        return runs


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stamp(value: datetime) -> str:
    """UTC, second precision: stored times compare correctly as text."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _entry_to_row(entry: StoredEntry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "atom_id": entry.atom_id,
        "title": entry.title,
        "link": entry.link,
        "published": _stamp(entry.published) if entry.published else None,
        "updated": _stamp(entry.updated),
        "first_seen": _stamp(entry.first_seen),
        "digest_day": entry.digest_day.isoformat(),
        "authors": json.dumps(list(entry.authors), ensure_ascii=False),
        "summary": entry.summary,
        "content": entry.content,
        "sections": json.dumps([list(s) for s in entry.sections], ensure_ascii=False),
        "pdf_url": entry.pdf_url,
        "arxiv_id": entry.arxiv_id,
        "doi": entry.doi,
        "language": entry.language,
        "content_hash": entry.content_hash,
        "position": entry.position,
    }


def _row_to_entry(row: dict[str, Any], categories: list[str], sources: list[str]) -> StoredEntry:
    return StoredEntry(
        key=row["key"],
        atom_id=row["atom_id"],
        title=row["title"],
        link=row["link"],
        published=datetime.fromisoformat(row["published"]) if row["published"] else None,
        updated=datetime.fromisoformat(row["updated"]),
        first_seen=datetime.fromisoformat(row["first_seen"]),
        digest_day=date.fromisoformat(row["digest_day"]),
        authors=tuple(json.loads(row["authors"])),
        summary=row["summary"],
        content=row["content"],
        sections=tuple((h, t) for h, t in json.loads(row["sections"])),
        categories=tuple(categories),
        pdf_url=row["pdf_url"],
        arxiv_id=row["arxiv_id"],
        doi=row["doi"],
        language=row["language"],
        content_hash=row["content_hash"],
        position=int(row["position"]),
        sources=tuple(sources),
    )
