"""The pipeline: wiring fetch, parse, normalise, dedup, store, publish and digest.

Owns the order of the stages (ingest, prune, digests, feeds, mail), the run lock, the
recovery of interrupted runs (their files, digests and unfinished deliveries), the
run record, and where the database may be created; formats nothing for people (the
CLI does). Ingest lives in :mod:`.ingest`: a failing source becomes a
:class:`SourceReport` with its error and the run goes on; only storage and publishing
failures stop a run, and what they left unwritten is written by the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from ._app.lock import database_lock
from ._mail import deliver
from ._output import digest as digests
from ._output import housekeeping, publish
from ._storage.sqlite import Store
from ._storage.sqlite.deliveries import UNFINISHED
from ._update.decide import Outcome
from ._update.ingest import Clock, SourceReport, ingest, system_clock
from .config.settings import Settings
from .errors import AggregatorError, ConfigError, DeliveryError, PublishError, StorageError
from .types import PublishedFile

__all__ = [
    "Clock",
    "RunSummary",
    "SourceReport",
    "build_digest",
    "days_to_finish",
    "ingest",
    "prepare_database",
    "publish_feeds",
    "run",
    "send_day",
    "system_clock",
    "today_in",
    "write_digests",
]


@dataclass
class RunSummary:
    """The outcome of a run (or of its fetch, publish or digest part)."""

    run_date: date
    sources: list[SourceReport] = field(default_factory=list)
    feeds_written: int = 0
    feeds_total: int = 0
    digests_written: int = 0
    digest_days: list[date] = field(default_factory=list)
    index_written: bool = False
    #: What sending the day's digest did; None when not asked to or email is off.
    delivery: deliver.DeliveryReport | None = None
    #: What finishing earlier days' unfinished deliveries did, oldest day first.
    resumed: list[deliver.DeliveryReport] = field(default_factory=list)
    #: Entries removed by ``[storage].keep_days``, and the digest days removed with them.
    pruned: int = 0
    pruned_digests: list[date] = field(default_factory=list)
    #: Runs found interrupted (killed) and finished by this one.
    recovered_runs: list[int] = field(default_factory=list)
    #: Why the run stopped, when an error stopped it (kept in the run record for `status`).
    error: str | None = None
    #: The database file, when this run created it (a first run, or a typo in its name).
    created_database: Path | None = None

    def count(self, outcome: Outcome) -> int:
        return sum(report.counts[outcome.value] for report in self.sources)

    @property
    def failed(self) -> list[SourceReport]:
        return [report for report in self.sources if not report.ok]

    @property
    def deliveries(self) -> list[deliver.DeliveryReport]:
        """Every day's delivery report of this run, oldest day first."""
        return [*self.resumed, *([self.delivery] if self.delivery else [])]

    def as_dict(self) -> dict[str, object]:
        return {
            "run_date": self.run_date.isoformat(),
            "sources": len(self.sources),
            **{o.value: self.count(o) for o in Outcome},
            "failed": {r.name: r.error for r in self.failed},
            "notes": {r.name: r.note for r in self.sources if r.note},
            "not_modified": sum(1 for r in self.sources if r.not_modified),
            "skipped": {r.name: r.skipped for r in self.sources if r.skipped},
            "feeds_written": self.feeds_written,
            "digests_written": self.digests_written,
            **({"delivery": self.delivery.as_dict()} if self.delivery else {}),
            **({"resumed": [r.as_dict() for r in self.resumed]} if self.resumed else {}),
            "pruned": self.pruned,
            "recovered_runs": self.recovered_runs,
            **({"error": self.error} if self.error else {}),
        }


def today_in(settings: Settings, now: datetime) -> date:
    """The calendar day of ``now`` in the digest time zone."""
    return now.astimezone(ZoneInfo(settings.digest.timezone)).date()


# -- publish ------------------------------------------------------------------------------


def publish_feeds(settings: Settings, store: Store, *, clock: Clock) -> tuple[int, int]:
    """Write every category feed, ``all.atom`` and the index page. Returns (written, total).

    A file whose inputs cannot have changed since it was written (same output
    generation, same settings, same code: :func:`publish.output_fingerprint`), and which
    is still on disk as it was written, is not rebuilt at all.
    """
    out = settings.publish.output_dir
    base = settings.publish.base_url
    limit = settings.publish.feed_max_entries
    # Read before any data: a change made while we build moves it past what we record.
    generation = store.output_generation()
    links: list[publish.FeedLink] = []
    targets: list[tuple[str | None, str, str]] = [
        (None, "all.atom", f"{settings.publish.title}: all entries")
    ]
    categories = store.categories()
    filenames = publish.feed_filenames(name for name, _ in categories)
    for name, count in categories:
        filename = filenames[name]
        links.append(publish.FeedLink(name, filename, count))
        targets.append((name, filename, f"{settings.publish.title}: {name}"))
    paths = {filename: out / "feeds" / filename for _, filename, _ in targets}
    index_path = out / "index.html"
    known = store.published_files([*map(str, paths.values()), str(index_path)])

    def fingerprint(path: Path, what: str) -> str:
        return publish.output_fingerprint(
            what, generation=generation, settings=settings.publish, path=path
        )

    done: list[PublishedFile] = []
    written = total = 0
    try:
        for category, filename, title in targets:
            path = paths[filename]
            total += 1
            wanted = fingerprint(path, f"feed {category!r}")
            if publish.is_current(path, known.get(str(path)), wanted):
                continue
            data = publish.build_feed(
                store.entries_in_category(category, limit),
                category=category,
                title=title,
                base_url=base,
                self_href=f"{base}feeds/{filename}",
                fallback_updated=clock(),
            )
            written += publish.write_atomic(path, data)
            done.append(publish.published_file(path, wanted))
        wanted = fingerprint(index_path, "index")
        if not publish.is_current(index_path, known.get(str(index_path)), wanted):
            links.insert(0, publish.FeedLink("all", "all.atom", store.count_entries()))
            index = publish.render_index(
                title=settings.publish.title,
                feeds=links,
                days=sorted({*store.digest_days(), *store.announcement_days()}),
                base_url=base,
            )
            publish.write_atomic(index_path, index)
            done.append(publish.published_file(index_path, wanted))
    except PublishError:
        # What was written is recorded; what failed has its old record, which no longer
        # matches, so the next run writes it (and only it).
        store.record_published(done)
        raise
    # Only now that every file is in place: a crash before this line leaves the old
    # records, which no longer match, so the next run rebuilds (and rewrites nothing).
    store.record_published(done)
    return written, total


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` begins and ends in ``timezone``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def build_digest(settings: Settings, store: Store, day: date) -> digests.Digest:
    """Choose the digest of ``day`` from the store."""
    start, end = day_bounds(day, settings.digest.timezone)
    announced = store.announcements_on(day)
    new = [e for e in store.entries_for_day(day) if e.key not in announced]
    updated = store.entries_updated_between(start, end, before_day=day)
    # A paper arXiv announced belongs to its announcement days' digests only.
    listed = store.announced_keys([e.key for e in updated])
    rows = store.get_entries(list(announced))
    return digests.choose(
        day,
        title=settings.digest.title,
        new=new,
        updated=[e for e in updated if e.key not in listed],
        listings=[(rows[key], how) for key, how in announced.items() if key in rows],
    )


def write_digests(
    settings: Settings, store: Store, days: set[date], *, gone: Iterable[date] = ()
) -> tuple[int, list[date]]:
    """Render and write the digests of ``days``, of the days the store has marked due
    (changed by a run whose digest writing failed), and of any stored day missing its
    files.

    A day whose files are in place and were written from the same output generation,
    settings, code and neighbouring days is not rendered again (it is still among the
    days returned). ``gone``: days whose digest was just removed (pruned), so that the
    days around them drop their links to it. A day leaves the due list only in the
    transaction that records its written files.
    """
    out = settings.publish.output_dir / "digests"
    wanted = {*days, *store.digests_due()}
    every_day = sorted({*store.digest_days(), *store.announcement_days()})
    missing = set()
    for day in every_day:
        folder = out / day.isoformat()
        if not ((folder / "index.html").is_file() and (folder / "digest.txt").is_file()):
            missing.add(day)
    # Each page links the previous and next day: a day that appears or goes (pruned,
    # emptied) changes its neighbours' pages. They are written before the new days,
    # so a failure in between leaves a day missing, which finds them again next time.
    relinked = digests.relinked_days(
        every_day,
        added=missing,
        removed={*gone, *housekeeping.digest_folders(out)} - set(every_day),
    )
    wanted |= missing | relinked
    base = settings.publish.base_url
    # As for feeds (see publish_feeds): read before any data, record after the files.
    generation = store.output_generation()
    shaping = (settings.publish, settings.digest)
    written = 0
    done: list[date] = []
    for day in sorted(wanted, key=lambda d: (d not in relinked, d)):
        folder = out / day.isoformat()
        paths = (folder / "index.html", folder / "digest.txt")
        known = store.published_files(map(str, paths))
        links = digests.day_links(every_day, day)
        wanted_prints = [
            publish.output_fingerprint(
                f"digest {day} between {links.previous} and {links.next}",
                generation=generation,
                settings=shaping,
                path=path,
            )
            for path in paths
        ]
        if all(
            publish.is_current(path, known.get(str(path)), fingerprint)
            for path, fingerprint in zip(paths, wanted_prints, strict=True)
        ):
            # Touched, but nothing it shows changed since it was written.
            store.record_published((), digests_done=[day])
            done.append(day)
            continue
        chosen = build_digest(settings, store, day)
        if chosen.is_empty:
            store.record_published((), digests_done=[day])
            continue
        # Streamed: a first run's digest can hold every entry (100 MB of HTML and more).
        html = digests.render_html(chosen, base_url=base, links=links)
        written += publish.write_atomic_text(paths[0], html)
        text = digests.render_text(chosen, base_url=base, links=links)
        written += publish.write_atomic_text(paths[1], text)
        store.record_published(
            [
                publish.published_file(path, fingerprint)
                for path, fingerprint in zip(paths, wanted_prints, strict=True)
            ],
            digests_done=[day],
        )
        done.append(day)
    return written, done


def send_day(
    settings: Settings, store: Store, day: date, *, clock: Clock, **options: Any
) -> deliver.DeliveryReport:
    """Mail the digest of ``day`` to every subscriber; ``options`` go to deliver.send_digest."""
    chosen = build_digest(settings, store, day)
    try:
        return deliver.send_digest(settings, store, chosen, clock=clock, **options)
    except DeliveryError as err:
        return deliver.DeliveryReport(day=day.isoformat(), error=err.describe())


def days_to_finish(settings: Settings, store: Store, run_date: date) -> dict[date, set[str] | None]:
    """Earlier days, within ``[email] resume_days`` of ``run_date``, left unfinished.

    Maps each day to the subscribers whose delivery is still pending, sending
    (reported, not resent) or failed temporarily; or to None (everyone) for the
    day of an interrupted run that meant to mail its digest and planned nothing.
    """
    email = settings.email
    if email is None or email.resume_days <= 0:
        return {}
    since = run_date - timedelta(days=email.resume_days)
    planned: dict[date, set[str]] = {}
    for row in store.deliveries_between(since, run_date, states=UNFINISHED):
        planned.setdefault(row.day, set()).add(row.subscriber)
    days: dict[date, set[str] | None] = {**planned}
    for day in store.unplanned_send_days(since, run_date):
        days[day] = None
    return dict(sorted(days.items()))


def finish_earlier_days(
    settings: Settings, store: Store, run_date: date, *, clock: Clock
) -> list[deliver.DeliveryReport]:
    """Send what earlier runs left unsent (see :func:`days_to_finish`), oldest day first.

    One attempt per message (no retry rounds): those days' own sends had theirs,
    and the next run tries again while the day is within ``resume_days``.
    """
    return [
        send_day(settings, store, day, clock=clock, only=only, retries=0, resumed=True)
        for day, only in days_to_finish(settings, store, run_date).items()
    ]


# -- run ----------------------------------------------------------------------------------


def run(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    run_date: date | None = None,
    client: httpx.Client | None = None,
    do_ingest: bool = True,
    do_publish: bool = True,
    do_digest: bool = True,
    do_send: bool = False,
    purpose: str = "run",
    progress: Callable[[SourceReport], None] | None = None,
) -> RunSummary:
    """One run: ingest every source, prune, write digests, publish feeds and the index,
    then mail the run day's digest (``do_send``, when ``[email]`` is configured),
    after finishing the deliveries earlier runs left unfinished (``resume_days``).

    Holds the database's run lock throughout (waiting up to ``[storage].lock_timeout``,
    then LockedError). A run that finds an earlier one interrupted (killed) also
    removes its temporary files and re-renders every digest, so the outputs end as if
    the interrupted run had finished. Feeds and the index are rebuilt when what they
    show may have changed (see :func:`publish_feeds`).
    """
    run_date = run_date or today_in(settings, clock())
    summary = RunSummary(run_date=run_date)
    storage = settings.storage
    prepare_database(settings)
    with (
        database_lock(storage.database, timeout=storage.lock_timeout, purpose=purpose),
        Store(
            storage.database,
            busy_timeout=max(storage.lock_timeout, 1.0),
            # A run that ingests reads the tables it needs and meets damage there; the
            # whole-file check would double a quiet rerun's time. publish, digest and
            # dupes split check first.
            verify=not do_ingest,
        ) as store,
    ):
        if store.created:
            summary.created_database = storage.database
        if do_digest:
            # Only a run that writes digests can finish an interrupted one's work; until
            # then the interrupted run stays on record as unfinished.
            summary.recovered_runs = store.close_interrupted_runs(now=clock())
        housekeeping.remove_temp_files(settings.publish.output_dir)
        sending = do_send and settings.email is not None
        run_id = store.start_run(now=clock(), run_date=run_date, sends=sending)
        status: str | None = "failed"
        try:
            touched: set[date] = set()
            if do_ingest:
                summary.sources, touched = ingest(
                    settings,
                    store,
                    clock=clock,
                    run_date=run_date,
                    client=client,
                    progress=progress,
                )
                prune(settings, store, summary, now=clock())
            if do_digest:
                if summary.recovered_runs:
                    touched |= {*store.digest_days(), *store.announcement_days()}
                # A run renders the days its entries changed; `aggregator digest` (no
                # ingest) renders the day it was asked for.
                wanted = touched if do_ingest else touched | {run_date}
                summary.digests_written, summary.digest_days = write_digests(
                    settings, store, wanted, gone=summary.pruned_digests
                )
            if do_publish:
                summary.feeds_written, summary.feeds_total = publish_feeds(
                    settings, store, clock=clock
                )
                summary.index_written = True
            if sending:
                summary.resumed = finish_earlier_days(settings, store, run_date, clock=clock)
                summary.delivery = send_day(settings, store, run_date, clock=clock)
            delivery_ok = all(report.ok for report in summary.deliveries)
            status = "partial" if summary.failed or not delivery_ok else "ok"
        except AggregatorError as err:
            summary.error = err.describe()
            raise
        except KeyboardInterrupt:
            # Left "running" on purpose: the next run treats it as interrupted, like a
            # killed one, and finishes its digests, feeds and mail.
            status = None
            raise
        except Exception as err:
            summary.error = f"{type(err).__name__}: {err}"
            raise
        finally:
            if status is not None:
                store.finish_run(run_id, now=clock(), status=status, summary=summary.as_dict())
    return summary


def prepare_database(settings: Settings) -> None:
    """Make sure ``[storage] database`` can be opened where the config says.

    Its folder must exist, or ``[storage] create`` must allow creating it: a typo in
    the path would otherwise start a new, empty database, and every entry would be new
    again (and mailed again). Raises ConfigError naming the key and the folder.
    """
    folder = settings.storage.database.parent
    if folder.is_dir():
        return
    if folder.exists() or not settings.storage.create:
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ConfigError(
            f"the database's folder {folder} {what}",
            file=settings.origin,
            key="storage.database",
            hint="fix the path, create the folder, or set [storage] create = true"
            " to have it created",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(
            f"cannot create the database's folder {folder}: {err.strerror or err}",
            hint="create it yourself, with write access for the user running aggregator",
        ) from err


def prune(settings: Settings, store: Store, summary: RunSummary, *, now: datetime) -> None:
    """Apply ``[storage].keep_days``: prune old entries and the digests of their days."""
    before = housekeeping.cutoff(now, settings.storage.keep_days)
    if before is None:
        return
    summary.pruned = store.prune_entries(before=before, now=now).entries
    first_kept = housekeeping.cutoff_day(before, settings.digest.timezone)
    summary.pruned_digests = housekeeping.remove_digests_before(
        settings.publish.output_dir, first_kept, keep=set(store.digest_days())
    )
