"""Ranking in the pipeline: what the facade asks of it when it publishes and mails.

Owns deciding whether ranking is configured at all (else nothing is built and
scikit-learn is never imported), each subscriber's :class:`~aggregator.types.Personal`
part of a day's digest, the published digest's order (the default profile), and the
entries of each personal feed in rank order. Writes no file and sends nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._common.matching import matching_keywords
from .._output import personal
from .._output.digest import Digest, ranked
from .._storage.protocol import Storage
from ..config.mail import Subscriber
from ..config.settings import Settings
from ..types import Personal, StoredEntry
from . import order
from .ranker import Ranker

#: The name of the secret personal feed tokens are keyed with.
FEED_SECRET = "personal-feed"


def configured(settings: Settings) -> bool:
    """Whether any interests or personal feeds are configured."""
    return (
        not settings.interests.is_empty
        or any(s.interests is not None and not s.interests.is_empty for s in settings.subscribers)
        or any(s.personal_feed for s in settings.subscribers)
    )


def ranker_for(settings: Settings, store: Storage, *, compute: bool = True) -> Ranker | None:
    """A ranker over ``store``, or None when no interests are configured."""
    return Ranker(settings, store, compute=compute) if configured(settings) else None


def _entries(digest: Digest) -> list[StoredEntry]:
    found = {item.entry.key: item.entry for s in digest.sections for item in s.items}
    return list(found.values())


def personal_parts(
    settings: Settings, store: Storage, digest: Digest, ranker: Ranker | None
) -> dict[str, Personal]:
    """Each subscriber's ranks for the entries of ``digest`` and their feed's address."""
    if ranker is None:
        return {}
    entries = _entries(digest)
    secret = store.secret(FEED_SECRET) if any(s.personal_feed for s in settings.subscribers) else ""
    parts: dict[str, Personal] = {}
    for subscriber in settings.subscribers:
        ranks = ranker.ranks(entries, ranker.profile_for(subscriber))
        url = (
            personal.feed_url(settings, personal.feed_token(secret, subscriber.email))
            if subscriber.personal_feed
            else None
        )
        parts[subscriber.email] = Personal(ranks=ranks, feed_url=url)
    return parts


def published_order(digest: Digest, ranker: Ranker | None) -> Digest:
    """The published digest, in the default profile's order (unchanged without one)."""
    if ranker is None:
        return digest
    profile = ranker.profile_for(None)
    if profile.is_empty:
        return digest
    return ranked(digest, ranker.ranks(_entries(digest), profile))


def published_fingerprint(ranker: Ranker | None) -> str:
    """Changes when the published digests' order may: the default profile."""
    return "" if ranker is None else ranker.profile_for(None).fingerprint


def personal_feeds(
    settings: Settings, ranker: Ranker, candidates: Sequence[StoredEntry]
) -> list[tuple[Subscriber, str, list[StoredEntry]]]:
    """(subscriber, token, entries in their rank order) of each personal feed.

    ``candidates``: the entries a feed may hold (the newest, as the shared feeds
    hold them), newest first; each subscriber's categories and keywords apply.
    """
    wanted = [s for s in settings.subscribers if s.personal_feed]
    if not wanted:
        return []
    secret = ranker.store.secret(FEED_SECRET)
    feeds = []
    for subscriber in wanted:
        entries = [e for e in candidates if _selected(e, subscriber)]
        table = ranker.ranks(entries, ranker.profile_for(subscriber))
        feeds.append(
            (
                subscriber,
                personal.feed_token(secret, subscriber.email),
                order.ordered(entries, table),
            )
        )
    return feeds


def _selected(entry: StoredEntry, subscriber: Subscriber) -> bool:
    categories = {c.casefold() for c in subscriber.categories}
    if categories and not categories & {c.casefold() for c in entry.categories}:
        return False
    if subscriber.keywords:
        return bool(matching_keywords(order.entry_text(entry), subscriber.keywords))
    return True
