"""Retention and recovery: pruning old entries, and closing runs a crash left open.

Pruning deletes entries whose last change (first seen, or updated) is older than a
cutoff; their categories and per-source rows go with them (foreign keys cascade). What
each source had delivered for a pruned entry is kept as a small *tombstone* (key,
source, content hash), so that a source still listing an old item does not bring it
back as new on the next fetch; a changed item (a new arXiv version) still comes back.
Tombstones are dropped a year after pruning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .base import StoreBase, chunks, stamp
from .dupes import drop_band_keys

#: How long a tombstone outlives its entry.
TOMBSTONE_DAYS = 365


@dataclass(frozen=True)
class PruneResult:
    entries: int
    tombstones_dropped: int


class RetentionQueries(StoreBase):
    def prune_entries(self, *, before: datetime, now: datetime) -> PruneResult:
        """Delete entries first seen and last updated before ``before``, in one transaction."""
        limit = stamp(before)
        with self.transaction():
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (key TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM temp.doomed")
            self.db.execute(
                "INSERT INTO temp.doomed SELECT key FROM entries"
                " WHERE first_seen < ? AND updated < ?",
                [limit, limit],
            )
            self.db.execute(
                "INSERT INTO pruned_entries (entry_key, source, content_hash, pruned_at)"
                " SELECT entry_key, source, content_hash, ? FROM entry_sources"
                " WHERE entry_key IN (SELECT key FROM temp.doomed)"
                " ON CONFLICT (entry_key, source) DO UPDATE SET"
                " content_hash = excluded.content_hash, pruned_at = excluded.pruned_at",
                [stamp(now)],
            )
            # Their signatures go by cascade; their band keys first (no trigger: see
            # bandkeys.py).
            drop_band_keys(self.db.conn, "entry_key IN (SELECT key FROM temp.doomed)", [])
            count = self.db.execute(
                "DELETE FROM entries WHERE key IN (SELECT key FROM temp.doomed)"
            ).rowcount
            self.db.execute("DELETE FROM temp.doomed")
            if count:
                # Summaries of texts no entry has any more (pruned, or an older version).
                self.db.execute(
                    "DELETE FROM summaries WHERE content_hash NOT IN"
                    " (SELECT content_hash FROM entries)"
                )
            dropped = self.db.execute(
                "DELETE FROM pruned_entries WHERE pruned_at < ?",
                [stamp(now - timedelta(days=TOMBSTONE_DAYS))],
            ).rowcount
        return PruneResult(entries=int(count), tombstones_dropped=int(dropped))

    def pruned_hashes(self, source: str, keys: Sequence[str]) -> dict[str, str]:
        """For pruned entries among ``keys``: the content hash ``source`` last delivered."""
        found: dict[str, str] = {}
        for chunk in chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            for key, content_hash in self.db.execute(
                "SELECT entry_key, content_hash FROM pruned_entries"
                f" WHERE source = ? AND entry_key IN ({marks})"
                " AND entry_key NOT IN (SELECT key FROM entries)",
                [source, *chunk],
            ):
                found[key] = content_hash
        return found

    def close_interrupted_runs(self, *, now: datetime) -> list[int]:
        """Mark runs still 'running' as 'interrupted' and return their ids.

        Call only while holding the run lock: then no run is really running.
        """
        with self.transaction():
            ids = [
                int(row[0])
                for row in self.db.execute("SELECT id FROM runs WHERE status = 'running'")
            ]
            if ids:
                self.db.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?"
                    " WHERE status = 'running'",
                    [now.isoformat()],
                )
        return ids
