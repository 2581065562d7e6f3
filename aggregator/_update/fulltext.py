"""Full text for summary-only feeds (``fetch_full_text = true``).

Owns fetching the article behind each *new* entry's link and putting what the page
reader extracts (:mod:`aggregator._sources.page`) into the entry's content, for the
digest and the published feed. The feed's own summary stays the summary, and the
entry's content hash stays the feed's, so the next run sees the same entry as
unchanged and never asks for its article again. An article that was not had (a
timeout, a 5xx, too large, refused; or over the per-run cap) is recorded, and tried
again on later runs as :mod:`.article_state` says (up to 3 tries, with backoff); when
had, it goes into the stored entry. The cache is the database.

Politeness is the fetch stage's: the article requests go through a
:class:`~aggregator._fetch.http.Fetcher` (at most ``per_host`` at a time per host,
``min_interval`` between starts, the run's timeouts), with responses capped at
:data:`MAX_ARTICLE_BYTES`. An article that cannot be fetched or read leaves its
entry as the feed gave it, with a warning; it never fails the source. Called with no
write transaction open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from .._fetch.decoding import prepare
from .._fetch.http import Fetcher
from .._sources import page
from .._sources.common import ParseOptions
from ..config.settings import FetchSettings
from ..config.sources import Source
from ..errors import AggregatorError, FetchError, ParseError
from ..types import Entry
from . import article_state
from .article_state import PENDING, PERMANENT_STATUSES, ArticleFetch
from .normalize import sanitize_html

#: Largest article page read (after decompression); the feed's own limit if lower.
MAX_ARTICLE_BYTES = 5_000_000
#: Most articles fetched for one source in one run (a feed's first run may list
#: hundreds of old entries; the rest keep the feed's text).
MAX_ARTICLES = 50


def article_settings(settings: FetchSettings) -> FetchSettings:
    """The fetch settings of article requests: the run's, with the article size cap."""
    return dataclasses.replace(settings, max_bytes=min(settings.max_bytes, MAX_ARTICLE_BYTES))


@dataclass(frozen=True)
class Outcome:
    """One article fetch: the article (sanitised HTML), or why there is none."""

    key: str
    link: str
    content: str | None = None
    error: str | None = None
    #: The failure will not pass (HTTP 404 or 410, no article text in the page).
    permanent: bool = False


def with_full_text(
    source: Source,
    entries: Sequence[Entry],
    fetcher: Fetcher,
    *,
    warnings: list[str],
) -> tuple[list[Entry], list[Outcome], list[Entry]]:
    """``entries`` with the extracted article as content, for those with an http(s) link
    (at most :data:`MAX_ARTICLES`); the others, and failures, as they were. Also the
    outcome of each fetch, and the entries with a link left for a later run (over
    :data:`MAX_ARTICLES`)."""
    linked = [i for i, entry in enumerate(entries) if entry.link]
    wanted, later = linked[:MAX_ARTICLES], [entries[i] for i in linked[MAX_ARTICLES:]]
    result = list(entries)
    outcomes = fetch_articles(
        source, [(entries[i].key, entries[i].link or "") for i in wanted], fetcher, warnings
    )
    for index, outcome in zip(wanted, outcomes, strict=True):
        if outcome.content is not None:
            result[index] = dataclasses.replace(result[index], content=outcome.content)
    return result, outcomes, later


def records_after(
    source: Source, outcomes: Sequence[Outcome], later: Sequence[Entry], now: datetime
) -> list[ArticleFetch]:
    """The records of a source's new entries whose article was not had: failed this run
    (tried again later, or given up), or left for a later run (``later``)."""
    records = [
        article_state.after_failure(
            None,
            key=outcome.key,
            source=source.name,
            link=outcome.link,
            error=outcome.error or "",
            permanent=outcome.permanent,
            now=now,
        )
        for outcome in outcomes
        if outcome.content is None
    ]
    waiting = f"not fetched yet: at most {MAX_ARTICLES} articles per source per run"
    records += [
        ArticleFetch(entry.key, source.name, entry.link or "", 0, PENDING, now, waiting)
        for entry in later
    ]
    return records


def retry(
    source: Source,
    due: Sequence[ArticleFetch],
    fetcher: Fetcher,
    *,
    now: datetime,
    warnings: list[str],
) -> tuple[dict[str, str], list[ArticleFetch]]:
    """Try the ``due`` articles again: those had (entry key -> article), and the records
    of those that failed again."""
    outcomes = fetch_articles(source, [(r.key, r.link) for r in due], fetcher, warnings)
    had: dict[str, str] = {}
    failed: list[ArticleFetch] = []
    for record, outcome in zip(due, outcomes, strict=True):
        if outcome.content is not None:
            had[record.key] = outcome.content
            continue
        failed.append(
            article_state.after_failure(
                record,
                key=record.key,
                source=source.name,
                link=record.link,
                error=outcome.error or "",
                permanent=outcome.permanent,
                now=now,
            )
        )
    return had, failed


def fetch_articles(
    source: Source, wanted: Sequence[tuple[str, str]], fetcher: Fetcher, warnings: list[str]
) -> list[Outcome]:
    """Fetch and extract the article of each (entry key, link) of ``wanted``, politely
    (at most ``per_host`` at a time), in order."""
    if not wanted:
        return []
    workers = max(1, min(fetcher.settings.per_host, len(wanted)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="article") as pool:
        return list(
            pool.map(lambda pair: _article(source, pair[0], pair[1], fetcher, warnings), wanted)
        )


def _article(source: Source, key: str, link: str, fetcher: Fetcher, warnings: list[str]) -> Outcome:
    try:
        fetched = fetcher.get(source.name, link, access=source.access)
        prepared = prepare(fetched.data, fetched.content_type, kind="page", source=source.name)
        options = ParseOptions(
            timezone=source.timezone,
            location=fetched.url or link,
            content_type=prepared.content_type or "text/html",
        )
        parsed = page.parse(prepared.data, source=source.name, options=options)
    except AggregatorError as err:
        warnings.append(f"full text of {link}: {err}")
        permanent = isinstance(err, ParseError) or (
            isinstance(err, FetchError) and err.status in PERMANENT_STATUSES
        )
        return Outcome(key, link, error=str(err), permanent=permanent)
    content = parsed.entries[0].content if parsed.entries else None
    content = sanitize_html(content) if content else None
    if content is None:
        warnings.append(f"full text of {link}: no article text left once cleaned")
        return Outcome(key, link, error="no article text left once cleaned", permanent=True)
    return Outcome(key, link, content=content)
