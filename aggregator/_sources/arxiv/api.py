"""Asking arXiv's export API for the papers of past listing days.

Owns the query (the followed categories' papers last updated in the submission windows
of the wanted listing days), paging, and arXiv's rate: one request at a time and at
most one every ``[arxiv].api_delay`` seconds (3, as arXiv asks). Hands back
:class:`ParsedEntry` values dated by listing day, like a feed's; storing them is the
caller's business (``aggregator._update.ingest`` for a run's catch-up,
``aggregator._update.backfill`` for the command), who calls here with no write
transaction open: these calls wait on the network, seconds apart. HTTP goes through
:mod:`aggregator._fetch.http`; the sleep is injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urlencode

import httpx

from ..._fetch.http import fetch, make_client
from ...config.settings import Settings
from ...config.sources import Source
from ...errors import SourceError
from ...types import ParsedEntry
from .announce import left_out_note
from .api_page import parse_page
from .calendar import BatchState, Calendar, backfill_hint

#: Results asked for per request (the API allows up to 2000; smaller pages fail less).
PAGE_SIZE = 200
#: Pages per query at most: a safety net against a query that never ends.
MAX_PAGES = 50


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


@dataclass
class Pacer:
    """One request at a time, ``delay`` seconds apart (shared by all queries of a run)."""

    delay: float
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0

    def wait(self) -> None:
        if self.requests:
            self.sleep(self.delay)
        self.requests += 1


@dataclass
class Listings:
    entries: list[ParsedEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Results in none of the followed categories, left out.
    left_out: int = 0


def download_listings(
    source: Source,
    settings: Settings,
    *,
    start: date,
    end: date,
    client: httpx.Client,
    pacer: Pacer,
    page_size: int = PAGE_SIZE,
) -> Listings:
    """The papers arXiv's schedule puts in the listings ``start``..``end`` of ``source``'s
    followed categories. Raises FetchError or ParseError (naming the source)."""
    calendar = Calendar(holidays=frozenset(settings.arxiv.holidays))
    # The window runs from the deadline of the listing before ``start`` to ``end``'s.
    since = calendar.deadline(calendar.previous(start))
    until = calendar.deadline(end)
    base = query_url(settings.arxiv.api_url, source.follow, since, until, page_size=page_size)
    found = Listings()
    offset = 0
    for _ in range(MAX_PAGES):
        pacer.wait()
        page_source = Source(name=source.name, kind="arxiv", url=f"{base}&start={offset}")
        fetched = fetch(page_source, settings.fetch, client)
        page = parse_page(
            fetched.data, source=source.name, followed=source.follow, calendar=calendar
        )
        found.warnings.extend(page.warnings)
        found.left_out += page.left_out
        found.entries.extend(
            e for e in page.entries if e.announced is not None and start <= e.announced <= end
        )
        offset += page_size
        if not page.entries or offset >= page.total:
            break
    else:
        found.warnings.append(
            f"stopped after {MAX_PAGES} pages of {page_size}: backfill fewer days at a time"
        )
    return found


def catch_up(
    source: Source,
    settings: Settings,
    state: BatchState,
    *,
    client: httpx.Client | None,
    warnings: list[str],
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[ParsedEntry], str]:
    """The papers of the listing days a run found missed, and a note saying so.

    Only up to ``[arxiv].catch_up_days`` days, and only for sources with categories;
    beyond that, or when the API fails (a warning, not an error: the feed's own batch is
    still stored), the note says which backfill command to run.
    """
    missed = state.missed
    if not missed:
        return [], ""
    limit = settings.arxiv.catch_up_days
    if not source.follow or len(missed) > limit:
        why = "too many days to catch up during a run" if limit and source.follow else ""
        return [], f" (no longer in the feed{': ' + why if why else ''}; {backfill_hint(missed)})"
    http = client or make_client(settings.fetch)
    try:
        found = download_listings(
            source,
            settings,
            start=missed[0],
            end=missed[-1],
            client=http,
            pacer=Pacer(settings.arxiv.api_delay, sleep),
        )
    except SourceError as err:
        warnings.append(f"could not catch up the missed days: {err.describe()}")
        return [], f" (not caught up; {backfill_hint(missed)})"
    finally:
        if client is None:
            http.close()
    warnings.extend(found.warnings)
    count = len(found.entries)
    left_out = left_out_note(found.left_out, source.follow).removeprefix("; ")
    return found.entries, (
        f", caught up from the export API ({count} paper{'s' * (count != 1)}"
        f"{'; ' + left_out if left_out else ''})"
    )
