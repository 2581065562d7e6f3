"""Entry rows and plans in PostgreSQL: what a plan is made from, writing it, and the
queries feeds, digests and arXiv need. The twin of ``sqlite/entries.py``,
``sqlite/plans.py`` and ``sqlite/arxiv.py``; rows are converted by the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from ..._update.plan import Applied, Known, Linker, Plan
from ...types import StoredEntry
from ..applying import apply_plans
from ..sqlite.base import stamp
from ..sqlite.entries import _COLUMNS, _entry_values, _row_to_entry, in_column_order
from .records import PgRecordQueries

_VISIBLE = "NOT EXISTS (SELECT 1 FROM duplicates d WHERE d.entry_key = entries.key)"

_INSERT_ENTRY = (
    f"INSERT INTO entries ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
)
#: The columns an update sets, then the two its WHERE names (by position in the row).
_SET = tuple(c for c in _COLUMNS if c not in ("key", "atom_id", "first_seen"))
_UPDATE_ORDER = tuple(_COLUMNS.index(c) for c in (*_SET, "key", "content_hash"))
_UPDATE_ENTRY = (
    "UPDATE entries SET "
    + ", ".join(f"{c} = %s" for c in _SET)
    + " WHERE key = %s AND content_hash != %s"
)


def _update_values(entry: StoredEntry) -> tuple[Any, ...]:
    values = _entry_values(entry)
    return tuple(values[i] for i in _UPDATE_ORDER)


class PgEntryQueries(PgRecordQueries):
    # -- what a plan is made from, and writing it

    def known(self, source: str, keys: Sequence[str]) -> Known:
        """What is stored of ``keys``, as ``source`` delivers them (see ``plan.Known``);
        inside :meth:`batch` this opens the batch's transaction."""
        if self._batch is not None:
            self._batch.begin()
        unique = list(dict.fromkeys(keys))
        stored: list[str] = []
        delivered: dict[str, str] = {}
        pruned: dict[str, str] = {}
        for kind, key, content_hash in self._execute(
            "SELECT 'row', e.key, NULL FROM entries e WHERE e.key = ANY(%(keys)s::text[])"
            " UNION ALL SELECT 'copy', s.entry_key, s.content_hash FROM entry_sources s"
            " WHERE s.source = %(source)s AND s.entry_key = ANY(%(keys)s::text[])"
            " UNION ALL SELECT 'pruned', p.entry_key, p.content_hash FROM pruned_entries p"
            " WHERE p.source = %(source)s AND p.entry_key = ANY(%(keys)s::text[])",
            {"keys": unique, "source": source},
        ):
            if kind == "row":
                stored.append(key)
            elif kind == "copy":
                delivered[key] = content_hash
            else:
                pruned[key] = content_hash
        return Known(
            rows=self.get_entries(stored) if stored else {},
            delivered=delivered,
            pruned=pruned,
        )

    def apply(self, plans: Iterable[Plan], *, link: Linker | None = None) -> list[Applied]:
        """Write ``plans`` in order, in one transaction, each in a savepoint of its own
        (see the SQLite store's: the same contract)."""
        return apply_plans(self, plans, link)

    def _write_entries(self, plan: Plan) -> None:
        when = plan.now.isoformat()
        self._many(_INSERT_ENTRY, [_entry_values(row) for row in plan.inserts])
        self._many(_UPDATE_ENTRY, [_update_values(row) for row in plan.updates])
        self._many(
            "INSERT INTO entry_categories (entry_key, category, source, how, first_seen)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(f.key, f.category, plan.source, f.how, when) for f in plan.filings],
        )
        self._many(
            "INSERT INTO entry_sources (entry_key, source, guid, content_hash, first_seen)"
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (entry_key, source) DO UPDATE SET"
            " content_hash = excluded.content_hash, guid = excluded.guid"
            " WHERE entry_sources.content_hash != excluded.content_hash"
            " OR entry_sources.guid IS DISTINCT FROM excluded.guid",
            [(c.key, plan.source, c.guid, c.content_hash, when) for c in plan.copies],
        )

    def _write_arxiv(self, plan: Plan) -> None:
        self._many(
            "INSERT INTO arxiv_announcements (entry_key, category, day, how, version, source)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [
                (a.key, a.category, a.day.isoformat(), a.how, a.version, plan.source)
                for a in plan.announcements
            ],
        )
        self._many(
            "INSERT INTO arxiv_batches VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [
                (plan.source, batch.day.isoformat(), stamp(plan.now), batch.entries)
                for batch in plan.batches
            ],
        )

    # -- entries

    def get_entries(self, keys: Sequence[str]) -> dict[str, StoredEntry]:
        """The stored rows for ``keys`` that exist."""
        cursor = self._execute(
            "SELECT * FROM entries WHERE key = ANY(%s::text[])", [list(dict.fromkeys(keys))]
        )
        return self._rows_to_entries(cursor)

    def source_hashes(self, source: str, keys: Sequence[str]) -> dict[str, str]:
        rows = self._execute(
            "SELECT entry_key, content_hash FROM entry_sources"
            " WHERE source = %s AND entry_key = ANY(%s::text[])",
            [source, list(keys)],
        )
        return dict(rows.fetchall())

    def entries_in_category(
        self, category: str | None, limit: int, *, since_day: date | None = None
    ) -> list[StoredEntry]:
        """Newest first by ``updated``; ``category=None`` means every entry.
        ``since_day``: only entries whose digest day is that day or later."""
        since = "" if since_day is None else " AND digest_day >= %s"
        day = [] if since_day is None else [since_day.isoformat()]
        if category is None:
            cursor = self._execute(
                f"SELECT * FROM entries WHERE {_VISIBLE}{since}"
                " ORDER BY updated DESC, key LIMIT %s",
                [*day, limit],
            )
        else:
            cursor = self._execute(
                "SELECT * FROM entries WHERE key IN"
                " (SELECT entry_key FROM entry_categories WHERE category = %s)"
                f" AND {_VISIBLE}{since} ORDER BY updated DESC, key LIMIT %s",
                [category, *day, limit],
            )
        return list(self._rows_to_entries(cursor).values())

    def day_counts_in_category(self, category: str | None) -> list[tuple[date, int]]:
        """Each digest day with a visible entry (in ``category``; None: any), with its
        number of them, newest first."""
        if category is None:
            rows = self._execute(
                f"SELECT digest_day, count(*) FROM entries WHERE {_VISIBLE}"
                " GROUP BY digest_day ORDER BY digest_day DESC"
            )
        else:
            rows = self._execute(
                "SELECT digest_day, count(*) FROM entries WHERE key IN"
                " (SELECT entry_key FROM entry_categories WHERE category = %s)"
                f" AND {_VISIBLE} GROUP BY digest_day ORDER BY digest_day DESC",
                [category],
            )
        return [(date.fromisoformat(day), int(count)) for day, count in rows]

    def entries_in_category_on(self, category: str | None, day: date) -> list[StoredEntry]:
        """The visible entries of digest day ``day`` (in ``category``; None: any), newest
        first by ``updated``, then by key."""
        if category is None:
            cursor = self._execute(
                f"SELECT * FROM entries WHERE digest_day = %s AND {_VISIBLE}"
                " ORDER BY updated DESC, key",
                [day.isoformat()],
            )
        else:
            cursor = self._execute(
                "SELECT * FROM entries WHERE key IN"
                " (SELECT entry_key FROM entry_categories WHERE category = %s)"
                f" AND digest_day = %s AND {_VISIBLE} ORDER BY updated DESC, key",
                [category, day.isoformat()],
            )
        return list(self._rows_to_entries(cursor).values())

    def recent_digest_days(self, category: str | None, count: int) -> list[date]:
        """The ``count`` latest digest days with a visible entry (in ``category``),
        newest first."""
        if category is None:
            rows = self._execute(
                f"SELECT DISTINCT digest_day FROM entries WHERE {_VISIBLE}"
                " ORDER BY digest_day DESC LIMIT %s",
                [count],
            )
        else:
            rows = self._execute(
                "SELECT DISTINCT digest_day FROM entries WHERE key IN"
                " (SELECT entry_key FROM entry_categories WHERE category = %s)"
                f" AND {_VISIBLE} ORDER BY digest_day DESC LIMIT %s",
                [category, count],
            )
        return [date.fromisoformat(day) for (day,) in rows]

    def entries_for_day(self, day: date) -> list[StoredEntry]:
        """Entries whose digest day is ``day``, in arrival order."""
        cursor = self._execute(
            f"SELECT * FROM entries WHERE digest_day = %s AND {_VISIBLE}"
            " ORDER BY first_seen, position, key",
            [day.isoformat()],
        )
        return list(self._rows_to_entries(cursor).values())

    def entries_updated_between(
        self, start: datetime, end: datetime, *, before_day: date
    ) -> list[StoredEntry]:
        """Entries first shown before ``before_day`` whose ``updated`` is in [start, end)."""
        cursor = self._execute(
            "SELECT * FROM entries WHERE updated >= %s AND updated < %s AND digest_day < %s"
            f" AND {_VISIBLE} ORDER BY updated, key",
            [stamp(start), stamp(end), before_day.isoformat()],
        )
        return list(self._rows_to_entries(cursor).values())

    def categories(self) -> list[tuple[str, int]]:
        """Every category with its number of entries, by name."""
        rows = self._execute(
            "SELECT category, count(DISTINCT entry_key) FROM entry_categories c"
            " WHERE NOT EXISTS (SELECT 1 FROM duplicates d WHERE d.entry_key = c.entry_key)"
            " GROUP BY category ORDER BY category"
        )
        return [(name, int(count)) for name, count in rows]

    def digest_days(self) -> list[date]:
        rows = self._execute(
            f"SELECT DISTINCT digest_day FROM entries WHERE {_VISIBLE} ORDER BY digest_day"
        )
        return [date.fromisoformat(day) for (day,) in rows]

    def count_entries(self) -> int:
        row = self._execute(
            "SELECT (SELECT count(*) FROM entries) - (SELECT count(*) FROM duplicates)"
        ).fetchone()
        return int(row[0])

    def _rows_to_entries(self, cursor: Any) -> dict[str, StoredEntry]:
        rows = in_column_order([d.name for d in cursor.description], cursor.fetchall())
        if not rows:
            return {}
        keys = [row[0] for row in rows]
        categories: dict[str, dict[str, None]] = {key: {} for key in keys}
        sources: dict[str, dict[str, None]] = {key: {} for key in keys}
        for key, category in self._execute(
            "SELECT entry_key, category FROM entry_categories"
            " WHERE entry_key = ANY(%s::text[]) ORDER BY seq",
            [keys],
        ):
            categories[key][category] = None
        for key, name in self._execute(
            "SELECT entry_key, source FROM entry_sources WHERE entry_key = ANY(%s::text[])"
            " ORDER BY seq",
            [keys],
        ):
            sources[key][name] = None
        for key, name in self._execute(
            "SELECT d.kept_key, s.source FROM duplicates d"
            " JOIN entry_sources s ON s.entry_key = d.entry_key"
            " WHERE d.kept_key = ANY(%s::text[]) ORDER BY d.id, s.seq",
            [keys],
        ):
            sources[key].setdefault(name, None)
        return {
            row[0]: _row_to_entry(row, list(categories[row[0]]), list(sources[row[0]]))
            for row in rows
        }

    # -- arXiv

    def announcements_on(self, day: date) -> dict[str, dict[str, str]]:
        """``{entry key: {category: announce type}}`` of the papers announced on ``day``."""
        found: dict[str, dict[str, str]] = {}
        for key, category, how in self._execute(
            "SELECT entry_key, category, how FROM arxiv_announcements WHERE day = %s ORDER BY seq",
            [day.isoformat()],
        ):
            found.setdefault(key, {})[category] = how
        return found

    def announced_keys(self, keys: list[str]) -> set[str]:
        """Those of ``keys`` that arXiv announced on some day."""
        rows = self._execute(
            "SELECT DISTINCT entry_key FROM arxiv_announcements WHERE entry_key = ANY(%s::text[])",
            [keys],
        )
        return {key for (key,) in rows}

    def announcement_days(self) -> list[date]:
        rows = self._execute("SELECT DISTINCT day FROM arxiv_announcements ORDER BY day")
        return [date.fromisoformat(day) for (day,) in rows]

    def last_batch(self, source: str) -> date | None:
        """The newest announcement day whose batch ``source`` has delivered, if any."""
        row = self._execute(
            "SELECT max(day) FROM arxiv_batches WHERE source = %s", [source]
        ).fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None
