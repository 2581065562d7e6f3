"""The pipeline: wiring fetch, parse, normalise, dedup, store, publish and digest.

Owns the order of the stages and the run record; formats nothing for people
(the CLI does). A failing source becomes a :class:`SourceReport` with its error and
the run goes on; only storage and publishing failures stop a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from . import digest as digests
from . import publish, unchanged
from .config import Settings
from .dedup import Decision, Outcome, decide
from .errors import AggregatorError, SourceError
from .fetch import fetch, make_client
from .normalize import normalize
from .parsers import ParseOptions, get_parser
from .sources import Source
from .store import Store
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
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})

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
            "feeds_written": self.feeds_written,
            "digests_written": self.digests_written,
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
) -> tuple[list[SourceReport], set[date]]:
    """Fetch, parse and store every enabled source; return reports and digest days touched."""
    reports: list[SourceReport] = []
    touched: set[date] = set()
    own_client = client is None and any(s.url for s in settings.sources if s.enabled)
    http = make_client(settings.fetch) if own_client else client
    try:
        for source in settings.sources:
            if not source.enabled:
                continue
            report = SourceReport(source.name, source.kind, source.location)
            reports.append(report)
            try:
                touched |= _ingest_source(source, settings, store, report, clock(), run_date, http)
            except SourceError as err:
                report.error = err.describe()
            except AggregatorError:
                raise
            except Exception as err:  # a bug in one parser must not stop the others
                log.exception("unexpected error reading source %s", source.name)
                report.error = f"unexpected {type(err).__name__}: {err} (please report this bug)"
            if report.error is not None:
                with store.transaction():
                    store.record_source(
                        name=source.name,
                        kind=source.kind,
                        location=source.location,
                        now=clock(),
                        error=report.error,
                    )
    finally:
        if own_client and http is not None:
            http.close()
    return reports, touched


def _ingest_source(
    source: Source,
    settings: Settings,
    store: Store,
    report: SourceReport,
    now: datetime,
    run_date: date,
    client: httpx.Client | None,
) -> set[date]:
    fetched = fetch(source, settings.fetch, client)
    document = unchanged.fingerprint(
        source, fetched.data, content_type=fetched.content_type, parser=settings.fetch.parser
    )
    last = store.last_document(source.name)
    if last is not None and last[0] == document:  # the same bytes, read the same way
        report.counts[Outcome.UNCHANGED.value] = last[1]
        with store.transaction():
            store.record_source(
                name=source.name, kind=source.kind, location=source.location, now=now, error=None
            )
        return set()
    parser = get_parser(source.kind, settings.fetch.parser)
    parsed = parser(
        fetched.data,
        source=source.name,
        options=ParseOptions(
            timezone=source.timezone,
            location=source.location,
            content_type=fetched.content_type,
        ),
    )
    report.warnings.extend(parsed.warnings)
    entries = [
        normalize(item, source=source.name, position=index)
        for index, item in enumerate(parsed.entries, start=1)
    ]
    decisions = decide_all(source, entries, store, now=now, today=run_date)
    touched: set[date] = set()
    for item in decisions:
        report.counts[item.outcome.value] += 1
        if item.outcome is Outcome.NEW:
            touched.add(item.row.digest_day)
        elif item.outcome is Outcome.UPDATED:
            touched.add(run_date)
    with store.transaction():
        store.apply(decisions, source=source.name, now=now)
        store.record_source(
            name=source.name,
            kind=source.kind,
            location=source.location,
            now=now,
            error=None,
            new_entries=report.counts[Outcome.NEW.value],
        )
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
        title=settings.publish.title, feeds=links, days=store.digest_days(), base_url=base
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
    return digests.choose(
        day,
        title=settings.digest.title,
        new=store.entries_for_day(day),
        updated=store.entries_updated_between(start, end, before_day=day),
    )


def write_digests(settings: Settings, store: Store, days: set[date]) -> tuple[int, list[date]]:
    """Render and write the digests of ``days`` plus any stored day missing its files."""
    out = settings.publish.output_dir / "digests"
    wanted = set(days)
    for day in store.digest_days():
        if not (out / day.isoformat() / "index.html").is_file():
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
) -> RunSummary:
    """One run: ingest every source, publish feeds and the index, write digests."""
    run_date = run_date or today_in(settings, clock())
    summary = RunSummary(run_date=run_date)
    with Store(settings.storage.database) as store:
        run_id = store.start_run(now=clock(), run_date=run_date)
        status = "failed"
        try:
            touched: set[date] = set()
            if do_ingest:
                summary.sources, touched = ingest(
                    settings, store, clock=clock, run_date=run_date, client=client
                )
            if do_digest:
                summary.digests_written, summary.digest_days = write_digests(
                    settings, store, touched
                )
            if do_publish:
                summary.feeds_written, summary.feeds_total = publish_feeds(
                    settings, store, clock=clock
                )
                summary.index_written = True
            status = "partial" if summary.failed else "ok"
        finally:
            store.finish_run(run_id, now=clock(), status=status, summary=summary.as_dict())
    return summary
