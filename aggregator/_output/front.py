"""The front page's content: what ``index.html`` shows beside the feeds. Pure.

From the latest day's digest, a few titles per category (each linking to its section
of that digest); every digest day, grouped by month, newest first. The page itself
is rendered by :func:`.publish.render_index` from ``templates/index.html``.

The search box is not here: a published file cannot know whether a search page will
answer next to it. The page carries :data:`SEARCH_SLOT`, an HTML comment, where
``aggregator serve``, which has ``/search``, puts the form (:func:`with_search_box`);
opened as a file, or served by any other web server, the page shows no box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from .digest import Digest, anchor

#: Titles per category in the latest day's highlights.
HIGHLIGHTS = 3

#: Where the served front page's search box goes (a comment: nothing when not served).
SEARCH_SLOT = b"<!-- search box: aggregator serve puts its form here -->"

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Highlight:
    """One title of the latest day, and where its digest shows it."""

    title: str
    href: str


@dataclass(frozen=True)
class CategoryHighlights:
    category: str
    #: The category's section of the latest digest.
    href: str
    titles: tuple[Highlight, ...]
    #: Entries of the section not among ``titles``.
    more: int


@dataclass(frozen=True)
class Latest:
    day: date
    href: str
    entries: int
    categories: tuple[CategoryHighlights, ...]


@dataclass(frozen=True)
class DayLink:
    day: date
    #: "Mon 23": the day as the month's list shows it.
    label: str


@dataclass(frozen=True)
class Month:
    #: "November 2026" (English, whatever the locale: the page must not vary with it).
    label: str
    days: tuple[DayLink, ...]


def digest_href(day: date) -> str:
    return f"digests/{day.isoformat()}/index.html"


def latest(digest: Digest | None, *, count: int = HIGHLIGHTS) -> Latest | None:
    """The front page's highlights of ``digest``: its first ``count`` entries per
    category, in the digest's order, those a section shows in full preferred (a paper
    shown in full under another category is listed there, not here)."""
    if digest is None or digest.is_empty:
        return None
    page = digest_href(digest.day)
    categories = []
    for section in digest.sections:
        href = f"{page}#{anchor(section.category)}"
        shown = [item for item in section.items if item.see is None] or list(section.items)
        titles = tuple(Highlight(item.entry.title, href) for item in shown[:count])
        categories.append(
            CategoryHighlights(section.category, href, titles, len(section.items) - len(titles))
        )
    return Latest(digest.day, page, digest.entry_count, tuple(categories))


def by_month(days: Sequence[date]) -> tuple[Month, ...]:
    """Every day, newest first, grouped by month."""
    months: list[Month] = []
    for day in sorted(set(days), reverse=True):
        label = f"{_MONTHS[day.month - 1]} {day.year}"
        link = DayLink(day, f"{_WEEKDAYS[day.weekday()]} {day.day}")
        if months and months[-1].label == label:
            months[-1] = Month(label, (*months[-1].days, link))
        else:
            months.append(Month(label, (link,)))
    return tuple(months)


def with_search_box(page: bytes, *, action: str = "/search") -> bytes:
    """The front page with a search form in its :data:`SEARCH_SLOT` (unchanged when it
    has none: an older page, or another file)."""
    form = (
        f'<form class="search" action="{escape(action)}" method="get" role="search">'
        '<input type="search" name="q" aria-label="Search every entry"'
        ' placeholder="Search titles, abstracts, authors">'
        '<button type="submit">Search</button></form>'
    ).encode()
    return page.replace(SEARCH_SLOT, form, 1)
