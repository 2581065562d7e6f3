"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/): bytes in, :class:`ParsedFeed` out.

Owns: reading a JSON Feed document into :class:`ParsedEntry` values, with the same
conventions the RSS/Atom path (:mod:`.feed`) gives its entries, so that an entry means
the same whichever format brought it.

Never does: I/O, HTML sanitising (``normalize`` does it), identity keys.

Decisions worth knowing:

- **Which documents.** ``feed`` sources whose first non-space byte is ``{`` or ``[`` come
  here (see :func:`looks_like_json`), whichever ``[fetch] parser`` is set. A JSON
  document is a JSON Feed when its top-level ``version`` is a ``jsonfeed.org/version/``
  URL and its ``items`` a list; anything else is a :class:`ParseError`. JSON Feed is
  UTF-8 by its spec (a UTF-8 BOM is tolerated).
- **Items.** ``id`` is the guid (1.0 feeds sometimes give a number: it is read as its
  text). An item without an id, or one that is not an object, is skipped with a warning
  on the result; when no item is left the document is a :class:`ParseError`.
- **Fields.** ``title`` is plain text made one line. ``content_html`` is the HTML body,
  else ``content_text`` HTML-escaped (as the Atom path treats text); ``summary`` is
  plain text, HTML-escaped; a body equal to the summary is dropped, as in :mod:`.feed`.
  ``url`` is the link, else ``external_url``, else the id when it is an http(s) URL (as
  an RSS guid stands in). ``date_published``/``date_modified`` are RFC 3339 (a time
  without an offset is read in ``options.timezone``). Authors are 1.1's ``authors``
  names or 1.0's ``author`` name; an item without authors gets the feed's (as the spec
  says). ``tags`` are categories; ``language`` is the item's or the feed's (1.1); a PDF
  attachment is the entry's PDF.
- **Relative URLs** (links and URIs inside ``content_html``) are resolved against the
  document's ``feed_url`` (itself resolved against the location the document came from),
  else that location, else ``home_page_url``.
"""

from __future__ import annotations

import codecs
import html
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .._common import safety
from .._update import normalize
from ..errors import ParseError
from ..types import ParsedEntry, ParsedFeed
from . import feed_conventions as compat
from .common import ParseOptions

_VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
_HINT_NOT_A_FEED = "point the source at the site's RSS, Atom or JSON Feed URL"
_HINT_BROKEN = "the publisher's JSON Feed is broken; check the source's URL or tell its publisher"


def looks_like_json(data: bytes) -> bool:
    """Whether the document's first non-space byte opens a JSON object or array."""
    return data.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1] in (b"{", b"[")


def parse(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """Parse a JSON Feed 1.0 or 1.1 document.

    Raises ParseError when the bytes are not UTF-8, not JSON, not a JSON Feed, or when
    every item had to be skipped. Skipped items are named in ``ParsedFeed.warnings``.
    """
    document = _load(data, source=source)
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith(_VERSION_PREFIXES):
        raise ParseError(
            "this is JSON, but not a JSON Feed (no jsonfeed.org version)",
            source=source,
            hint=_HINT_NOT_A_FEED,
        )
    assert isinstance(document, dict)
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError(
            "not a valid JSON Feed: its items are not a list", source=source, hint=_HINT_BROKEN
        )
    base = _base(document, options.location)
    feed_authors = _authors(document)
    feed_language = _str(document, "language")
    entries: list[ParsedEntry] = []
    warnings: list[str] = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            warnings.append(f"item {position} is not a JSON object: skipped")
            continue
        guid = _id(item)
        if guid is None:
            title = _one_line(_str(item, "title"))
            shown = f" ({title})" if title else ""
            warnings.append(f"item {position}{shown} has no id: skipped")
            continue
        entries.append(
            _entry(
                item,
                guid=guid,
                base=base,
                feed_authors=feed_authors,
                feed_language=feed_language,
                timezone=options.timezone,
            )
        )
    if items and not entries:
        raise ParseError(
            f"no item of the JSON Feed could be read ({'; '.join(warnings[:3])})",
            source=source,
            hint=_HINT_BROKEN,
        )
    home = _str(document, "home_page_url")
    return ParsedFeed(
        entries=tuple(entries),
        title=_one_line(_str(document, "title")) or None,
        link=safety.safe_url(compat.urljoin(base, home) if home and base else home),
        warnings=tuple(warnings),
        reader="json",
    )


def _load(data: bytes, *, source: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ParseError(
            f"not valid UTF-8 at byte {err.start} (a JSON Feed is UTF-8 by its spec)",
            source=source,
            hint="the publisher's feed has the wrong encoding; tell its publisher",
        ) from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(
            f"not valid JSON: {err.msg}, line {err.lineno} column {err.colno}",
            source=source,
            hint=_HINT_BROKEN,
        ) from err
    except RecursionError as err:
        raise ParseError("not valid JSON: nested too deeply", source=source) from err


def _base(document: dict[str, Any], location: str | None) -> str:
    where = location if location and location.startswith(("http://", "https://")) else ""
    feed_url = _str(document, "feed_url")
    if feed_url:
        joined = compat.urljoin(where, feed_url)
        if urlsplit(joined).scheme in ("http", "https"):
            return joined
    if where:
        return where
    home = _str(document, "home_page_url")
    if home and urlsplit(home).scheme in ("http", "https"):
        return home
    return ""


def _entry(
    item: dict[str, Any],
    *,
    guid: str,
    base: str,
    feed_authors: tuple[str, ...],
    feed_language: str | None,
    timezone: str,
) -> ParsedEntry:
    summary = _escaped(_str(item, "summary"))
    content_html = _str(item, "content_html")
    if content_html is not None:
        content: str | None = compat.resolve_uris(content_html, base) if base else content_html
    else:
        content = _escaped(_str(item, "content_text"))
    return ParsedEntry(
        title=_one_line(_str(item, "title")),
        link=_link(item, guid, base),
        guid=guid,
        published=normalize.parse_datetime(_str(item, "date_published"), timezone),
        updated=_updated(item, timezone),
        authors=_authors(item) or feed_authors,
        summary=summary,
        content=content if content != summary else None,
        categories=_unique(tag.strip() for tag in _list(item, "tags") if isinstance(tag, str)),
        pdf_url=_pdf_url(item, base),
        language=_str(item, "language") or feed_language,
    )


def _updated(item: dict[str, Any], timezone: str) -> datetime | None:
    return normalize.parse_datetime(_str(item, "date_modified"), timezone)


def _id(item: dict[str, Any]) -> str | None:
    value = item.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):  # JSON Feed 1.0 allowed numbers
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _link(item: dict[str, Any], guid: str, base: str) -> str | None:
    for key in ("url", "external_url"):
        if value := _str(item, key):
            return compat.urljoin(base, value) if base else value
    if urlsplit(guid).scheme in ("http", "https"):
        return guid
    return None


def _authors(mapping: dict[str, Any]) -> tuple[str, ...]:
    people = _list(mapping, "authors")
    if not people and isinstance(mapping.get("author"), dict):
        people = [mapping["author"]]
    return _unique(_str(person, "name") for person in people if isinstance(person, dict))


def _pdf_url(item: dict[str, Any], base: str) -> str | None:
    for attachment in _list(item, "attachments"):
        if not isinstance(attachment, dict):
            continue
        mime = (_str(attachment, "mime_type") or "").lower()
        if mime in _PDF_TYPES and (url := _str(attachment, "url")):
            return compat.urljoin(base, url) if base else url
    return None


def _str(mapping: dict[str, Any], key: str) -> str | None:
    """A non-blank string value, stripped."""
    value = mapping.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _list(mapping: dict[str, Any], key: str) -> list[Any]:
    value = mapping.get(key)
    return value if isinstance(value, list) else []


def _one_line(value: str | None) -> str:
    return " ".join(value.split()) if value else ""


def _escaped(value: str | None) -> str | None:
    return html.escape(value, quote=False) if value else None


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))
