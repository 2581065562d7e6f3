"""arXiv's RSS 2.0 and Atom feeds (``rss.arxiv.org/rss/cs.AI``, ``/atom/cs.AI+cs.LG``).

Owns reading one feed document into a :class:`ParsedFeed` whose entries carry what arXiv
says about each paper: the ID and version (``<guid>oai:arXiv.org:2601.06098v2</guid>``,
the description's ``arXiv:2601.06098v2``), the announce type (``<arxiv:announce_type>``),
all its categories, the authors (``<dc:creator>``, comma-separated), DOI and journal
reference, and the abstract without arXiv's ``arXiv:... Announce Type: ... Abstract:``
preamble. The feed's listing day (the channel ``<pubDate>``, in US Eastern time) becomes
``ParsedFeed.announced`` and every entry's ``announced`` (its digest day).

Categories: an entry is *listed* under the followed categories (``options.categories``,
else those in the feed's URL or title) that it belongs to; ``cs`` follows every ``cs.*``.
Each listed category gets its own announce type, as arXiv's listing pages show it: a
``new`` paper is ``new`` in its primary category and ``cross`` in the others, a
``replace`` is ``replace`` there and ``replace-cross`` elsewhere.

An HTML answer is read as arXiv's listing page (``arxiv.org/list/cs.AI/new``, see
:mod:`.arxiv_listing`), the second way in to the same listing.

Bad input: arXiv's "Feed error for query" answer (a category that does not exist), a
document that is not an arXiv feed, or a feed with items but no date raise
:class:`ParseError`; an item without a readable arXiv ID is skipped with a warning naming
it. Does no I/O; reads the XML with lxml, without network access or entity expansion.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from lxml import etree

from ..arxiv_calendar import TIMEZONE
from ..errors import ParseError
from ..normalize import arxiv_id, parse_datetime
from ..types import ParsedEntry, ParsedFeed
from . import ParseOptions
from .markdown_digest import split_authors

ARXIV_NS = "http://arxiv.org/schemas/atom"
ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")

_NS = {"a": ATOM_NS, "arxiv": ARXIV_NS, "dc": DC_NS}
_PREAMBLE_RE = re.compile(
    r"^\s*arXiv:(?P<id>\S+?)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
_TITLE_CATEGORIES_RE = re.compile(r"^(?P<cats>\S+) updates on arXiv\.org", re.IGNORECASE)
_CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z\-]+)?$")
_HINT_CATEGORY = (
    "check the category names, e.g. cs.AI, math.CO, hep-th (see arxiv.org/category_taxonomy)"
)


def parse(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """Parse an arXiv RSS or Atom feed. Raises ParseError (see the module docstring)."""
    if not data.strip():
        raise ParseError("empty document", source=source, hint="arXiv sent nothing; try again")
    if is_listing(data):
        from .arxiv_listing import parse_listing

        followed = options.categories or _followed(options.location, "")
        return parse_listing(data, source=source, followed=followed)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise ParseError(
            f"not well-formed XML: {err}",
            source=source,
            hint="the download may have been cut short; the next run tries again",
        ) from err
    tag = etree.QName(root).localname
    if tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise ParseError("an RSS document without <channel>", source=source)
        head = _Head(
            title=_text(channel.find("title")),
            date=_rss_date(_text(channel.find("pubDate"))),
            items=channel.findall("item"),
            atom=False,
        )
    elif tag == "feed" and etree.QName(root).namespace == ATOM_NS:
        head = _Head(
            title=_text(root.find("a:title", _NS)),
            date=_atom_date(_text(root.find("a:updated", _NS))),
            items=root.findall("a:entry", _NS),
            atom=True,
        )
    else:
        raise ParseError(
            f"not an arXiv RSS or Atom feed: the document starts with <{tag}>",
            source=source,
            hint="point the source at https://rss.arxiv.org/rss/<category>",
        )
    titles = [head.title] + [
        _text(i.find("a:title" if head.atom else "title", _NS)) for i in head.items[:1]
    ]
    for title in titles:
        if title.lower().startswith("feed error"):
            raise ParseError(f"arXiv answered {title!r}", source=source, hint=_HINT_CATEGORY)

    followed = options.categories or _followed(options.location, head.title)
    warnings: list[str] = []
    entries: list[ParsedEntry] = []
    item_dates: list[date] = []
    for number, item in enumerate(head.items, start=1):
        entry = _entry(item, number=number, atom=head.atom, followed=followed, warnings=warnings)
        if entry is not None:
            entries.append(entry)
            if entry.published is not None:
                item_dates.append(_eastern(entry.published))
    if head.atom and item_dates:
        # The Atom feed's <updated> is when it was built; its entries carry the listing day.
        day: date | None = Counter(item_dates).most_common(1)[0][0]
    else:
        day = head.date
        if day is None and item_dates:
            day = Counter(item_dates).most_common(1)[0][0]
            warnings.append("the feed has no <pubDate>: dated by its items' dates")
    if day is None and entries:
        raise ParseError(
            "the feed has no date (no channel <pubDate> and no dated items), so its"
            " announcement day is unknown",
            source=source,
            hint="arXiv's feeds always carry one; is the URL right? the next run tries again",
        )
    if day is not None:
        entries = [_dated(entry, day) for entry in entries]
    return ParsedFeed(
        entries=tuple(entries),
        title=head.title or None,
        warnings=tuple(warnings),
        announced=day,
    )


@dataclass(frozen=True)
class _Head:
    """What the parser needs from the channel (RSS) or feed (Atom) element."""

    title: str
    date: date | None
    items: list[etree._Element]
    atom: bool


def _raw_text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return "".join(str(part) for part in element.itertext())


def _text(element: etree._Element | None) -> str:
    return " ".join(_raw_text(element).split())


def _eastern(value: datetime) -> date:
    return value.astimezone(ZoneInfo(TIMEZONE)).date()


def _rss_date(text: str) -> date | None:
    if not text:
        return None
    try:
        return _eastern(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def _atom_date(text: str) -> date | None:
    value = parse_datetime(text)
    return _eastern(value) if value else None


def categories_in_url(location: str | None) -> tuple[str, ...]:
    """The categories an arXiv URL asks for: ``/rss/cs.AI+cs.LG``, ``/list/cs.AI/new``."""
    if location and "://" in location:
        parts = [unquote(p) for p in urlsplit(location).path.split("/") if p]
        # /rss/cs.AI+cs.LG, /atom/cs.AI, or the listing page /list/cs.AI/new
        last = (
            parts[parts.index("list") + 1] if "list" in parts[:-1] else parts[-1] if parts else ""
        )
        return tuple(c for c in re.split(r"[+ ]", last) if _CATEGORY_RE.match(c))
    return ()


def _followed(location: str | None, title: str) -> tuple[str, ...]:
    """The categories a feed follows, from its URL or else its title."""
    found = categories_in_url(location)
    if found:
        return found
    match = _TITLE_CATEGORIES_RE.match(title)
    if match:
        return tuple(c for c in match.group("cats").split("+") if _CATEGORY_RE.match(c))
    return ()


def is_listing(data: bytes) -> bool:
    """Whether ``data`` is an HTML page (arXiv's listing page) rather than a feed."""
    head = data[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def listed_in(subject: str, followed: tuple[str, ...]) -> bool:
    """Whether a paper in ``subject`` appears in a feed following ``followed``."""
    return any(subject == f or subject.startswith(f + ".") for f in followed)


def announce_per_category(
    announce_type: str | None,
    *,
    listed: tuple[str, ...],
    primary: str | None,
) -> tuple[tuple[str, str], ...]:
    """The announce type of each listed category, as arXiv's listing pages show it."""
    if announce_type not in ANNOUNCE_TYPES:
        return tuple((c, announce_type or "new") for c in listed)
    replaced = announce_type.startswith("replace")
    if primary is None:
        return tuple((c, announce_type) for c in listed)
    pairs = []
    for category in listed:
        if category == primary:
            pairs.append((category, "replace" if replaced else "new"))
        else:
            pairs.append((category, "replace-cross" if replaced else "cross"))
    return tuple(pairs)


def _entry(
    item: etree._Element,
    *,
    number: int,
    atom: bool,
    followed: tuple[str, ...],
    warnings: list[str],
) -> ParsedEntry | None:
    def find(path: str) -> etree._Element | None:
        return item.find(path, _NS)

    title = _text(find("a:title" if atom else "title"))
    if atom:
        guid = _text(find("a:id"))
        links = item.findall("a:link", _NS)
        link = next(
            (str(el.get("href")) for el in links if el.get("rel", "alternate") == "alternate"),
            "",
        )
        pdf = next((str(el.get("href")) for el in links if el.get("type") == "application/pdf"), "")
        description = _raw_text(find("a:summary"))
        subjects = [str(el.get("term")) for el in item.findall("a:category", _NS) if el.get("term")]
        names = [_text(el) for el in item.findall("a:author/a:name", _NS)]
        when = parse_datetime(_text(find("a:published")) or _text(find("a:updated")))
    else:
        guid = _text(find("guid"))
        link = _text(find("link"))
        pdf = ""
        description = _raw_text(find("description"))
        subjects = [_text(el) for el in item.findall("category") if _text(el)]
        names = []
        when = parse_datetime(_text(find("pubDate")))
    creators = [_text(el) for el in item.findall("dc:creator", _NS)]
    if not names:
        names = [name for text in creators for name in _split_creators(text)]

    preamble = _PREAMBLE_RE.match(description)
    found = (
        arxiv_id(guid) or arxiv_id(link) or (arxiv_id(preamble.group("id")) if preamble else None)
    )
    if found is None:
        shown = guid or link or (preamble.group("id") if preamble else "") or title[:60]
        warnings.append(
            f"item {number}: skipped, no readable arXiv ID in {shown!r}"
            " (expected e.g. oai:arXiv.org:2601.06098v1 or https://arxiv.org/abs/2601.06098)"
        )
        return None
    paper_id, version = found
    if version is None and preamble:
        in_text = arxiv_id(preamble.group("id"))
        version = in_text[1] if in_text and in_text[0] == paper_id else None

    announce_type = _text(find("arxiv:announce_type")).lower() or (
        preamble.group("type").lower() if preamble else ""
    )
    if announce_type and announce_type not in ANNOUNCE_TYPES:
        warnings.append(f"item {number} ({paper_id}): unknown announce type {announce_type!r}")
    abstract = description[preamble.end() :] if preamble else description
    abstract = " ".join(abstract.split())

    primary_el = find("arxiv:primary_category")
    primary = (
        str(primary_el.get("term")) if primary_el is not None and primary_el.get("term") else None
    )
    subjects = list(dict.fromkeys(subjects))
    listed = tuple(s for s in subjects if listed_in(s, followed)) if followed else ()
    if not listed:
        listed = tuple(followed) or tuple(subjects[:1])
    if primary is None and announce_type in ANNOUNCE_TYPES and subjects:
        # arXiv lists the primary category first; a new paper's primary is a followed
        # category, a cross-list's is not.
        if announce_type in ("new", "replace"):
            primary = next((s for s in subjects if s in listed), None)
        else:
            primary = next((s for s in subjects if s not in listed), None)
    if primary and primary in subjects:
        subjects.remove(primary)
        subjects.insert(0, primary)

    return ParsedEntry(
        title=title,
        link=link or f"https://arxiv.org/abs/{paper_id}",
        guid=guid or None,
        published=when,
        updated=when if announce_type.startswith("replace") else None,
        authors=tuple(names),
        summary=_escape(abstract) if abstract else None,
        categories=listed,
        pdf_url=pdf or f"https://arxiv.org/pdf/{paper_id}",
        arxiv_id=paper_id,
        doi=_text(find("arxiv:DOI")) or _text(find("arxiv:doi")) or None,
        version=version,
        announce=announce_per_category(announce_type or None, listed=listed, primary=primary),
        primary_category=primary,
        subjects=tuple(subjects),
        journal_ref=_text(find("arxiv:journal_reference"))
        or _text(find("arxiv:journal_ref"))
        or None,
    )


def _dated(entry: ParsedEntry, day: date) -> ParsedEntry:
    """The entry filed under the feed's listing day; undated items get its midnight ET."""
    published = entry.published or datetime.combine(day, datetime.min.time(), ZoneInfo(TIMEZONE))
    updated = entry.updated or (
        published if entry.announce and entry.announce[0][1].startswith("replace") else None
    )
    return replace(entry, announced=day, published=published, updated=updated)


def _split_creators(text: str) -> tuple[str, ...]:
    """``"A, B, C and D"`` (arXiv's dc:creator) as names."""
    parts = split_authors(text)
    names: list[str] = []
    for part in parts:
        names.extend(p.strip() for p in re.split(r"\s+and\s+", part) if p.strip())
    return tuple(names)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)
