"""Entry rows: writing a plan's rows, and the queries feeds and digests need."""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from ..._update.plan import Plan
from ...types import StoredEntry
from .base import StoreBase, chunks, stamp
from .search_index import stage_search_text

#: Linked duplicates (see store/dupes.py) are stored but never published or sent.
_VISIBLE = "key NOT IN (SELECT entry_key FROM duplicates)"


class EntryQueries(StoreBase):
    def get_entries(self, keys: Sequence[str]) -> dict[str, StoredEntry]:
        """The stored rows for ``keys`` that exist."""
        found: dict[str, StoredEntry] = {}
        for chunk in chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT * FROM entries WHERE key IN ({marks})", chunk)
            found.update(self._rows_to_entries(rows))
        return found

    def source_hashes(self, source: str, keys: Sequence[str]) -> dict[str, str]:
        """The content hash ``source`` last delivered for each of ``keys``."""
        hashes: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT entry_key, content_hash FROM entry_sources"
                f" WHERE source = ? AND entry_key IN ({marks})",
                [source, *chunk],
            )
            hashes.update({key: value for key, value in rows})
        return hashes

    def _write_entries(self, plan: Plan) -> None:
        """The plan's rows, filings and copies: new rows first, then updates, then the
        rows that refer to them, each kind one statement over the whole plan."""
        when = plan.now.isoformat()
        conn = self.db.conn
        if plan.inserts:
            conn.executemany(_INSERT_ENTRY, [_entry_values(row) for row in plan.inserts])
        if plan.updates:
            conn.executemany(_UPDATE_ENTRY, [_entry_values(row) for row in plan.updates])
        if plan.inserts or plan.updates:
            # With the rows, in the plan's savepoint (see search_index.py).
            written = [row.key for row in (*plan.inserts, *plan.updates)]
            stage_search_text(conn, written, plan.search_text)
        self._insert_all(
            "entry_categories",
            [(f.key, f.category, plan.source, f.how, when) for f in plan.filings],
            verb="INSERT OR IGNORE",
        )
        if plan.copies:
            conn.executemany(
                "INSERT INTO entry_sources VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (entry_key, source) DO UPDATE SET"
                " content_hash = excluded.content_hash, guid = excluded.guid"
                " WHERE content_hash != excluded.content_hash"
                " OR guid IS NOT excluded.guid",
                [(c.key, plan.source, c.guid, c.content_hash, when) for c in plan.copies],
            )

    def entries_in_category(
        self, category: str | None, limit: int, *, since_day: date | None = None
    ) -> list[StoredEntry]:
        """Newest first by ``updated``; ``category=None`` means every entry.
        ``since_day``: only entries whose digest day is that day or later."""
        since = "" if since_day is None else " AND digest_day >= ?"
        day = [] if since_day is None else [since_day.isoformat()]
        if category is None:
            rows = self.db.execute(
                f"SELECT * FROM entries WHERE {_VISIBLE}{since} ORDER BY updated DESC, key LIMIT ?",
                [*day, limit],
            )
        else:
            # Choose the keys first, then read only those rows in full: sorting the
            # category's whole rows (abstracts and all) costs twice as much.
            rows = self.db.execute(
                "SELECT * FROM entries WHERE key IN (SELECT key FROM entries WHERE key IN"
                " (SELECT entry_key FROM entry_categories WHERE category = ?)"
                f" AND {_VISIBLE}{since} ORDER BY updated DESC, key LIMIT ?)"
                " ORDER BY updated DESC, key",
                [category, *day, limit],
            )
        return list(self._rows_to_entries(rows).values())

    def day_counts_in_category(self, category: str | None) -> list[tuple[date, int]]:
        """Each digest day with a visible entry (in ``category``; None: any), with its
        number of them, newest first."""
        if category is None:
            rows = self.db.execute(
                f"SELECT digest_day, count(*) FROM entries WHERE {_VISIBLE}"
                " GROUP BY digest_day ORDER BY digest_day DESC"
            )
        else:
            rows = self.db.execute(
                "SELECT digest_day, count(*) FROM entries WHERE key IN"
                " (SELECT entry_key FROM entry_categories WHERE category = ?)"
                f" AND {_VISIBLE} GROUP BY digest_day ORDER BY digest_day DESC",
                [category],
            )
        return [(date.fromisoformat(day), count) for day, count in rows]

    def entries_in_category_on(self, category: str | None, day: date) -> list[StoredEntry]:
        """The visible entries of digest day ``day`` (in ``category``; None: any), newest
        first by ``updated``, then by key."""
        if category is None:
            rows = self.db.execute(
                f"SELECT * FROM entries WHERE digest_day = ? AND {_VISIBLE}"
                " ORDER BY updated DESC, key",
                [day.isoformat()],
            )
        else:
            rows = self.db.execute(
                "SELECT * FROM entries WHERE key IN"
                " (SELECT entry_key FROM entry_categories WHERE category = ?)"
                f" AND digest_day = ? AND {_VISIBLE} ORDER BY updated DESC, key",
                [category, day.isoformat()],
            )
        return list(self._rows_to_entries(rows).values())

    def recent_digest_days(self, category: str | None, count: int) -> list[date]:
        """The ``count`` latest digest days with a visible entry (in ``category``),
        newest first."""
        if category is None:
            rows = self.db.execute(
                f"SELECT DISTINCT digest_day FROM entries WHERE {_VISIBLE}"
                " ORDER BY digest_day DESC LIMIT ?",
                [count],
            )
        else:
            rows = self.db.execute(
                "SELECT DISTINCT digest_day FROM entries WHERE key IN"
                " (SELECT entry_key FROM entry_categories WHERE category = ?)"
                f" AND {_VISIBLE} ORDER BY digest_day DESC LIMIT ?",
                [category, count],
            )
        return [date.fromisoformat(day) for (day,) in rows]

    def entries_for_day(self, day: date) -> list[StoredEntry]:
        """Entries whose digest day is ``day``, in arrival order."""
        rows = self.db.execute(
            f"SELECT * FROM entries WHERE digest_day = ? AND {_VISIBLE}"
            " ORDER BY first_seen, position, key",
            [day.isoformat()],
        )
        return list(self._rows_to_entries(rows).values())

    def entries_updated_between(
        self, start: datetime, end: datetime, *, before_day: date
    ) -> list[StoredEntry]:
        """Entries first shown before ``before_day`` whose ``updated`` is in [start, end)."""
        rows = self.db.execute(
            "SELECT * FROM entries WHERE updated >= ? AND updated < ? AND digest_day < ?"
            f" AND {_VISIBLE} ORDER BY updated, key",
            [stamp(start), stamp(end), before_day.isoformat()],
        )
        return list(self._rows_to_entries(rows).values())

    def categories(self) -> list[tuple[str, int]]:
        """Every category with its number of entries, by name."""
        rows = self.db.execute(
            "SELECT category, count(DISTINCT entry_key) FROM entry_categories"
            " WHERE entry_key NOT IN (SELECT entry_key FROM duplicates)"
            " GROUP BY category ORDER BY category"
        )
        return [(name, int(count)) for name, count in rows]

    def digest_days(self) -> list[date]:
        # The days from the index alone, then one visible entry per day: never a scan
        # of the rows themselves.
        rows = self.db.execute(
            "SELECT day FROM (SELECT DISTINCT digest_day AS day FROM entries) WHERE EXISTS"
            f" (SELECT 1 FROM entries WHERE digest_day = day AND {_VISIBLE}) ORDER BY day"
        )
        return [date.fromisoformat(day) for (day,) in rows]

    def count_entries(self) -> int:
        # Each linked duplicate is exactly one stored entry (a unique, cascading key).
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM entries) - (SELECT count(*) FROM duplicates)"
        ).fetchone()
        return int(row[0])

    def _rows_to_entries(self, cursor: sqlite3.Cursor) -> dict[str, StoredEntry]:
        rows = in_column_order([d[0] for d in cursor.description], cursor.fetchall())
        if not rows:
            return {}
        keys = [row[0] for row in rows]
        # Ordered sets: a kept entry can gather thousands of duplicates' categories.
        categories: dict[str, dict[str, None]] = {key: {} for key in keys}
        sources: dict[str, dict[str, None]] = {key: {} for key in keys}
        for chunk in chunks(keys):
            marks = ",".join("?" * len(chunk))
            for key, category in self.db.execute(
                "SELECT entry_key, category FROM entry_categories"
                f" WHERE entry_key IN ({marks}) ORDER BY rowid",
                chunk,
            ):
                categories[key][category] = None
            for key, name in self.db.execute(
                f"SELECT entry_key, source FROM entry_sources WHERE entry_key IN ({marks})"
                " ORDER BY rowid",
                chunk,
            ):
                sources[key][name] = None
            # A kept entry also lists the sources of the duplicates merged into it.
            for key, name in self.db.execute(
                "SELECT d.kept_key, s.source FROM duplicates d"
                " JOIN entry_sources s ON s.entry_key = d.entry_key"
                f" WHERE d.kept_key IN ({marks}) ORDER BY d.id, s.rowid",
                chunk,
            ):
                sources[key].setdefault(name, None)
        return {
            row[0]: _row_to_entry(row, list(categories[row[0]]), list(sources[row[0]]))
            for row in rows
        }


#: The columns of ``entries`` as :func:`_entry_to_row` fills them: one place to add a
#: column, so an insert or update can never leave one out.
#: (tests/test_store_batch.py checks these against the table and _entry_to_row.)
_COLUMNS = (
    "key", "atom_id", "title", "link", "published", "updated", "first_seen", "digest_day",
    "authors", "summary", "content", "sections", "pdf_url", "arxiv_id", "doi", "language",
    "content_hash", "position", "version", "primary_category", "subjects", "journal_ref",
    "raw_title", "raw_summary", "raw_authors",
)  # fmt: skip
# OR FAIL: as the default ABORT for these one-row statements (every constraint is
# checked before the row is written, and the triggers run after), without the
# statement journal SQLite opens for a statement that fires triggers and may abort
# (measured: 35 us per row, most of the cost of inserting an entry). Values by
# position (:func:`_entry_values`): binding 25 named ones per row cost twice as much.
_INSERT_ENTRY = (
    f"INSERT OR FAIL INTO entries ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
_UPDATE_ENTRY = (
    "UPDATE OR FAIL entries SET "
    + ", ".join(
        f"{c} = ?{i}"
        for i, c in enumerate(_COLUMNS, 1)
        if c not in ("key", "atom_id", "first_seen")
    )
    + f" WHERE key = ?{_COLUMNS.index('key') + 1}"
    + f" AND content_hash != ?{_COLUMNS.index('content_hash') + 1}"
)


def _entry_values(entry: StoredEntry) -> tuple[Any, ...]:
    """The row of ``entry``: its values in the order of :data:`_COLUMNS`."""
    raw_authors = entry.raw_authors
    return (
        entry.key,
        entry.atom_id,
        entry.title,
        entry.link,
        stamp(entry.published) if entry.published else None,
        stamp(entry.updated),
        stamp(entry.first_seen),
        entry.digest_day.isoformat(),
        _json_list(entry.authors),
        entry.summary,
        entry.content,
        _encode([list(s) for s in entry.sections]) if entry.sections else "[]",
        entry.pdf_url,
        entry.arxiv_id,
        entry.doi,
        entry.language,
        entry.content_hash,
        entry.position,
        entry.version,
        entry.primary_category,
        json.dumps(list(entry.subjects)) if entry.subjects else "[]",
        entry.journal_ref,
        entry.raw_title,
        entry.raw_summary,
        None if raw_authors is None else _json_list(raw_authors),
    )


#: ``json.dumps(value, ensure_ascii=False)``, without making an encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode


def _json_list(values: tuple[str, ...]) -> str:
    # Many lists are empty: the empty one without the JSON encoder.
    return _encode(list(values)) if values else "[]"


def _entry_to_row(entry: StoredEntry) -> dict[str, Any]:
    """The row of ``entry`` by column name."""
    return dict(zip(_COLUMNS, _entry_values(entry), strict=True))


def in_column_order(columns: list[str], rows: list[Any]) -> list[Sequence[Any]]:
    """The rows of a ``SELECT *`` of ``entries`` (its ``columns``), as values in the
    order of :data:`_COLUMNS` (as they are, when the table has that order)."""
    if columns == list(_COLUMNS):
        return rows
    pick = operator.itemgetter(*(columns.index(c) for c in _COLUMNS))
    return [pick(row) for row in rows]


def _row_to_entry(row: Sequence[Any], categories: list[str], sources: list[str]) -> StoredEntry:
    """The entry of a row in the order of :data:`_COLUMNS` (by position: a dict per
    row cost a third of reading a day's entries)."""
    (
        key, atom_id, title, link, published, updated, first_seen, digest_day, authors,
        summary, content, sections, pdf_url, arxiv_id, doi, language, content_hash,
        position, version, primary_category, subjects, journal_ref, raw_title,
        raw_summary, raw_authors,
    ) = row  # fmt: skip
    return StoredEntry(
        key=key,
        atom_id=atom_id,
        title=title,
        link=link,
        published=datetime.fromisoformat(published) if published else None,
        updated=datetime.fromisoformat(updated),
        first_seen=datetime.fromisoformat(first_seen),
        digest_day=date.fromisoformat(digest_day),
        authors=_json_tuple(authors),
        summary=summary,
        content=content,
        sections=tuple((h, t) for h, t in _json_tuple(sections)),
        categories=tuple(categories),
        pdf_url=pdf_url,
        arxiv_id=arxiv_id,
        doi=doi,
        language=language,
        content_hash=content_hash,
        position=int(position),
        sources=tuple(sources),
        version=version,
        primary_category=primary_category,
        subjects=_json_tuple(subjects),
        journal_ref=journal_ref,
        raw_title=raw_title,
        raw_summary=raw_summary,
        raw_authors=None if raw_authors is None else _json_tuple(raw_authors),
    )


def _json_tuple(text: str) -> tuple[Any, ...]:
    # Most lists are empty: the empty one without the JSON decoder (a third of the cost
    # of reading a digest's rows went to json.loads).
    return () if text == "[]" else tuple(json.loads(text))
