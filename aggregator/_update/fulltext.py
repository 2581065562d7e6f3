"""Full text for summary-only feeds (``fetch_full_text = true``).

Owns fetching the article behind each *new* entry's link and putting what the page
reader extracts (:mod:`aggregator._sources.page`) into the entry's content, for the
digest and the published feed. The feed's own summary stays the summary, and the
entry's content hash stays the feed's, so the next run sees the same entry as
unchanged and never asks for the article again: each article is fetched once, when
its entry is new (the cache is the database).

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

from .._fetch.decoding import prepare
from .._fetch.http import Fetcher
from .._sources import page
from .._sources.common import ParseOptions
from ..config.settings import FetchSettings
from ..config.sources import Source
from ..errors import AggregatorError
from ..types import Entry
from .normalize import sanitize_html

#: Largest article page read (after decompression); the feed's own limit if lower.
MAX_ARTICLE_BYTES = 5_000_000
#: Most articles fetched for one source in one run (a feed's first run may list
#: hundreds of old entries; the rest keep the feed's text).
MAX_ARTICLES = 50


def article_settings(settings: FetchSettings) -> FetchSettings:
    """The fetch settings of article requests: the run's, with the article size cap."""
    return dataclasses.replace(settings, max_bytes=min(settings.max_bytes, MAX_ARTICLE_BYTES))


def with_full_text(
    source: Source,
    entries: Sequence[Entry],
    fetcher: Fetcher,
    *,
    warnings: list[str],
) -> list[Entry]:
    """``entries`` with the extracted article as content, for those with an http(s) link
    (at most :data:`MAX_ARTICLES`); the others, and failures, as they were."""
    wanted = [i for i, entry in enumerate(entries) if entry.link][:MAX_ARTICLES]
    result = list(entries)
    if not wanted:
        return result
    workers = max(1, min(fetcher.settings.per_host, len(wanted)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="article") as pool:
        found = pool.map(lambda i: _article(source, entries[i], fetcher, warnings), wanted)
        for index, content in zip(wanted, found, strict=True):
            if content is not None:
                result[index] = dataclasses.replace(result[index], content=content)
    return result


def _article(source: Source, entry: Entry, fetcher: Fetcher, warnings: list[str]) -> str | None:
    assert entry.link is not None
    try:
        fetched = fetcher.get(source.name, entry.link, access=source.access)
        prepared = prepare(fetched.data, fetched.content_type, kind="page", source=source.name)
        options = ParseOptions(
            timezone=source.timezone,
            location=fetched.url or entry.link,
            content_type=prepared.content_type or "text/html",
        )
        parsed = page.parse(prepared.data, source=source.name, options=options)
    except AggregatorError as err:
        warnings.append(f"full text of {entry.link}: {err}")
        return None
    content = parsed.entries[0].content if parsed.entries else None
    return sanitize_html(content) if content else None
