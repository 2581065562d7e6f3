"""arXiv announcements per day and category, and the batch each arXiv source last read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from ..._update.decide import Decision
from .base import StoreBase, chunks, stamp


class ArxivQueries(StoreBase):
    def record_announcements(self, decisions: Iterable[Decision], *, source: str) -> None:
        """Record how each decided paper was announced, per category and day.

        Call inside :meth:`transaction`, after :meth:`apply`. The first source to report
        a (paper, category, day) wins; a later one repeating it changes nothing.
        """
        for decision in decisions:
            if decision.announced is None:
                continue
            for category, how in decision.announce:
                self.db.execute(
                    "INSERT OR IGNORE INTO arxiv_announcements VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        decision.row.key,
                        category,
                        decision.announced.isoformat(),
                        how,
                        decision.row.version,
                        source,
                    ],
                )

    def announcements_on(self, day: date) -> dict[str, dict[str, str]]:
        """``{entry key: {category: announce type}}`` of the papers announced on ``day``."""
        found: dict[str, dict[str, str]] = {}
        for key, category, how in self.db.execute(
            "SELECT entry_key, category, how FROM arxiv_announcements WHERE day = ? ORDER BY rowid",
            [day.isoformat()],
        ):
            found.setdefault(key, {})[category] = how
        return found

    def announced_keys(self, keys: list[str]) -> set[str]:
        """Those of ``keys`` that arXiv announced on some day."""
        found: set[str] = set()
        for chunk in chunks(keys):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT DISTINCT entry_key FROM arxiv_announcements WHERE entry_key IN ({marks})",
                chunk,
            )
            found.update(key for (key,) in rows)
        return found

    def announcement_days(self) -> list[date]:
        rows = self.db.execute("SELECT DISTINCT day FROM arxiv_announcements ORDER BY day")
        return [date.fromisoformat(day) for (day,) in rows]

    def last_batch(self, source: str) -> date | None:
        """The newest announcement day whose batch ``source`` has delivered, if any."""
        row = self.db.execute(
            "SELECT max(day) FROM arxiv_batches WHERE source = ?", [source]
        ).fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def record_batch(self, source: str, day: date, *, entries: int, now: datetime) -> None:
        """Remember that ``source`` delivered the batch of ``day`` (call in a transaction)."""
        self.db.execute(
            "INSERT OR IGNORE INTO arxiv_batches VALUES (?, ?, ?, ?)",
            [source, day.isoformat(), stamp(now), entries],
        )
