"""The summary cache: what a summariser wrote, by content hash and variant.

A row is keyed by the entry's content hash (so a paper's text, wherever it is filed,
is summarised once) and the variant (provider, model, language and prompt version:
see ``aggregator/_enrich/summaries``). Pruning drops rows whose text no entry has any more.
Decides nothing itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from ...types import Summary
from .base import StoreBase, chunks, stamp

_FIELDS = ("tldr", "background", "innovation", "conclusion", "title", "language", "provider")


class SummaryQueries(StoreBase):
    def summaries_of(self, hashes: Sequence[str], *, variant: str) -> dict[str, Summary]:
        """The cached summaries of those of ``hashes`` written by ``variant``."""
        found: dict[str, Summary] = {}
        for part in chunks(list(hashes)):
            rows = self.db.execute(
                "SELECT content_hash, data FROM summaries WHERE variant = ?"
                " AND content_hash IN (SELECT value FROM json_each(?))",
                [variant, json.dumps(part)],
            )
            for digest, data in rows:
                values = json.loads(data)
                found[digest] = Summary(**{k: values.get(k) for k in _FIELDS if k in values})
        return found

    def save_summaries(
        self, rows: Iterable[tuple[str, Summary]], *, variant: str, now: datetime
    ) -> None:
        """Cache ``(content hash, summary)`` pairs written by ``variant``, in one
        transaction (a later one for the same text replaces the earlier)."""
        created = stamp(now)
        values = [
            (
                digest,
                variant,
                json.dumps({k: getattr(s, k) for k in _FIELDS}, ensure_ascii=False),
                created,
            )
            for digest, s in rows
        ]
        if not values:
            return
        with self.transaction():
            self.db.conn.executemany(
                "INSERT INTO summaries (content_hash, variant, data, created) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (content_hash, variant) DO UPDATE SET data = excluded.data,"
                " created = excluded.created",
                values,
            )

    def count_summaries(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM summaries").fetchone()[0])
