"""Pages saved as HTML: metadata from meta tags and JSON-LD, the article without clutter.

See :mod:`aggregator._sources.page` for the rules.
"""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from .._update.normalize import parse_datetime
from ..errors import ParseError
from ..types import ParsedEntry, ParsedFeed
from . import page_extract
from .common import ParseOptions
from .page_common import _META_MAX_LENGTH, _labelled_authors, _labelled_datetime, _split_names

# --- HTML pages --------------------------------------------------------------------------------

_HTML_SNIFF_RE = re.compile(
    r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<article[\s>]", re.I
)
_HTML_SNIFF_CHARS = 2048
_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_DROP_TAGS = (
    "nav", "header", "footer", "aside", "script", "style", "noscript", "template", "form",
    "iframe", "button", "svg", "select", "input", "textarea",
)  # fmt: skip
_CLUTTER_PREFIXES = (
    "related", "comment", "share", "sharing", "nav", "menu", "footer", "sidebar", "breadcrumb",
    "recommend", "social", "advert", "pagination", "widget", "subscribe", "newsletter",
)  # fmt: skip
_CLUTTER_WORDS = frozenset({"meta", "byline", "ad", "ads", "tags", "pager", "prevnext", "toolbar"})
_TITLE_SUFFIX_RE = re.compile(r"^(?P<title>.+?)\s+[-|–—·»_]\s+[^-|–—·»_]+$")


def _is_html(text: str, options: ParseOptions) -> bool:
    content_type = (options.content_type or "").split(";")[0].strip().lower()
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    head = text.lstrip()[:_HTML_SNIFF_CHARS]
    return head.startswith("<") and _HTML_SNIFF_RE.search(head) is not None


def _declared_charset(data: bytes, options: ParseOptions) -> str | None:
    """The charset the bytes declare: the HTTP Content-Type, then an HTML ``<meta charset>``.

    A byte-order mark still wins (see ``decode_text``).
    """
    match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_\-]+)", options.content_type or "", re.I)
    if match:
        return match.group(1)
    found = _META_CHARSET_RE.search(data[:_HTML_SNIFF_CHARS])
    return found.group(1).decode("ascii") if found else None


def _xpath_strings(element: lxml.html.HtmlElement, query: str, **variables: str) -> list[str]:
    result = element.xpath(query, **variables)
    if not isinstance(result, list):
        return []
    return [str(item).strip() for item in result if isinstance(item, str) and str(item).strip()]


def _xpath_elements(element: lxml.html.HtmlElement, query: str) -> list[lxml.html.HtmlElement]:
    result = element.xpath(query)
    if not isinstance(result, list):
        return []
    return [item for item in result if isinstance(item, lxml.html.HtmlElement)]


def _meta(doc: lxml.html.HtmlElement, *names: str) -> str | None:
    for name in names:
        values = _xpath_strings(
            doc, "//meta[@property=$n or @name=$n or @itemprop=$n]/@content", n=name
        )
        if values:
            return values[0]
    return None


def _json_ld(doc: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object in the page, ``@graph`` members included; bad JSON is skipped."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            found.append(value)
            walk(value.get("@graph"))

    for script in _xpath_elements(doc, '//script[@type="application/ld+json"]'):
        try:
            walk(json.loads(script.text or ""))
        except ValueError:
            continue
    return found


def _json_ld_authors(objects: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    for obj in objects:
        value = obj.get("author")
        names = [
            (item.get("name") if isinstance(item, dict) else item)
            for item in (value if isinstance(value, list) else [value])
        ]
        clean = tuple(n.strip() for n in names if isinstance(n, str) and n.strip())
        if clean:
            return clean
    return ()


def _text_length(element: lxml.html.HtmlElement) -> int:
    return len(" ".join(element.text_content().split()))


def _has_clutter_name(element: lxml.html.HtmlElement) -> bool:
    names = f"{element.get('class', '')} {element.get('id', '')}".lower()
    return any(
        token in _CLUTTER_WORDS or token.startswith(_CLUTTER_PREFIXES)
        for token in re.split(r"[^a-z0-9]+", names)
        if token
    )


def _drop_clutter(root: lxml.html.HtmlElement) -> None:
    """Remove clutter below ``root`` (never ``root`` itself), comments included.

    An element whose class or id names clutter is dropped only if it holds less than half of
    the text: ``<div class="content has-sidebar">`` wrapping the article must stay. Better a
    long comment thread kept than the article lost.
    """
    half = _text_length(root) / 2
    doomed = [
        el
        for el in root.iterdescendants()
        if not isinstance(el, lxml.html.HtmlElement)  # comments, processing instructions
        or el.tag in _DROP_TAGS
        or (_has_clutter_name(el) and _text_length(el) < half)
    ]
    for el in doomed:
        _remove(el)


def _remove(element: etree._Element) -> None:
    """Remove ``element`` and its children, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _body_root(doc: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    for query in ('//*[@itemprop="articleBody"]', "//article", "//main", '//*[@role="main"]'):
        candidates = _xpath_elements(doc, query)
        if candidates:
            root = max(candidates, key=_text_length)
            _drop_clutter(root)
            return root
    body = doc.body
    _drop_clutter(body)
    scores: dict[lxml.html.HtmlElement, int] = {}
    for paragraph in body.iter("p"):
        parent = paragraph.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + _text_length(paragraph)
    return max(scores, key=lambda el: scores[el]) if scores else body


def _inner_html(root: lxml.html.HtmlElement) -> str | None:
    parts = [html.escape(root.text, quote=False)] if root.text and root.text.strip() else []
    parts.extend(lxml.html.tostring(child, encoding="unicode") for child in root)
    content = "".join(parts).strip()
    return content or None


def _html_link(doc: lxml.html.HtmlElement, location: str | None) -> str | None:
    """``<link rel=canonical>``, then ``og:url``: the first that is (or resolves to) http(s)."""
    candidates = _xpath_strings(doc, '//link[@rel="canonical"]/@href')
    candidates += [value for value in [_meta(doc, "og:url")] if value]
    for candidate in candidates:
        url = urljoin(location, candidate) if location else candidate
        if urlsplit(url).scheme in ("http", "https"):
            return url
    return None


def _html_title(doc: lxml.html.HtmlElement) -> str | None:
    title = _meta(doc, "og:title", "twitter:title")
    if title:
        return " ".join(title.split())
    for query in ("//article//h1", "//main//h1", "//h1"):
        for h1 in _xpath_elements(doc, query):
            text = " ".join(h1.text_content().split())
            if text:
                return text
    element = doc.find(".//title")
    text = " ".join(element.text_content().split()) if element is not None else ""
    if not text:
        return None
    match = _TITLE_SUFFIX_RE.match(text)
    return match.group("title") if match else text


def _html_published(
    doc: lxml.html.HtmlElement, ld: Sequence[dict[str, Any]], timezone: str
) -> datetime | None:
    candidates = [_meta(doc, "article:published_time", "datePublished", "pubdate")]
    candidates += _xpath_strings(doc, "//article//time/@datetime | //main//time/@datetime")
    candidates += _xpath_strings(doc, "//time/@datetime")
    candidates += [str(obj["datePublished"]) for obj in ld if obj.get("datePublished")]
    for candidate in candidates:
        value = parse_datetime(candidate, timezone)
        if value is not None:
            return value
    return None


def _html_authors(doc: lxml.html.HtmlElement, ld: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    meta = _meta(doc, "author")
    if meta:
        return _split_names(meta)
    from_ld = _json_ld_authors(ld)
    if from_ld:
        return from_ld
    for element in _xpath_elements(doc, '//*[@rel="author" or @itemprop="author"]'):
        name = " ".join(element.text_content().split())
        if name:
            return (name,)
    return ()


def _parse_html(text: str, *, source: str, options: ParseOptions) -> ParsedFeed:
    doc = _document(text, source)
    ld = _json_ld(doc)
    link = _html_link(doc, options.location)
    base = link or options.location
    # The meta line ("发布时间：... 作者：...") as text, before clutter removal drops it.
    meta_line = _meta_line(doc, options.timezone)
    title = _html_title(doc)
    # Structured dates (meta, <time datetime>, JSON-LD) > our labelled meta line > htmldate.
    published = _html_published(doc, ld, options.timezone) or (
        _labelled_datetime(meta_line, options.timezone) if meta_line else None
    )
    authors = _html_authors(doc, ld) or (_labelled_authors(meta_line) if meta_line else ())
    if not title or published is None or not authors:
        guess = page_extract.metadata(doc, url=base, today=options.now or datetime.now(UTC))
        title, authors = title or guess.title, authors or guess.authors
        published = published or guess.published
    content = page_extract.article_html(_pruned(doc), url=base)
    if content is not None:
        content = _without_title(content, title)
    if content is None:
        # trafilatura found nothing: our own reading of the page (see page.py).
        content, byline = _own_content(doc, title, base)
        authors = authors or byline
    if content is None:
        raise ParseError(
            "no article text found in the HTML page",
            source=source,
            hint="the page may build its text with JavaScript; save the rendered page instead",
        )
    entry = ParsedEntry(
        title=title or "", link=link, published=published, authors=authors, content=content
    )
    return ParsedFeed(entries=(entry,), warnings=_html_warnings(title, published))


def _document(text: str, source: str) -> lxml.html.HtmlElement:
    try:
        doc = lxml.html.document_fromstring(_XML_DECL_RE.sub("", text, count=1))
    except (etree.ParserError, ValueError) as err:
        raise ParseError(f"the HTML cannot be read: {err}", source=source) from err
    if not isinstance(doc, lxml.html.HtmlElement):
        raise ParseError("the HTML cannot be read as a document", source=source)
    return doc


def _meta_line(doc: lxml.html.HtmlElement, timezone: str) -> str | None:
    return next(
        (
            line
            for line in (raw.strip() for raw in doc.text_content().splitlines())
            if line and len(line) <= _META_MAX_LENGTH and _labelled_datetime(line, timezone)
        ),
        None,
    )


def _pruned(doc: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """A copy of ``doc`` without what our clutter rules name (ads, share buttons...), which
    trafilatura would otherwise keep when they sit inside the article."""
    pruned = copy.deepcopy(doc)
    body = pruned.body
    if body is None:
        return pruned
    marked = _xpath_elements(pruned, '//*[@itemprop="articleBody"]')
    if marked:
        # The publisher's own schema.org marker: the article is there and nowhere else.
        article = max(marked, key=_text_length)
        body.clear()
        body.append(article)
    _drop_clutter(body)
    return pruned


def _html_warnings(title: str | None, published: datetime | None) -> tuple[str, ...]:
    warnings = []
    if published is None:
        warnings.append("no publication time found")
    if not title:
        warnings.append("no title found (no og:title, <h1> or <title>)")
    return tuple(warnings)


def _without_title(content: str, title: str | None) -> str | None:
    """trafilatura's article without a leading heading that repeats the title."""
    fragments = lxml.html.fragments_fromstring(content)
    kept = [
        part
        for part in fragments
        if not (
            isinstance(part, lxml.html.HtmlElement)
            and part.tag in ("h1", "h2")
            and title
            and " ".join(part.text_content().split()) == title
        )
    ]
    if not any(isinstance(part, lxml.html.HtmlElement) and _text_length(part) for part in kept):
        return None
    for part in kept:
        if isinstance(part, lxml.html.HtmlElement):
            # trafilatura writes a code block as <pre><pre>: one is enough.
            for inner in _xpath_elements(part, "descendant-or-self::pre/pre"):
                inner.drop_tag()
    return "\n".join(
        lxml.html.tostring(part, encoding="unicode").strip()
        if isinstance(part, lxml.html.HtmlElement)
        else html.escape(str(part), quote=False)
        for part in kept
    )


def _own_content(
    doc: lxml.html.HtmlElement, title: str | None, base: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """Our own article extraction (changes ``doc``), and a byline found at its top."""
    root = _body_root(doc)
    for heading in list(root.iter("h1", "h2")):
        if title and " ".join(heading.text_content().split()) == title:
            _remove(heading)
    byline = next(
        (found for line in _lines(root) for found in [_labelled_authors(line)] if found), ()
    )
    if base and urlsplit(base).scheme in ("http", "https"):
        root.make_links_absolute(base, handle_failures="ignore")
    return (_inner_html(root) if _text_length(root) else None), byline


def _lines(root: lxml.html.HtmlElement) -> Iterator[str]:
    for line in root.text_content().splitlines()[:20]:
        if line.strip():
            yield line.strip()
