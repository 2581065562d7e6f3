"""The delivery log: one row per (digest day, subscriber), so each digest is sent once.

States, and what the next ``send`` of the same day does with them::

    pending           planned, not yet handed over     → send
    sending           claimed just before the end of   → report as unconfirmed, do not
                      the message; left behind only      resend (unless asked to, or
                      by a crash                         marked sent by hand)
    sent              the server accepted the message  → skip
    failed-temporary  4xx, connection trouble          → send again
    failed-permanent  5xx for this message             → skip (unless asked to)
    empty             nothing matched that day         → send if entries appear

Every change is its own transaction, so the log is right whenever the process dies;
a day's plan (every subscriber's row) is one transaction, so a day is planned for
all its subscribers or for none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .base import StoreBase, stamp

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED_TEMPORARY = "failed-temporary"
FAILED_PERMANENT = "failed-permanent"
EMPTY = "empty"
STATES = (PENDING, SENDING, SENT, FAILED_TEMPORARY, FAILED_PERMANENT, EMPTY)
#: States a later run finishes by itself (``sending`` is reported, not resent).
UNFINISHED = (PENDING, SENDING, FAILED_TEMPORARY)
#: States that leave a subscriber without their digest.
UNSERVED = (*UNFINISHED, FAILED_PERMANENT)

#: What an admin's "it did arrive" records as the server's reply.
MARKED_SENT = "marked sent by hand after a crash left it unconfirmed"


@dataclass(frozen=True)
class Delivery:
    day: date
    subscriber: str
    state: str
    attempts: int
    entries: int
    message_id: str | None
    smtp_code: int | None
    smtp_reply: str | None
    updated_at: str
    sent_at: str | None


_COLUMNS = (
    "day, subscriber, state, attempts, entries, message_id, smtp_code, smtp_reply,"
    " updated_at, sent_at"
)


def _delivery(row: tuple[object, ...]) -> Delivery:
    day, subscriber, state, attempts, entries, message_id, code, reply, updated, sent = row
    return Delivery(
        day=date.fromisoformat(str(day)),
        subscriber=str(subscriber),
        state=str(state),
        attempts=int(str(attempts)),
        entries=int(str(entries)),
        message_id=None if message_id is None else str(message_id),
        smtp_code=None if code is None else int(str(code)),
        smtp_reply=None if reply is None else str(reply),
        updated_at=str(updated),
        sent_at=None if sent is None else str(sent),
    )


class DeliveryQueries(StoreBase):
    def deliveries_for_day(self, day: date) -> dict[str, Delivery]:
        """The log of ``day``, by subscriber."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE day = ? ORDER BY subscriber",
            [day.isoformat()],
        )
        return {d.subscriber: d for d in map(_delivery, rows.fetchall())}

    def plan_day(
        self,
        day: date,
        *,
        due: list[tuple[str, int, str]],
        empty: list[str],
        now: datetime,
    ) -> None:
        """Record the day's plan in one transaction: who is due a message, who has none.

        ``due`` holds (subscriber, entries, message_id). A row already past ``empty``
        (pending, sending, sent, failed) is left as it is; an ``empty`` row becomes
        pending when the subscriber now has entries.
        """
        with self.transaction():
            for subscriber, entries, message_id in due:
                self.db.execute(
                    "INSERT INTO deliveries (day, subscriber, state, entries, message_id,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (day, subscriber) DO UPDATE SET state = excluded.state,"
                    " entries = excluded.entries, message_id = excluded.message_id,"
                    " updated_at = excluded.updated_at WHERE state = ?",
                    [
                        day.isoformat(),
                        subscriber,
                        PENDING,
                        entries,
                        message_id,
                        *[stamp(now)] * 2,
                        EMPTY,
                    ],
                )
            for subscriber in empty:
                self.db.execute(
                    "INSERT INTO deliveries (day, subscriber, state, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, subscriber) DO UPDATE SET"
                    " updated_at = excluded.updated_at WHERE state = excluded.state",
                    [day.isoformat(), subscriber, EMPTY, stamp(now), stamp(now)],
                )

    def claim_delivery(
        self, day: date, subscriber: str, *, from_states: tuple[str, ...], now: datetime
    ) -> bool:
        """Move the row to ``sending`` if it is in one of ``from_states``; True if this call did.

        A compare-and-set: of two processes sending the same day at once, only one
        gets each subscriber.
        """
        marks = ",".join("?" * len(from_states))
        with self.transaction():
            cursor = self.db.execute(
                f"UPDATE deliveries SET state = ?, attempts = attempts + 1, updated_at = ?"
                f" WHERE day = ? AND subscriber = ? AND state IN ({marks})",
                [SENDING, stamp(now), day.isoformat(), subscriber, *from_states],
            )
            return cursor.rowcount == 1

    def finish_delivery(
        self,
        day: date,
        subscriber: str,
        *,
        state: str,
        now: datetime,
        code: int | None = None,
        reply: str | None = None,
        count_attempt: bool = False,
    ) -> None:
        """Record the outcome of an attempt: ``sent`` or a failure with the server's reply."""
        if state not in STATES:
            raise ValueError(f"unknown delivery state {state!r}")
        with self.transaction():
            self.db.execute(
                "UPDATE deliveries SET state = ?, smtp_code = ?, smtp_reply = ?, updated_at = ?,"
                " attempts = attempts + ?,"
                " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END"
                " WHERE day = ? AND subscriber = ?",
                [
                    state,
                    code,
                    reply,
                    stamp(now),
                    1 if count_attempt else 0,
                    state,
                    stamp(now),
                    day.isoformat(),
                    subscriber,
                ],
            )

    def mark_unconfirmed_sent(self, day: date, *, now: datetime) -> list[str]:
        """Record the ``sending`` rows of ``day`` as sent; return their subscribers.

        For an admin who found the messages in the server's log: the next send
        will not resend them.
        """
        with self.transaction():
            where = [day.isoformat(), SENDING]
            rows = self.db.execute(
                "SELECT subscriber FROM deliveries WHERE day = ? AND state = ?", where
            ).fetchall()
            self.db.execute(
                "UPDATE deliveries SET state = ?, smtp_reply = ?, updated_at = ?, sent_at = ?"
                " WHERE day = ? AND state = ?",
                [SENT, MARKED_SENT, stamp(now), stamp(now), *where],
            )
        return sorted(str(row[0]) for row in rows)

    def deliveries_between(
        self, since: date, before: date, *, states: tuple[str, ...]
    ) -> list[Delivery]:
        """The rows of days ``since`` <= day < ``before`` in one of ``states``, by day."""
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE day >= ? AND day < ?"
            f" AND state IN ({marks}) ORDER BY day, subscriber",
            [since.isoformat(), before.isoformat(), *states],
        )
        return [_delivery(r) for r in rows.fetchall()]

    def last_deliveries(self, limit: int = 50) -> list[Delivery]:
        """The log of the most recent day anything was planned or sent, by subscriber."""
        row = self.db.execute(
            "SELECT day FROM deliveries ORDER BY updated_at DESC, day DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return []
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE day = ? ORDER BY subscriber LIMIT ?",
            [row[0], limit],
        )
        return [_delivery(r) for r in rows.fetchall()]
