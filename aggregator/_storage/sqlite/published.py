"""What was published: the output generation, each output file's fingerprint, and the
digest days still to render.

The generation is a counter that SQLite triggers move on every insert, update or
delete in the tables feeds and the index page are built from (see migration 9 in
``schema``), whoever writes them. ``published_files`` holds, per output
file, the fingerprint of the inputs it was built from and the size and mtime it had
once written; the publish stage compares them to decide that a file needs no rebuild.
``digests_due`` holds the days whose digest changed and was not yet written: they
leave it only with the record of their written files, so a failed write is retried.
Decides nothing itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from ...types import PublishedFile
from .base import StoreBase, stamp


class PublishedQueries(StoreBase):
    def output_generation(self) -> int:
        """The counter every change to the published inputs moves (never goes back)."""
        row = self.db.execute("SELECT generation FROM output_generation WHERE id = 1").fetchone()
        return int(row[0])

    def published_files(self, paths: Iterable[str]) -> dict[str, PublishedFile]:
        """The records of those of ``paths`` that were published before."""
        wanted = set(paths)
        rows = self.db.execute("SELECT path, fingerprint, size, mtime_ns FROM published_files")
        return {
            path: PublishedFile(path, fingerprint, int(size), int(mtime_ns))
            for path, fingerprint, size, mtime_ns in rows
            if path in wanted
        }

    def record_published(
        self, files: Iterable[PublishedFile], *, digests_done: Iterable[date] = ()
    ) -> None:
        """Remember files just written (or found up to date), in one transaction, and
        that the digests of ``digests_done`` are no longer due.

        Call only after the files are in place: a record promises its file is current.
        """
        rows = [(f.path, f.fingerprint, f.size, f.mtime_ns) for f in files]
        days = [(day.isoformat(),) for day in digests_done]
        if not rows and not days:
            return
        with self.transaction():
            self.db.conn.executemany(
                "INSERT INTO published_files VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE"
                " SET fingerprint = excluded.fingerprint, size = excluded.size,"
                " mtime_ns = excluded.mtime_ns",
                rows,
            )
            self.db.conn.executemany("DELETE FROM digests_due WHERE day = ?", days)

    def mark_digests_due(self, days: Iterable[date], *, now: datetime) -> None:
        """Remember that the digests of ``days`` must be rendered again.

        Call inside the :meth:`transaction` that stores the change, so that the change
        and the note to publish it are durable together.
        """
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO digests_due VALUES (?, ?)",
            [(day.isoformat(), stamp(now)) for day in days],
        )

    def digests_due(self) -> list[date]:
        """The days marked due and not yet written, oldest first."""
        rows = self.db.execute("SELECT day FROM digests_due ORDER BY day")
        return [date.fromisoformat(day) for (day,) in rows]
