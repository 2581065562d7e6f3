"""Everything but entries and duplicates, in PostgreSQL: sources' health and fetch
state, runs, documents, what was published, the delivery log, retention and repair.

The twins of ``sqlite/runs.py``, ``health.py``, ``documents.py``, ``published.py``,
``deliveries.py``, ``retention.py`` and ``check.py`` (its repair half), with their
dataclasses and states. Delivery claims are row-level compare-and-sets
(``UPDATE ... WHERE state IN (...)``): under PostgreSQL's row locks, of two processes
claiming one row at once exactly one gets it, as with SQLite's single writer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import fields
from datetime import date, datetime, timedelta
from typing import Any

from ..._fetch.health import FetchState
from ...types import PublishedFile
from ..sqlite.base import stamp
from ..sqlite.check import Orphans
from ..sqlite.deliveries import (
    EMPTY,
    MARKED_SENT,
    PENDING,
    SENDING,
    SENT,
    STATES,
    Delivery,
    _delivery,
)
from ..sqlite.documents import LastDocument
from ..sqlite.retention import TOMBSTONE_DAYS, PruneResult
from ..sqlite.runs import SourceHealth
from .base import PgStoreBase
from .dupes import drop_band_keys

_FETCH_COLUMNS = tuple(field.name for field in fields(FetchState))
_DELIVERY_COLUMNS = (
    "day, subscriber, state, attempts, entries, message_id, smtp_code, smtp_reply,"
    " updated_at, sent_at"
)


class PgRecordQueries(PgStoreBase):
    # -- sources and runs

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
        when = now.isoformat()
        self._execute(
            "INSERT INTO sources (name, kind, location) VALUES (%s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, location = excluded.location",
            [name, kind, location],
        )
        if error is None:
            self._execute(
                "UPDATE sources SET last_attempt = %s, last_success = %s, last_error = NULL,"
                " consecutive_failures = 0,"
                " last_new_entries = CASE WHEN %s > 0 THEN %s ELSE last_new_entries END"
                " WHERE name = %s",
                [when, when, new_entries, when, name],
            )
        else:
            self._execute(
                "UPDATE sources SET last_attempt = %s, last_error = %s,"
                " consecutive_failures = consecutive_failures + 1 WHERE name = %s",
                [when, error, name],
            )

    def source_health(self) -> list[SourceHealth]:
        rows = self._execute(
            "SELECT name, kind, location, last_attempt, last_success, last_error,"
            " consecutive_failures, last_new_entries FROM sources ORDER BY name"
        )
        return [SourceHealth(*row) for row in rows]

    def start_run(self, *, now: datetime, run_date: date, sends: bool = False) -> int:
        """Record a run as running. ``sends``: it means to mail its day's digest."""
        with self.transaction():
            row = self._execute(
                "INSERT INTO runs (started_at, run_date, status, summary)"
                " VALUES (%s, %s, 'running', %s) RETURNING id",
                [now.isoformat(), run_date.isoformat(), json.dumps({"send": sends})],
            ).fetchone()
        return int(row[0])

    def unplanned_send_days(self, since: date, before: date) -> list[date]:
        """Days ``since`` <= day < ``before`` of interrupted runs that meant to mail
        their digest and were killed before planning any delivery of it."""
        rows = self._execute(
            "SELECT run_date, summary FROM runs WHERE status = 'interrupted'"
            " AND run_date >= %s AND run_date < %s AND NOT EXISTS"
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
            self._execute(
                "UPDATE runs SET finished_at = %s, status = %s, summary = %s WHERE id = %s",
                [now.isoformat(), status, json.dumps(summary, ensure_ascii=False), run_id],
            )

    def last_runs(self, limit: int = 5) -> list[dict[str, Any]]:
        cursor = self._execute(
            "SELECT id, started_at, finished_at, run_date, status, summary FROM runs"
            " ORDER BY id DESC LIMIT %s",
            [limit],
        )
        columns = [d.name for d in cursor.description]
        runs = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        for run in runs:
            run["summary"] = json.loads(run["summary"])
        return runs

    def close_interrupted_runs(self, *, now: datetime) -> list[int]:
        """Mark runs still 'running' as 'interrupted' and return their ids (call only
        while holding the run lock: then no run is really running)."""
        with self.transaction():
            rows = self._execute(
                "UPDATE runs SET status = 'interrupted', finished_at = %s"
                " WHERE status = 'running' RETURNING id",
                [now.isoformat()],
            ).fetchall()
        return sorted(int(row[0]) for row in rows)

    # -- HTTP state

    def fetch_states(self) -> dict[str, FetchState]:
        """Every source's stored HTTP state, by source name."""
        rows = self._execute(f"SELECT {', '.join(_FETCH_COLUMNS)} FROM source_fetch")
        states: dict[str, FetchState] = {}
        for row in rows:
            values = dict(zip(_FETCH_COLUMNS, row, strict=True))
            if values["next_attempt"]:
                values["next_attempt"] = datetime.fromisoformat(values["next_attempt"])
            states[values["name"]] = FetchState(**values)
        return states

    def save_fetch_state(self, state: FetchState) -> None:
        """Store ``state`` for its source, replacing what was there. Call in a transaction."""
        values = {column: getattr(state, column) for column in _FETCH_COLUMNS}
        if state.next_attempt is not None:
            values["next_attempt"] = stamp(state.next_attempt)
        marks = ", ".join(f"%({column})s" for column in _FETCH_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _FETCH_COLUMNS if c != "name")
        self._execute(
            f"INSERT INTO source_fetch ({', '.join(_FETCH_COLUMNS)}) VALUES ({marks})"
            f" ON CONFLICT (name) DO UPDATE SET {updates}",
            values,
        )

    def reset_fetch_state(self, names: list[str]) -> int:
        """Forget rests and 410s of ``names`` (validators too). Returns how many had any."""
        with self.transaction():
            count = self._execute(
                "DELETE FROM source_fetch WHERE name = ANY(%s::text[])", [names]
            ).rowcount
            self._execute(
                "UPDATE sources SET consecutive_failures = 0 WHERE name = ANY(%s::text[])",
                [names],
            )
        return int(count)

    def consecutive_failures(self) -> dict[str, int]:
        rows = self._execute("SELECT name, consecutive_failures FROM sources")
        return {name: int(count) for name, count in rows}

    def new_entry_days(self, limit: int = 60) -> dict[str, list[date]]:
        """Per source, the most recent ``limit`` days on which it delivered entries new to it."""
        rows = self._execute(
            "SELECT DISTINCT source, substr(first_seen, 1, 10) AS day FROM entry_sources"
            " ORDER BY source, day DESC"
        )
        days: dict[str, list[date]] = defaultdict(list)
        for source, day in rows:
            if len(days[source]) < limit:
                days[source].append(date.fromisoformat(day))
        return {source: sorted(found) for source, found in days.items()}

    # -- documents

    def last_document(self, source: str) -> LastDocument | None:
        """The fingerprint and batch of ``source``'s last stored document."""
        row = self._execute(
            "SELECT fingerprint, entries, batch_day, batch_items FROM source_documents"
            " WHERE source = %s",
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
        """Record the document just stored; ``fingerprint=None`` forgets the last one."""
        if fingerprint is None:
            self._execute("DELETE FROM source_documents WHERE source = %s", [source])
            return
        self._execute(
            "INSERT INTO source_documents (source, fingerprint, entries, stored_at, batch_day,"
            " batch_items) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (source) DO UPDATE"
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

    # -- what was published

    def output_generation(self) -> int:
        """The counter every change to the published inputs moves (never goes back)."""
        row = self._execute(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM output_generation_seq"
        ).fetchone()
        return int(row[0])

    def published_files(self, paths: Iterable[str]) -> dict[str, PublishedFile]:
        """The records of those of ``paths`` that were published before."""
        rows = self._execute(
            "SELECT path, fingerprint, size, mtime_ns FROM published_files"
            " WHERE path = ANY(%s::text[])",
            [list(paths)],
        )
        return {
            path: PublishedFile(path, fingerprint, int(size), int(mtime_ns))
            for path, fingerprint, size, mtime_ns in rows
        }

    def record_published(
        self, files: Iterable[PublishedFile], *, digests_done: Iterable[date] = ()
    ) -> None:
        """Remember files just written (or found up to date), in one transaction, and
        that the digests of ``digests_done`` are no longer due."""
        rows = [(f.path, f.fingerprint, f.size, f.mtime_ns) for f in files]
        days = [(day.isoformat(),) for day in digests_done]
        if not rows and not days:
            return
        with self.transaction():
            self._many(
                "INSERT INTO published_files VALUES (%s, %s, %s, %s) ON CONFLICT (path) DO UPDATE"
                " SET fingerprint = excluded.fingerprint, size = excluded.size,"
                " mtime_ns = excluded.mtime_ns",
                rows,
            )
            self._many("DELETE FROM digests_due WHERE day = %s", days)

    def mark_digests_due(self, days: Iterable[date], *, now: datetime) -> None:
        """Remember that the digests of ``days`` must be rendered again (in the
        transaction that stores the change)."""
        self._many(
            "INSERT INTO digests_due VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [(day.isoformat(), stamp(now)) for day in days],
        )

    def digests_due(self) -> list[date]:
        """The days marked due and not yet written, oldest first."""
        rows = self._execute("SELECT day FROM digests_due ORDER BY day")
        return [date.fromisoformat(day) for (day,) in rows]

    # -- the delivery log

    def deliveries_for_day(self, day: date) -> dict[str, Delivery]:
        """The log of ``day``, by subscriber."""
        rows = self._execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE day = %s ORDER BY subscriber",
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
        """Record the day's plan in one transaction: who is due a message, who has none
        (rows past ``empty`` are left as they are; see the SQLite store's)."""
        when = stamp(now)
        with self.transaction():
            self._many(
                "INSERT INTO deliveries (day, subscriber, state, entries, message_id,"
                " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (day, subscriber) DO UPDATE SET state = excluded.state,"
                " entries = excluded.entries, message_id = excluded.message_id,"
                " updated_at = excluded.updated_at WHERE deliveries.state = %s",
                [
                    (day.isoformat(), subscriber, PENDING, entries, message_id, when, when, EMPTY)
                    for subscriber, entries, message_id in due
                ],
            )
            self._many(
                "INSERT INTO deliveries (day, subscriber, state, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (day, subscriber) DO UPDATE SET"
                " updated_at = excluded.updated_at WHERE deliveries.state = excluded.state",
                [(day.isoformat(), subscriber, EMPTY, when, when) for subscriber in empty],
            )

    def claim_delivery(
        self, day: date, subscriber: str, *, from_states: tuple[str, ...], now: datetime
    ) -> bool:
        """Move the row to ``sending`` if it is in one of ``from_states``; True if this
        call did (a compare-and-set: of two processes, only one gets each subscriber)."""
        with self.transaction():
            cursor = self._execute(
                "UPDATE deliveries SET state = %s, attempts = attempts + 1, updated_at = %s"
                " WHERE day = %s AND subscriber = %s AND state = ANY(%s::text[])",
                [SENDING, stamp(now), day.isoformat(), subscriber, list(from_states)],
            )
            return bool(cursor.rowcount == 1)

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
            self._execute(
                "UPDATE deliveries SET state = %s, smtp_code = %s, smtp_reply = %s,"
                " updated_at = %s, attempts = attempts + %s,"
                " sent_at = CASE WHEN %s = 'sent' THEN %s ELSE sent_at END"
                " WHERE day = %s AND subscriber = %s",
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
        """Record the ``sending`` rows of ``day`` as sent; return their subscribers."""
        with self.transaction():
            rows = self._execute(
                "UPDATE deliveries SET state = %s, smtp_reply = %s, updated_at = %s,"
                " sent_at = %s WHERE day = %s AND state = %s RETURNING subscriber",
                [SENT, MARKED_SENT, stamp(now), stamp(now), day.isoformat(), SENDING],
            ).fetchall()
        return sorted(str(row[0]) for row in rows)

    def deliveries_between(
        self, since: date, before: date, *, states: tuple[str, ...]
    ) -> list[Delivery]:
        """The rows of days ``since`` <= day < ``before`` in one of ``states``, by day."""
        rows = self._execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE day >= %s AND day < %s"
            " AND state = ANY(%s::text[]) ORDER BY day, subscriber",
            [since.isoformat(), before.isoformat(), list(states)],
        )
        return [_delivery(r) for r in rows.fetchall()]

    def last_deliveries(self, limit: int = 50) -> list[Delivery]:
        """The log of the most recent day anything was planned or sent, by subscriber."""
        row = self._execute(
            "SELECT day FROM deliveries ORDER BY updated_at DESC, day DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return []
        rows = self._execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE day = %s"
            " ORDER BY subscriber LIMIT %s",
            [row[0], limit],
        )
        return [_delivery(r) for r in rows.fetchall()]

    # -- retention

    def prune_entries(self, *, before: datetime, now: datetime) -> PruneResult:
        """Delete entries first seen and last updated before ``before``, in one
        transaction, keeping tombstones of what each source delivered."""
        limit = stamp(before)
        with self.transaction():
            self._execute(
                "INSERT INTO pruned_entries (entry_key, source, content_hash, pruned_at)"
                " SELECT s.entry_key, s.source, s.content_hash, %s FROM entry_sources s"
                " JOIN entries e ON e.key = s.entry_key"
                " WHERE e.first_seen < %s AND e.updated < %s"
                " ON CONFLICT (entry_key, source) DO UPDATE SET"
                " content_hash = excluded.content_hash, pruned_at = excluded.pruned_at",
                [stamp(now), limit, limit],
            )
            # Their signatures go by cascade; their band keys first (see bandkeys.py).
            drop_band_keys(
                self.conn,
                "entry_key IN (SELECT key FROM entries WHERE first_seen < %s AND updated < %s)",
                [limit, limit],
            )
            count = self._execute(
                "DELETE FROM entries WHERE first_seen < %s AND updated < %s", [limit, limit]
            ).rowcount
            if count:
                # Summaries of texts no entry has any more (pruned, or an older version).
                self._execute(
                    "DELETE FROM summaries WHERE content_hash NOT IN"
                    " (SELECT content_hash FROM entries)"
                )
            dropped = self._execute(
                "DELETE FROM pruned_entries WHERE pruned_at < %s",
                [stamp(now - timedelta(days=TOMBSTONE_DAYS))],
            ).rowcount
        return PruneResult(entries=int(count), tombstones_dropped=int(dropped))

    def pruned_hashes(self, source: str, keys: list[str]) -> dict[str, str]:
        """For pruned entries among ``keys``: the content hash ``source`` last delivered."""
        rows = self._execute(
            "SELECT entry_key, content_hash FROM pruned_entries p"
            " WHERE source = %s AND entry_key = ANY(%s::text[])"
            " AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.key = p.entry_key)",
            [source, list(keys)],
        )
        return dict(rows.fetchall())

    # -- repair

    def delete_orphans(self, orphans: tuple[Orphans, ...]) -> int:
        """Foreign keys are enforced here: no row can refer to a missing one, and there
        is never anything to delete (``check`` finds orphans in SQLite files only)."""
        del orphans
        return 0

    def forget_what_was_read_and_written(self, *, now: datetime) -> None:
        """Make the next run read every source in full and rewrite every output file."""
        with self.transaction():
            self._execute("DELETE FROM source_documents")
            self._execute("UPDATE source_fetch SET etag = NULL, last_modified = NULL")
            self._execute("DELETE FROM published_files")
            self._execute(
                "INSERT INTO digests_due SELECT day, %s FROM (SELECT digest_day AS day"
                " FROM entries UNION SELECT day FROM arxiv_announcements) AS days"
                " ON CONFLICT DO NOTHING",
                [stamp(now)],
            )
