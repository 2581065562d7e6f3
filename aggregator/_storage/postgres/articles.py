"""The articles of ``fetch_full_text`` sources not had yet on PostgreSQL: the twin of
``sqlite/articles.py``, with the same table (migration 22) and the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from ..._update.article_state import FAILED, PENDING, ArticleFetch
from ..sqlite.articles import _COLUMNS, _record, _values
from ..sqlite.base import stamp
from .base import PgStoreBase


class PgArticleQueries(PgStoreBase):
    def article_fetches(self, source: str) -> list[ArticleFetch]:
        """The articles of ``source`` not had yet, pending or given up, by entry key."""
        rows = self._execute(
            f"SELECT {', '.join(_COLUMNS)} FROM article_fetches WHERE source = %s"
            " ORDER BY entry_key",
            [source],
        )
        return [_record(row) for row in rows]

    def article_counts(self) -> dict[str, tuple[int, int]]:
        """Per source, how many articles are pending (to be tried again) and failed."""
        rows = self._execute(
            "SELECT source, count(*) FILTER (WHERE state = %s),"
            " count(*) FILTER (WHERE state = %s) FROM article_fetches GROUP BY source",
            [PENDING, FAILED],
        )
        return {str(source): (int(pending), int(failed)) for source, pending, failed in rows}

    def record_articles(
        self, records: Sequence[ArticleFetch], had: Mapping[str, str], *, now: datetime
    ) -> list[date]:
        """In one transaction: keep ``records`` (of stored entries; others are skipped),
        put each article of ``had`` (entry key -> content) into its entry and forget its
        record, and mark the digests of those entries' days due. Returns those days."""
        if not records and not had:
            return []
        marks = ", ".join("%s" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "entry_key")
        with self.transaction():
            self._many(
                f"INSERT INTO article_fetches ({', '.join(_COLUMNS)}) SELECT {marks}"
                " WHERE EXISTS (SELECT 1 FROM entries WHERE key = %s)"
                f" ON CONFLICT (entry_key) DO UPDATE SET {updates}",
                [(*_values(record), record.key) for record in records],
            )
            self._many(
                "UPDATE entries SET content = %s WHERE key = %s",
                [(content, key) for key, content in had.items()],
            )
            self._many("DELETE FROM article_fetches WHERE entry_key = %s", [(key,) for key in had])
            rows = self._execute(
                "SELECT DISTINCT digest_day FROM entries WHERE key = ANY(%s::text[])", [list(had)]
            )
            days = sorted(date.fromisoformat(str(day)) for (day,) in rows)
            self._many(
                "INSERT INTO digests_due VALUES (%s, %s) ON CONFLICT DO NOTHING",
                [(day.isoformat(), stamp(now)) for day in days],
            )
        return days
