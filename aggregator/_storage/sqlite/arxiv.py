"""arXiv announcements per day and category, and the batch each arXiv source last read."""

from __future__ import annotations

from datetime import date

from ..._update.plan import Plan
from .base import StoreBase, chunks, stamp


class ArxivQueries(StoreBase):
    def _write_arxiv(self, plan: Plan) -> None:
        """The plan's announcements (per paper, category and day: the first source to
        report one wins) and the batches its source delivered."""
        conn = self.db.conn
        self._insert_all(
            "arxiv_announcements",
            [
                (a.key, a.category, a.day.isoformat(), a.how, a.version, plan.source)
                for a in plan.announcements
            ],
            verb="INSERT OR IGNORE",
        )
        if plan.batches:
            conn.executemany(
                "INSERT OR IGNORE INTO arxiv_batches VALUES (?, ?, ?, ?)",
                [
                    (plan.source, batch.day.isoformat(), stamp(plan.now), batch.entries)
                    for batch in plan.batches
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
