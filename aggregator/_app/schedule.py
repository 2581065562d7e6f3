"""``aggregator schedule``: APScheduler jobs from ``[schedule]``, run in one long process.

Owns which jobs exist, how they are scheduled (cron expressions in
``[digest].timezone``, via :mod:`aggregator._app.cron`) and how the process behaves around
them. Holds no business logic: each job calls one method of the facade.

- Jobs coalesce (a backlog of missed times runs once), never overlap (one worker
  thread, one instance per job) and may start up to ``misfire_grace_time`` seconds late.
- Every job takes the database's run lock like any CLI run, so a job and a cron run
  or a person never work at once.
- A failing job is logged and the scheduler keeps running; after each job the next
  run time is logged.
- SIGTERM or SIGINT stops scheduling, lets a running job finish, and exits 0; a second
  signal exits at once (a killed run is safe: the next one finishes its work).

A BackgroundScheduler with the main thread waiting for a signal flag is used rather
than a BlockingScheduler: a signal arriving before BlockingScheduler.start() blocks
cannot shut it down, and the process would hang.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from ..config.settings import Settings
from ..core import Aggregator, RunSummary
from ..errors import AggregatorError, LockedError
from .cron import cron_trigger

log = logging.getLogger(__name__)

#: How often the main thread looks for a received signal, in seconds.
SIGNAL_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class JobKind:
    """One kind of job ``[schedule]`` can name."""

    description: str
    action: Callable[[Settings], RunSummary]


#: The jobs, by their ``[schedule]`` key. Adding a job (e.g. ``send``) is one line here
#: and one key in config.SCHEMA["schedule"].
JOBS: dict[str, JobKind] = {
    "run": JobKind(
        "fetch, store, digests, feeds, mail",
        lambda s: Aggregator(s).run(send=True, purpose="schedule: run"),
    ),
    "fetch": JobKind(
        "fetch and store",
        lambda s: Aggregator(s).fetch(purpose="schedule: fetch"),
    ),
}


def run_job(name: str, settings: Settings) -> bool:
    """Run one job now, logging its outcome. Never raises; returns True on success."""
    kind = JOBS[name]
    log.info("%s: starting (%s)", name, kind.description)
    try:
        summary = kind.action(settings)
    except LockedError as err:
        log.warning("%s: skipped, %s", name, err.describe())
        return False
    except AggregatorError as err:
        log.error("%s: failed: %s", name, err.describe())
        return False
    except Exception:  # a bug must not stop the scheduler
        log.exception("%s: failed with an unexpected error (please report this bug)", name)
        return False
    counts = summary.as_dict()
    log.info(
        "%s: done: %d sources, %s new, %s updated, %d feeds changed, digests %s",
        name,
        len(summary.sources),
        counts.get("new", 0),
        counts.get("updated", 0),
        summary.feeds_written,
        ", ".join(day.isoformat() for day in summary.digest_days) or "none",
    )
    for report in summary.failed:
        log.warning("%s: source %s failed: %s", name, report.name, report.error)
    for delivery in summary.deliveries:
        if delivery.error:
            log.warning("%s: email %s: %s", name, delivery.day, delivery.error)
        for result in delivery.problems:
            log.warning(
                "%s: email %s to %s %s: %s",
                name,
                delivery.day,
                result.subscriber,
                result.outcome,
                result.detail,
            )
    return not summary.failed


def build_scheduler(
    settings: Settings,
    *,
    scheduler_class: Callable[..., BaseScheduler] = BackgroundScheduler,
    job: Callable[[str, Settings], object] = run_job,
) -> BaseScheduler:
    """A scheduler holding one job per non-empty ``[schedule]`` entry, not yet started."""
    scheduler = scheduler_class(
        timezone=settings.digest.timezone,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.schedule.misfire_grace_time,
        },
    )
    for name, expression in settings.schedule.jobs:
        scheduler.add_job(
            job,
            trigger=cron_trigger(expression, settings.digest.timezone),
            args=(name, settings),
            id=name,
            name=f"{name} ({expression})",
        )

    def after(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning(
                "%s: missed its time %s by more than misfire_grace_time; skipped",
                event.job_id,
                _when(event.scheduled_run_time),
            )
        found = scheduler.get_job(event.job_id)
        if found is not None:
            log.info("%s: next run at %s", event.job_id, _when(found.next_run_time))

    scheduler.add_listener(after, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _when(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else "never"


def next_runs(scheduler: BaseScheduler, *, now: datetime) -> list[tuple[str, datetime | None]]:
    """Each job's name and next run time after ``now`` (also before the scheduler starts)."""
    return [(job.name, job.trigger.get_next_fire_time(None, now)) for job in scheduler.get_jobs()]


def serve_forever(settings: Settings) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT.

    The jobs run on the scheduler's worker thread; the main thread only waits for a
    signal, so a signal can never arrive "between" starting and blocking.
    """
    scheduler = build_scheduler(settings, scheduler_class=BackgroundScheduler)
    if not scheduler.get_jobs():
        raise AggregatorError(
            "no jobs: every [schedule] entry is empty",
            hint='set e.g. run = "30 6 * * *" in [schedule]',
        )
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # Only async-signal-safe work here: no logging and no locks (the main thread
        # may hold them at this very moment); the main loop does the talking.
        if received:
            os.write(2, f"second {signal.Signals(signum).name}: exiting now\n".encode())
            os._exit(128 + signum)
        received.append(signum)

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        scheduler.start()
        log.info("scheduler started (pid %d, time zone %s)", os.getpid(), settings.digest.timezone)
        for job in scheduler.get_jobs():
            log.info("%s: next run at %s", job.name, _when(job.next_run_time))
        while not received:
            time.sleep(SIGNAL_POLL_SECONDS)
        log.info(
            "%s: stopping after the running job, if any (send it again to stop now)",
            signal.Signals(received[0]).name,
        )
        scheduler.shutdown(wait=True)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    log.info("scheduler stopped")
