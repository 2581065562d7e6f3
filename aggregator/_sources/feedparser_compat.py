"""What feedparser does to the values it reads, repeated for the fast path.

Owns the transformations feedparser applies between the XML and its result
dictionaries, each written to give feedparser's answer exactly (or, for HTML, the same
answer once ``normalize.sanitize_html`` has run): the text pipeline of its ``pop``, its
link, author and category conventions, and the URI resolution of its HTML processor.
:mod:`aggregator._sources.fast_feed` walks the XML; this module parses nothing.

Never does: I/O, or anything feedparser does not do (the point is to agree with it).
"""

from __future__ import annotations

import codecs
import contextlib
import html
import re
from functools import lru_cache
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import (
    RelativeURIResolver,
    _urljoin,
    make_safe_absolute_uri,
    resolve_relative_uris,
)
from lxml import etree

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XML_MEDIA_TYPES = frozenset(
    {"application/xml", "application/rss+xml", "application/atom+xml", "application/rdf+xml"}
)
_PROLOG_RE = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
#: feedparser's own prefixes for the namespaces it knows (lower-cased URIs).
KNOWN_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_CAN_CONTAIN_RELATIVE_URIS = _FeedParserMixin.can_contain_relative_uris
_C1_RE = re.compile("[\x80-\x9f]")
_URI_ATTRIBUTES = frozenset(RelativeURIResolver.relative_uris)
_ATTRIBUTE = r"""[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?"""
_START_TAG_RE = re.compile(rf"<([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+{_ATTRIBUTE})+)\s*(/?)>")
_ATTRIBUTE_RE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


class Unsupported(Exception):
    """The document needs feedparser: the fast path could not promise the same result."""


def check_encoding(data: bytes, content_type: str | None) -> None:
    """Decline documents feedparser might decode differently from lxml.

    UTF-8 (declared or not, BOM or not) and, for ``text/xml`` without a charset, which
    RFC 3023 makes US-ASCII, a document that is ASCII.
    """
    head = data[:512]
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or b"\x00" in head[:4]:
        raise Unsupported("UTF-16/32")
    match = _PROLOG_RE.match(head)
    if match and match.group(1).lower() not in (b"utf-8", b"utf8"):
        raise Unsupported("encoding")
    if content_type:
        media, _, params = content_type.partition(";")
        media = media.strip().lower()
        charset = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
        if media == "text/xml" and not charset:
            if not data.isascii():
                raise Unsupported("text/xml without a charset is US-ASCII")
            return
        if media not in _XML_MEDIA_TYPES and media != "text/xml":
            raise Unsupported("content type")
        if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
            raise Unsupported("charset")


def finish_text(
    text: str, element: str, content_type: str | None, *, base: str, guess_html: bool
) -> tuple[str, str | None]:
    """feedparser's ``pop`` for a text-only element: the value and its final type.

    ``guess_html``: plain text that looks like HTML is HTML (feedparser does this for
    RSS, not Atom).
    """
    output = text.strip()
    if element in ("link", "id") and output:
        output = _urljoin(base, output)
    if guess_html and content_type == "text/plain" and _FeedParserMixin.looks_like_html(output):
        content_type = "text/html"
    if content_type in HTML_TYPES and element in _CAN_CONTAIN_RELATIVE_URIS:
        if element == "title":
            if "<" in output or "&" in output:  # short: feedparser's own way, exactly
                output = resolve_relative_uris(output, base, "utf-8", content_type)
        elif "<" in output:
            output = resolve_uris(output, base)
    if not output.isascii():
        # feedparser's repair of UTF-8 read as Latin-1 (its parser always runs on text
        # it re-encoded as UTF-8, so the repair applies whatever the document's encoding)
        with contextlib.suppress(UnicodeError):
            output = output.encode("iso-8859-1").decode("utf-8")
        if _C1_RE.search(output):
            output = output.translate(_cp1252)
    return output, content_type


def scoped_base(base: str, xml_base: str) -> str:
    """The base URI inside an element with ``xml:base``, as feedparser keeps it: joined
    to the current base, and never a scheme outside feedparser's allowed ones (such an
    ``xml:base`` is ignored) once there is a base."""
    if base:
        return str(make_safe_absolute_uri(base, xml_base or base) or base)
    return str(_urljoin(base, xml_base))


def join_uri(base: str, uri: str) -> str:
    """feedparser's ``resolve_uri``, for link hrefs."""
    return str(_urljoin(base, uri))


@lru_cache(maxsize=4096)
def parse_date(text: str) -> Any:
    return _parse_date(text)


_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"


def attributes(elem: etree._Element) -> dict[str, str]:
    """feedparser's view of the attributes: names lower-cased, rel and type values too."""
    found: dict[str, str] = {}
    for name, value in elem.attrib.items():
        key = str(name)
        if key == _XML_BASE:
            key = "xml:base"  # feedparser keeps it among the element's attributes
        elif key.startswith("{"):
            raise Unsupported(f"namespaced attribute {key}")
        key = key.lower()
        found[key] = str(value).lower() if key in ("rel", "type") else str(value)
    return found


def is_html(content_type: str) -> bool:
    return map_type(content_type) in HTML_TYPES


def map_type(value: str) -> str:
    value = value.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(value, value)


_EMAIL_RE = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"""
    r"""([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)


def author_from_text(author: str) -> dict[str, str]:
    """feedparser's ``_sync_author_detail`` for an author given as one string."""
    detail: dict[str, str] = {}
    email = None
    match = _EMAIL_RE.search(author)
    if match:
        email = match.group(0)
        author = author.replace(email, "").replace("()", "").replace("<>", "")
        author = author.replace("&lt;&gt;", "").strip()
        if author and author[0] == "(":
            author = author[1:]
        if author and author[-1] == ")":
            author = author[:-1]
        author = author.strip()
    if author:
        detail["name"] = author
    if email:
        detail["email"] = email
    return detail


def resolve_uris(markup: str, base: str) -> str:
    """What feedparser's ``resolve_relative_uris`` does to the attributes of HTML.

    feedparser re-serialises the whole fragment through its sgmllib processor, which
    costs more than parsing the XML. What survives ``normalize.sanitize_html`` of that is
    the attributes: their names lower-cased, duplicates collapsed (the last value wins),
    ``rel`` and ``type`` values lower-cased, sorted, and URIs made absolute against the
    document's location (an unsafe one is left for the sanitiser to drop). This does
    only that; the rest of feedparser's rewriting (``<br />``, lower-case tag names,
    escaping) is undone by the sanitiser, as the equivalence test checks.
    """

    def start_tag(match: re.Match[str]) -> str:
        tag = match.group(1).lower()
        found: dict[str, str] = {}
        for attribute in _ATTRIBUTE_RE.finditer(match.group(2)):
            name = attribute.group(1).lower()
            value = next((v for v in attribute.group(2, 3, 4) if v is not None), None)
            value = name if value is None else html.unescape(value)
            found[name] = value.lower() if name in ("rel", "type") else value
        parts = []
        for name, value in sorted(found.items()):
            if (tag, name) in _URI_ATTRIBUTES:
                # feedparser's ``resolved and ... or value``: an unsafe URI stays as it was
                value = make_safe_absolute_uri(base, value.strip()) or value
            parts.append(f' {name}="{html.escape(value, quote=True)}"')
        return f"<{match.group(1)}{''.join(parts)}{match.group(3)}>"

    return _START_TAG_RE.sub(start_tag, markup)


def link_attributes(elem: etree._Element) -> dict[str, str]:
    """feedparser's ``_start_link`` defaults: rel alternate, an HTML or Atom type."""
    attrs = attributes(elem)
    attrs.setdefault("rel", "alternate")
    attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
    return enforce_href(attrs)


def enforce_href(attrs: dict[str, str]) -> dict[str, str]:
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


def add_tag(
    tags: list[dict[str, str | None]], term: str | None, scheme: str | None, label: str | None
) -> None:
    if not term and not scheme and not label:
        return
    value = {"term": term, "scheme": scheme, "label": label}
    if value not in tags:
        tags.append(value)
