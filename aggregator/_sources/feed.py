"""RSS 0.9x/1.0/2.0 and Atom 0.3/1.0: feed bytes in, :class:`ParsedFeed` out (via feedparser).

Owns: turning feedparser's untyped dictionaries into :class:`ParsedEntry` values, and
deciding which of feedparser's complaints ("bozo" exceptions) stop the parse, which become
a warning on the result, and which are noise.

Never does: I/O of any kind (feedparser is handed a ``BytesIO``: given ``bytes`` or ``str``
it would try them as a file name or URL first), HTML sanitising (feedparser's own
sanitiser is switched off so that :func:`aggregator._update.normalize.sanitize_html` is the only
one), identity keys, canonical URLs or arXiv IDs (``normalize`` derives those).

Decisions worth knowing:

- **Errors and warnings.** Ill-formed XML that still yields entries gives the entries plus
  one warning naming the problem and its line; with no entries it is a :class:`ParseError`.
  Ill-formed XML with bare ``&`` or HTML-only entities (``&nbsp;``) is read again with
  those escaped, because feedparser's lenient fallback parser corrupts such text
  (``Q&A`` comes back as ``Q&A;``). A cut-off document loses its last entry when that
  entry's closing tag is missing: half an entry is worse than the whole one next time.
- **Noise, not warnings:** ``NonXMLContentType`` (a server calling a feed ``text/html``
  or ``text/plain``) and ``CharacterEncodingOverride`` when the text was decoded in the
  encoding its XML prolog or BOM declares, or as valid UTF-8: the HTTP charset disagreed
  but the text is right. An override to feedparser's last-resort guesses (windows-1252,
  iso-8859-2) may garble text, so that one is a warning. An HTTP charset that is wrong
  but decodes anything (ISO-8859-1) cannot be detected: RFC 3023 says it wins.
- **Dates** come from feedparser's ``*_parsed`` values (UTC), except that a time the
  document gives without an offset is read in ``options.timezone``. Only ``updated``
  (e.g. RSS 1.0 ``dc:date``, which feedparser files as updated) leaves ``published`` None.
- **Summary and content.** feedparser copies a lone ``content`` into ``summary``; we
  undo that, so ``summary`` is only ever what the document gave as its summary or
  description. Plain-text values are HTML-escaped, so both fields are always HTML.
- **Links.** ``link`` is the entry's alternate link of any type (an arXiv PDF too); an
  RSS guid stands in for it only when it is an http(s) URL, as RSS 2.0 allows. Entry
  links are handed over as the document gives them: ``normalize`` decides which are
  safe to publish (and warns about the others); the feed's own link is kept only when
  it is a web URL (:func:`site_link`).
- **Authors.** An Atom entry without authors gets its feed's (RFC 4287, 4.2.1).
"""

from __future__ import annotations

import codecs
import html
import io
import re
import xml.sax
from collections.abc import Iterable, Mapping
from datetime import datetime
from html.entities import html5
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import feedparser

from .._common import safety
from .._update import normalize
from ..errors import ParseError
from ..types import ParsedEntry, ParsedFeed
from . import json_feed
from .common import ParseOptions

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
_PRISM_NS = "http://prismstandard.org/namespaces/"
_ARXIV_NS = "http://arxiv.org/schemas/atom"
# Messages of expat (feedparser's strict parser) when the input stops in the middle.
_TRUNCATION_ERRORS = frozenset({"no element found", "unclosed token", "unclosed CDATA section"})

_HINT_XML = "the publisher's XML is broken; check the source's URL or tell its publisher"
_HINT_ENCODING = "the document's encoding is wrong; declare the real one in its XML prolog"
_HINT_TRUNCATED = "the download was probably cut short; try again later"
_HINT_FEED_URL = "point the source at the feed's URL"


#: A FeedParserDict (a dict subclass) or one of the dicts inside it: feedparser is untyped,
#: and ``Any`` stays inside the functions that read these.
_Raw = dict[str, Any]


class _Problem(NamedTuple):
    message: str
    hint: str
    truncated: bool = False


def parse(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """Parse an RSS or Atom document (a JSON document goes to :mod:`.json_feed`).

    Raises ParseError when the bytes are empty, are an HTML page, are not a feed,
    or are so broken that no entry could be read. Problems that still left entries are
    returned in ``ParsedFeed.warnings``.
    """
    if not data.strip():
        raise ParseError("empty document", source=source, hint="the source gave no content")
    if json_feed.looks_like_json(data):  # feedparser does not read JSON Feed
        return json_feed.parse(data, source=source, options=options)
    headers = _response_headers(options)
    result = _feedparse(data, headers, source=source)
    problem = _describe_bozo(result, data, headers)
    if problem and isinstance(result.get("bozo_exception"), xml.sax.SAXParseException):
        repaired, count = _escape_stray_ampersands(data)
        if count:
            result = _feedparse(repaired, headers, source=source)
            problem = problem._replace(
                message=f"{problem.message} (read again with {count} stray '&' fixed)"
            )

    raw_entries: list[_Raw] = list(result.get("entries") or [])
    if problem and problem.truncated and raw_entries and _closed_entries(data) < len(raw_entries):
        raw_entries.pop()
        problem = problem._replace(message=f"{problem.message}; skipped its incomplete last entry")
    if not raw_entries:
        _reject_empty(result, data, problem, source=source)

    feed: _Raw = result.get("feed") or {}
    is_atom = str(result.get("version") or "").startswith("atom")
    feed_authors = _authors(feed) if is_atom else ()
    feed_language = _str(feed, "language")
    entries = tuple(
        _entry(
            raw,
            feed_authors=feed_authors,
            feed_language=feed_language,
            namespaces=result.get("namespaces") or {},
            timezone=options.timezone,
            atom03=result.get("version") == "atom03",
        )
        for raw in raw_entries
    )
    return ParsedFeed(
        entries=entries,
        title=_plain_text(feed, "title") or None,
        link=site_link(_str(feed, "link")),
        warnings=(problem.message,) if problem else (),
        reader="feedparser",
    )


# --- feedparser at arm's length -----------------------------------------------------------


def _response_headers(options: ParseOptions) -> dict[str, str]:
    headers: dict[str, str] = {}
    if options.content_type:
        headers["content-type"] = options.content_type
    if options.location and urlsplit(options.location).scheme in ("http", "https"):
        # The base for relative links. feedparser reads a header set without a
        # Content-Type as ISO-8859-1 (the HTTP default), so state what no header means:
        # XML whose prolog names its encoding, else UTF-8.
        headers["content-location"] = options.location
        headers.setdefault("content-type", "application/xml")
    return headers


def _feedparse(data: bytes, headers: dict[str, str], *, source: str) -> _Raw:
    try:
        result: _Raw = feedparser.parse(
            io.BytesIO(data),
            response_headers=headers or None,
            sanitize_html=False,
            resolve_relative_uris=True,
        )
    except Exception as err:  # feedparser documents no exceptions; its fallbacks raise anything
        raise ParseError(f"feedparser could not read the document: {err}", source=source) from err
    return result


def _describe_bozo(result: _Raw, data: bytes, headers: dict[str, str]) -> _Problem | None:
    """What went wrong, in words, or None when nothing did that a reader would notice."""
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    if isinstance(exc, xml.sax.SAXParseException):
        reason = exc.getMessage()
        line = exc.getLineNumber()
        message = f"not well-formed XML: {reason}"
        if line is not None:
            message += f", line {line - _line_shift(data, result.get('encoding'))}"
        truncated = reason in _TRUNCATION_ERRORS
        if truncated:
            message += " (the document ends too early: was it cut off?)"
        return _Problem(message, _HINT_TRUNCATED if truncated else _HINT_XML, truncated)
    if isinstance(exc, feedparser.NonXMLContentType):
        return None
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        used = str(result.get("encoding") or "")
        if _codec(used) in _declared_encodings(data):
            return None
        match = re.search(r"declared as ([^,\s]+)", str(exc))
        declared = match.group(1) if match else "the declared encoding"
        return _Problem(
            f"the text is not valid {declared}; read it as {used}, so some characters may be wrong",
            _HINT_ENCODING,
        )
    if isinstance(exc, feedparser.CharacterEncodingUnknown):
        return _Problem(f"unknown text encoding: {exc}", _HINT_ENCODING)
    return _Problem(f"feedparser: {type(exc).__name__}: {exc}", _HINT_XML)


#: feedparser 6's rewrite of a document's head before it parses it (its XML
#: declaration; its removal of the DOCTYPE and of ENTITY declarations, the safe ones
#: written back), repeated to count the lines it adds or removes.
_XML_DECLARATION_RE = re.compile(r"^<\?xml[^>]*?>")
_FIRST_ELEMENT_RE = re.compile(r"<\w", re.ASCII)
_ENTITY_DECLARATION_RE = re.compile(r"^\s*<!ENTITY([^>]*?)>", re.MULTILINE | re.ASCII)
_DOCTYPE_DECLARATION_RE = re.compile(r"^\s*<!DOCTYPE([^>]*?)>", re.MULTILINE | re.ASCII)
_SAFE_ENTITY_RE = re.compile(r'\s+(\w+)\s+"(&#\w+;|[^&"]*)"', re.ASCII)


def _line_shift(data: bytes, encoding: str | None) -> int:
    """How many lines feedparser added to the document before parsing it.

    feedparser replaces the XML declaration with its own (adding a line when there was
    none) and drops the DOCTYPE, so expat's line numbers are off by that much. Only the
    head changes, so this redoes the rewrite on the text and compares line counts.
    """
    original = data.decode(encoding or "utf-8", "replace")
    text = original.removeprefix("\ufeff")
    declaration = _XML_DECLARATION_RE.match(text)
    # its own declaration is one line, and a line of its own when the document had none
    added = -declaration.group().count("\n") if declaration else 1
    first = _FIRST_ELEMENT_RE.search(text)
    if first is None:
        return added
    head = text[: first.start() + 1]
    entities = _ENTITY_DECLARATION_RE.findall(head)
    head_without = _ENTITY_DECLARATION_RE.sub("", head)
    doctypes = _DOCTYPE_DECLARATION_RE.findall(head_without)
    replacement = ""
    if len(doctypes) == 1 and entities:
        safe = [entity for entity in entities if _SAFE_ENTITY_RE.match(entity)]
        if safe:
            replacement = "<!DOCTYPE feed [\n<!ENTITY" + ">\n<!ENTITY ".join(safe) + ">\n]>"
    rewritten = _DOCTYPE_DECLARATION_RE.sub(lambda _: replacement, head_without)
    return added + rewritten.count("\n") - head.count("\n")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


_PROLOG_ENCODING_RE = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)


def _declared_encodings(data: bytes) -> set[str | None]:
    """UTF-8 plus what the BOM and the XML prolog declare: decoding as these is no guess."""
    found: set[str | None] = {"utf-8"}
    for bom, name in _BOMS:
        if data.startswith(bom):
            found.add(_codec(name))
            data = data[len(bom) :]
            break
    match = _PROLOG_ENCODING_RE.match(data)
    if match:
        name = match.group(1).decode("ascii").lower()
        found.add(_codec("gb18030" if name == "gb2312" else name))  # as feedparser does
    return found


# Bare "&" and HTML-only named references, outside CDATA sections and comments.
_REPAIR_RE = re.compile(
    rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|&(?!#[0-9]+;|#x[0-9A-Fa-f]+;)([A-Za-z][A-Za-z0-9._-]*;)?",
    re.DOTALL,
)
_XML_ENTITIES = frozenset({b"amp;", b"lt;", b"gt;", b"quot;", b"apos;"})


def _escape_stray_ampersands(data: bytes) -> tuple[bytes, int]:
    """``data`` with bare ``&`` escaped and HTML entities as character references.

    Only for ASCII-compatible encodings (in all of which ``&`` is the byte 0x26 and never
    part of a multi-byte character); UTF-16 and UTF-32 documents are left alone.
    """
    if b"\x00" in data[:4]:
        return data, 0
    count = 0

    def fix(match: re.Match[bytes]) -> bytes:
        nonlocal count
        text, name = match.group(0), match.group(1)
        if text.startswith(b"<") or name in _XML_ENTITIES:
            return text
        if name is None:
            count += 1
            return b"&amp;"
        chars = html5.get(name.decode("ascii"))
        if chars is None:  # perhaps declared in the DOCTYPE: not ours to judge
            return text
        count += 1
        return "".join(f"&#{ord(c)};" for c in chars).encode("ascii")

    return _REPAIR_RE.sub(fix, data), count


_CLOSING_ENTRY_RE = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")


def _closed_entries(data: bytes) -> int:
    return len(_CLOSING_ENTRY_RE.findall(data))


# --- documents that are not feeds ---------------------------------------------------------

_PREAMBLE_RE = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DOCTYPE_RE = re.compile(r"<!doctype\s[^>\[]*(?:\[.*?\])?\s*>", re.IGNORECASE | re.DOTALL)
_ROOT_RE = re.compile(r"<([A-Za-z_][\w:.-]*)")


def _root_element(data: bytes) -> tuple[str | None, bool]:
    """The first element's name, lower-cased (``!doctype html`` for an HTML DOCTYPE), and
    whether the document starts with markup at all."""
    head = data[:4096]
    encoding = "latin-1"  # enough to read ASCII markup in any ASCII-compatible encoding
    for bom, name in _BOMS:
        if head.startswith(bom):
            head, encoding = head[len(bom) :], name
            break
    text = head.decode(encoding, "replace")
    markup = text.lstrip().startswith("<")
    position = _skip(_PREAMBLE_RE, text, 0)
    if re.match(r"<!doctype\s+html\b", text[position:], re.IGNORECASE):
        return "!doctype html", markup
    position = _skip(_PREAMBLE_RE, text, _skip(_DOCTYPE_RE, text, position))
    match = _ROOT_RE.match(text, position)
    return (match.group(1).lower() if match else None), markup


def _skip(pattern: re.Pattern[str], text: str, position: int) -> int:
    match = pattern.match(text, position)
    return match.end() if match else position


def _reject_empty(result: _Raw, data: bytes, problem: _Problem | None, *, source: str) -> None:
    """Raise the right ParseError for a document without entries, unless it is a feed."""
    root, starts_with_markup = _root_element(data)
    if not starts_with_markup:
        raise ParseError(
            "not an RSS or Atom feed: the document is not XML", source=source, hint=_HINT_FEED_URL
        )
    if root in ("!doctype html", "html", "head", "body"):
        feed: _Raw = result.get("feed") or {}
        advertised = [
            str(link["href"])
            for link in feed.get("links") or []
            if link.get("rel") == "alternate"
            and link.get("type") in _FEED_TYPES
            and link.get("href")
        ]
        hint = _HINT_FEED_URL + (f"; the page links to {advertised[0]}" if advertised else "")
        raise ParseError("this is an HTML page, not a feed", source=source, hint=hint)
    if problem:
        raise ParseError(problem.message, source=source, hint=problem.hint)
    if not result.get("version"):
        found = f"<{root}>" if root else "no XML element"
        raise ParseError(
            f"not an RSS or Atom feed: the document starts with {found}",
            source=source,
            hint=_HINT_FEED_URL,
        )
    # A well-formed feed with no entries today: nothing to report.


# --- one entry ----------------------------------------------------------------------------


def _entry(
    raw: _Raw,
    *,
    feed_authors: tuple[str, ...],
    feed_language: str | None,
    namespaces: Mapping[str, str],
    timezone: str,
    atom03: bool = False,
) -> ParsedEntry:
    summary = _summary_html(raw, atom03)
    content = _content_html(raw, atom03)
    return ParsedEntry(
        title=_plain_text(raw, "title", atom03),
        link=_link(raw),
        guid=_str(raw, "id"),
        published=_time(raw, "published", timezone),
        updated=_time(raw, "updated", timezone),
        authors=_authors(raw) or feed_authors,
        summary=summary,
        content=content if content != summary else None,
        categories=_unique(_str(tag, "term") for tag in raw.get("tags") or []),
        pdf_url=_pdf_url(raw),
        doi=_doi(raw, namespaces),
        language=_language(raw) or feed_language,
    )


def _get(mapping: _Raw, key: str) -> Any:
    """``mapping[key]`` or None, without FeedParserDict's aliases.

    FeedParserDict.get maps a missing ``updated`` to ``published`` (with a
    DeprecationWarning), which would invent update times; ``dict.get`` does not.
    """
    return dict.get(mapping, key) if isinstance(mapping, dict) else None


def _str(mapping: _Raw, key: str) -> str | None:
    """A non-blank string value, stripped."""
    value = _get(mapping, key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _detail_type(mapping: _Raw, key: str) -> str:
    detail = _get(mapping, f"{key}_detail")
    return str(_get(detail, "type") or "text/plain")


def _plain_text(mapping: _Raw, key: str, atom03: bool = False) -> str:
    """A text construct (title) as one line of plain text."""
    value = _str(mapping, key)
    if value is None:
        return ""
    if _detail_type(mapping, key) in _HTML_TYPES or _atom03_markup(value, atom03):
        return normalize.clean_text(value)
    return " ".join(value.split())


def _as_html(value: str | None, content_type: str, atom03: bool = False) -> str | None:
    if not value or not value.strip():
        return None
    if content_type in _HTML_TYPES:
        return value.strip()
    if content_type == "text/plain":
        if _atom03_markup(value, atom03):
            return value.strip()  # sanitised as any HTML is, in normalize
        return html.escape(value.strip(), quote=False)
    return None  # base64 images and other media are not a text body


def _atom03_markup(value: str, atom03: bool) -> bool:
    """Whether ``value``, of type text/plain in an Atom 0.3 feed, is markup after all.

    Atom 0.3's default type is text/plain, and publishers left it out while using
    ``mode="escaped"`` or ``mode="base64"`` precisely to carry markup (feedparser's own
    corpus: ``<content mode="base64">`` of ``Example <b>Atom</b>``). Escaping that showed
    readers the tags themselves; text with a tag in it is read as HTML instead. Atom 1.0
    ``type="text"`` means what it says and is never guessed at.
    """
    return atom03 and _TAG_RE.search(value) is not None


#: An HTML start or end tag (``<b>``, ``</p>``, ``<a href="...">``, ``<br/>``).
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")


def _summary_html(raw: _Raw, atom03: bool = False) -> str | None:
    # Without summary_detail, feedparser copied the summary from content (see docstring).
    if _get(raw, "summary_detail") is None:
        return None
    return _as_html(_str(raw, "summary"), _detail_type(raw, "summary"), atom03)


def _content_html(raw: _Raw, atom03: bool = False) -> str | None:
    for item in _get(raw, "content") or []:
        body = _as_html(item.get("value"), str(item.get("type") or "text/plain"), atom03)
        if body:
            return body
    return None


def _link(raw: _Raw) -> str | None:
    """The entry's alternate link.

    feedparser only takes an alternate link of an HTML type as ``link``, and without one
    it copies the guid or Atom id there (``guidislink``), even a ``tag:`` URI. An
    explicit alternate link of another type (a PDF) is better than such a copy, and a
    copy that is not an http(s) URL is no link at all.
    """
    link = _str(raw, "link")
    if link is None or (_get(raw, "guidislink") and link == _str(raw, "id")):
        for candidate in _get(raw, "links") or []:
            if candidate.get("rel") == "alternate" and candidate.get("href"):
                return str(candidate["href"])
        if link and urlsplit(link).scheme not in ("http", "https"):
            return None
    return link


def site_link(value: str | None) -> str | None:
    """The feed's own link, when it is a web URL (``safety.safe_url``).

    Dropped without a warning: it is often the feed's id (a ``tag:`` or ``urn:`` URI,
    which is no link but no fault either), and nothing publishes it. Entry links are
    checked, with warnings, in ``normalize``.
    """
    return safety.safe_url(value)


def _time(raw: _Raw, key: str, timezone: str) -> datetime | None:
    text = _str(raw, key)
    if text and timezone != "UTC":
        local = normalize.parse_datetime(text, timezone)
        if local is not None and local != normalize.parse_datetime(text, "UTC"):
            return local  # the document gave no offset: the configured zone applies
    parsed = _get(raw, f"{key}_parsed")
    if parsed is not None:
        year, month, day, hour, minute, second = tuple(parsed)[:6]
        try:  # struct_time allows leap second 60; datetime does not
            return normalize.to_utc(datetime(year, month, day, hour, minute, min(second, 59)))
        except ValueError:
            return None
    return normalize.parse_datetime(text, timezone)  # a date feedparser could not read


def _authors(mapping: _Raw) -> tuple[str, ...]:
    names = [_str(person, "name") for person in _get(mapping, "authors") or []]
    found = _unique(names)
    if not found and (author := _str(mapping, "author")):
        return (author,)
    return found


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _pdf_url(raw: _Raw) -> str | None:
    for link in _get(raw, "links") or []:
        if str(link.get("type") or "").lower() in _PDF_TYPES and link.get("href"):
            return str(link["href"])
    return None


def _doi(raw: _Raw, namespaces: Mapping[str, str]) -> str | None:
    # feedparser names foreign elements "<prefix>_<name>" with the document's own prefix
    # (lower-cased), except for namespaces it knows, such as dc.
    keys = ["prism_doi"]
    keys += [
        f"{prefix.lower()}_doi"
        for prefix, uri in namespaces.items()
        if prefix and (uri.startswith(_PRISM_NS) or uri == _ARXIV_NS)
    ]
    keys += ["dc_identifier", "dcterms_identifier"]
    for key in keys:
        found = normalize.doi(_str(raw, key))
        if found:
            return found
    return None


def _language(raw: _Raw) -> str | None:
    for key in ("title_detail", "summary_detail"):
        if language := _str(_get(raw, key), "language"):
            return language
    return None
