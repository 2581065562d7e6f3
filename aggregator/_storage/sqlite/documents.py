"""The fingerprint of each source's last stored document (see ``aggregator._fetch.unchanged``).

For arXiv sources also the announcement day and size of that document's batch, which
is all an unchanged feed says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .base import StoreBase


@dataclass(frozen=True)
class LastDocument:
    """What is remembered of a source's last stored document."""

    fingerprint: str
    entries: int
    #: arXiv: the announcement day the document listed, and how many entries it had.
    batch_day: date | None = None
    batch_items: int | None = None


class DocumentQueries(StoreBase):
    def last_document(self, source: str) -> LastDocument | None:
        """The fingerprint and batch of ``source``'s last stored document."""
        row = self.db.execute(
            "SELECT fingerprint, entries, batch_day, batch_items FROM source_documents"
            " WHERE source = ?",
            [source],
        ).fetchone()
        if not row:
            return None
        return LastDocument(
            fingerprint=str(row[0]),
            entries=int(row[1]),
            batch_day=date.fromisoformat(row[2]) if row[2] else None,
            batch_items=int(row[3]) if row[3] is not None else None,
        )

    def remember_document(
        self,
        source: str,
        fingerprint: str | None,
        *,
        entries: int,
        now: datetime,
        batch_day: date | None = None,
        batch_items: int | None = None,
    ) -> None:
        """Record the document just stored; ``fingerprint=None`` forgets the last one.

        Call inside the :meth:`transaction` that stored the document's entries, so
        that a fingerprint never outlives a rolled-back batch.
        """
        if fingerprint is None:
            self.db.execute("DELETE FROM source_documents WHERE source = ?", [source])
            return
        self.db.execute(
            "INSERT INTO source_documents (source, fingerprint, entries, stored_at, batch_day,"
            " batch_items) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE"
            " SET fingerprint = excluded.fingerprint, entries = excluded.entries,"
            " stored_at = excluded.stored_at, batch_day = excluded.batch_day,"
            " batch_items = excluded.batch_items",
            [
                source,
                fingerprint,
                entries,
                now.isoformat(),
                batch_day.isoformat() if batch_day else None,
                batch_items,
            ],
        )
