"""Backfilling arXiv listings from the export API: ``aggregator arxiv backfill``.

arXiv's feeds only hold the latest listing, so a day the tool did not run is gone from
them. This asks the export API (``[arxiv].api_url``) for the papers of each arXiv
source's categories updated in the submission windows of the wanted listing days, one
request at a time and at most one every ``[arxiv].api_delay`` seconds (3, as arXiv asks),
and stores them like a feed delivery: same identity, dedup, announce types, and digest
days (the listing day the schedule gives each version; see :mod:`.parsers.arxiv_api`).

Wires stages only: HTTP goes through :mod:`.fetch`, parsing through the API parser, the
decisions through :mod:`.dedup` and writes through :class:`.Store`. The clock and the
sleep are injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urlencode

import httpx

from .arxiv_calendar import Calendar
from .config import Settings
from .dedup import Outcome
from .errors import SourceError
from .fetch import fetch, make_client
from .normalize import normalize
from .parsers.arxiv_api import parse_page
from .pipeline import Clock, SourceReport, decide_all, publish_feeds, write_digests
from .sources import Source
from .store import Store
from .types import ParsedEntry

#: Results asked for per request (the API allows up to 2000; smaller pages fail less).
PAGE_SIZE = 200
#: Pages per source at most: a safety net against a query that never ends.
MAX_PAGES = 50


@dataclass
class BackfillSummary:
    start: date
    end: date
    sources: list[SourceReport] = field(default_factory=list)
    requests: int = 0
    digest_days: list[date] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceReport]:
        return [report for report in self.sources if not report.ok]


def query_url(
    api_url: str,
    categories: Sequence[str],
    since: datetime,
    until: datetime,
    page_size: int = PAGE_SIZE,
) -> str:
    """The API query for papers of ``categories`` last updated in [since, until)."""
    cats = " OR ".join(f"cat:{c}" if "." in c or "-" in c else f"cat:{c}.*" for c in categories)
    span = f"[{since.astimezone(UTC):%Y%m%d%H%M} TO {until.astimezone(UTC):%Y%m%d%H%M}]"
    params = {
        "search_query": f"({cats}) AND lastUpdatedDate:{span}",
        "sortBy": "lastUpdatedDate",
        "sortOrder": "ascending",
        "max_results": str(page_size),
    }
    return f"{api_url}?{urlencode(params)}"


def backfill(
    settings: Settings,
    *,
    start: date,
    end: date,
    names: Sequence[str] = (),
    clock: Clock,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
    page_size: int = PAGE_SIZE,
) -> BackfillSummary:
    """Store the listings of ``start``..``end`` for the arXiv sources (or those named).

    A failing source becomes a report with its error; the others go on.
    """
    calendar = Calendar(holidays=frozenset(settings.arxiv.holidays))
    summary = BackfillSummary(start, end)
    chosen = [
        s
        for s in settings.sources
        if s.kind == "arxiv" and s.follow and (not names or s.name in names)
    ]
    # The window runs from the deadline of the listing before ``start`` to ``end``'s.
    since = calendar.deadline(calendar.previous(start))
    until = calendar.deadline(end)

    def wait() -> None:
        """Keep to arXiv's rate: one request at a time, ``api_delay`` seconds apart."""
        if summary.requests:
            sleep(settings.arxiv.api_delay)
        summary.requests += 1

    touched: set[date] = set()
    http = client or make_client(settings.fetch)
    try:
        with Store(settings.storage.database) as store:
            for source in chosen:
                report = SourceReport(source.name, source.kind, settings.arxiv.api_url)
                summary.sources.append(report)
                try:
                    items = _download(
                        source, settings, (since, until), calendar, http, wait, report, page_size
                    )
                except SourceError as err:
                    report.error = err.describe()
                    continue
                wanted = [
                    item
                    for item in items
                    if item.announced is not None and start <= item.announced <= end
                ]
                touched |= _store(source, wanted, store, report, clock())
            if touched:
                summary.digest_days = write_digests(settings, store, touched)[1]
                publish_feeds(settings, store, clock=clock)
    finally:
        if client is None:
            http.close()
    return summary


def _download(
    source: Source,
    settings: Settings,
    window: tuple[datetime, datetime],
    calendar: Calendar,
    http: httpx.Client,
    wait: Callable[[], None],
    report: SourceReport,
    page_size: int,
) -> list[ParsedEntry]:
    base = query_url(settings.arxiv.api_url, source.follow, *window, page_size=page_size)
    items: list[ParsedEntry] = []
    offset = 0
    for _ in range(MAX_PAGES):
        wait()
        page_source = Source(name=source.name, kind="arxiv", url=f"{base}&start={offset}")
        fetched = fetch(page_source, settings.fetch, http)
        page = parse_page(
            fetched.data, source=source.name, followed=source.follow, calendar=calendar
        )
        report.warnings.extend(page.warnings)
        items.extend(page.entries)
        offset += page_size
        if not page.entries or offset >= page.total:
            break
    else:
        report.warnings.append(
            f"stopped after {MAX_PAGES} pages of {page_size}: backfill fewer days at a time"
        )
    return items


def _store(
    source: Source, items: list[ParsedEntry], store: Store, report: SourceReport, now: datetime
) -> set[date]:
    entries = [normalize(item, source=source.name, position=n) for n, item in enumerate(items, 1)]
    decisions = decide_all(source, entries, store, now=now, today=now.date())
    days: dict[date, int] = {}
    for decision in decisions:
        report.counts[decision.outcome.value] += 1
        if decision.announced is not None:
            days[decision.announced] = days.get(decision.announced, 0) + 1
    with store.transaction():
        store.apply(decisions, source=source.name, now=now)
        store.record_announcements(decisions, source=source.name)
        for day, count in days.items():
            store.record_batch(source.name, day, entries=count, now=now)
    new = report.counts[Outcome.NEW.value]
    report.note = f"{len(items)} papers over {len(days)} listing days, {new} new to the database"
    return set(days)
