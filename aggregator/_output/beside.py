"""A second process for output work, so that a big run's outputs use both cores.

Owns starting the process, carrying its log records and errors back, and what
happens when it cannot start or dies: the caller is told (``None``) and does the work
itself, so nothing is left undone. Never decides what runs there or opens a database
(the facade hands it a function that does), and never takes the run lock: the run
that starts it holds the lock until the process has ended.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, Generic, TypeVar

from ..errors import AggregatorError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Beside(Generic[T]):
    """``work(*args)`` running in a spawned process (it inherits no thread, lock or
    database connection); :meth:`result` waits for it.

    Its log records are handled here, as if logged here (the CLI's format and level);
    its errors are raised by :meth:`result` as they were (every AggregatorError
    pickles). A process that could not start or died (killed, out of memory) makes
    :meth:`result` return None after a warning: the caller does the work itself.
    """

    def __init__(self, what: str, work: Callable[..., T], *args: Any) -> None:
        self.what = what
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future[tuple[T | BaseException, list[logging.LogRecord]]] | None = None
        try:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
            level = logging.getLogger().getEffectiveLevel()
            self._future = self._pool.submit(_logged, level, work, *args)
        except (BrokenProcessPool, OSError) as err:
            log.warning("cannot start a process for %s (%s); doing it here", what, err)
            self.close()

    def result(self) -> T | None:
        if self._future is None:
            return None
        try:
            outcome, records = self._future.result()
        except BrokenProcessPool as err:
            log.warning("the process doing %s died (%s); doing it here", self.what, err)
            return None
        finally:
            self.close()
        for record in records:
            logging.getLogger(record.name).handle(record)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def close(self) -> None:
        """Wait for the process (a run that failed meanwhile lets it finish its files)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class _Keep(logging.Handler):
    """Keeps the records logged in the second process, made safe to pickle."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def _logged(
    level: int, work: Callable[..., T], *args: Any
) -> tuple[T | BaseException, list[logging.LogRecord]]:
    """In the second process: ``work(*args)`` (or the exception it raised) and the
    records it logged at the caller's level."""
    keep = _Keep()
    root = logging.getLogger()
    root.addHandler(keep)
    root.setLevel(level)
    try:
        return work(*args), keep.records
    except AggregatorError as err:
        return err, keep.records
    except Exception as err:
        # Not one of ours (a bug): where it happened, for whoever reads the traceback.
        err.add_note("in the second process:\n" + traceback.format_exc())
        return err, keep.records
    finally:
        root.removeHandler(keep)
