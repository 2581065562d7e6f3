"""The worker's side of the job queue: the procrastinate app and the fetch job.

Owns the procrastinate :func:`app` on the database of ``[storage] url`` (the one
queue, :data:`QUEUE`, and the one task, :data:`TASK`) and what a job does: fetch one
source conditionally (the validators come with the job, read by the run from the
database), with per-host turns shared by every worker, screen and fingerprint the
document, read it unless the run said it is unchanged, and keep the :class:`Outcome`
in ``queue_results`` for the run. A failing fetch or read is an outcome, never a
failed job: the run reports it as it would its own. A job whose outcome is already in
(a retried job of a killed worker that got that far) does nothing.

The worker takes its sources and ``[fetch]`` settings from its own config file (give
the workers the coordinator's): a job for a source that config lacks, or locates
elsewhere, comes back as that source's error.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..._fetch.http import Fetcher, Validators
from ..._storage.postgres import connect
from ..._storage.postgres import queue as queue_sql
from ...config.settings import Settings
from ...errors import ConfigError, SourceError
from ..reading import prepare_document, read, request_for
from .outcome import Outcome, encode, portable

if TYPE_CHECKING:
    import procrastinate

    from ...config.settings import StorageSettings

log = logging.getLogger(__name__)

#: The procrastinate queue and task of fetch jobs.
QUEUE = "aggregator-fetch"
TASK = "aggregator.fetch_source"
#: Attempts of a job whose own machinery failed (the database away while it kept its
#: outcome); a fetch that fails is an outcome, not a retry.
ATTEMPTS = 3


def app(storage: StorageSettings) -> procrastinate.App:
    """A procrastinate app on the database of ``storage`` (not opened)."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(conninfo=connect.conninfo(storage))
    return procrastinate.App(connector=connector)


@dataclass(frozen=True)
class Job:
    """One fetch job's arguments (JSON in the queue; see :meth:`as_args`)."""

    run: str
    source: str
    url: str
    etag: str | None
    last_modified: str | None
    #: The run's clock when queued (ISO 8601), and the run's day.
    now: str
    run_date: str
    #: The fingerprint of the source's last document read: the same one is not read.
    fingerprint: str | None = None

    def as_args(self) -> dict[str, Any]:
        return asdict(self)


class Work:
    """What this worker's jobs share: settings, the HTTP side, the host turns."""

    def __init__(self, settings: Settings, *, concurrency: int, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.turns = queue_sql.HostTurns(settings.storage, concurrency=concurrency)
        self.fetcher = Fetcher(settings.fetch, shared=self.turns)
        self.sources = {source.name: source for source in settings.sources}

    def close(self) -> None:
        self.fetcher.close()
        self.turns.close()

    def run(self, job: Job) -> bool:
        """Do ``job`` and keep its outcome; False when one was already kept."""
        storage = self.settings.storage
        if queue_sql.has_result(storage, job.run, job.source):
            return False
        outcome = self.outcome(job)
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        kept = queue_sql.put_result(
            storage, job.run, job.source, encode(outcome), worker=self.name, now=stamp
        )
        log.info("%s: %s (run %s)", job.source, _summary(outcome), job.run)
        return kept

    def outcome(self, job: Job) -> Outcome:
        """Fetch, screen and read ``job``'s source; every failure is in the outcome."""
        now = datetime.fromisoformat(job.now)
        source = self.sources.get(job.source)
        if source is None or source.url is None:
            error = SourceError(
                "not in the worker's config (or not a URL there)",
                source=job.source,
                hint="start every `aggregator worker` with the run's config file",
            )
            return Outcome(now=now, error=error)
        try:
            validators = Validators(job.etag, job.last_modified)
            fetched = self.fetcher.get(
                source.name, job.url, validators, now=now, access=source.access
            )
        except Exception as err:
            return Outcome(now=now, error=portable(err))
        if fetched.not_modified:
            return Outcome(now=now, fetched=fetched)
        try:
            prepared, fingerprint = prepare_document(source, self.settings, fetched)
        except Exception:  # the run screens it again, and reports why
            return Outcome(now=now, fetched=fetched)
        done = Outcome(now=now, fetched=fetched, prepared=prepared, fingerprint=fingerprint)
        if fingerprint == job.fingerprint:
            return done  # the same document as last time: the run does not read it
        day = date.fromisoformat(job.run_date)
        request = request_for(source, self.settings, prepared, fetched, now, ahead_for=day)
        try:
            return replace(done, read=read(request))
        except Exception as err:
            return replace(done, read_error=portable(err))


def _summary(outcome: Outcome) -> str:
    if outcome.error is not None:
        return f"failed: {outcome.error}"
    if outcome.fetched is not None and outcome.fetched.not_modified:
        return "not modified"
    if outcome.read is not None:
        return f"{len(outcome.read.entries)} entries read"
    if outcome.read_error is not None:
        return f"unreadable: {outcome.read_error}"
    return "fetched, unchanged"


def worker_app(work: Work) -> procrastinate.App:
    """The app with the fetch task bound to ``work``."""
    import procrastinate

    queue_app = app(work.settings.storage)

    @queue_app.task(
        name=TASK,
        queue=QUEUE,
        retry=procrastinate.RetryStrategy(max_attempts=ATTEMPTS, wait=2),
    )
    def fetch_source(**args: Any) -> None:
        work.run(Job(**args))

    return queue_app


def ensure_queue(settings: Settings) -> bool:
    """Give the database procrastinate's schema unless it has it; True when given now."""
    _require_postgres(settings)
    return queue_sql.ensure_schema(settings.storage)


def queue_status(settings: Settings) -> dict[str, Any]:
    """Jobs by status, and the workers: alive (heartbeat within ``stalled_after``) or not."""
    _require_postgres(settings)
    storage = settings.storage
    if not queue_sql.has_schema(storage):
        return {"schema": False, "jobs": {}, "workers": 0, "stalled_workers": 0}
    ages = queue_sql.worker_heartbeats(storage)
    alive = sum(1 for age in ages if age <= settings.queue.stalled_after)
    return {
        "schema": True,
        "jobs": queue_sql.job_counts(storage, queue=QUEUE),
        "workers": alive,
        "stalled_workers": len(ages) - alive,
    }


def _require_postgres(settings: Settings) -> None:
    if settings.storage.url is None:
        raise ConfigError(
            "the job queue lives in PostgreSQL, and this config stores in SQLite",
            file=settings.origin,
            key="storage.url",
            hint='set [storage] url = "postgresql://..." (see "Scaling out" in the README)',
        )


def run_worker(settings: Settings, *, concurrency: int, name: str | None = None) -> None:
    """Run fetch jobs until stopped (SIGINT, SIGTERM: the jobs in hand finish first)."""
    queue_sql.ensure_schema(settings.storage)
    work = Work(settings, concurrency=concurrency, name=name)
    try:
        worker_app(work).run_worker(
            queues=[QUEUE],
            concurrency=concurrency,
            name=work.name,
            delete_jobs="successful",
            update_heartbeat_interval=settings.queue.heartbeat,
            stalled_worker_timeout=settings.queue.stalled_after,
            install_signal_handlers=True,
        )
    finally:
        work.close()
