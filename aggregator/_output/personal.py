"""Personal feeds: one Atom feed per subscriber who asks for it, in their rank order.

Owns where a personal feed lives (``feeds/personal/<token>.atom``, the token a keyed
hash of the address with the installation's secret: unguessable from the address,
the same on every run) and writing it through the publish stage's Atom writer and
atomic file writer. Chooses no entries and ranks nothing: the pipeline hands it the
entries in order.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ..config.settings import Settings
from ..types import StoredEntry
from . import feedwriter, publish

FOLDER = "personal"


def feed_token(secret: str, address: str) -> str:
    """128 bits of HMAC-SHA256(secret, address): the personal feed's file name."""
    digest = hmac.new(secret.encode(), f"personal-feed:{address.lower()}".encode(), "sha256")
    return digest.hexdigest()[:32]


def feed_url(settings: Settings, token: str) -> str:
    return f"{settings.publish.base_url}feeds/{FOLDER}/{token}.atom"


def feed_path(settings: Settings, token: str) -> Path:
    return settings.publish.output_dir / "feeds" / FOLDER / f"{token}.atom"


def write_personal_feed(
    settings: Settings,
    token: str,
    entries: Sequence[StoredEntry],
    *,
    name: str | None,
    fallback_updated: datetime,
) -> bool:
    """Write one subscriber's feed (``entries`` in their order). True when it changed."""
    title = f"{settings.publish.title}: for {name}" if name else f"{settings.publish.title}: yours"
    data = feedwriter.build_feed(
        entries,
        category=f"{FOLDER}/{token}",
        title=title,
        base_url=settings.publish.base_url,
        self_href=feed_url(settings, token),
        fallback_updated=fallback_updated,
    )
    return publish.write_atomic(feed_path(settings, token), data)
