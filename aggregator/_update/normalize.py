"""Normalisation: canonical URLs, arXiv IDs, UTC dates, sanitised HTML, identity keys.

Pure functions only; no I/O. Turns a parser's :class:`ParsedEntry` into an
:class:`Entry` with an identity key and a content hash.

It is where text from a document becomes ours, so it is where that text is made safe
(with the rules of :mod:`aggregator._common.safety`, never a copy of them), once for every
parser and every output:

- **Links** (the entry's link, its PDF link) are published only when
  :func:`~aggregator._common.safety.safe_url` accepts them: ``javascript:``, ``data:``,
  ``file:`` and every other scheme but http(s) are dropped, with a warning naming the
  entry; the entry is kept, and its identity falls back to its guid.
  :func:`stored_links` applies the same rule to rows stored before it existed.
- **One-line text** (title, authors, categories, section headings, journal reference,
  the arXiv fields) loses control characters and line breaks
  (:func:`~aggregator._common.safety.one_line`): no terminal escape, no header injection.
- **HTML** (summary, content) is sanitised with an allow-list (:func:`sanitize_html`)
  and loses control characters (:func:`~aggregator._common.safety.strip_controls`).

Text that needed none of this is kept exactly as it was, and so is an ordinary link:
the content hash of an ordinary entry does not change (``tests/corpus_hashes.py``).
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import nh3

from .._common import safety
from .._common.urls import canonical_url
from ..types import Entry, ParsedEntry, StoredEntry
from . import latex

# New-style IDs (0704.0001 to 2601.06098v2) and old-style IDs (math/0611800v2, hep-th/9901001).
_ARXIV_NEW = r"\d{4}\.\d{4,5}"
_ARXIV_OLD = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
ARXIV_ID_RE = re.compile(rf"(?P<id>{_ARXIV_NEW}|{_ARXIV_OLD})(?:v(?P<version>\d+))?")
_ARXIV_URL_RE = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/"
    rf"(?P<id>{_ARXIV_NEW}|{_ARXIV_OLD})(?:v(?P<version>\d+))?(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_ARXIV_OAI_RE = re.compile(
    rf"^oai:arXiv\.org:(?P<id>{_ARXIV_NEW}|{_ARXIV_OLD})(?:v(?P<version>\d+))?$", re.IGNORECASE
)
_DOI_RE = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?(?P<doi>10\.\d{4,9}/\S+)$", re.I)


def arxiv_id(text: str | None) -> tuple[str, int | None] | None:
    """The arXiv ID and version in an abs/pdf/html URL, an OAI identifier or a bare ID."""
    if not text:
        return None
    text = text.strip()
    for pattern in (_ARXIV_URL_RE, _ARXIV_OAI_RE):
        match = pattern.match(text)
        if match:
            break
    else:
        match = ARXIV_ID_RE.fullmatch(text.removeprefix("arXiv:").removeprefix("arxiv:"))
    if not match:
        return None
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def doi(text: str | None) -> str | None:
    """A DOI in lower case from ``10.x/y``, ``doi:10.x/y`` or a doi.org URL."""
    if not text:
        return None
    match = _DOI_RE.match(text.strip())
    return match.group("doi").lower() if match else None


def to_utc(value: datetime, timezone: str = "UTC") -> datetime:
    """An aware UTC datetime; naive values are read in ``timezone``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)


_ISO_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


# Remembered: a feed often dates every item alike (arXiv's RSS gives each the day's time).
@functools.lru_cache(maxsize=1024)
def parse_datetime(text: str | None, timezone: str = "UTC") -> datetime | None:
    """Parse ISO 8601 / RFC 3339 and RFC 822 times into aware UTC; ``None`` if unreadable."""
    if not text:
        return None
    try:
        return _parse_datetime(text.strip(), timezone)
    except OverflowError:  # in range where written, out of range in UTC (year 1, 9999)
        return None


def _parse_datetime(text: str, timezone: str) -> datetime | None:
    match = _ISO_RE.match(text)
    if match:
        g = match.groupdict()
        try:
            value = datetime(
                int(g["y"]),
                int(g["m"]),
                int(g["d"]),
                int(g["H"] or 0),
                int(g["M"] or 0),
                int(g["S"] or 0),
            )
        except ValueError:
            return None
        tz = g["tz"]
        if tz:
            return datetime.fromisoformat(
                value.isoformat() + ("+00:00" if tz == "Z" else tz)
            ).astimezone(UTC)
        return to_utc(value, timezone)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return to_utc(parsed, timezone)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``: the time given to entries dated by day only."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "abbr": {"title"},
    "ol": {"start"},
}


#: Elements whose content is fallback markup for what a reader will not show (a frame,
#: a plugin, frames, scripts). An HTML parser reads their content as raw text, so a
#: sanitiser dropping the element would print its markup as escaped tags ("&lt;b&gt;"):
#: their tags go first and their content is read as the markup it is.
_FALLBACK_TAG_RE = re.compile(r"(?i)</?(?:iframe|noembed|noframes|noscript)\b[^>]*>")


#: What an HTML parser reads other than as the character itself in text: markup and
#: references, a carriage return (read as a line feed), NUL (dropped), and outside ASCII
#: a leading byte order mark (dropped) and the no-break space (written as ``&nbsp;``).
_NOT_PLAIN = ("<", "&", ">", "\r", "\x00")
_NOT_PLAIN_OUTSIDE_ASCII = ("\xa0", "\ufeff")


def is_plain_text(value: str) -> bool:
    """Whether the sanitiser gives ``value`` back as it is (stripped): text with none of
    :data:`_NOT_PLAIN`, as arXiv's abstracts and many summaries are. Checked by
    ``test_plain_text_is_what_the_sanitiser_gives``. Raises UnicodeEncodeError, as the
    sanitiser does, for a lone surrogate."""
    if any(mark in value for mark in _NOT_PLAIN):
        return False
    if value.isascii():
        return True
    value.encode("utf-8")
    return not any(mark in value for mark in _NOT_PLAIN_OUTSIDE_ASCII)


def sanitize_html(value: str | None) -> str | None:
    """HTML with scripts, styles, event handlers and unsafe URLs removed."""
    if value is None:
        return None
    if is_plain_text(value):  # nothing to parse: what the sanitiser would give back
        return value.strip() or None
    return sanitized(value)


def sanitized(value: str) -> str | None:
    """:func:`sanitize_html` by the sanitiser itself, whatever ``value`` holds."""
    if "<" in value:
        value = _FALLBACK_TAG_RE.sub("", value)
    cleaned = nh3.clean(
        value,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()
    return cleaned or None


_TAG_RE = re.compile(r"<[^>]+>")
# Elements whose text is code, not something to read: up to their end tag, or to the
# end of the fragment when it has none (as an HTML parser reads them). Every part may
# end at the end of the text, so that no start is tried twice over the same characters.
_HIDDEN_RE = re.compile(r"(?is)<(script|style)\b[^>]*(?:>|\Z).*?(?:</\1\b[^>]*(?:>|\Z)|\Z)")
_BLOCK_END_RE = re.compile(r"(?i)<br\s*/?>|</(?:p|div|li|h\d|tr|blockquote|pre)>")
# Every line boundary of str.splitlines() but "\n", and the white space collapsed
# within lines (by then \r, \f and \v are line breaks).
_LINE_BREAK_RE = re.compile("\r\n|[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_LINE_BREAKS = ("\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
# Runs of spaces and tabs that are not one space already (a pattern matching every
# single space would rebuild the whole text for nothing), and runs of spaces alone,
# which a literal-prefix search finds quickly.
_SPACE_RE = re.compile(r"\t[ \t]*| [ \t]+")
_SPACES_RE = re.compile(r"  +")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML fragment, block elements as line breaks.

    Lines are split as ``str.splitlines`` splits them, runs of spaces and tabs within
    a line become one space, each line is stripped, and three or more line breaks
    become two. The text of ``<script>`` and ``<style>`` elements is not text to read:
    it is dropped (an Atom title of type html may hold one).

    This runs for every entry, several times: each pattern runs only when a cheap
    substring test says it can match (a character-class scan over the whole text
    costs more than all the ``in`` tests together), and lines are stripped by
    ``str.strip``, which strips exactly the white space that ``\\s`` matches.
    """
    if not value:
        return ""
    if "<" in value:
        if "<s" in value or "<S" in value:
            value = _HIDDEN_RE.sub("", value)
        value = _BLOCK_END_RE.sub("\n", value)
        # No tag starts after the last ">": tags are removed only before it, which gives
        # the same text but in linear time for a title of a million "<" and no ">" (each
        # "<" would be tried to the end of the text).
        end = value.rfind(">") + 1
        value = _TAG_RE.sub("", value[:end]) + value[end:]
    text = html.unescape(value)
    if any(mark in text for mark in _LINE_BREAKS):
        text = _LINE_BREAK_RE.sub("\n", text)
    if "\t" in text:
        text = _SPACE_RE.sub(" ", text)
    elif "  " in text:
        text = _SPACES_RE.sub(" ", text)
    text = text.strip()
    if "\n" in text:
        text = "\n".join([line.strip() for line in text.split("\n")])
        if "\n\n\n" in text:
            text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()


def clean_text(value: str | None) -> str:
    """A one-line text: HTML tags and entities resolved, runs of white space collapsed."""
    return " ".join(html_to_text(value).split())


def identity_key(
    *,
    source: str,
    arxiv: str | None,
    doi_value: str | None,
    link: str | None,
    guid: str | None,
    title: str,
) -> str:
    """The entry's identity: arXiv ID, DOI, canonical URL, then the guid scoped to the source."""
    if arxiv:
        return f"arxiv:{arxiv}"
    if doi_value:
        return f"doi:{doi_value}"
    if link and urlsplit(link).scheme in ("http", "https"):
        return f"url:{canonical_url(link)}"
    if guid:
        return f"guid:{source}:{guid}"
    digest = hashlib.sha256(title.encode()).hexdigest()[:16]
    return f"guid:{source}:title-{digest}"


def content_hash(entry: ParsedEntry) -> str:
    """A hash of what a reader sees; changes exactly when the visible content changes.

    Titles and abstracts are hashed as shown (LaTeX as Unicode), author names as the
    source delivered them (:func:`normalize` reads their TeX accents afterwards), so that
    names read better by a newer aggregator are not an update of every stored paper.
    """
    tail = [
        [list(s) for s in entry.sections],
        entry.pdf_url,
        entry.updated.isoformat() if entry.updated else None,
    ]
    if entry.version is not None or entry.journal_ref:
        # Only arXiv entries carry these; other entries keep the hashes they always had.
        tail += [str(entry.version), entry.journal_ref]
    return visible_hash(
        [entry.title, entry.link, list(entry.authors)], entry.summary, entry.content, tail
    )


def visible_hash(
    head: Sequence[object], summary: str | None, content: str | None, tail: Sequence[object]
) -> str:
    """The hash of ``json.dumps(head + [summary, content] + tail, ensure_ascii=False)``:
    the content hash of an entry, and ``decide.row_hash`` of its row.

    Both hash the same summary and content, the bulk of an entry: their JSON is made
    once (:func:`_json_text`) and spliced in. ``head`` and ``tail`` are not empty.
    """
    first = json.dumps(head, ensure_ascii=False)
    last = json.dumps(tail, ensure_ascii=False)
    payload = f"{first[:-1]}, {_json_text(summary)}, {_json_text(content)}, {last[1:]}"
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


# Remembered for the few entries being read: a worker hashes each summary and content
# for the entry (content_hash), then again for its new row (decide.row_hash).
@functools.lru_cache(maxsize=64)
def _json_text(value: str | None) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def normalize(
    parsed: ParsedEntry, *, source: str, position: int = 0, warnings: list[str] | None = None
) -> Entry:
    """Give a parsed entry canonical fields, sanitised HTML and its identity key.

    Links that are not safe to publish are dropped; what was dropped is added to
    ``warnings`` (one line each, naming the entry by its position and title).
    """
    refused: list[str] = []
    clean, raw_title, raw_summary = _cleaned(parsed, refused)
    # arXiv names carry TeX accents: shown in Unicode, the delivered ones kept (and hashed).
    authors, raw_authors = (
        _readable_names(clean.authors) if clean.arxiv_id else (clean.authors, None)
    )
    if refused and warnings is not None:
        shown = _shown(clean.title, 60)
        warnings.extend(f"entry {position} ({shown}): {reason}" for reason in refused)
    key = identity_key(
        source=source,
        arxiv=clean.arxiv_id,
        doi_value=clean.doi,
        link=clean.link,
        guid=parsed.guid,
        title=clean.title,
    )
    return Entry(
        key=key,
        title=clean.title,
        source=source,
        link=clean.link,
        guid=parsed.guid,
        published=clean.published,
        updated=clean.updated,
        authors=authors,
        summary=clean.summary,
        content=clean.content,
        sections=clean.sections,
        categories=clean.categories,
        pdf_url=clean.pdf_url,
        arxiv_id=clean.arxiv_id,
        doi=clean.doi,
        language=clean.language,
        announced=clean.announced,
        # Of the names as delivered (clean's): reading them better is no change by the
        # source, and a row stored before names were read keeps its hash.
        content_hash=content_hash(clean),
        position=position,
        version=clean.version,
        announce=tuple((c, h) for c, h in ((_line(c), h) for c, h in parsed.announce) if c),
        primary_category=_optional_line(parsed.primary_category),
        subjects=tuple(dict.fromkeys(_lines(parsed.subjects))),
        journal_ref=clean.journal_ref,
        raw_title=raw_title,
        raw_summary=raw_summary,
        raw_authors=raw_authors,
    )


def _cleaned(parsed: ParsedEntry, refused: list[str]) -> tuple[ParsedEntry, str | None, str | None]:
    """``parsed`` with safe links, sanitised HTML, tidy lines and its arXiv ID and DOI
    found; with the raw title and summary when their LaTeX was turned into Unicode.

    What the content hash is computed from. Unsafe links go, said in ``refused``.
    """
    link = _web_link(parsed.link, "link", refused)
    pdf_url = _web_link(parsed.pdf_url, "PDF link", refused)
    found = arxiv_id(parsed.arxiv_id) or arxiv_id(link) or arxiv_id(parsed.guid)
    arxiv = found[0] if found else None
    # Parsers hand over titles as plain text: only white space and control characters
    # are tidied here, so a title such as "x<y and y>z" survives.
    title = safety.one_line(parsed.title) or "(untitled)"
    summary = _clean_html(sanitize_html(parsed.summary))
    raw_title = raw_summary = None
    if arxiv:  # arXiv writes titles and abstracts in LaTeX: show Unicode, keep the raw text
        title, raw_title = _readable(title)
        summary, raw_summary = _readable_html(summary)
    clean = ParsedEntry(
        title=title,
        link=link,
        guid=parsed.guid,
        published=parsed.published,
        updated=parsed.updated,
        authors=tuple(_lines(parsed.authors)),
        summary=summary,
        content=_clean_html(sanitize_html(parsed.content)),
        sections=tuple((_line(h), _multiline(t)) for h, t in parsed.sections),
        categories=tuple(dict.fromkeys(_lines(parsed.categories))),
        pdf_url=pdf_url,
        arxiv_id=arxiv,
        doi=doi(parsed.doi),
        language=_optional_line(parsed.language),
        announced=parsed.announced,
        version=parsed.version or (found[1] if found else None),
        journal_ref=safety.one_line(parsed.journal_ref) or None,
    )
    return clean, raw_title, raw_summary


def stored_links(entry: StoredEntry) -> StoredEntry:
    """``entry`` without the links :func:`normalize` would now refuse.

    For output: a row stored before links were checked may hold a ``javascript:``
    link; what is published is checked with the same rule (``safety.safe_url``).
    """
    link = safety.safe_url(entry.link) if entry.link else None
    pdf_url = safety.safe_url(entry.pdf_url) if entry.pdf_url else None
    if link == entry.link and pdf_url == entry.pdf_url:
        return entry
    return replace(entry, link=link, pdf_url=pdf_url)


def _web_link(value: str | None, what: str, refused: list[str]) -> str | None:
    """``value`` as a link safe to publish, or None (saying why in ``refused``)."""
    if value is None or not value.strip():
        return None
    # A space inside is a common slip, not an attack: a browser would send it as %20.
    url = safety.safe_url(value.strip().replace(" ", "%20"))
    if url is None:
        refused.append(
            f"dropped its {what} {_shown(value, 80)}: only absolute http(s) links are published"
        )
    return url


def _shown(text: str, limit: int) -> str:
    """``text`` quoted for a message: one line, at most ``limit`` characters."""
    line = safety.one_line(text)
    return repr(line if len(line) <= limit else line[: limit - 1] + "…")


def _line(value: str) -> str:
    """One line of text from a document, as :func:`safety.one_line` makes it.

    A value without control characters is only stripped, as it always was: collapsing
    its inner white space too would change the content hash of ordinary entries.
    """
    return safety.one_line(value) if safety.has_controls(value) else value.strip()


def _lines(values: Iterable[str]) -> list[str]:
    """:func:`_line` of each value, blank ones left out."""
    return [line for line in map(_line, values) if line]


def _optional_line(value: str | None) -> str | None:
    return (_line(value) or None) if value else None


def _multiline(value: str) -> str:
    """Text of several lines: control characters removed, line breaks kept."""
    return safety.strip_controls(value).strip() if safety.has_controls(value) else value.strip()


def _clean_html(value: str | None) -> str | None:
    """Sanitised HTML without control characters (ESC, C1): HTML has no use for them,
    and a terminal showing its text would obey them.

    Line breaks are kept as they were: a carriage return from ``&#13;`` is common in
    ordinary feeds and harmless, and changing it would change their content hashes.
    """
    if not value:
        return value
    cleaned = safety.strip_controls(value)
    if cleaned is value or cleaned == value.replace("\r\n", "\n").replace("\r", "\n"):
        return value
    return cleaned.strip() or None


def _readable(text: str) -> tuple[str, str | None]:
    """Plain text with its LaTeX as Unicode, and the raw text when that changed it."""
    converted = latex.to_unicode(text)
    return (converted, text) if converted != text else (text, None)


def _readable_names(names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """Author names with their TeX accents as Unicode (``J\\"urgen`` → ``Jürgen``), and
    the names as delivered when that changed any of them."""
    readable = tuple(_line(latex.to_unicode(name)) or name for name in names)
    return (readable, names) if readable != names else (names, None)


def _readable_html(value: str | None) -> tuple[str | None, str | None]:
    """The same for a summary that is escaped plain text (arXiv's abstracts); HTML with
    tags is left alone, since LaTeX and markup do not mix safely."""
    if not value or _TAG_RE.search(value):
        return value, None
    text = html.unescape(value)
    converted = latex.to_unicode(text)
    if converted == text:
        return value, None
    return html.escape(converted, quote=False), value
