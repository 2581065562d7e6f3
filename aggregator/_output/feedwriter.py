"""Feed documents from stored entries: Atom 1.0 (with feedgen), bytes out.

Owns the shape of a published feed: its head (id, title, self and alternate links),
each entry's fields, and the exact bytes, which are the same on every run for the same
entries (no build time, no library version in them). Pure: never reads the store or
the file system and never writes files (``publish.write_atomic`` does).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .._common.version import __version__
from .._update import normalize
from ..types import StoredEntry

ATOM_NS = "http://www.w3.org/2005/Atom"
ALL = "all"
GENERATOR = "aggregator"


def rfc3339(value: datetime) -> str:
    """``2026-01-14T00:00:00Z``: UTC, second precision, as Atom readers expect."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_id(base_url: str, category: str | None) -> str:
    """A stable feed ``atom:id``, distinct per installation (base URL) and category."""
    name = f"{base_url}feeds/{category or ALL}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def entry_html(entry: StoredEntry) -> str | None:
    """The entry's body as HTML: its content, or its structured sections and PDF link."""
    parts: list[str] = []
    if entry.content:
        parts.append(entry.content)
    for heading, text in entry.sections:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
        parts.append(f"<h3>{escape(heading)}</h3>{paragraphs}")
    if entry.pdf_url:
        parts.append(f'<p><a href="{escape(entry.pdf_url)}">PDF</a></p>')
    return "\n".join(parts) or None


def build_feed(
    entries: Sequence[StoredEntry],
    *,
    category: str | None,
    title: str,
    base_url: str,
    self_href: str,
    fallback_updated: datetime,
) -> bytes:
    """An Atom 1.0 document for ``entries`` (already newest first).

    The feed's ``updated`` is its newest entry's; ``fallback_updated`` is used only
    for a feed with no entries.
    """
    newest = max((e.updated for e in entries), default=fallback_updated)

    def build(clean: Callable[[str], str]) -> bytes:
        return _atom(
            entries,
            category=category,
            title=title,
            base_url=base_url,
            self_href=self_href,
            newest=newest,
            clean=clean,
        )

    try:
        return build(_as_is)
    except ValueError:
        # lxml refuses text XML cannot carry (control characters from a broken source)
        # rather than dropping it: build again without it. Rare, so the usual feed
        # does not pay for a check of every string.
        return build(_text)


def _atom(
    entries: Sequence[StoredEntry],
    *,
    category: str | None,
    title: str,
    base_url: str,
    self_href: str,
    newest: datetime,
    clean: Callable[[str], str],
) -> bytes:
    fg = FeedGenerator()
    fg.id(feed_id(base_url, category))
    fg.title(clean(title) or GENERATOR)
    fg.updated(_Instant.of(newest))
    fg.link(href=clean(self_href), rel="self", type="application/atom+xml")
    fg.link(href=clean(base_url), rel="alternate", type="text/html")
    fg.author(name=GENERATOR)
    # Set, not left to feedgen: its default names feedgen and its version, which would
    # change every feed's bytes on a library upgrade.
    fg.generator(GENERATOR, version=__version__)
    fg.register_extension(_EXTRAS, _FeedExtras, _EntryExtras, atom=True, rss=False)
    for entry in entries:
        _atom_entry(fg.add_entry(order="append"), normalize.stored_links(entry), clean)
    data: bytes = fg.atom_str(pretty=True, encoding="utf-8", xml_declaration=True)
    return data


def _atom_entry(fe: Any, entry: StoredEntry, clean: Callable[[str], str]) -> None:
    title = clean(entry.title) or "(untitled)"
    fe.id(entry.atom_id)
    fe.title(title)
    fe.updated(_Instant.of(entry.updated))
    if entry.published:
        fe.published(_Instant.of(entry.published))
    authors = [{"name": name} for name in map(clean, entry.authors) if name]
    if authors:
        fe.author(authors)
    links = []
    if entry.link:
        links.append({"href": clean(entry.link), "rel": "alternate", "type": "text/html"})
    if entry.pdf_url and entry.pdf_url != entry.link:
        links.append({"href": clean(entry.pdf_url), "rel": "related", "type": "application/pdf"})
    if links:
        fe.link(links)
        getattr(fe, _EXTRAS).links = links
    if entry.categories:
        fe.category([{"term": clean(term)} for term in entry.categories])
    if entry.summary:
        fe.summary(clean(entry.summary), type="html")
    body = entry_html(entry)
    if body:
        fe.content(clean(body), type="html")
    elif not entry.link:
        # RFC 4287 4.1.1.1: an entry without content needs an alternate link.
        fe.content(title, type="text")


#: The name our feedgen extension is registered under (an attribute of each entry).
_EXTRAS = "aggregator_extras"


class _FeedExtras(BaseExtension):  # type: ignore[misc]
    """What feedgen cannot write in a feed's head (nothing yet)."""


class _EntryExtras(BaseEntryExtension):  # type: ignore[misc]
    """What feedgen cannot write in an entry.

    Entry links: feedgen 1.0.0 writes an entry's ``<link>`` with its ``href`` alone,
    dropping ``rel`` and ``type`` (lkiesow/python-feedgen#135, open), so an entry's
    PDF link would read as a second alternate link. This puts them back on the
    elements feedgen wrote (the same result once feedgen is fixed).
    """

    def __init__(self) -> None:
        #: The links given to feedgen, in its order.
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        for element, link in zip(entry.iterchildren("link"), self.links, strict=False):
            element.set("rel", link["rel"])
            element.set("type", link["type"])
        return entry


#: What XML 1.0 cannot carry (C0 controls but tab and line breaks, U+FFFE, U+FFFF), and
#: lone surrogates, which are no text at all (UTF-8 cannot encode them).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (from a broken source)."""
    return _XML_INVALID.sub("", value)


def _as_is(value: str) -> str:
    return value


class _Instant(datetime):
    """A UTC instant whose ``isoformat`` is RFC 3339 at second precision with ``Z``.

    feedgen writes Atom dates with ``isoformat()`` (``+00:00``, and microseconds when
    there are any); this keeps them in the one form every output of ours uses.
    """

    @classmethod
    def of(cls, value: datetime) -> _Instant:
        utc = value.astimezone(UTC)
        return cls(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, tzinfo=UTC)

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return rfc3339(self)
