"""``aggregator arxiv backfill`` as the CLI calls it, until the facade takes it over.

Opens the database, stores the listings through :func:`aggregator._update.backfill.backfill`
(plans applied like a feed's, near-duplicate linking included), then writes the digests
of the days touched and the feeds. The facade (``Aggregator.backfill``) is to do the
same inside its run lock and run record; this wrapper takes neither, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date

import httpx

from ..._storage.sqlite import Store
from ..._update.backfill import BackfillReport
from ..._update.backfill import backfill as store_listings
from ...config.settings import Settings
from ...core import Clock, prepare_database, publish_feeds, write_digests
from .api import PAGE_SIZE

#: The name the CLI has known the report by.
BackfillSummary = BackfillReport


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
) -> BackfillReport:
    """Store the listings of ``start``..``end`` for the arXiv sources (or those named),
    then write those days' digests and the feeds.

    A failing source becomes a report with its error; the others go on.
    """
    prepare_database(settings)
    with Store(settings.storage.database) as store:
        report = store_listings(
            settings,
            store,
            start=start,
            end=end,
            names=names,
            clock=clock,
            sleep=sleep,
            client=client,
            page_size=page_size,
        )
        if report.touched:
            report.digest_days = write_digests(settings, store, report.touched)[1]
            publish_feeds(settings, store, clock=clock)
    return report
