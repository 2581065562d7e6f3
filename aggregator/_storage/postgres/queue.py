"""The job queue's side of PostgreSQL: procrastinate's schema, fetch results, host turns.

Owns the SQL of ``[queue]``: applying procrastinate's schema once (idempotent, under a
transaction-level advisory lock so that workers starting together do not race), the
``queue_results`` rows (one per run and source: a worker's outcome, written once, read
back once by the coordinator, deleted with its run), and per-host turns shared by every
worker (``per_host`` requests at once, ``min_interval`` between their starts). Knows
nothing of what a result holds: it stores bytes.

Per-host turns. A request holds one of the host's ``per_host`` slots: a session-level
advisory lock on a hash of the host and the slot number, on a connection held for the
request, so a worker killed mid-request frees its slot when the server closes its
connection (no counter to leak). The start of each request is then reserved in
``queue_hosts`` with one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: the next
allowed start moves on by the interval, atomically, and the caller sleeps until its own
start, measured on the database server's clock (one clock for every machine).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...errors import StorageError
from . import connect

if TYPE_CHECKING:
    import psycopg_pool

    from ...config.settings import StorageSettings

#: The transaction-level advisory lock that serialises applying procrastinate's schema.
SCHEMA_LOCK = 0x61676772_71736368  # "aggrqsch"
#: Seconds between two tries for a free slot of a busy host.
SLOT_POLL = 0.02


@contextmanager
def _connection(settings: StorageSettings) -> Iterator[Any]:
    import psycopg

    conn = connect.connect(settings)
    try:
        yield conn
    except psycopg.Error as err:
        raise connect.storage_error(err, settings.describe()) from err
    finally:
        connect.give_back(settings, conn)


def ensure_schema(settings: StorageSettings) -> bool:
    """Apply procrastinate's schema unless the database has it; True when applied now."""
    from procrastinate.schema import SchemaManager

    with _connection(settings) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
        row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        if row and row[0]:
            return False
        conn.execute(SchemaManager.get_schema())
    return True


def has_schema(settings: StorageSettings) -> bool:
    """Whether procrastinate's schema is in the database."""
    with _connection(settings) as conn:
        row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        return bool(row and row[0])


# -- results -------------------------------------------------------------------------


def put_result(
    settings: StorageSettings, run: str, source: str, payload: bytes, *, worker: str, now: str
) -> bool:
    """Keep a worker's outcome for ``source`` in ``run``; False when one is there already
    (a retried job: the first outcome stands, so a run reads one per source)."""
    with _connection(settings) as conn:
        cursor = conn.execute(
            "INSERT INTO queue_results (run, source, finished, worker, payload)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (run, source) DO NOTHING",
            [run, source, now, worker, payload],
        )
        return bool(cursor.rowcount)


def has_result(settings: StorageSettings, run: str, source: str) -> bool:
    with _connection(settings) as conn:
        row = conn.execute(
            "SELECT 1 FROM queue_results WHERE run = %s AND source = %s", [run, source]
        ).fetchone()
        return row is not None


def result(settings: StorageSettings, run: str, source: str) -> tuple[bytes, str] | None:
    """The outcome of ``source`` in ``run`` and the worker that made it, if in."""
    with _connection(settings) as conn:
        row = conn.execute(
            "SELECT payload, worker FROM queue_results WHERE run = %s AND source = %s",
            [run, source],
        ).fetchone()
        return (bytes(row[0]), str(row[1])) if row else None


def forget_results(settings: StorageSettings, *, keep: str | None = None) -> int:
    """Delete every run's results but ``keep``'s (all when None); how many rows went."""
    with _connection(settings) as conn:
        cursor = conn.execute(
            "DELETE FROM queue_results WHERE %s::text IS NULL OR run <> %s", [keep, keep]
        )
        return int(cursor.rowcount)


# -- per-host turns ------------------------------------------------------------------


def slot_key(host: str, slot: int) -> int:
    """The advisory lock key (a signed 64-bit integer) of ``host``'s ``slot``."""
    digest = hashlib.blake2b(f"aggregator host {host} {slot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class HostTurns:
    """Per-host politeness shared by every worker on one database; share between threads.

    Holds a pool of its own: each request in progress keeps one connection (its slot's
    session lock), so the pool is as large as the requests a worker runs at once.
    """

    def __init__(self, settings: StorageSettings, *, concurrency: int) -> None:
        import psycopg_pool

        self.settings = settings
        self.pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
            connect.conninfo(settings),
            min_size=0,
            max_size=concurrency + 1,
            open=True,
            configure=connect.configure,
            reset=connect._reset,
            timeout=connect.CONNECT_TIMEOUT,
            name="aggregator-hosts",
        )

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def turn(self, host: str, *, per_host: int, interval: float) -> Iterator[None]:
        """Hold one of ``host``'s ``per_host`` slots, from a start at least ``interval``
        seconds after the previous start of any worker's request to it."""
        import psycopg

        try:
            with self.pool.connection() as conn:
                slot = _take_slot(conn, host, per_host)
                try:
                    if interval > 0:
                        time.sleep(_reserve_start(conn, host, interval))
                    yield
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [slot_key(host, slot)])
        except psycopg.Error as err:
            raise connect.storage_error(err, self.settings.describe()) from err


def _take_slot(conn: Any, host: str, per_host: int) -> int:
    """Lock a free slot of ``host`` (waiting for one when all are busy); its number."""
    slots = list(range(per_host))
    while True:
        random.shuffle(slots)  # spread workers over the slots
        for slot in slots:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [slot_key(host, slot)])
            if row.fetchone()[0]:
                return slot
        time.sleep(SLOT_POLL)


def _reserve_start(conn: Any, host: str, interval: float) -> float:
    """Reserve the next start for ``host``; the seconds to wait until it."""
    row = conn.execute(
        "INSERT INTO queue_hosts AS h (host, next_start)"
        " VALUES (%(host)s, clock_timestamp() + make_interval(secs => %(gap)s))"
        " ON CONFLICT (host) DO UPDATE SET next_start ="
        " greatest(clock_timestamp(), h.next_start) + make_interval(secs => %(gap)s)"
        " RETURNING extract(epoch FROM"
        " (h.next_start - make_interval(secs => %(gap)s) - clock_timestamp()))",
        {"host": host, "gap": interval},
    ).fetchone()
    if row is None:  # pragma: no cover - RETURNING always gives the row
        raise StorageError(f"no turn reserved for host {host}")
    return max(float(row[0]), 0.0)


def next_starts(settings: StorageSettings) -> dict[str, datetime]:
    """When each host may next be asked (for ``aggregator queue status`` and tests)."""
    with _connection(settings) as conn:
        return dict(conn.execute("SELECT host, next_start FROM queue_hosts").fetchall())


# -- procrastinate's jobs ------------------------------------------------------------


def stalled_jobs(settings: StorageSettings, *, queue: str, seconds: float) -> list[int]:
    """The jobs of ``queue`` in progress on a worker whose heartbeat is older than
    ``seconds`` (killed, its machine gone), or on none: procrastinate's own rule for a
    stalled job (``JobManager.get_stalled_jobs``), here without an event loop."""
    with _connection(settings) as conn:
        rows = conn.execute(
            "SELECT j.id FROM procrastinate_jobs j"
            " LEFT JOIN procrastinate_workers w ON w.id = j.worker_id"
            " WHERE j.status = 'doing' AND j.queue_name = %s AND (w.id IS NULL"
            " OR w.last_heartbeat < now() - make_interval(secs => %s))"
            " ORDER BY j.id",
            [queue, seconds],
        )
        return [job_id for (job_id,) in rows]


def failed_sources(settings: StorageSettings, *, queue: str, run: str) -> dict[str, int]:
    """The sources of ``run`` whose job failed for good (its attempts used up), and how
    many attempts it had."""
    with _connection(settings) as conn:
        rows = conn.execute(
            "SELECT args->>'source', attempts FROM procrastinate_jobs"
            " WHERE queue_name = %s AND status = 'failed' AND args->>'run' = %s",
            [queue, run],
        )
        return {str(source): int(attempts) for source, attempts in rows}


def leftover_jobs(settings: StorageSettings, *, queue: str, run: str) -> list[int]:
    """Jobs of ``queue`` still waiting that an earlier run queued (it gave up waiting)."""
    with _connection(settings) as conn:
        rows = conn.execute(
            "SELECT id FROM procrastinate_jobs WHERE queue_name = %s AND status = 'todo'"
            " AND args->>'run' IS DISTINCT FROM %s ORDER BY id",
            [queue, run],
        )
        return [job_id for (job_id,) in rows]


def job_counts(settings: StorageSettings, *, queue: str) -> dict[str, int]:
    """The jobs of ``queue`` kept in the database, by status (todo, doing, failed...)."""
    with _connection(settings) as conn:
        rows = conn.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs WHERE queue_name = %s"
            " GROUP BY status ORDER BY status",
            [queue],
        )
        return {str(status): int(count) for status, count in rows}


def worker_heartbeats(settings: StorageSettings) -> list[float]:
    """Seconds since each registered worker's last heartbeat, freshest first."""
    with _connection(settings) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM now() - last_heartbeat) FROM procrastinate_workers"
            " ORDER BY last_heartbeat DESC"
        )
        return [float(age) for (age,) in rows]
