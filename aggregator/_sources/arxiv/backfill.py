"""``aggregator arxiv backfill``: storing past arXiv listings from the export API.

arXiv's feeds only hold the latest listing, so a day the tool did not run is gone from
them. This asks the export API (see :mod:`.arxiv_api`) for each arXiv source's listings
of a range of days and stores them like a feed delivery: same identity, dedup, announce
types and digest days (the listing day arXiv's schedule gives each version; see
:mod:`.parsers.arxiv_api`), then writes those days' digests and the feeds.

Wires stages only. The clock and the sleep are injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import httpx

from ..._common.wording import plural
from ..._fetch.http import make_client
from ..._output.build import publish_feeds, write_digests
from ..._storage.sqlite import Store
from ..._update.decide import Outcome
from ..._update.ingest import Clock, SourceReport, decide_all
from ..._update.reading import normalize_all
from ...config.settings import Settings
from ...config.sources import Source
from ...errors import SourceError
from ...types import ParsedEntry
from .api import PAGE_SIZE, Pacer, download_listings


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

    A failing source becomes a report with its error; the others go on. The caller
    (:meth:`aggregator.Aggregator.backfill`) holds the run lock and has checked that the
    database may be created.
    """
    summary = BackfillSummary(start, end)
    chosen = [
        s
        for s in settings.sources
        if s.kind == "arxiv" and s.follow and (not names or s.name in names)
    ]
    pacer = Pacer(settings.arxiv.api_delay, sleep)
    touched: set[date] = set()
    http = client or make_client(settings.fetch)
    try:
        with Store(settings.storage.database) as store:
            for source in chosen:
                report = SourceReport(source.name, source.kind, settings.arxiv.api_url)
                summary.sources.append(report)
                try:
                    found = download_listings(
                        source,
                        settings,
                        start=start,
                        end=end,
                        client=http,
                        pacer=pacer,
                        page_size=page_size,
                    )
                except SourceError as err:
                    report.error = err.describe()
                    continue
                report.warnings.extend(found.warnings)
                touched |= _store(source, found.entries, store, report, clock())
            if touched:
                summary.digest_days = write_digests(settings, store, touched)[1]
                publish_feeds(settings, store, clock=clock)
    finally:
        summary.requests = pacer.requests
        if client is None:
            http.close()
    return summary


def _store(
    source: Source, items: list[ParsedEntry], store: Store, report: SourceReport, now: datetime
) -> set[date]:
    entries = list(normalize_all(items, source.name, report.warnings))
    decisions = decide_all(source, entries, store, now=now, today=now.date())
    days: dict[date, int] = {}
    for decision in decisions:
        report.counts[decision.outcome.value] += 1
        if decision.announced is not None:
            days[decision.announced] = days.get(decision.announced, 0) + 1
    with store.transaction():
        store.apply(decisions, source=source.name, now=now)
        store.record_announcements(decisions, source=source.name)
        store.mark_digests_due(days, now=now)
        for day, count in days.items():
            store.record_batch(source.name, day, entries=count, now=now)
    new = report.counts[Outcome.NEW.value]
    report.note = (
        f"{plural(len(items), 'paper')} over {plural(len(days), 'listing day')},"
        f" {new} new to the database"
    )
    return set(days)
