"""Unsubscribes.

The config file lists subscribers; this table remembers who asked to leave (by a
one-click POST, a mail to the unsubscribe address, or the CLI), so that every send
skips them whatever the config still says. Addresses are stored folded to lower case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .base import StoreBase, stamp


@dataclass(frozen=True)
class Unsubscribe:
    address: str
    unsubscribed_at: str
    #: "one-click", "mail" or "cli".
    via: str
    detail: str | None


class SubscriberQueries(StoreBase):
    def unsubscribes(self) -> dict[str, Unsubscribe]:
        """Every recorded unsubscribe, by address (lower case)."""
        rows = self.db.execute(
            "SELECT address, unsubscribed_at, via, detail FROM unsubscribes ORDER BY address"
        ).fetchall()
        return {
            str(a): Unsubscribe(str(a), str(at), str(via), None if d is None else str(d))
            for a, at, via, d in rows
        }

    def record_unsubscribe(
        self, address: str, *, via: str, now: datetime, detail: str | None = None
    ) -> bool:
        """Record that ``address`` unsubscribed; False when it already had (kept as it was)."""
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO unsubscribes (address, unsubscribed_at, via, detail)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (address) DO NOTHING",
                [address.lower(), stamp(now), via, detail],
            )
            return cursor.rowcount > 0

    def forget_unsubscribe(self, address: str) -> bool:
        """Let ``address`` receive the digest again; False when it had not unsubscribed."""
        with self.transaction():
            cursor = self.db.execute(
                "DELETE FROM unsubscribes WHERE address = ?", [address.lower()]
            )
            return cursor.rowcount > 0

    # The signing key of unsubscribe links is ``secret("unsubscribe")`` (ranking.py: the
    # installation's secrets, one table for every use).
