"""The articles of ``fetch_full_text`` sources not had yet (migration 22).

Stores and reads :class:`~aggregator._update.article_state.ArticleFetch` records, and
puts an article that was had on a later try into its entry. The rules (when to try
again, when to give up) live in :mod:`aggregator._update.article_state`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from ..._update.article_state import FAILED, PENDING, ArticleFetch
from .base import StoreBase, stamp

_COLUMNS = ("entry_key", "source", "link", "tries", "state", "next_attempt", "last_error")


def _record(row: Sequence[object]) -> ArticleFetch:
    key, source, link, tries, state, next_attempt, error = row
    return ArticleFetch(
        key=str(key),
        source=str(source),
        link=str(link),
        tries=int(str(tries)),
        state=str(state),
        next_attempt=datetime.fromisoformat(str(next_attempt)) if next_attempt else None,
        last_error=str(error),
    )


def _values(record: ArticleFetch) -> tuple[object, ...]:
    when = stamp(record.next_attempt) if record.next_attempt else None
    return (record.key, record.source, record.link, record.tries, record.state, when,
            record.last_error)  # fmt: skip


class ArticleQueries(StoreBase):
    def article_fetches(self, source: str) -> list[ArticleFetch]:
        """The articles of ``source`` not had yet, pending or given up, by entry key."""
        rows = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM article_fetches WHERE source = ?"
            " ORDER BY entry_key",
            [source],
        )
        return [_record(row) for row in rows]

    def article_counts(self) -> dict[str, tuple[int, int]]:
        """Per source, how many articles are pending (to be tried again) and failed."""
        rows = self.db.execute(
            "SELECT source, sum(state = ?), sum(state = ?) FROM article_fetches GROUP BY source",
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
        marks = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "entry_key")
        with self.transaction():
            conn = self.db.conn
            conn.executemany(
                f"INSERT INTO article_fetches ({', '.join(_COLUMNS)}) SELECT {marks}"
                " WHERE EXISTS (SELECT 1 FROM entries WHERE key = ?)"
                f" ON CONFLICT (entry_key) DO UPDATE SET {updates}",
                [(*_values(record), record.key) for record in records],
            )
            conn.executemany(
                "UPDATE entries SET content = ? WHERE key = ?",
                [(content, key) for key, content in had.items()],
            )
            conn.executemany(
                "DELETE FROM article_fetches WHERE entry_key = ?", [(key,) for key in had]
            )
            days = sorted(
                {
                    date.fromisoformat(day)
                    for key in had
                    for (day,) in conn.execute(
                        "SELECT digest_day FROM entries WHERE key = ?", [key]
                    )
                }
            )
            conn.executemany(
                "INSERT OR IGNORE INTO digests_due VALUES (?, ?)",
                [(day.isoformat(), stamp(now)) for day in days],
            )
        return days
