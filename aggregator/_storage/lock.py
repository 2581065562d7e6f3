"""The run lock: one aggregator at a time works on a database.

Owns the lock file beside the database (``<database>.lock``). Where ``fcntl`` exists
(Linux, macOS, the BSDs) it is held with ``flock(2)``, so the kernel releases it when
its holder exits for any reason, ``kill -9`` included: a lock left by a dead process
never blocks anyone, and there is no stale-lock clean-up to get wrong. The holder
writes its PID, command and start time into the file so that a waiting process can
say who it waited for.

Where there is no ``fcntl`` (Windows), the lock is the ``filelock`` package's on
``<database>.lock.win``: ``msvcrt.locking`` on Windows, which the system also releases
when the holder exits; the holder's line goes into ``<database>.lock`` as above.

The file itself is never deleted: deleting a lock file while another process waits on
the old inode is the classic way to let two holders in at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..errors import LockedError, StorageError

try:  # imported here, not at the top: Windows has no fcntl, and the CLI must import there
    import fcntl
except ImportError:  # pragma: no cover - exercised by tests/test_portable_lock.py
    fcntl = None  # type: ignore[assignment]

#: How often a waiting process retries, in seconds.
POLL_INTERVAL = 0.2


def lock_path(database: Path) -> Path:
    """Where the lock of ``database`` lives: beside it, with ``.lock`` appended."""
    return database.with_name(database.name + ".lock")


def holder_of(database: Path) -> str | None:
    """What the lock file says about its current or last holder, if anything."""
    try:
        text = lock_path(database).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


@contextmanager
def database_lock(
    database: Path,
    *,
    timeout: float,
    purpose: str = "run",
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold the lock of ``database`` for the ``with`` block.

    Waits up to ``timeout`` seconds (0: do not wait) while another process holds it,
    then raises :class:`LockedError` naming the holder. Raises StorageError when the
    lock file cannot be created. Locks are per open file, so two threads of one
    process exclude each other too.
    """
    path = lock_path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as err:
        raise StorageError(
            f"cannot create the lock file {path}: {err.strerror or err}",
            hint="the database's folder must be writable by the user running aggregator",
        ) from err
    try:
        take, release = _flock(fd) if fcntl is not None else _filelock(path)
        deadline = monotonic() + timeout
        while not take():
            if monotonic() >= deadline:
                holder = holder_of(database)
                raise LockedError(
                    f"another aggregator is working on {database}"
                    f" ({holder or 'holder unknown'}); gave up after {timeout:g} s",
                    holder=holder,
                    hint="it is probably a run started by cron or `aggregator schedule`;"
                    " try again later, or raise [storage].lock_timeout",
                )
            sleep(POLL_INTERVAL)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        _write(fd, f"pid {os.getpid()}, {purpose}, since {started}\n")
        try:
            yield
        finally:
            # Leave the file (see the module docstring); just say nobody holds it.
            _write(fd, "")
            release()
    finally:
        os.close(fd)


def _write(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, text.encode())


def _flock(fd: int) -> tuple[Callable[[], bool], Callable[[], None]]:
    """flock(2) on the lock file itself: (try to take it, release it)."""

    def take() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    return take, lambda: fcntl.flock(fd, fcntl.LOCK_UN)


def _filelock(path: Path) -> tuple[Callable[[], bool], Callable[[], None]]:
    """The filelock package's lock on ``<path>.win`` (msvcrt's on Windows)."""
    import filelock

    lock = filelock.FileLock(str(path) + ".win")

    def take() -> bool:
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        return True

    return take, lock.release
