"""Sources' health and the record of runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .base import StoreBase


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


class RunQueries(StoreBase):
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

    def start_run(self, *, now: datetime, run_date: date, sends: bool = False) -> int:
        """Record a run as running. ``sends``: it means to mail its day's digest.

        The intent stays in the summary of a run that never finishes, so that a
        later run can mail the day a killed one did not get to.
        """
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (started_at, run_date, status, summary)"
                " VALUES (?, ?, 'running', ?)",
                [now.isoformat(), run_date.isoformat(), json.dumps({"send": sends})],
            )
        return int(cursor.lastrowid or 0)

    def unplanned_send_days(self, since: date, before: date) -> list[date]:
        """Days ``since`` <= day < ``before`` of interrupted runs that meant to mail
        their digest and were killed before planning any delivery of it."""
        rows = self.db.execute(
            "SELECT run_date, summary FROM runs WHERE status = 'interrupted'"
            " AND run_date >= ? AND run_date < ? AND NOT EXISTS"
            " (SELECT 1 FROM deliveries WHERE deliveries.day = runs.run_date)"
            " ORDER BY run_date",
            [since.isoformat(), before.isoformat()],
        ).fetchall()
        days = {date.fromisoformat(day) for day, summary in rows if json.loads(summary).get("send")}
        return sorted(days)

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
