"""The run lock in PostgreSQL: one aggregator at a time works on a database.

The same contract as ``_storage/lock.py`` (the SQLite file lock): wait up to
``timeout`` seconds, then :class:`LockedError` naming the holder. Here the lock is a
session-level advisory lock of the database, held on a connection of its own for
the ``with`` block: the server releases it when that connection ends for any reason,
a holder killed with ``kill -9`` included, so no stale lock can block anyone. The
holder says who it is in its connection's ``application_name`` (PID, host, command,
start time), which a waiting process reads from ``pg_stat_activity``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...errors import LockedError
from . import connect

if TYPE_CHECKING:
    from ...config.settings import StorageSettings

#: The advisory lock's key ("aggrrunl"), in the database's own key space.
RUN_LOCK = 0x61676772_72756E6C
#: How often a waiting process retries, in seconds.
POLL_INTERVAL = 0.2


def holder_of(conn: Any) -> str | None:
    """What the session holding the run lock says about itself, if any holds it."""
    row = conn.execute(
        "SELECT a.application_name, a.client_addr::text FROM pg_locks l"
        " JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.database ="
        " (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
        [RUN_LOCK],
    ).fetchone()
    if row is None:
        return None
    name, address = row
    text = str(name or "").removeprefix("aggregator: ")
    return text + (f" (from {address})" if address else "") if text else None


@contextmanager
def advisory_lock(
    settings: StorageSettings,
    *,
    timeout: float,
    purpose: str = "run",
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold the run lock of the database of ``settings`` for the ``with`` block.

    Waits up to ``timeout`` seconds (0: do not wait) while another process holds it,
    then raises :class:`LockedError` naming the holder; StorageError when the server
    cannot be reached.
    """
    import psycopg

    conn = connect.connect(settings)
    try:
        deadline = monotonic() + timeout
        started = datetime.now(UTC).isoformat(timespec="seconds")
        me = f"pid {os.getpid()} on {socket.gethostname()}, {purpose}, since {started}"
        while True:
            (got,) = conn.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK]).fetchone() or (
                False,
            )
            if got:
                break
            if monotonic() >= deadline:
                holder = holder_of(conn)
                raise LockedError(
                    f"another aggregator is working on {settings.describe()}"
                    f" ({holder or 'holder unknown'}); gave up after {timeout:g} s",
                    holder=holder,
                    hint="it is probably a run started by cron or `aggregator schedule`;"
                    " try again later, or raise [storage].lock_timeout",
                )
            sleep(POLL_INTERVAL)
        # application_name holds at most 63 bytes: the PID and purpose first.
        conn.execute("SELECT set_config('application_name', %s, false)", [f"aggregator: {me}"])
        try:
            yield
        finally:
            try:
                conn.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK])
                conn.execute("SET application_name = 'aggregator'")
            except psycopg.Error:
                pass  # the connection is gone, and the lock with it
    except psycopg.Error as err:
        raise connect.storage_error(err, settings.describe()) from err
    finally:
        connect.give_back(settings, conn)
