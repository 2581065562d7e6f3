"""When a failed article fetch (``fetch_full_text``) is tried again, and when it stops.

Owns the retry rules, as pure functions over :class:`ArticleFetch` records (the store
keeps them, one per entry whose article is not had yet): a failure that may pass (a
timeout, a refused connection, HTTP 5xx or 429, a page over the size limit, any other
fetch error) is tried again on a later run, after :func:`backoff`, up to
:data:`MAX_TRIES` tries in all; a failure that will not pass (HTTP 404 or 410, a page
with no article text in it) is given up at once. An article that was had is never
asked again: its record is deleted and the entry keeps the article.

Never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: Tries of one article in all (the first, when the entry is new, included).
MAX_TRIES = 3
#: The wait after the first failure; each further failure waits four times longer.
FIRST_WAIT = timedelta(hours=2)
#: HTTP statuses that say the article is not there and will not be.
PERMANENT_STATUSES = frozenset({404, 410})

PENDING = "pending"
FAILED = "failed"


@dataclass(frozen=True)
class ArticleFetch:
    """One entry's article that has not been had yet."""

    #: The entry's key, the source that asked for it, and the link fetched.
    key: str
    source: str
    link: str
    #: How many times it was tried, and how it stands: ``pending`` (tried again at
    #: ``next_attempt`` or the first run after it) or ``failed`` (given up).
    tries: int
    state: str
    next_attempt: datetime | None
    last_error: str


def backoff(tries: int) -> timedelta:
    """The wait after the ``tries``-th failed try: 2 h, 8 h, 32 h, ..."""
    return FIRST_WAIT * int(4 ** max(tries - 1, 0))


def after_failure(
    previous: ArticleFetch | None,
    *,
    key: str,
    source: str,
    link: str,
    error: str,
    permanent: bool,
    now: datetime,
) -> ArticleFetch:
    """The record after a failed try (``previous``: the record before it, if any)."""
    tries = (previous.tries if previous else 0) + 1
    if permanent or tries >= MAX_TRIES:
        return ArticleFetch(key, source, link, tries, FAILED, None, error)
    return ArticleFetch(key, source, link, tries, PENDING, now + backoff(tries), error)


def is_due(record: ArticleFetch, now: datetime) -> bool:
    """Whether ``record`` is to be tried again now."""
    return (
        record.state == PENDING and record.next_attempt is not None and record.next_attempt <= now
    )
