"""Archived feeds (RFC 5005): every entry that left a current feed stays reachable.

Owns which digest days of a feed are closed (all but its ``feed_days`` newest, at least
the newest one), cutting each closed day into pages of at most ``feed_max_entries``,
the pages' file names (``feeds/<stem>/<YYYY-MM-DD>.atom``, then ``<YYYY-MM-DD>.2.atom``
and on for a day's older entries), their ``prev-archive``, ``next-archive`` and
``current`` links, and writing a page only when it is missing or its day's entries or
neighbours changed. Never speaks SQL beyond the store's named queries and never fetches.

A page's entries are fixed when it is written: later revisions of its entries are not
written into it (they are in the current feed while their day is recent). It is
written again only when its day gains or loses entries (a late arrival, a prune) or a
neighbouring page appears or goes (the newest page gains its ``next-archive`` link once
the next day closes).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from .._storage.protocol import Storage
from ..config.settings import PublishSettings
from ..types import PublishedFile, StoredEntry
from . import feedwriter, housekeeping, publish

ATOM_TYPE = "application/atom+xml"

#: Moves when the shape of archive pages changes, so that every page is written again.
_SHAPE = 1


@dataclass(frozen=True)
class Page:
    """One archive document: part ``number`` (1: the newest entries) of ``pages`` of
    the closed digest day ``day``, which has ``count`` entries in its feed."""

    day: date
    number: int
    pages: int
    count: int

    @property
    def filename(self) -> str:
        suffix = "" if self.number == 1 else f".{self.number}"
        return f"{self.day.isoformat()}{suffix}.atom"


def plan_pages(
    day_counts: Sequence[tuple[date, int]], *, open_days: int, page_size: int
) -> list[Page]:
    """The archive pages of a feed, oldest first (the order ``next-archive`` follows).

    ``day_counts``: each digest day with its number of entries, newest first. The
    ``open_days`` newest days are the current feed's and are not archived yet; every
    older day is cut into pages of at most ``page_size`` entries, its oldest entries in
    its last page.
    """
    pages: list[Page] = []
    for day, count in reversed(day_counts[max(open_days, 1) :]):
        total = max(1, math.ceil(count / page_size))
        pages += [Page(day, number, total, count) for number in range(total, 0, -1)]
    return pages


def archive_folder(settings: PublishSettings, atom_filename: str) -> Path:
    """The folder of the archive pages of the feed in ``atom_filename``."""
    return settings.output_dir / "feeds" / atom_filename.removesuffix(".atom")


def newest_page_href(settings: PublishSettings, atom_filename: str, pages: list[Page]) -> str:
    """The URL the current feed's ``prev-archive`` link points at ("" when no pages)."""
    if not pages:
        return ""
    stem = atom_filename.removesuffix(".atom")
    return f"{settings.base_url}feeds/{stem}/{pages[-1].filename}"


def plan_for(store: Storage, category: str | None, settings: PublishSettings) -> list[Page]:
    """The archive pages of ``category``'s feed (None: ``all``) as the store stands."""
    return plan_pages(
        store.day_counts_in_category(category),
        open_days=settings.feed_days,
        page_size=settings.feed_max_entries,
    )


def write_archives(
    settings: PublishSettings,
    store: Storage,
    pages: list[Page],
    *,
    category: str | None,
    atom_filename: str,
    title: str,
) -> tuple[int, list[PublishedFile]]:
    """Write the pages of one feed that are missing or out of date, and remove the
    pages of its folder no longer planned (days pruned, or cut differently).

    Returns (pages written, records of the pages now in place).
    """
    folder = archive_folder(settings, atom_filename)
    stem = atom_filename.removesuffix(".atom")
    base = f"{settings.base_url}feeds/"
    known = store.published_files(str(folder / page.filename) for page in pages)
    day_entries: tuple[date, list[StoredEntry]] | None = None
    written = 0
    done: list[PublishedFile] = []
    for index, page in enumerate(pages):
        before = pages[index - 1] if index else None
        after = pages[index + 1] if index + 1 < len(pages) else None
        path = folder / page.filename
        fingerprint = _fingerprint(settings, stem, page, before, after)
        if not publish.is_current(path, known.get(str(path)), fingerprint):
            if day_entries is None or day_entries[0] != page.day:
                day_entries = (page.day, store.entries_in_category_on(category, page.day))
            size = settings.feed_max_entries
            entries = day_entries[1][(page.number - 1) * size : page.number * size]
            links = [feedwriter.Link("current", f"{base}{atom_filename}", ATOM_TYPE)]
            links += [
                feedwriter.Link(rel, f"{base}{stem}/{other.filename}", ATOM_TYPE)
                for rel, other in (("prev-archive", before), ("next-archive", after))
                if other is not None
            ]
            part = f", part {page.number} of {page.pages}" if page.pages > 1 else ""
            data = feedwriter.build_feed(
                entries,
                category=category,
                title=f"{title} ({page.day.isoformat()}{part})",
                base_url=settings.base_url,
                self_href=f"{base}{stem}/{page.filename}",
                fallback_updated=datetime.combine(page.day, time(), UTC),
                links=links,
                archive=True,
            )
            written += publish.write_atomic(path, data)
        done.append(publish.published_file(path, fingerprint))
    housekeeping.remove_archive_pages(folder, keep={page.filename for page in pages})
    return written, done


def _fingerprint(
    settings: PublishSettings, stem: str, page: Page, before: Page | None, after: Page | None
) -> str:
    """What a page is built from, beyond its entries' own later changes: its day's
    entry count, its neighbours, and the settings its links and title show."""
    parts = (
        _SHAPE,
        stem,
        page,
        before and before.filename,
        after and after.filename,
        settings.base_url,
        settings.title,
        settings.feed_max_entries,
    )
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()
