"""The article and its metadata from an HTML page through trafilatura and htmldate.

Owns calling trafilatura (main-content extraction: the article's paragraphs, headings,
lists, tables, images and links, without the site's boilerplate) and htmldate (a page's
publication date when nothing structured gives one), and turning what they return into
plain values for :mod:`aggregator._sources.page_html`, which decides what wins.

trafilatura takes 0.4 to 2.3 s to import (it pulls in htmldate, dateparser, justext and
courlan), so it is imported on the first call here, never at module import: ordinary feeds
are read in worker processes that must not pay for it (``tests/test_imports.py``).

Settings, and why:

- ``favor_precision`` and ``fast``: trafilatura's own extractor only, without its
  readability/justext comparison or the "baseline" rescue that, on a short page, turns the
  whole page (menus, related posts) into one paragraph. When it finds nothing, the caller's
  own extraction is the fallback.
- ``MIN_EXTRACTED_SIZE`` lowered from 250 to 50 characters: 250 characters is a long
  article in Chinese or Japanese, and below it trafilatura treats what it found as a failure.
- Dates: htmldate with ``original_date=True`` (the first publication, not the last edit)
  and ``extensive_search=False`` (no guessing from free text, which is how a copyright
  footer's year became a page's date), between 1995-01-01 and today.

Does no network I/O: both libraries get a parsed tree, never a URL to fetch.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import lxml.html

if TYPE_CHECKING:
    from configparser import ConfigParser

#: The earliest publication date htmldate may return (its own default floor too).
MIN_DATE = "1995-01-01"
#: Extracted text shorter than this counts as "found nothing" for trafilatura.
MIN_EXTRACTED_SIZE = 50


@dataclass(frozen=True)
class Guess:
    """What trafilatura's metadata reader found (``None`` or empty where nothing)."""

    title: str | None
    authors: tuple[str, ...]
    #: htmldate's publication day, midnight UTC (the project's convention for a bare day).
    published: datetime | None


@functools.cache
def _config() -> ConfigParser:
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(MIN_EXTRACTED_SIZE))
    return config


def article_html(doc: lxml.html.HtmlElement, *, url: str | None) -> str | None:
    """The article of ``doc`` as HTML (``<p>``, ``<h2>``, ``<ul>``, ``<img>``, ``<a>``...),
    links made absolute against ``url``; ``None`` when trafilatura finds no article text.

    ``doc`` may be changed.
    """
    import trafilatura

    found = trafilatura.extract(
        doc,
        output_format="html",
        fast=True,
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        include_images=True,
        include_links=True,
        include_formatting=True,
        with_metadata=False,
        config=_config(),
    )
    if not found:
        return None
    tree = lxml.html.document_fromstring(found)
    body = tree.body if isinstance(tree, lxml.html.HtmlElement) else None
    if body is None or not " ".join(body.text_content().split()):
        return None
    for anchor in list(body.iter("a")):
        if not anchor.get("href"):  # trafilatura's stand-in for <a name=...>
            anchor.drop_tag()
    # Resolved here, as lxml does (trafilatura resolves "#part" against the site's root).
    if url and urlsplit(url).scheme in ("http", "https"):
        body.make_links_absolute(url, handle_failures="ignore")
    return "\n".join(lxml.html.tostring(child, encoding="unicode").strip() for child in body)


def metadata(doc: lxml.html.HtmlElement, *, url: str | None, today: datetime) -> Guess:
    """Title, authors and publication day as trafilatura's metadata reader (with htmldate
    under the settings in the module docstring) finds them in ``doc``, which is not changed.
    """
    from trafilatura import extract_metadata

    found = extract_metadata(
        copy.deepcopy(doc),
        default_url=url,
        date_config=_date_config(today),
        extensive=False,
    )
    title = " ".join((found.title or "").split()) or None
    authors = tuple(name.strip() for name in (found.author or "").split(";") if name.strip())
    return Guess(title=title, authors=authors, published=_day(found.date))


def _date_config(today: datetime) -> dict[str, Any]:
    return {
        "original_date": True,
        "extensive_search": False,
        "min_date": MIN_DATE,
        "max_date": today.strftime("%Y-%m-%d"),
        "outputformat": "%Y-%m-%d",
    }


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
