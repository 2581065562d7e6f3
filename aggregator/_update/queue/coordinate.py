"""The run's side of the job queue: queue the due sources, wait for their outcomes.

Owns :class:`QueuedFetch`, what ``ingest`` is given instead of fetching itself when
``[queue] enabled``. A run gets a run key; each due source with a URL becomes one job
(procrastinate's ``queueing_lock`` is the source name, so a source is never queued
twice; jobs an earlier run left waiting are cancelled first: the run lock says no
other run is waiting for them). Local files are read here, as without a queue.

The sources are then handed to ``ingest`` in config order, each once its outcome is
in, so the run stores, publishes and mails the same whichever worker finished first.
While it waits, the run puts back the jobs of workers whose heartbeat stopped
(``[queue] stalled_after``) and notes jobs that failed for good. A source whose outcome
is not in within ``[queue] wait_timeout`` is reported as an error of the run and left
alone (not recorded as a failure of the source: the next run asks it again). The
run's outcomes are deleted when its ingest is over.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from ..._fetch.health import FetchState
from ..._fetch.http import Attempt, Fetched, plan_attempt, read_file
from ..._storage.postgres import queue as queue_sql
from ..._storage.protocol import Storage
from ...config.settings import FetchSettings, Settings
from ...config.sources import Source
from ...errors import SourceError
from ...types import Clock
from ..reading import ReadElsewhere, Started
from . import jobs
from .outcome import Outcome, decode

if TYPE_CHECKING:
    import procrastinate

log = logging.getLogger(__name__)

#: Seconds between two looks for outcomes while the next source's is not in.
POLL = 0.05


class QueuedFetch:
    """One run's fetching through the job queue; use it as a context manager."""

    def __init__(
        self,
        settings: Settings,
        store: Storage,
        *,
        run_date: date,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.store = store
        self.run_date = run_date
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        self.run = uuid.uuid4().hex
        self._app: procrastinate.App | None = None
        self._outcomes: dict[str, Outcome] = {}
        self._lost: dict[str, str] = {}
        self._next_check = 0.0
        #: Jobs put back in the queue because their worker stopped (for the run's notes).
        self.put_back = 0

    def __enter__(self) -> QueuedFetch:
        storage = self.settings.storage
        queue_sql.ensure_schema(storage)
        queue_sql.forget_results(storage)
        self._app = jobs.app(storage).open()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            queue_sql.forget_results(self.settings.storage)
        finally:
            if self._app is not None:
                self._app.close()
                self._app = None

    # -- the Queued protocol of ingest ----------------------------------------------

    def attempts(
        self,
        sources: list[Source],
        *,
        states: dict[str, FetchState],
        failures: dict[str, int],
        not_due: dict[str, str],
        idle: Callable[[], None] = lambda: None,
    ) -> Iterator[Attempt]:
        """Queue the due sources, then hand every Attempt over in ``sources`` order, each
        when its outcome is in (or the wait is over); ``idle`` is called before waiting."""
        now = self.clock()
        planned = [
            Attempt(source, None, skipped=not_due[source.name], not_due=True)
            if source.name in not_due
            else plan_attempt(source, states, failures, now)
            for source in sources
        ]
        self._enqueue([a for a in planned if a.skipped is None and a.state], now)
        deadline = self.monotonic() + self.settings.queue.wait_timeout
        for attempt in planned:
            if attempt.skipped is None:
                if attempt.state is None:
                    attempt.future = _done(partial(read_file, attempt.source, self._fetch))
                else:
                    self._wait_for(attempt, deadline, idle)
            yield attempt

    def started(self, attempt: Attempt) -> Started | None:
        outcome = self._outcomes.pop(attempt.source.name, None)
        if outcome is None or outcome.prepared is None or outcome.fingerprint is None:
            return None
        if outcome.read is None and outcome.read_error is None:
            return None  # unchanged since the last read: the run skips it as ever
        pending = ReadElsewhere(outcome.read, outcome.read_error)
        return Started(outcome.prepared, outcome.fingerprint, pending, outcome.now)

    def lost(self, name: str) -> bool:
        return name in self._lost

    # -- queueing ------------------------------------------------------------------

    @property
    def _fetch(self) -> FetchSettings:
        return self.settings.fetch

    def _enqueue(self, attempts: list[Attempt], now: datetime) -> None:
        import procrastinate.exceptions

        assert self._app is not None
        storage = self.settings.storage
        manager = self._app.job_manager
        for job_id in queue_sql.leftover_jobs(storage, queue=jobs.QUEUE, run=self.run):
            manager.cancel_job_by_id(job_id)
        for attempt in attempts:
            job = self._job(attempt, now)
            task = self._app.configure_task(
                name=jobs.TASK, queue=jobs.QUEUE, queueing_lock=attempt.source.name
            )
            try:
                task.defer(**job.as_args())
            except procrastinate.exceptions.AlreadyEnqueued:  # pragma: no cover - a race
                self._lost[attempt.source.name] = "already queued by another run"
        log.info("queued %d sources (run %s)", len(attempts), self.run)

    def _job(self, attempt: Attempt, now: datetime) -> jobs.Job:
        state = attempt.state
        assert state is not None
        last = self.store.last_document(attempt.source.name)
        return jobs.Job(
            run=self.run,
            source=attempt.source.name,
            url=state.fetch_url,
            etag=state.etag,
            last_modified=state.last_modified,
            now=now.isoformat(),
            run_date=self.run_date.isoformat(),
            fingerprint=last.fingerprint if last is not None else None,
        )

    # -- waiting -------------------------------------------------------------------

    def _wait_for(self, attempt: Attempt, deadline: float, idle: Callable[[], None]) -> None:
        """Give ``attempt`` its outcome, waiting for it until ``deadline`` at most
        (``idle`` first, once: the run commits what it stored so far)."""
        name = attempt.source.name
        storage = self.settings.storage
        waited = False
        while name not in self._lost:
            found = queue_sql.result(storage, self.run, name)
            if found is not None:
                attempt.future = self._future(name, *found)
                return
            if not waited:
                idle()
                waited = True
            if self.monotonic() >= deadline:
                timeout = self.settings.queue.wait_timeout
                self._lost[name] = (
                    f"no worker sent it back within {timeout:g} s ([queue] wait_timeout);"
                    " is `aggregator worker` running? The next run asks it again"
                )
                break
            self._now_and_then()
            self.sleep(POLL)
        attempt.skipped = f"not fetched: {self._lost[name]}"

    def _now_and_then(self) -> None:
        """Every heartbeat: put back stalled jobs, note the jobs that failed for good."""
        if self.monotonic() < self._next_check:
            return
        self._next_check = self.monotonic() + self.settings.queue.heartbeat
        self._put_back_stalled()
        failed = queue_sql.failed_sources(self.settings.storage, queue=jobs.QUEUE, run=self.run)
        for source, attempts in failed.items():
            self._lost.setdefault(
                source, f"its job failed {attempts} times in the workers (see their log)"
            )

    def _put_back_stalled(self) -> None:
        assert self._app is not None
        seconds = self.settings.queue.stalled_after
        for job_id in queue_sql.stalled_jobs(
            self.settings.storage, queue=jobs.QUEUE, seconds=seconds
        ):
            log.warning("job %d: its worker stopped; queued again", job_id)
            self._app.job_manager.retry_job_by_id(job_id, retry_at=datetime.now(UTC))
            self.put_back += 1

    def _future(self, name: str, payload: bytes, worker: str) -> Future[Fetched]:
        outcome = decode(payload)
        if outcome is None:
            error = SourceError(
                f"worker {worker} runs another version of aggregator",
                source=name,
                hint="run the same aggregator version in the workers as in the run",
            )
            return _failed(error)
        self._outcomes[name] = outcome
        if outcome.error is not None:
            return _failed(outcome.error)
        assert outcome.fetched is not None
        return _done(lambda: outcome.fetched)


def _done(make: Callable[[], Any]) -> Future[Any]:
    """A finished future of ``make()`` (or of what it raised)."""
    future: Future[Any] = Future()
    try:
        future.set_result(make())
    except Exception as err:
        future.set_exception(err)
    return future


def _failed(error: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(error)
    return future
