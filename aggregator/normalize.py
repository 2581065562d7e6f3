"""Normalisation: canonical URLs, arXiv IDs, UTC dates, sanitised HTML, identity keys.

Pure functions only; no I/O. Turns a parser's :class:`ParsedEntry` into an
:class:`Entry` with an identity key and a content hash.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import nh3

from . import latex
from .types import Entry, ParsedEntry

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

#: Query parameters that only track the click and never select content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "spm",
        "ref_src",
    }
)


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


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, https for http, no default port, fragment or tracking."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url.strip()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
        ]
    )
    return urlunsplit(("https", netloc, parts.path or "/", query, ""))


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


def parse_datetime(text: str | None, timezone: str = "UTC") -> datetime | None:
    """Parse ISO 8601 / RFC 3339 and RFC 822 times into aware UTC; ``None`` if unreadable."""
    if not text:
        return None
    text = text.strip()
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


def sanitize_html(value: str | None) -> str | None:
    """HTML with scripts, styles, event handlers and unsafe URLs removed."""
    if value is None:
        return None
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
# Every line boundary of str.splitlines(), and the white space collapsed within lines.
_LINE_BREAK_RE = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_SPACE_RE = re.compile(r"[ \t\r\f\v]+")
_SPACE_AROUND_BREAK_RE = re.compile(r"[^\S\n]*\n[^\S\n]*")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML fragment, block elements as line breaks.

    Lines are split as ``str.splitlines`` splits them, runs of spaces and tabs within
    a line become one space, each line is stripped, and three or more line breaks
    become two. The text of ``<script>`` and ``<style>`` elements is not text to read:
    it is dropped (an Atom title of type html may hold one). Done on the whole text at
    once: this runs for every entry.
    """
    if not value:
        return ""
    if "<s" in value or "<S" in value:  # cheap test first: this runs for every entry
        value = _HIDDEN_RE.sub("", value)
    value = _BLOCK_END_RE.sub("\n", value)
    # No tag starts after the last ">": tags are removed only before it, which gives the
    # same text but in linear time for a title of a million "<" and no ">" (each "<"
    # would be tried to the end of the text).
    end = value.rfind(">") + 1
    text = html.unescape(_TAG_RE.sub("", value[:end]) + value[end:])
    text = _SPACE_RE.sub(" ", _LINE_BREAK_RE.sub("\n", text))
    text = _SPACE_AROUND_BREAK_RE.sub("\n", text.strip())
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


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
    """A hash of what a reader sees; changes exactly when the visible content changes."""
    payload = [
        entry.title,
        entry.link,
        list(entry.authors),
        entry.summary,
        entry.content,
        [list(s) for s in entry.sections],
        entry.pdf_url,
        entry.updated.isoformat() if entry.updated else None,
    ]
    if entry.version is not None or entry.journal_ref:
        # Only arXiv entries carry these; other entries keep the hashes they always had.
        payload += [str(entry.version), entry.journal_ref]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:32]


def normalize(parsed: ParsedEntry, *, source: str, position: int = 0) -> Entry:
    """Give a parsed entry canonical fields, sanitised HTML and its identity key."""
    found = arxiv_id(parsed.arxiv_id) or arxiv_id(parsed.link) or arxiv_id(parsed.guid)
    arxiv = found[0] if found else None
    doi_value = doi(parsed.doi)
    link = parsed.link.strip() if parsed.link else None
    # Parsers hand over titles as plain text: only white space is tidied here, so a
    # title such as "x<y and y>z" survives.
    title = " ".join(parsed.title.split()) or "(untitled)"
    summary = sanitize_html(parsed.summary)
    raw_title = raw_summary = None
    if arxiv:  # arXiv writes titles and abstracts in LaTeX: show Unicode, keep the raw text
        title, raw_title = _readable(title)
        summary, raw_summary = _readable_html(summary)
    content = sanitize_html(parsed.content)
    clean = ParsedEntry(
        title=title,
        link=link,
        guid=parsed.guid,
        published=parsed.published,
        updated=parsed.updated,
        authors=tuple(a.strip() for a in parsed.authors if a.strip()),
        summary=summary,
        content=content,
        sections=tuple((h.strip(), t.strip()) for h, t in parsed.sections),
        categories=tuple(dict.fromkeys(c.strip() for c in parsed.categories if c.strip())),
        pdf_url=parsed.pdf_url,
        arxiv_id=arxiv,
        doi=doi_value,
        language=parsed.language,
        announced=parsed.announced,
        version=parsed.version or (found[1] if found else None),
        journal_ref=" ".join(parsed.journal_ref.split()) if parsed.journal_ref else None,
    )
    key = identity_key(
        source=source, arxiv=arxiv, doi_value=doi_value, link=link, guid=parsed.guid, title=title
    )
    return Entry(
        key=key,
        title=title,
        source=source,
        link=link,
        guid=parsed.guid,
        published=clean.published,
        updated=clean.updated,
        authors=clean.authors,
        summary=summary,
        content=content,
        sections=clean.sections,
        categories=clean.categories,
        pdf_url=clean.pdf_url,
        arxiv_id=arxiv,
        doi=doi_value,
        language=clean.language,
        announced=clean.announced,
        content_hash=content_hash(clean),
        position=position,
        version=clean.version,
        announce=tuple((c.strip(), h) for c, h in parsed.announce if c.strip()),
        primary_category=parsed.primary_category,
        subjects=tuple(dict.fromkeys(c.strip() for c in parsed.subjects if c.strip())),
        journal_ref=clean.journal_ref,
        raw_title=raw_title,
        raw_summary=raw_summary,
    )


def _readable(text: str) -> tuple[str, str | None]:
    """Plain text with its LaTeX as Unicode, and the raw text when that changed it."""
    converted = latex.to_unicode(text)
    return (converted, text) if converted != text else (text, None)


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
