"""Digests: choosing a day's entries (pure) and rendering them (Jinja2).

Owns what goes into a day's digest and how it looks as a web page (the email-ready
layout, its CSS in a ``<style>`` element, a table of contents per category and links
to the previous and next days that have a digest) and as plain text with the same
content. Never sends mail and never writes files: the pipeline hands the rendered
pieces to the publish stage's writer.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from .._common.safety import file_stem
from .._update.normalize import html_to_text, stored_links
from ..types import Rank, StoredEntry, Summary
from . import article, templating
from .article import Article

#: Longest excerpt of an article's body shown in a digest, in characters.
EXCERPT_CHARS = 400

#: arXiv's listing order: announce type (or digest status) -> (rank, group title).
GROUPS: dict[str, tuple[int, str]] = {
    "new": (0, "New submissions"),
    "cross": (1, "Cross-lists"),
    "replace": (2, "Replacements"),
    "replace-cross": (2, "Replacements"),
    "updated": (3, "Updated"),
}


@dataclass(frozen=True)
class DigestItem:
    """One entry as a digest shows it."""

    entry: StoredEntry
    #: "new" (first seen that day) or "updated" (changed that day); for papers arXiv
    #: announced, the announce type in this category: new, cross, replace, replace-cross.
    status: str
    excerpt: str
    #: Whether arXiv listed it that day (so the section follows arXiv's listing order).
    listed: bool = False
    #: The section that shows this entry in full, when it is another one: a paper in
    #: several categories is listed in each, and shown in full only once per digest.
    see: str | None = None
    #: Why it stands where it does for the reader ("matches: agent"); "" when unranked.
    reason: str = ""
    #: The TL;DR and sections shown instead of the excerpt (see ``[summaries]``).
    summary: Summary | None = None
    #: The fetched article of a ``fetch_full_text`` source's entry, cut to fit.
    article: Article | None = None

    @property
    def rank(self) -> int:
        return GROUPS.get(self.status, (3, ""))[0]


@dataclass(frozen=True)
class DigestGroup:
    """One part of an arXiv category's section: New submissions, Cross-lists, Replacements."""

    title: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class DigestSection:
    category: str
    items: tuple[DigestItem, ...]
    #: For a category arXiv listed papers in that day: its items in arXiv's groups.
    groups: tuple[DigestGroup, ...] = ()

    @property
    def new_count(self) -> int:
        return sum(1 for item in self.items if item.status == "new")

    @property
    def updated_count(self) -> int:
        return sum(1 for item in self.items if item.status == "updated")

    @property
    def cross_count(self) -> int:
        return sum(1 for item in self.items if item.status == "cross")

    @property
    def replaced_count(self) -> int:
        return sum(1 for item in self.items if item.status in ("replace", "replace-cross"))

    @property
    def counts(self) -> str:
        """The section's counts in words: "7 new, 2 cross-lists, 3 replacements"."""
        if not self.groups:
            updated = f", {self.updated_count} updated" if self.updated_count else ""
            return f"{self.new_count} new{updated}"
        parts = [
            (self.new_count, "new", "new"),
            (self.cross_count, "cross-list", "cross-lists"),
            (self.replaced_count, "replacement", "replacements"),
            (self.updated_count, "updated", "updated"),
        ]
        return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n)

    @property
    def parts(self) -> tuple[tuple[str | None, tuple[DigestItem, ...]], ...]:
        """(group title, items) to render: arXiv's groups, or one untitled list."""
        if self.groups:
            return tuple((group.title, group.items) for group in self.groups)
        return ((None, self.items),)


@dataclass(frozen=True)
class Digest:
    day: date
    title: str
    sections: tuple[DigestSection, ...]

    @property
    def entry_count(self) -> int:
        """Distinct entries (an entry in two categories counts once)."""
        return len({item.entry.key for s in self.sections for item in s.items})

    @property
    def is_empty(self) -> bool:
        return not self.sections


def excerpt(entry: StoredEntry, limit: int = EXCERPT_CHARS) -> str:
    """A short plain-text taste of an entry without structured sections."""
    if entry.sections:
        return ""
    text = _text_start(entry.summary, limit) or _text_start(entry.content, limit)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_CUT_TAG_RE = re.compile(r"<[^>]*$")
#: Characters of text past the excerpt that make a cut in the HTML harmless (a cut
#: entity or tag can only change the text's last few characters).
_MARGIN = 32


def _text_start(value: str | None, limit: int) -> str:
    """The entry's plain text, white space collapsed, at least its first ``limit``
    characters exactly as for the whole of ``value``: a digest of 100,000 entries
    need not convert 100,000 whole abstracts for a line each."""
    if not value:
        return ""
    if len(value) > 4 * (limit + _MARGIN):
        head = " ".join(html_to_text(_CUT_TAG_RE.sub("", value[: 4 * (limit + _MARGIN)])).split())
        if len(head) > limit + _MARGIN:
            return head[: limit + _MARGIN]
    return " ".join(html_to_text(value).split())


def choose(
    day: date,
    *,
    title: str,
    new: Iterable[StoredEntry],
    updated: Iterable[StoredEntry] = (),
    listings: Iterable[tuple[StoredEntry, Mapping[str, str]]] = (),
    summarise: Callable[[StoredEntry], Summary | None] = lambda entry: None,
    full_text: Callable[[StoredEntry], bool] | None = None,
    bodies: bool = True,
) -> Digest:
    """Group a day's entries by category, new ones before updated ones.

    ``new`` are entries whose digest day is ``day``, in arrival order; ``updated``
    are older entries that changed that day. An entry in several categories is
    listed in each, and shown in full once (see :attr:`DigestItem.see`). ``listings``
    are the papers arXiv announced that day with their announce type per category:
    their sections follow arXiv's listing (New submissions, Cross-lists, Replacements,
    each with its count). ``summarise`` gives an entry's TL;DR and sections, shown in
    place of the excerpt (None: the excerpt). ``full_text`` tells the entries whose
    content is their fetched article: it is shown cut to fit (see :mod:`.article`).
    ``bodies=False``: none of these, for a list of titles (``summarise`` is not called).
    """
    new, updated, listings = list(new), list(updated), list(listings)
    wanted = full_text if bodies else None  # None: no source fetches full text
    articles = _articles([*new, *updated, *(e for e, _ in listings)], wanted) if wanted else {}

    def shown(entry: StoredEntry, status: str) -> DigestItem:  # summary, excerpt, article
        if not bodies:
            return DigestItem(entry, status, "")
        summary, found = summarise(entry), articles.get(entry.key)
        # With a summary, or an article and no summary of the feed's: no excerpt.
        replaced = summary or (found is not None and not entry.summary)
        text = "" if replaced else excerpt(entry)
        return DigestItem(entry, status, text, summary=summary, article=found)

    by_category: dict[str, list[DigestItem]] = {}
    seen: set[str] = set()
    for entry, how in listings:
        if entry.key in seen:
            continue
        seen.add(entry.key)
        item = shown(stored_links(entry), "new")  # a row stored before links were checked
        for category, status in how.items():
            by_category.setdefault(category, []).append(replace(item, status=status, listed=True))
        if entry.digest_day == day:  # categories other sources filed it under
            for category in entry.categories:
                if category not in how:
                    by_category.setdefault(category, []).append(item)
    for status, entries in (("new", new), ("updated", updated)):
        for entry in entries:
            if entry.key in seen:
                continue
            seen.add(entry.key)
            item = shown(stored_links(entry), status)
            for category in entry.categories or ("uncategorised",):
                by_category.setdefault(category, []).append(item)
    _show_once(by_category)
    sections = tuple(_section(name, items) for name, items in sorted(by_category.items()))
    return Digest(day=day, title=title, sections=sections)


def _articles(
    entries: Sequence[StoredEntry], full_text: Callable[[StoredEntry], bool]
) -> dict[str, Article]:
    """The article excerpt of each full-text entry, the digest's budget shared among them."""
    wanted = {entry.key: entry for entry in entries if entry.content and full_text(entry)}
    limit = article.budget_per_article(len(wanted))
    found = {key: article.excerpt(entry.content, limit) for key, entry in wanted.items()}
    return {key: value for key, value in found.items() if value is not None}


def _show_once(by_category: dict[str, list[DigestItem]]) -> None:
    """Point every item but one of each entry at its home section (in place).

    The home is the entry's primary category when it has a section, else the first
    section it is in (by name): there it is shown in full, elsewhere as a reference.
    """
    keys = {name: {item.entry.key for item in items} for name, items in by_category.items()}
    homes: dict[str, str] = {}
    for name in sorted(by_category):
        for item in by_category[name]:
            key, primary = item.entry.key, item.entry.primary_category
            if primary is not None and key in keys.get(primary, ()):
                homes.setdefault(key, primary)
            homes.setdefault(key, name)
    for name, items in by_category.items():
        by_category[name] = [
            item if homes[item.entry.key] == name else replace(item, see=homes[item.entry.key])
            for item in items
        ]


def _section(category: str, items: list[DigestItem]) -> DigestSection:
    if not any(item.listed for item in items):
        ordered = tuple(sorted(items, key=lambda i: i.status != "new"))
        return DigestSection(category=category, items=ordered)
    ordered = tuple(sorted(items, key=lambda i: i.rank))
    groups: dict[str, list[DigestItem]] = {}
    for item in ordered:
        groups.setdefault(GROUPS.get(item.status, (3, "Updated"))[1], []).append(item)
    return DigestSection(
        category=category,
        items=ordered,
        groups=tuple(DigestGroup(name, tuple(members)) for name, members in groups.items()),
    )


def ranked(digest: Digest, table: Mapping[str, Rank] | None) -> Digest:
    """``digest`` with each section in rank order for one reader, reasons attached.

    Followed authors first, then keyword matches, then the rest by score (ties and
    unscored entries in their listing order). arXiv's groups give way to one list
    (each entry keeps its badge). No ``table`` (or an empty one): unchanged.
    """
    if not table:
        return digest
    default = Rank(2)
    sections = []
    for section in digest.sections:
        positions = {id(item): index for index, item in enumerate(section.items)}
        items = sorted(
            section.items,
            key=lambda i: table.get(i.entry.key, default).sort_key(positions[id(i)]),
        )
        sections.append(
            replace(
                section,
                items=tuple(
                    replace(item, reason=table.get(item.entry.key, default).reason)
                    for item in items
                ),
                groups=(),
            )
        )
    return replace(digest, sections=tuple(sections))


@dataclass(frozen=True)
class DayLinks:
    """The nearest days before and after a digest's day that have a digest of their own."""

    previous: date | None = None
    next: date | None = None


def day_links(days: Sequence[date], day: date) -> DayLinks:
    """The neighbours of ``day`` among ``days`` (sorted; ``day`` need not be one)."""
    before = bisect.bisect_left(days, day)
    after = bisect.bisect_right(days, day)
    return DayLinks(
        previous=days[before - 1] if before > 0 else None,
        next=days[after] if after < len(days) else None,
    )


def relinked_days(
    days: Sequence[date], *, added: Iterable[date] = (), removed: Iterable[date] = ()
) -> set[date]:
    """The days of ``days`` (sorted) whose previous or next day changes when ``added``
    days got a digest and ``removed`` days lost theirs: their pages must be rendered
    again, or their links would skip a new day or lead to a missing one."""
    changed: set[date] = set()
    for day in [*added, *removed]:
        links = day_links(days, day)
        changed.update(d for d in (links.previous, links.next) if d is not None)
    return changed


def anchor(category: str) -> str:
    """The id of a category's section: stable, and safe in an attribute and a URL
    whatever the category's name (``cs.AI`` -> ``c-cs.AI``)."""
    return "c-" + file_stem(category)


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str


def _context(digest: Digest, base_url: str, links: DayLinks) -> dict[str, object]:
    return {
        "digest": digest,
        "base_url": base_url,
        "links": links,
        "anchors": {section.category: anchor(section.category) for section in digest.sections},
    }


def render_html(digest: Digest, *, base_url: str, links: DayLinks | None = None) -> Iterator[str]:
    """The digest's web page, piece by piece (Jinja's ``generate``: never one big string).

    The page carries its CSS in a ``<style>`` element, which every browser reads; the
    emailed digest (:mod:`.email_digest`) is the one with its CSS inlined. ``links``
    are the neighbouring days the page links to (relative links, so the pages work
    from any base URL and from the file system).
    """
    context = _context(digest, base_url, links or DayLinks())
    return templating.environment().get_template("digest.html").generate(context)


def render_text(digest: Digest, *, base_url: str, links: DayLinks | None = None) -> Iterator[str]:
    """The digest as plain text with the same content, piece by piece."""
    context = _context(digest, base_url, links or DayLinks())
    return templating.environment().get_template("digest.txt").generate(context)


def render(digest: Digest, *, base_url: str, links: DayLinks | None = None) -> Rendered:
    """The digest's web page and plain text, whole (for printing; files are streamed)."""
    return Rendered(
        html="".join(render_html(digest, base_url=base_url, links=links)),
        text="".join(render_text(digest, base_url=base_url, links=links)),
    )
