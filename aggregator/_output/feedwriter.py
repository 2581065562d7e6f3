"""Feed documents from stored entries: Atom 1.0 (lxml), RSS 2.0 (feedgen) and JSON
Feed 1.1, bytes out.

Owns the shape of a published feed: its head (id, title, self and alternate links),
each entry's fields, and the exact bytes, which are the same on every run for the same
entries (no build time, no library version in them). Pure: never reads the store or
the file system and never writes files (``publish.write_atomic`` does).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape
from json.encoder import encode_basestring as _json_string
from typing import Any

import orjson
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .._common.version import __version__
from .._update import normalize
from ..types import StoredEntry, Summary

ATOM_NS = "http://www.w3.org/2005/Atom"
#: RFC 5005's namespace (``fh:archive``).
HISTORY_NS = "http://purl.org/syndication/history/1.0"
UNTITLED = "(untitled)"
ALL = "all"
GENERATOR = "aggregator"


def rfc3339(value: datetime) -> str:
    """``2026-01-14T00:00:00Z``: UTC, second precision, as Atom readers expect."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_id(base_url: str, category: str | None) -> str:
    """A stable feed ``atom:id``, distinct per installation (base URL) and category."""
    name = f"{base_url}feeds/{category or ALL}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def with_summary(entry: StoredEntry, summary: Summary) -> StoredEntry:
    """``entry`` as a feed shows it with a model-written summary: the summary (the
    translated title first, then the TL;DR and the sections) as its summary, and the
    abstract it replaces kept as the body when the entry has no content of its own."""
    parts = []
    if summary.title:
        lang = f' lang="{escape(summary.language)}"' if summary.language else ""
        parts.append(f"<p{lang}><strong>{escape(summary.title)}</strong></p>")
    parts.append(f"<p><strong>TL;DR:</strong> {escape(summary.tldr)}</p>")
    parts += [f"<p><strong>{h}:</strong> {escape(t)}</p>" for h, t in summary.sections]
    return replace(entry, summary="".join(parts), content=entry.content or entry.summary)


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


@dataclass(frozen=True)
class Link:
    """A link in a feed's head beyond its self and alternate links (RFC 5005's
    ``prev-archive``, ``next-archive`` and ``current``; WebSub's ``hub``)."""

    rel: str
    href: str
    media_type: str | None = None


def build(
    kind: str,
    entries: Sequence[StoredEntry],
    *,
    category: str | None,
    title: str,
    base_url: str,
    self_href: str,
    fallback_updated: datetime,
    links: Sequence[Link] = (),
    archive: bool = False,
) -> bytes:
    """The ``kind`` (``atom``, ``rss`` or ``json``) document for ``entries``."""
    if kind == "atom":
        builder = build_feed
    elif kind == "rss":
        builder = build_rss
    elif kind == "json":
        builder = build_json
    else:
        raise ValueError(f"unknown feed format {kind!r}")
    return builder(
        entries,
        category=category,
        title=title,
        base_url=base_url,
        self_href=self_href,
        fallback_updated=fallback_updated,
        links=links,
        archive=archive,
    )


def build_feed(
    entries: Sequence[StoredEntry],
    *,
    category: str | None,
    title: str,
    base_url: str,
    self_href: str,
    fallback_updated: datetime,
    links: Sequence[Link] = (),
    archive: bool = False,
) -> bytes:
    """An Atom 1.0 document for ``entries`` (already newest first).

    The feed's ``updated`` is its newest entry's; ``fallback_updated`` is used only
    for a feed with no entries. ``links`` go in the feed's head; ``archive`` marks it
    an RFC 5005 archive document (``<fh:archive/>``).
    """
    updated = max((e.updated for e in entries), default=fallback_updated)
    head = _Head(
        feed_id(base_url, category), title, base_url, self_href, updated, tuple(links), archive
    )
    return _xml(_atom, entries, head)


def build_rss(
    entries: Sequence[StoredEntry],
    *,
    category: str | None,
    title: str,
    base_url: str,
    self_href: str,
    fallback_updated: datetime,
    links: Sequence[Link] = (),
    archive: bool = False,
) -> bytes:
    """An RSS 2.0 document for ``entries`` (already newest first), as the Atom one.

    Each item's ``guid`` is the entry's ``atom:id`` (not a permalink), its
    ``description`` the summary and ``content:encoded`` the body; authors are
    ``dc:creator`` (RSS's ``author`` must be an email address). The channel's
    ``lastBuildDate`` is its newest entry's ``updated``, never the build time.
    """
    updated = max((e.updated for e in entries), default=fallback_updated)
    head = _Head(
        feed_id(base_url, category), title, base_url, self_href, updated, tuple(links), archive
    )
    return _xml(_rss, entries, head)


def _xml(
    write: Callable[[Sequence[StoredEntry], _Head, Callable[[str], str]], bytes],
    entries: Sequence[StoredEntry],
    head: _Head,
) -> bytes:
    """``write`` the document; lxml refuses text XML cannot carry (control characters
    from a broken source) rather than dropping it, so then build again without it.
    Rare, so the usual feed does not pay for a check of every string."""
    try:
        return write(entries, head, _as_is)
    except ValueError:
        return write(entries, head, _text)


@dataclass(frozen=True)
class _Head:
    id: str
    title: str
    home: str
    self_href: str
    updated: datetime
    links: tuple[Link, ...]
    archive: bool


def _atom(entries: Sequence[StoredEntry], head: _Head, clean: Callable[[str], str]) -> bytes:
    """The Atom document, built with lxml directly.

    It was built with feedgen; these are the same elements in the same order with the
    same attributes, so the same bytes (tests/test_atom_writer.py compares the two),
    at a third of the cost: feedgen checks and copies every field of every entry
    through dictionaries first. The head: id, title, updated, author, links,
    generator (named here: feedgen's default names itself and its version, which would
    change every feed's bytes on a library upgrade), RFC 5005's ``fh:archive``.
    """
    feed = etree.Element("feed", xmlns=ATOM_NS, nsmap={"fh": HISTORY_NS} if head.archive else {})
    _child(feed, "id", head.id)
    _child(feed, "title", clean(head.title) or GENERATOR)
    _child(feed, "updated", rfc3339(head.updated))
    _child(etree.SubElement(feed, "author"), "name", GENERATOR)
    etree.SubElement(feed, "link", href=clean(head.self_href), rel="self", type=_ATOM_TYPE)
    etree.SubElement(feed, "link", href=clean(head.home), rel="alternate", type="text/html")
    for link in head.links:
        etree.SubElement(feed, "link", _link_fields(link, clean))
    _child(feed, "generator", GENERATOR).set("version", __version__)
    if head.archive:
        etree.SubElement(feed, f"{{{HISTORY_NS}}}archive")
    for entry in entries:
        _atom_entry(feed, normalize.stored_links(entry), clean)
    return etree.tostring(
        etree.ElementTree(feed), pretty_print=True, encoding="utf-8", xml_declaration=True
    )


_ATOM_TYPE = "application/atom+xml"


def _child(parent: etree._Element, tag: str, text: str | None) -> etree._Element:
    """A new last child of ``parent`` holding ``text`` (none when empty)."""
    element = etree.SubElement(parent, tag)
    if text:
        element.text = text
    return element


def _link_fields(link: Link, clean: Callable[[str], str]) -> dict[str, str]:
    fields = {"href": clean(link.href), "rel": link.rel}
    if link.media_type:
        fields["type"] = link.media_type
    return fields


def _atom_entry(feed: etree._Element, entry: StoredEntry, clean: Callable[[str], str]) -> None:
    """One ``<entry>``: id, title, updated, authors, content, links, summary,
    categories, published (feedgen's order)."""
    element = etree.SubElement(feed, "entry")
    title = clean(entry.title) or UNTITLED
    _child(element, "id", entry.atom_id)
    _child(element, "title", title)
    _child(element, "updated", rfc3339(entry.updated))
    for name in map(clean, entry.authors):
        if name:
            _child(etree.SubElement(element, "author"), "name", name)
    body = entry_html(entry)
    if body:
        _child(element, "content", clean(body)).set("type", "html")
    elif not entry.link:
        # RFC 4287 4.1.1.1: an entry without content needs an alternate link.
        _child(element, "content", title).set("type", "text")
    if entry.link:
        etree.SubElement(element, "link", href=clean(entry.link), rel="alternate", type="text/html")
    if entry.pdf_url and entry.pdf_url != entry.link:
        etree.SubElement(
            element, "link", href=clean(entry.pdf_url), rel="related", type="application/pdf"
        )
    if entry.summary:
        _child(element, "summary", clean(entry.summary)).set("type", "html")
    for term in entry.categories:
        etree.SubElement(element, "category", term=clean(term))
    if entry.published:
        _child(element, "published", rfc3339(entry.published))


def _rss(entries: Sequence[StoredEntry], head: _Head, clean: Callable[[str], str]) -> bytes:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension(_EXTRAS, _FeedExtras, BaseEntryExtension, atom=False, rss=True)
    title = clean(head.title) or GENERATOR
    fg.title(title)
    fg.description(title)
    # RSS has one channel link: feedgen takes the last one given, so the page goes last.
    fg.link(href=clean(head.self_href), rel="self", type="application/rss+xml")
    fg.link(href=clean(head.home), rel="alternate")
    fg.updated(_Instant.of(head.updated))  # lastBuildDate, else the build time
    fg.generator(f"{GENERATOR} {__version__}")
    getattr(fg, _EXTRAS).links = [_link_fields(link, clean) for link in head.links]
    for entry in entries:
        entry = normalize.stored_links(entry)
        fe = fg.add_entry(order="append")
        title = clean(entry.title) or UNTITLED
        fe.title(title)
        fe.id(entry.atom_id)  # the guid, isPermaLink="false"
        if entry.link:
            fe.link(href=clean(entry.link), rel="alternate")
        fe.published(_Instant.of(entry.published or entry.updated))
        names = [name for name in map(clean, entry.authors) if name]
        if names:
            fe.dc.dc_creator(names)
        if entry.categories:
            fe.category([{"term": clean(term)} for term in entry.categories])
        if entry.summary:
            fe.summary(clean(entry.summary))
        body = entry_html(entry)
        if body:
            fe.content(clean(body))
        elif not entry.summary:
            fe.description(title)
    data: bytes = fg.rss_str(pretty=True, encoding="utf-8", xml_declaration=True)
    return data


def build_json(
    entries: Sequence[StoredEntry],
    *,
    category: str | None,
    title: str,
    base_url: str,
    self_href: str,
    fallback_updated: datetime,
    links: Sequence[Link] = (),
    archive: bool = False,
) -> bytes:
    """A JSON Feed 1.1 document for ``entries`` (already newest first), as the Atom one.

    Each item's ``id`` is the entry's ``atom:id``; ``content_html`` its body (else its
    summary), ``summary`` the summary as plain text (JSON Feed's summary is text), the
    PDF an attachment. Hub links become ``hubs``.
    """
    del category, fallback_updated, archive  # no feed id or date in JSON Feed 1.1
    document: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": _text(title) or GENERATOR,
        "home_page_url": _text(base_url),
        "feed_url": _text(self_href),
    }
    hubs = [{"type": "WebSub", "url": _text(link.href)} for link in links if link.rel == "hub"]
    if hubs:
        document["hubs"] = hubs
    document["authors"] = [{"name": GENERATOR}]
    document["items"] = [_json_item(normalize.stored_links(entry)) for entry in entries]
    try:
        # orjson writes the same bytes as json.dumps(indent=2, ensure_ascii=False) for
        # the strings, integers, booleans, nulls, lists and objects of a feed, at a
        # tenth of the cost of the fallback below (itself a third of json.dumps's).
        return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        # What orjson refuses (a lone surrogate in an id from a JSON source): written
        # as the standard library would, and refused by the UTF-8 encoding as before.
        return (indented_json(document) + "\n").encode("utf-8")


def indented_json(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)``, the same text, for JSON
    of strings, integers, booleans, null, lists and objects with string keys.

    With ``indent``, :func:`json.dumps` runs the standard library's pure-Python
    encoder (its C one writes no indentation). This writes the same text in a few
    joins per level, escaping strings with the C escaper the encoder itself uses.
    """
    parts: list[str] = []
    _write_json(value, parts, "\n")
    return "".join(parts)


def _write_json(value: Any, out: list[str], newline: str) -> None:
    """Append ``value`` to ``out``; ``newline`` is a line break and this level's indent."""
    if isinstance(value, str):
        out.append(_json_string(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys are strings here, not {key!r}")
            if isinstance(item, str):  # most values: no call for them
                out.append(separator + _json_string(key) + ": " + _json_string(item))
            else:
                out.append(separator + _json_string(key) + ": ")
                _write_json(item, out, inner)
            separator = "," + inner
        out.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            if isinstance(item, str):
                out.append(separator + _json_string(item))
            else:
                out.append(separator)
                _write_json(item, out, inner)
            separator = "," + inner
        out.append(newline + "]")
    elif value is None or isinstance(value, bool | int):
        out.append(json.dumps(value))
    else:
        raise TypeError(f"not written as JSON here: {type(value).__name__}")


#: The ``version`` of a JSON Feed 1.1 document.
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def _json_item(entry: StoredEntry) -> dict[str, Any]:
    title = _text(entry.title) or UNTITLED
    item: dict[str, Any] = {"id": entry.atom_id, "title": title}
    if entry.link:
        item["url"] = _text(entry.link)
    body = entry_html(entry)
    if body or entry.summary:
        item["content_html"] = _text(body or entry.summary or "")
    else:
        item["content_text"] = title
    if entry.summary:
        summary = normalize.html_to_text(_text(entry.summary))
        if summary:
            item["summary"] = summary
    if entry.published:
        item["date_published"] = rfc3339(entry.published)
    item["date_modified"] = rfc3339(entry.updated)
    authors = [{"name": name} for name in map(_text, entry.authors) if name]
    if authors:
        item["authors"] = authors
    if entry.categories:
        item["tags"] = [_text(term) for term in entry.categories]
    if entry.pdf_url and entry.pdf_url != entry.link:
        item["attachments"] = [{"url": _text(entry.pdf_url), "mime_type": "application/pdf"}]
    return item


#: The name our feedgen extension is registered under (an attribute of the feed).
_EXTRAS = "aggregator_extras"


class _FeedExtras(BaseExtension):  # type: ignore[misc]
    """What feedgen cannot write in an RSS channel: links other than ``self`` (feedgen
    writes only that one)."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        channel = rss[0]
        for link in self.links:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", link)
        return rss


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
