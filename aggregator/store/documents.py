"""The fingerprint of each source's last stored document (see ``aggregator.unchanged``)."""

from __future__ import annotations

from datetime import datetime

from .base import StoreBase


class DocumentQueries(StoreBase):
    def last_document(self, source: str) -> tuple[str, int] | None:
        """(fingerprint, number of entries) of ``source``'s last stored document."""
        row = self.db.execute(
            "SELECT fingerprint, entries FROM source_documents WHERE source = ?", [source]
        ).fetchone()
        return (str(row[0]), int(row[1])) if row else None

    def remember_document(
        self, source: str, fingerprint: str | None, *, entries: int, now: datetime
    ) -> None:
        """Record the document just stored; ``fingerprint=None`` forgets the last one.

        Call inside the :meth:`transaction` that stored the document's entries, so
        that a fingerprint never outlives a rolled-back batch.
        """
        if fingerprint is None:
            self.db.execute("DELETE FROM source_documents WHERE source = ?", [source])
            return
        self.db.execute(
            "INSERT INTO source_documents VALUES (?, ?, ?, ?) ON CONFLICT (source) DO UPDATE"
            " SET fingerprint = excluded.fingerprint, entries = excluded.entries,"
            " stored_at = excluded.stored_at",
            [source, fingerprint, entries, now.isoformat()],
        )
