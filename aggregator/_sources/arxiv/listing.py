"""arXiv's listing page ``arxiv.org/list/<category>/new``: the second way into a listing.

Owns reading the HTML page arXiv shows for a day's listing: the dateline ("Showing new
listings for Wednesday, 14 January 2026"), then the ``<h3>`` parts *New submissions*,
*Cross submissions* (cross-lists) and *Replacement submissions*, each a ``<dl>`` of
``<dt>`` (the ``arXiv:ID`` link, PDF and HTML links) and ``<dd>`` (title, authors,
comments, journal reference, subjects with the primary one marked, abstract) pairs.
The part a paper is in gives its announce type; the page's date is its listing day.
A paper is listed under the followed categories it is in (for a page saved without its
URL, the page's own category), and left out, counted, when it is in none of them.

Used by :func:`aggregator._sources.arxiv.feed.parse` when an ``arxiv`` source's document is
HTML (also a page saved from a browser, which starts with a ``<!-- saved from url=... -->``
comment). Raises :class:`ParseError` for a page without a dateline: HTML, but not a
listing, said as such with what to do. No I/O.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time
from typing import cast
from zoneinfo import ZoneInfo

import lxml.html
from lxml import etree

from ..._update.normalize import arxiv_id
from ...errors import ParseError
from ...types import ParsedEntry, ParsedFeed
from .announce import announce_per_category, listed_under
from .calendar import TIMEZONE

_DATELINE_RE = re.compile(
    r"(?:listings?|announcements?)\s+for\s+(?:\w+,\s*)?(\d{1,2}\s+\w+\s+\d{4})", re.IGNORECASE
)
_SUBJECT_RE = re.compile(r"\(([a-z][a-z\-]*(?:\.[A-Za-z\-]+)?)\)")
_VERSION_RE = re.compile(r"v(\d+)/?$")


def parse_listing(data: bytes, *, source: str, followed: tuple[str, ...]) -> ParsedFeed:
    """Parse a ``/list/<category>/new`` page. Raises ParseError."""
    try:
        root = cast(lxml.html.HtmlElement, lxml.html.document_fromstring(data))
    except (etree.ParserError, ValueError) as err:
        raise ParseError(f"unreadable HTML page: {err}", source=source) from err
    page_text = " ".join(root.text_content().split())
    match = _DATELINE_RE.search(page_text)
    if match is None:
        raise ParseError(
            "an HTML page, but not an arXiv listing page (it has no 'Showing new listings"
            " for <day>' line)",
            source=source,
            hint=f'to read {source} as an ordinary web page give it kind = "page"; to follow'
            " arXiv point it at https://arxiv.org/list/<category>/new (or saved from there),"
            " or at https://rss.arxiv.org/rss/<category>",
        )
    try:
        day = datetime.strptime(match.group(1), "%d %B %Y").date()
    except ValueError as err:
        raise ParseError(f"unreadable listing date {match.group(1)!r}", source=source) from err

    warnings: list[str] = []
    entries: list[ParsedEntry] = []
    # A page saved from a browser has no URL: its own links name its category.
    followed = followed or _page_categories(root)
    left_out = 0
    part = "new"
    pending: lxml.html.HtmlElement | None = None
    for element in root.iter("h3", "dt", "dd"):
        if element.tag == "h3":
            heading = element.text_content().lower()
            part = "cross" if "cross" in heading else "replace" if "replace" in heading else "new"
        elif element.tag == "dt":
            pending = element
        elif pending is not None:
            entry = _entry(pending, element, part=part, day=day, followed=followed)
            if entry is None:
                shown = " ".join(pending.text_content().split())[:60]
                warnings.append(f"skipped a listing item without a readable arXiv ID: {shown!r}")
            elif entry.categories or not followed:
                entries.append(entry)
            else:
                left_out += 1
            pending = None
    return ParsedFeed(
        entries=tuple(entries),
        title=(root.findtext(".//title") or "").strip() or None,
        warnings=tuple(warnings),
        announced=day,
        left_out=left_out,
    )


def _page_categories(root: lxml.html.HtmlElement) -> tuple[str, ...]:
    """The categories a listing page is of, from its own ``/list/<category>/new`` link."""
    for link in root.iter("a"):
        found = re.fullmatch(r"(?:https?://[^/]+)?/list/([^/]+)/new/?", link.get("href") or "")
        if found:
            return tuple(c for c in found.group(1).split("+") if _SUBJECT_RE.fullmatch(f"({c})"))
    return ()


def _field(dd: lxml.html.HtmlElement, name: str) -> str:
    """The text of ``<div class="list-<name>">`` without its "Title:" descriptor."""
    for div in dd.iter("div"):
        if f"list-{name}" in (div.get("class") or "").split():
            for descriptor in div.find_class("descriptor"):
                descriptor.drop_tree()
            return " ".join(div.text_content().split())
    return ""


def _entry(
    dt: lxml.html.HtmlElement,
    dd: lxml.html.HtmlElement,
    *,
    part: str,
    day: date,
    followed: tuple[str, ...],
) -> ParsedEntry | None:
    found = None
    version = None
    for link in dt.iter("a"):
        href = link.get("href") or ""
        if "/abs/" in href:
            found = found or arxiv_id("https://arxiv.org" + href if href.startswith("/") else href)
        if "/html/" in href and (v := _VERSION_RE.search(href)):
            version = int(v.group(1))
    if found is None:
        text = " ".join(dt.text_content().split())
        ident = re.search(r"arXiv:(\S+)", text)
        found = arxiv_id(ident.group(1)) if ident else None
    if found is None:
        return None
    paper_id = found[0]
    version = found[1] or version

    primary_el = dd.find_class("primary-subject")
    primary_match = _SUBJECT_RE.search(primary_el[0].text_content()) if primary_el else None
    primary = primary_match.group(1) if primary_match else None
    subjects = list(dict.fromkeys(_SUBJECT_RE.findall(_field(dd, "subjects"))))
    listed = listed_under(subjects, followed)
    abstract = ""
    for paragraph in dd.iter("p"):
        abstract = " ".join(paragraph.text_content().split())
        break
    announced_at = datetime.combine(day, time(), ZoneInfo(TIMEZONE))
    authors = tuple(
        " ".join(a.text_content().split())
        for div in dd.find_class("list-authors")
        for a in div.iter("a")
    )
    return ParsedEntry(
        title=_field(dd, "title"),
        link=f"https://arxiv.org/abs/{paper_id}",
        guid=f"oai:arXiv.org:{paper_id}" + (f"v{version}" if version else ""),
        published=announced_at,
        updated=announced_at if part == "replace" else None,
        authors=authors,
        summary=html.escape(abstract, quote=False) if abstract else None,
        categories=listed,
        pdf_url=f"https://arxiv.org/pdf/{paper_id}",
        arxiv_id=paper_id,
        announced=day,
        version=version,
        announce=announce_per_category(part, listed=listed, primary=primary),
        primary_category=primary,
        subjects=tuple(subjects),
        journal_ref=_field(dd, "journal-ref") or None,
    )
