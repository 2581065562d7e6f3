"""What was published: the output generation and each output file's fingerprint.

The generation is a counter that SQLite triggers move on every insert, update or
delete in the tables feeds and the index page are built from (see
``schema.OUTPUT_INPUTS``), whoever writes them. ``published_files`` holds, per output
file, the fingerprint of the inputs it was built from and the size and mtime it had
once written; the publish stage compares them to decide that a file needs no rebuild.
Decides nothing itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..types import PublishedFile
from .base import StoreBase


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

    def record_published(self, files: Iterable[PublishedFile]) -> None:
        """Remember files just written (or found up to date), in one transaction.

        Call only after the files are in place: a record promises its file is current.
        """
        rows = [(f.path, f.fingerprint, f.size, f.mtime_ns) for f in files]
        if not rows:
            return
        with self.transaction():
            self.db.conn.executemany(
                "INSERT INTO published_files VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE"
                " SET fingerprint = excluded.fingerprint, size = excluded.size,"
                " mtime_ns = excluded.mtime_ns",
                rows,
            )
