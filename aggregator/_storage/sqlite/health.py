"""HTTP fetch state per source (validators, redirects, rests) and what status reports.

The rules live in :mod:`aggregator._fetch.health`; this mixin only stores and reads
:class:`~aggregator._fetch.health.FetchState` rows and the history ``status`` judges by.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from ..._fetch.health import FetchState
from .base import StoreBase, stamp

_COLUMNS = (
    "name",
    "url",
    "effective_url",
    "etag",
    "last_modified",
    "last_status",
    "next_attempt",
    "next_reason",
    "disabled_reason",
)


class HealthQueries(StoreBase):
    def fetch_states(self) -> dict[str, FetchState]:
        """Every source's stored HTTP state, by source name."""
        rows = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM source_fetch")
        states: dict[str, FetchState] = {}
        for row in rows:
            values = dict(zip(_COLUMNS, row, strict=True))
            if values["next_attempt"]:
                values["next_attempt"] = datetime.fromisoformat(values["next_attempt"])
            states[values["name"]] = FetchState(**values)
        return states

    def save_fetch_state(self, state: FetchState) -> None:
        """Store ``state`` for its source, replacing what was there. Call in a transaction."""
        values = {column: getattr(state, column) for column in _COLUMNS}
        if state.next_attempt is not None:
            values["next_attempt"] = stamp(state.next_attempt)
        marks = ", ".join(f":{column}" for column in _COLUMNS)
        self.db.execute(
            f"INSERT OR REPLACE INTO source_fetch ({', '.join(_COLUMNS)}) VALUES ({marks})",
            values,
        )

    def reset_fetch_state(self, names: list[str]) -> int:
        """Forget rests and 410s of ``names`` (validators too). Returns how many had any."""
        count = 0
        with self.transaction():
            for name in names:
                cursor = self.db.execute("DELETE FROM source_fetch WHERE name = ?", [name])
                count += cursor.rowcount
                self.db.execute(
                    "UPDATE sources SET consecutive_failures = 0 WHERE name = ?", [name]
                )
        return count

    def consecutive_failures(self) -> dict[str, int]:
        rows = self.db.execute("SELECT name, consecutive_failures FROM sources")
        return {name: int(count) for name, count in rows}

    def new_entry_days(self, limit: int = 60) -> dict[str, list[date]]:
        """Per source, the most recent ``limit`` days on which it delivered entries new to it."""
        rows = self.db.execute(
            "SELECT DISTINCT source, substr(first_seen, 1, 10) AS day FROM entry_sources"
            " ORDER BY source, day DESC"
        )
        days: dict[str, list[date]] = defaultdict(list)
        for source, day in rows:
            if len(days[source]) < limit:
                days[source].append(date.fromisoformat(day))
        return {source: sorted(found) for source, found in days.items()}
