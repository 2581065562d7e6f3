"""The pipeline: wiring fetch, parse, normalise, dedup, store, publish and digest.

Owns the order of the stages and the run record; formats nothing for people
(the CLI does). A failing source becomes a :class:`SourceReport` with its error and
the run goes on; only storage and publishing failures stop a run.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from . import deliver, duplicates, health, housekeeping, publish, unchanged
from . import digest as digests
from .arxiv_api import catch_up
from .arxiv_calendar import Calendar, batch_state
from .config import Settings
from .decoding import prepare
from .dedup import Decision, Outcome, decide
from .errors import AggregatorError, DeliveryError, FetchError, SourceError
from .faults import pause_point
from .fetch import Attempt, Fetched, Fetcher, fetch_in_order
from .health import FetchState
from .lock import database_lock
from .normalize import normalize
from .parsers import ParseOptions, get_parser
from .sources import Source
from .store import SourceHealth, Store
from .types import Entry, StoredEntry

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class SourceReport:
    """What happened to one source in one run."""

    name: str
    kind: str
    location: str
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: HTTP status of the response, when there was one.
    status: int | None = None
    #: A 304: nothing was downloaded or parsed.
    not_modified: bool = False
    #: Why the source was not asked this run (resting, rate-limited or gone).
    skipped: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    #: What the run found, in words, when counts alone mislead (arXiv: "not refreshed
    #: yet", "no announcement today (Saturday)"); not an error.
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


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
    #: Entries removed by ``[storage].keep_days``, and the digest days removed with them.
    pruned: int = 0
    pruned_digests: list[date] = field(default_factory=list)
    #: Runs found interrupted (killed) and finished by this one.
    recovered_runs: list[int] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(report.counts[outcome.value] for report in self.sources)

    @property
    def failed(self) -> list[SourceReport]:
        return [report for report in self.sources if not report.ok]

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
            "pruned": self.pruned,
            "recovered_runs": self.recovered_runs,
        }


def today_in(settings: Settings, now: datetime) -> date:
    """The calendar day of ``now`` in the digest time zone."""
    return now.astimezone(ZoneInfo(settings.digest.timezone)).date()


# -- ingest -------------------------------------------------------------------------------


def ingest(
    settings: Settings,
    store: Store,
    *,
    clock: Clock,
    run_date: date,
    client: httpx.Client | None = None,
    progress: Callable[[SourceReport], None] | None = None,
) -> tuple[list[SourceReport], set[date]]:
    """Fetch, parse and store every enabled source; return reports and digest days touched.

    Sources are fetched concurrently (see :mod:`aggregator.fetch`); parsing and storing
    happen here, in config order, so the outcome does not depend on which server
    answers first. ``progress`` is called with each source's report when it is done.
    """
    reports: list[SourceReport] = []
    touched: set[date] = set()
    enabled = [source for source in settings.sources if source.enabled]
    duplicates.index_missing(store, settings.dedup, now=clock())
    known = {row.name: row for row in store.source_health()}
    failures = {name: row.consecutive_failures for name, row in known.items()}
    with Fetcher(settings.fetch, client=client) as fetcher:
        pool = ThreadPoolExecutor(max_workers=settings.fetch.workers, thread_name_prefix="fetch")
        try:
            attempts = fetch_in_order(
                enabled,
                states=store.fetch_states(),
                failures=failures,
                fetcher=fetcher,
                pool=pool,
                now=clock(),
                ahead=4 * settings.fetch.workers,
            )
            for attempt in attempts:
                source = attempt.source
                report = SourceReport(source.name, source.kind, source.location)
                reports.append(report)
                if attempt.skipped is not None:
                    _skip(report, attempt, known.get(source.name))
                else:
                    touched |= _attempt(
                        attempt, settings, store, report, clock, run_date, fetcher.client
                    )
                    pause_point("ingest")
                _log(report)
                if progress is not None:
                    progress(report)
        finally:
            # Before the client closes: no fetch may still be running on it.
            pool.shutdown(wait=True, cancel_futures=True)
    return reports, touched


def _skip(report: SourceReport, attempt: Attempt, last: SourceHealth | None) -> None:
    """A source not asked this run: resting or gone. Only a gone or failing one is an error."""
    report.skipped = attempt.skipped
    state = attempt.state
    if state is not None and (state.disabled_reason or state.next_reason == health.BACKOFF):
        previous = ""
        if last and last.last_error and not state.disabled_reason:
            previous = f"; last error: {last.last_error}"
        report.error = f"not fetched: {attempt.skipped}{previous}"


def _attempt(
    attempt: Attempt,
    settings: Settings,
    store: Store,
    report: SourceReport,
    clock: Clock,
    run_date: date,
    client: httpx.Client,
) -> set[date]:
    source = attempt.source
    failure: FetchError | None = None
    try:
        fetched = attempt.result()
        report.status = fetched.status
        state = attempt.state
        if state is not None:
            state = health.after_success(
                state,
                status=fetched.status,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                moved_to=fetched.moved_to,
            )
            if fetched.moved_to:
                report.warnings.append(
                    f"moved permanently to {fetched.moved_to}; later runs fetch it there"
                    " (update its url in the config to make it so for good)"
                )
        if fetched.not_modified:
            report.not_modified = True
            with store.transaction():
                if state is not None:
                    store.save_fetch_state(state)
                store.record_source(
                    name=source.name,
                    kind=source.kind,
                    location=source.location,
                    now=clock(),
                    error=None,
                )
            return set()
        return _ingest_source(
            source, settings, store, report, clock(), run_date, fetched, state, client
        )
    except SourceError as err:
        report.error = err.describe()
        if isinstance(err, FetchError):
            report.status = err.status
            failure = err
    except AggregatorError:
        raise
    except Exception as err:  # a bug in one parser must not stop the others
        log.exception("unexpected error reading source %s", source.name)
        report.error = f"unexpected {type(err).__name__}: {err} (please report this bug)"
    now = clock()
    with store.transaction():
        store.record_source(
            name=source.name,
            kind=source.kind,
            location=source.location,
            now=now,
            error=report.error,
        )
        if attempt.state is not None:
            failed = attempt.state
            if report.status is not None:
                failed = dataclasses.replace(failed, last_status=report.status)
            if failure is not None:
                failed = health.after_failure(
                    failed,
                    failure,
                    failures=_failures(store, source.name),
                    now=now,
                    settings=settings.fetch,
                )
            else:  # the server answered, the bytes are bad: rest as after any failure
                failed = dataclasses.replace(
                    failed,
                    next_attempt=now
                    + health.backoff(_failures(store, source.name), settings.fetch),
                    next_reason=health.BACKOFF,
                )
            store.save_fetch_state(failed)
    return set()


def _failures(store: Store, name: str) -> int:
    return store.consecutive_failures().get(name, 1)


def _log(report: SourceReport) -> None:
    if report.error:
        log.info("%s: failed: %s", report.name, report.error)
    elif report.skipped:
        log.info("%s: skipped: %s", report.name, report.skipped)
    elif report.not_modified:
        log.info("%s: not modified", report.name)
    else:
        counts = ", ".join(f"{count} {name}" for name, count in report.counts.items())
        log.info("%s: %s", report.name, counts)


def _ingest_source(
    source: Source,
    settings: Settings,
    store: Store,
    report: SourceReport,
    now: datetime,
    run_date: date,
    fetched: Fetched,
    fetch_state: FetchState | None = None,
    client: httpx.Client | None = None,
) -> set[date]:
    prepared = prepare(fetched.data, fetched.content_type, kind=source.kind, source=source.name)
    if prepared.corrected_from:
        log.info(
            "%s: declared %s but is %s", source.name, prepared.corrected_from, prepared.encoding
        )
    document = unchanged.fingerprint(
        source, prepared.data, content_type=prepared.content_type, parser=settings.fetch.parser
    )
    last = store.last_document(source.name)
    # The same bytes, read the same way, give the same entries: skip parsing them. Not
    # for arXiv, whose unchanged feed still says something ("not refreshed yet").
    if source.kind != "arxiv" and last is not None and last[0] == document:
        report.counts[Outcome.UNCHANGED.value] = last[1]
        with store.transaction():
            store.record_source(
                name=source.name, kind=source.kind, location=source.location, now=now, error=None
            )
            if fetch_state is not None:
                store.save_fetch_state(fetch_state)
        return set()
    parser = get_parser(source.kind, settings.fetch.parser)
    parsed = parser(
        prepared.data,
        source=source.name,
        options=ParseOptions(
            timezone=source.timezone,
            location=fetched.url or source.location,
            content_type=prepared.content_type,
            categories=source.follow,
        ),
    )
    report.warnings.extend(parsed.warnings)
    items = list(parsed.entries)
    if source.kind == "arxiv":
        state = batch_state(
            batch_day=parsed.announced,
            items=len(parsed.entries),
            last_day=store.last_batch(source.name),
            now=now,
            calendar=Calendar(holidays=frozenset(settings.arxiv.holidays)),
        )
        if state.warning:
            report.warnings.append(state.warning)
        # Missed listings first: a version they hold is older than the feed's.
        missed, suffix = catch_up(source, settings, state, client=client, warnings=report.warnings)
        items = missed + items
        report.note = state.note + suffix
    entries = [
        normalize(item, source=source.name, position=index)
        for index, item in enumerate(items, start=1)
    ]
    # Entries pruned by retention that the source still lists unchanged stay pruned.
    pruned = store.pruned_hashes(source.name, [entry.key for entry in entries])
    kept = [entry for entry in entries if pruned.get(entry.key) != entry.content_hash]
    report.counts[Outcome.UNCHANGED.value] += len(entries) - len(kept)
    decisions = decide_all(source, kept, store, now=now, today=run_date)
    touched: set[date] = set()
    for item in decisions:
        report.counts[item.outcome.value] += 1
        if item.outcome is Outcome.NEW:
            touched.add(item.row.digest_day)
        elif item.outcome is Outcome.UPDATED:
            touched.add(run_date)
        if item.announced is not None:  # arXiv: the day's listing, whatever the outcome
            touched.add(item.announced)
    with store.transaction():
        store.apply(decisions, source=source.name, now=now)
        store.record_announcements(decisions, source=source.name)
        if source.kind == "arxiv" and parsed.announced is not None and parsed.entries:
            store.record_batch(source.name, parsed.announced, entries=len(parsed.entries), now=now)
        linked = duplicates.link_new_entries(
            store, decisions, source=source.name, settings=settings.dedup, now=now
        )
        merged = sum(1 for link in linked if not link.newcomer_kept)
        report.counts[Outcome.NEW.value] -= merged
        report.counts[Outcome.DUPLICATE.value] += merged
        store.record_source(
            name=source.name,
            kind=source.kind,
            location=source.location,
            now=now,
            error=None,
            new_entries=report.counts[Outcome.NEW.value],
        )
        if fetch_state is not None:
            # Saved with the entries: a parse failure keeps the old validators, so the
            # next run downloads the document again instead of getting a 304.
            store.save_fetch_state(fetch_state)
        # A document with warnings is read again next time, so they are reported again.
        store.remember_document(
            source.name, None if parsed.warnings else document, entries=len(entries), now=now
        )
    return touched


def decide_all(
    source: Source, entries: list[Entry], store: Store, *, now: datetime, today: date
) -> list[Decision]:
    """Decide every entry of one document against the store (and earlier entries in it)."""
    keys = [entry.key for entry in entries]
    rows: dict[str, StoredEntry] = store.get_entries(keys)
    hashes = store.source_hashes(source.name, keys)
    seen: set[str] = set()
    decisions = []
    for entry in entries:
        decision = decide(
            entry,
            existing=rows.get(entry.key),
            previous_hash=hashes.get(entry.key),
            seen_in_this_document=entry.key in seen,
            categories=source.categories_for(entry.categories),
            now=now,
            today=today,
        )
        seen.add(entry.key)
        rows[entry.key] = decision.row
        decisions.append(decision)
    return decisions


# -- publish ------------------------------------------------------------------------------


def publish_feeds(settings: Settings, store: Store, *, clock: Clock) -> tuple[int, int]:
    """Write every category feed, ``all.atom`` and the index page. Returns (written, total)."""
    out = settings.publish.output_dir
    base = settings.publish.base_url
    limit = settings.publish.feed_max_entries
    written = total = 0
    links: list[publish.FeedLink] = []
    targets: list[tuple[str | None, str, str]] = [
        (None, "all.atom", f"{settings.publish.title}: all entries")
    ]
    for name, count in store.categories():
        filename = publish.feed_filename(name)
        links.append(publish.FeedLink(name, filename, count))
        targets.append((name, filename, f"{settings.publish.title}: {name}"))
    links.insert(0, publish.FeedLink("all", "all.atom", store.count_entries()))
    for category, filename, title in targets:
        data = publish.build_feed(
            store.entries_in_category(category, limit),
            category=category,
            title=title,
            base_url=base,
            self_href=f"{base}feeds/{filename}",
            fallback_updated=clock(),
        )
        total += 1
        written += publish.write_atomic(out / "feeds" / filename, data)
    index = publish.render_index(
        title=settings.publish.title,
        feeds=links,
        days=sorted({*store.digest_days(), *store.announcement_days()}),
        base_url=base,
    )
    publish.write_atomic(out / "index.html", index)
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


def write_digests(settings: Settings, store: Store, days: set[date]) -> tuple[int, list[date]]:
    """Render and write the digests of ``days`` plus any stored day missing its files."""
    out = settings.publish.output_dir / "digests"
    wanted = set(days)
    for day in sorted({*store.digest_days(), *store.announcement_days()}):
        folder = out / day.isoformat()
        if not ((folder / "index.html").is_file() and (folder / "digest.txt").is_file()):
            wanted.add(day)
    written = 0
    done: list[date] = []
    for day in sorted(wanted):
        chosen = build_digest(settings, store, day)
        if chosen.is_empty:
            continue
        rendered = digests.render(chosen, base_url=settings.publish.base_url)
        folder = out / day.isoformat()
        written += publish.write_atomic(folder / "index.html", rendered.html.encode("utf-8"))
        written += publish.write_atomic(folder / "digest.txt", rendered.text.encode("utf-8"))
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
    then mail the run day's digest (``do_send``, when ``[email]`` is configured).

    Holds the database's run lock throughout (waiting up to ``[storage].lock_timeout``,
    then LockedError). A run that finds an earlier one interrupted (killed) also
    removes its temporary files and re-renders every digest, so the outputs end as if
    the interrupted run had finished. Feeds and the index are rebuilt on every publish.
    """
    run_date = run_date or today_in(settings, clock())
    summary = RunSummary(run_date=run_date)
    storage = settings.storage
    with (
        database_lock(storage.database, timeout=storage.lock_timeout, purpose=purpose),
        Store(storage.database, busy_timeout=max(storage.lock_timeout, 1.0)) as store,
    ):
        if do_digest:
            # Only a run that writes digests can finish an interrupted one's work; until
            # then the interrupted run stays on record as unfinished.
            summary.recovered_runs = store.close_interrupted_runs(now=clock())
        housekeeping.remove_temp_files(settings.publish.output_dir)
        run_id = store.start_run(now=clock(), run_date=run_date)
        status = "failed"
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
                    settings, store, wanted
                )
            if do_publish:
                summary.feeds_written, summary.feeds_total = publish_feeds(
                    settings, store, clock=clock
                )
                summary.index_written = True
            if do_send and settings.email is not None:
                summary.delivery = send_day(settings, store, run_date, clock=clock)
            delivery_ok = summary.delivery is None or summary.delivery.ok
            status = "partial" if summary.failed or not delivery_ok else "ok"
        finally:
            store.finish_run(run_id, now=clock(), status=status, summary=summary.as_dict())
    return summary


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
