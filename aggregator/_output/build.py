"""Building the outputs from what is stored: the feeds and index page, and the digests.

Owns deciding which output files are out of date (their fingerprints against what was
recorded), choosing each day's digest from the store, and recording what was written
only once it is in place, so a failed or interrupted write is redone by the next run
and a rerun rewrites nothing. Reaches the database only through the store's named
queries; never fetches, never mails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from .._enrich.summaries import summary_for, variant_of
from .._storage.protocol import Storage
from ..config.settings import PublishSettings, Settings
from ..errors import PublishError
from ..types import PublishedFile, StoredEntry, Summary
from . import archives, feedwriter, front, housekeeping, publish
from . import digest as digests

log = logging.getLogger(__name__)

#: The OPML 2.0 list of every published feed, beside the index page.
OPML_NAME = "feeds.opml"


@dataclass(frozen=True)
class _FeedTarget:
    category: str | None
    filename: str
    title: str
    path: Path


def publish_feeds(
    settings: Settings,
    store: Storage,
    *,
    clock: Callable[[], datetime],
    changed: list[str] | None = None,
    order: Order | None = None,
    order_key: str = "",
) -> tuple[int, int]:
    """Write every category feed, ``all.atom`` and the index page. Returns (written, total).
    ``changed`` gets the URL of each feed file whose bytes changed (for a WebSub hub).

    A file whose inputs cannot have changed since it was written (same output
    generation, same settings, same code: :func:`publish.output_fingerprint`), and which
    is still on disk as it was written, is not rebuilt at all. ``order``, ``order_key``:
    as for :func:`write_digests` (for the index page's highlights).
    """
    # Read before any data: a change made while we build moves it past what we record.
    generation = store.output_generation()
    categories = store.categories()
    targets = _feed_targets(settings, categories)
    index_path, opml_path = (settings.publish.output_dir / n for n in ("index.html", OPML_NAME))
    paths = [p for t in targets for p in _feed_files(t, settings.publish.formats).values()]
    known = store.published_files(map(str, [*paths, index_path, opml_path]))
    # [summaries] decides which server summaries the feeds carry.
    shaping = (settings.publish, variant_of(settings.summaries))

    def wanted(path: Path, what: str) -> tuple[str, bool]:
        """The fingerprint ``path`` needs, and whether the file is already that one."""
        print_ = publish.output_fingerprint(
            what, generation=generation, settings=shaping, path=path
        )
        return print_, publish.is_current(path, known.get(str(path)), print_)

    done: list[PublishedFile] = []
    written = 0
    try:
        for target in targets:
            files = _feed_files(target, settings.publish.formats)
            prints = {p: wanted(p, f"feed {target.category!r} {kind}") for kind, p in files.items()}
            if not all(current for _, current in prints.values()):
                urls = _write_feed(settings, store, target, files, done, clock())
                written += bool(urls)
                if changed is not None:
                    changed += urls
                done += [publish.published_file(p, print_) for p, (print_, _) in prints.items()]
        _remove_dropped_formats(store, targets, settings.publish.formats)
        links = _feed_links(store, targets, categories, settings.publish.formats)
        index = known.get(str(index_path))
        done += _publish_index(settings, store, links, generation, index, order, order_key)
        done += _publish_opml(settings, links, opml_path, wanted)
    except PublishError:
        # What was written is recorded; what failed has its old record, which no longer
        # matches, so the next run writes it (and only it).
        store.record_published(done)
        raise
    # Only now that every file is in place: a crash before this line leaves the old
    # records, which no longer match, so the next run rebuilds (and rewrites nothing).
    store.record_published(done)
    return written, len(targets)


def _feed_targets(settings: Settings, categories: list[tuple[str, int]]) -> list[_FeedTarget]:
    """``all.atom`` first, then one feed per category, each with its file."""
    feeds = settings.publish.output_dir / "feeds"
    title = settings.publish.title
    everything = publish.ALL_FEED
    targets = [_FeedTarget(None, everything, f"{title}: all entries", feeds / everything)]
    filenames = publish.feed_filenames(name for name, _ in categories)
    for name, _ in categories:
        filename = filenames[name]
        targets.append(_FeedTarget(name, filename, f"{title}: {name}", feeds / filename))
    return targets


def feed_entries(
    store: Storage, category: str | None, settings: PublishSettings
) -> tuple[list[StoredEntry], date | None]:
    """What a current feed holds: every entry of its ``feed_days`` latest digest days,
    and at least the ``feed_min_entries`` newest, at most ``feed_max_entries``; with
    the oldest of those days when the cap cut it (else ``None``)."""
    cap = settings.feed_max_entries
    days = store.recent_digest_days(category, settings.feed_days) if settings.feed_days else []
    chosen = store.entries_in_category(category, cap + 1, since_day=days[-1]) if days else []
    cut = days[-1] if len(chosen) > cap else None
    chosen = chosen[:cap]
    least = min(settings.feed_min_entries, cap)
    if len(chosen) < least:
        newest = store.entries_in_category(category, least)
        merged = {entry.key: entry for entry in [*chosen, *newest]}
        chosen = sorted(merged.values(), key=lambda e: (-e.updated.timestamp(), e.key))
    return chosen, cut


def _feed_files(target: _FeedTarget, formats: tuple[str, ...]) -> dict[str, Path]:
    """The file of each configured format of ``target``'s feed (Atom first)."""
    return {
        kind: target.path.with_name(publish.format_filename(target.filename, kind))
        for kind in formats
    }


def _remove_dropped_formats(
    store: Storage, targets: list[_FeedTarget], formats: tuple[str, ...]
) -> list[Path]:
    """Remove the twins of ``targets`` in formats no longer configured; what was removed.

    Only a file this installation recorded publishing is removed (never one a person put
    there): a feed reader subscribed to it gets a 404 rather than a feed frozen in time.
    """
    dropped = [kind for kind in publish.FORMATS if kind not in formats]
    candidates = [
        t.path.with_name(publish.format_filename(t.filename, k)) for t in targets for k in dropped
    ]
    known = store.published_files(str(p) for p in candidates if p.is_file())
    removed: list[Path] = []
    for path in candidates:
        if str(path) not in known:
            continue
        try:
            path.unlink()
        except OSError as err:
            raise PublishError(
                f"cannot remove {path}, a feed format no longer in [publish] formats:"
                f" {err.strerror or err}",
                hint="check the output folder is writable",
            ) from err
        log.info("removed %s: its format is no longer in [publish] formats", path)
        removed.append(path)
    return removed


def _write_feed(
    settings: Settings,
    store: Storage,
    target: _FeedTarget,
    files: dict[str, Path],
    done: list[PublishedFile],
    fallback_updated: datetime,
) -> list[str]:
    """Write ``target``'s archive pages, then its feed in each format of ``files``;
    the URLs of the feed files whose bytes changed. The archive pages in place are
    added to ``done``.

    The Atom feed links its newest archive page (``prev-archive``): RFC 5005 defines
    archives for Atom; the other formats have none.
    """
    # Archives first: the current feed links the newest page, which must exist by then.
    pages = archives.plan_for(store, target.category, settings.publish)
    done += archives.write_archives(
        settings.publish,
        store,
        pages,
        category=target.category,
        atom_filename=target.filename,
        title=target.title,
    )[1]
    prev_archive = archives.newest_page_href(settings.publish, target.filename, pages)
    base = settings.publish.base_url
    entries, cut = feed_entries(store, target.category, settings.publish)
    entries = _summarised(entries, settings, store)
    if cut is not None:
        log.warning(
            "feeds/%s holds only the newest %d entries of its last %d days (from %s):"
            " raise [publish] feed_max_entries so that a reader polling daily misses none"
            " (the rest are in its archive, feeds/%s/, once their day closes)",
            target.filename,
            settings.publish.feed_max_entries,
            settings.publish.feed_days,
            cut.isoformat(),
            target.filename.removesuffix(".atom"),
        )
    hub = settings.publish.websub_hub
    changed: list[str] = []
    for kind, path in files.items():
        links = [feedwriter.Link("hub", hub)] if hub else []
        if prev_archive and kind == "atom":
            links.append(feedwriter.Link("prev-archive", prev_archive, archives.ATOM_TYPE))
        url = f"{base}feeds/{path.name}"
        data = feedwriter.build(
            kind,
            entries,
            category=target.category,
            title=target.title,
            base_url=base,
            self_href=url,
            fallback_updated=fallback_updated,
            links=links,
        )
        if publish.write_atomic(path, data):
            changed.append(url)
    return changed


def _feed_links(
    store: Storage,
    targets: list[_FeedTarget],
    categories: list[tuple[str, int]],
    formats: tuple[str, ...],
) -> list[publish.FeedLink]:
    """The published feeds as the index page and the OPML list them: all, then each."""
    counts = dict(categories)

    def twins(filename: str) -> tuple[publish.FeedFile, ...]:
        kinds = [kind for kind in formats if kind != "atom"]
        return tuple(publish.FeedFile(k, publish.format_filename(filename, k)) for k in kinds)

    everything = publish.ALL_FEED
    links = [publish.FeedLink("all", everything, store.count_entries(), twins(everything))]
    links += [
        publish.FeedLink(t.category, t.filename, counts[t.category], twins(t.filename))
        for t in targets
        if t.category is not None
    ]
    return links


def _publish_opml(
    settings: Settings,
    links: list[publish.FeedLink],
    path: Path,
    wanted: Callable[[Path, str], tuple[str, bool]],
) -> list[PublishedFile]:
    """Write the OPML list of the feeds unless it is current; its record when written."""
    print_, current = wanted(path, "opml")
    if current:
        return []
    opml = publish.render_opml(
        title=settings.publish.title, feeds=links, base_url=settings.publish.base_url
    )
    publish.write_atomic(path, opml)
    return [publish.published_file(path, print_)]


def _publish_index(
    settings: Settings,
    store: Storage,
    links: list[publish.FeedLink],
    generation: int,
    known: PublishedFile | None,
    order: Order | None,
    order_key: str,
) -> list[PublishedFile]:
    """Write the index page unless it is current; its record when written."""
    path = settings.publish.output_dir / "index.html"
    # The highlights are chosen as the digests are ([digest] settings, the order).
    wanted = publish.output_fingerprint(
        "index" + (f" ordered by {order_key}" if order_key else ""),
        generation=generation,
        settings=(settings.publish, settings.digest),
        path=path,
    )
    if publish.is_current(path, known, wanted):
        return []
    _write_index(settings, store, links, path, order=order)
    return [publish.published_file(path, wanted)]


def _write_index(
    settings: Settings,
    store: Storage,
    links: list[publish.FeedLink],
    path: Path,
    *,
    order: Order | None = None,
) -> None:
    days = sorted({*store.digest_days(), *store.announcement_days()})
    # The page lists titles only: no TL;DRs or excerpts to work out for it.
    latest = build_digest(settings, store, days[-1], bodies=False) if days else None
    if latest is not None and order is not None:
        latest = order(latest)
    index = publish.render_index(
        title=settings.publish.title,
        feeds=links,
        days=days,
        base_url=settings.publish.base_url,
        latest=front.latest(latest),
    )
    publish.write_atomic(path, index)


def _summarised(
    entries: list[StoredEntry], settings: Settings, store: Storage
) -> list[StoredEntry]:
    """``entries`` with the summaries a server wrote for them as their feed summary
    (see :func:`feedwriter.with_summary`); the extractive TL;DR is left to digests (a
    feed carries the abstract it comes from)."""
    variant = variant_of(settings.summaries)
    if variant is None or not entries:
        return entries
    cached = store.summaries_of(sorted({e.content_hash for e in entries}), variant=variant)
    if not cached:
        return entries
    return [
        feedwriter.with_summary(entry, cached[entry.content_hash])
        if entry.content_hash in cached and not entry.sections
        else entry
        for entry in entries
    ]


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` begins and ends in ``timezone``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def build_digest(
    settings: Settings, store: Storage, day: date, *, bodies: bool = True
) -> digests.Digest:
    """Choose the digest of ``day`` from the store. ``bodies=False``: its items without
    TL;DRs or excerpts (for a list of titles, such as the index page's)."""
    start, end = day_bounds(day, settings.digest.timezone)
    announced = store.announcements_on(day)
    new = [e for e in store.entries_for_day(day) if e.key not in announced]
    updated = store.entries_updated_between(start, end, before_day=day)
    # A paper arXiv announced belongs to its announcement days' digests only.
    listed = store.announced_keys([e.key for e in updated])
    rows = store.get_entries(list(announced))
    updated = [e for e in updated if e.key not in listed]
    listings = [(rows[key], how) for key, how in announced.items() if key in rows]
    cached: dict[str, Summary] = {}
    # Entries of these sources carry their fetched article as content.
    full_text = {source.name for source in settings.sources if source.fetch_full_text}
    variant = variant_of(settings.summaries)
    if variant is not None and bodies:
        hashes = {e.content_hash for e in (*new, *updated, *(row for row, _ in listings))}
        cached = store.summaries_of(sorted(hashes), variant=variant)
    return digests.choose(
        day,
        title=settings.digest.title,
        new=new,
        updated=updated,
        listings=listings,
        summarise=lambda entry: summary_for(entry, cached, settings.summaries),
        full_text=(lambda entry: not full_text.isdisjoint(entry.sources)) if full_text else None,
        bodies=bodies,
    )


#: Puts a chosen digest in a reader's order (see ``_enrich.wiring.published_order``).
Order = Callable[[digests.Digest], digests.Digest]


def write_digests(
    settings: Settings,
    store: Storage,
    days: set[date],
    *,
    gone: Iterable[date] = (),
    order: Order | None = None,
    order_key: str = "",
) -> tuple[int, list[date]]:
    """Render and write the digests of ``days``, of the days the store has marked due
    (changed by a run whose digest writing failed), and of any stored day missing its
    files.

    A day whose files are in place and were written from the same output generation,
    settings, code and neighbouring days is not rendered again (it is still among the
    days returned). ``gone``: days whose digest was just removed (pruned), so that the
    days around them drop their links to it. A day leaves the due list only in the
    transaction that records its written files. ``order`` puts each digest in the
    default profile's order; ``order_key`` changes whenever that order may (it is part
    of every digest file's fingerprint).
    """
    out = settings.publish.output_dir / "digests"
    every_day = sorted({*store.digest_days(), *store.announcement_days()})
    missing = {day for day in every_day if not _digest_files_present(out / day.isoformat())}
    # Each page links the previous and next day: a day that appears or goes (pruned,
    # emptied) changes its neighbours' pages. They are written before the new days,
    # so a failure in between leaves a day missing, which finds them again next time.
    relinked = digests.relinked_days(
        every_day,
        added=missing,
        removed={*gone, *housekeeping.digest_folders(out)} - set(every_day),
    )
    wanted = {*days, *store.digests_due()} | missing | relinked
    # As for feeds (see publish_feeds): read before any data, record after the files.
    generation = store.output_generation()
    written = 0
    done: list[date] = []
    for day in sorted(wanted, key=lambda d: (d not in relinked, d)):
        count, kept = _write_digest(
            settings, store, day, every_day, generation, order=order, order_key=order_key
        )
        written += count
        if kept:
            done.append(day)
    return written, done


def _digest_files_present(folder: Path) -> bool:
    return (folder / "index.html").is_file() and (folder / "digest.txt").is_file()


def _write_digest(
    settings: Settings,
    store: Storage,
    day: date,
    every_day: list[date],
    generation: int,
    *,
    order: Order | None = None,
    order_key: str = "",
) -> tuple[int, bool]:
    """Write one day's digest unless it is current. Returns (files written, day kept)."""
    folder = settings.publish.output_dir / "digests" / day.isoformat()
    paths = (folder / "index.html", folder / "digest.txt")
    known = store.published_files(map(str, paths))
    links = digests.day_links(every_day, day)
    prints = [
        publish.output_fingerprint(
            f"digest {day} between {links.previous} and {links.next}"
            + (f" ordered by {order_key}" if order_key else ""),
            generation=generation,
            # [summaries] decides the TL;DRs a digest shows.
            settings=(settings.publish, settings.digest, settings.summaries),
            path=path,
        )
        for path in paths
    ]
    if all(
        publish.is_current(path, known.get(str(path)), fingerprint)
        for path, fingerprint in zip(paths, prints, strict=True)
    ):
        # Touched, but nothing it shows changed since it was written.
        store.record_published((), digests_done=[day])
        return 0, True
    chosen = build_digest(settings, store, day)
    if chosen.is_empty:
        store.record_published((), digests_done=[day])
        return 0, False
    if order is not None:
        chosen = order(chosen)
    # Streamed: a first run's digest can hold every entry (100 MB of HTML and more).
    base = settings.publish.base_url
    written = int(
        publish.write_atomic_text(paths[0], digests.render_html(chosen, base_url=base, links=links))
    )
    written += publish.write_atomic_text(
        paths[1], digests.render_text(chosen, base_url=base, links=links)
    )
    store.record_published(
        [publish.published_file(p, f) for p, f in zip(paths, prints, strict=True)],
        digests_done=[day],
    )
    return written, True
