"""Backfill: past arXiv listings from the export API, stored through plans like a feed's.

arXiv's feeds only hold the latest listing, so a day the tool did not run is gone from
them. :func:`backfill` asks the export API (:mod:`aggregator._sources.arxiv.api`) for
each arXiv source's listings of a range of days, plans them
(:func:`.plan.plan_listings`: same identity, decisions, announce types and digest days
as a feed delivery) and has storage apply the plans, near-duplicate linking included.

Takes no lock and keeps no run record, writes no digest and publishes nothing: the
caller (the facade) does those around it. Each source's listings are downloaded before
its plan is applied, never while a write transaction is open. The clock and the sleep
are injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import httpx

from .._common.wording import plural
from .._fetch.http import make_client
from .._neardup import linking
from .._sources.arxiv.announce import left_out_note
from .._sources.arxiv.api import PAGE_SIZE, Pacer, download_listings
from .._storage.protocol import Storage
from ..config.settings import Settings
from ..config.sources import Source
from ..errors import SourceError
from ..types import Clock, ParsedEntry
from .ingest import SourceReport
from .plan import Linker, plan_listings
from .reading import normalize_all


@dataclass
class BackfillReport:
    """What a backfill of the listings ``start``..``end`` did."""

    start: date
    end: date
    sources: list[SourceReport] = field(default_factory=list)
    #: Requests made to the export API.
    requests: int = 0
    #: The listing days whose papers were stored: their digests are to be written.
    touched: set[date] = field(default_factory=set)
    #: The digest days written afterwards, by whoever writes them.
    digest_days: list[date] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceReport]:
        return [report for report in self.sources if not report.ok]


def backfill_sources(settings: Settings, names: Sequence[str] = ()) -> list[Source]:
    """The arXiv sources with categories to follow (only those named, if any)."""
    return [
        s
        for s in settings.sources
        if s.kind == "arxiv" and s.follow and (not names or s.name in names)
    ]


def backfill(
    settings: Settings,
    store: Storage,
    *,
    start: date,
    end: date,
    names: Sequence[str] = (),
    clock: Clock,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
    page_size: int = PAGE_SIZE,
) -> BackfillReport:
    """Store the listings of ``start``..``end`` for the arXiv sources (or those named).

    A failing source becomes a report with its error; the others go on. Raises
    StorageError when the database fails.
    """
    report = BackfillReport(start, end)
    pacer = Pacer(settings.arxiv.api_delay, sleep)
    http = client or make_client(settings.fetch)
    # Entries stored before near-duplicate linking get their features first, as in a run.
    linking.index_missing(store, settings.dedup, now=clock())
    link = linking.linker(store, settings.dedup)
    try:
        for source in backfill_sources(settings, names):
            found = SourceReport(source.name, source.kind, settings.arxiv.api_url)
            report.sources.append(found)
            try:
                listings = download_listings(
                    source,
                    settings,
                    start=start,
                    end=end,
                    client=http,
                    pacer=pacer,
                    page_size=page_size,
                )
            except SourceError as err:
                found.error = err.describe()
                continue
            found.warnings.extend(listings.warnings)
            report.touched |= _store(settings, store, source, listings.entries, found, clock, link)
            found.note = (found.note or "") + left_out_note(listings.left_out, source.follow)
    finally:
        report.requests = pacer.requests
        if client is None:
            http.close()
    return report


def _store(
    settings: Settings,
    store: Storage,
    source: Source,
    items: list[ParsedEntry],
    report: SourceReport,
    clock: Clock,
    link: Linker,
) -> set[date]:
    """Plan and apply one source's papers; the listing days they touched."""
    entries = normalize_all(items, source.name, report.warnings)
    now = clock()
    known = store.known(source.name, [entry.key for entry in entries])
    plan = plan_listings(source, entries, known, now=now, today=now.date(), dedup=settings.dedup)
    [done] = store.apply([plan], link=link)
    report.applied(done)
    report.note = (
        f"{plural(len(items), 'paper')} over {plural(len(plan.batches), 'listing day')},"
        f" {done.counts.new} new to the database"
    )
    return set(plan.digest_days)
