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
from io import BytesIO
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from lxml import etree

from ..._update.normalize import arxiv_id, parse_datetime
from ...errors import ParseError
from ...types import ParsedEntry, ParsedFeed
from ..common import ParseOptions
from ..markdown_digest import split_authors
from .announce import ANNOUNCE_TYPES, announce_per_category, listed_in
from .calendar import TIMEZONE

ARXIV_NS = "http://arxiv.org/schemas/atom"
ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"

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
        from .listing import parse_listing

        followed = options.categories or _followed(options.location, "")
        return parse_listing(data, source=source, followed=followed)
    warnings: list[str] = []
    entries: list[ParsedEntry] = []
    head = _read(data, source=source, options=options, warnings=warnings, entries=entries)
    item_dates = [_eastern(e.published) for e in entries if e.published is not None]
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
    atom: bool


def _read(
    data: bytes,
    *,
    source: str,
    options: ParseOptions,
    warnings: list[str],
    entries: list[ParsedEntry],
) -> _Head:
    """Stream the document: each item is read and dropped as soon as it ends.

    So memory holds the entries found, never the whole tree (a 40 MB feed would take
    four times that as one). Appends to ``entries``; returns the channel's head.
    """
    events = etree.iterparse(
        BytesIO(data),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
    )
    root: etree._Element | None = None
    atom = False
    title, date_text, channel = "", "", False
    followed: tuple[str, ...] | None = None
    number = 0
    try:
        for event, element in events:
            if root is None:
                root = element
                tag = etree.QName(root)
                atom = tag.localname == "feed" and tag.namespace == ATOM_NS
                if tag.localname != "rss" and not atom:
                    starts = tag.localname
                    raise ParseError(
                        f"not an arXiv RSS or Atom feed: the document starts with <{starts}>",
                        source=source,
                        hint="point the source at https://rss.arxiv.org/rss/<category>",
                    )
                continue
            if event == "start":
                continue
            parent = element.getparent()
            if parent is None:
                continue
            name = element.tag
            if atom and parent is root:
                if name == _ATOM_ENTRY:
                    number += 1
                    if followed is None:
                        followed = options.categories or _followed(options.location, title)
                    _item(element, number, True, followed, warnings, entries, source)
                    _drop(element, parent)
                elif name == _ATOM_TITLE:
                    title = _text(element)
                elif name == _ATOM_UPDATED:
                    date_text = _text(element)
            elif not atom and parent.getparent() is root and parent.tag == "channel":
                if name == "item":
                    number += 1
                    if followed is None:
                        followed = options.categories or _followed(options.location, title)
                    _item(element, number, False, followed, warnings, entries, source)
                    _drop(element, parent)
                elif name == "title":
                    title = _text(element)
                elif name == "pubDate":
                    date_text = _text(element)
            elif not atom and name == "channel" and parent is root:
                channel = True
    except etree.XMLSyntaxError as err:
        raise ParseError(
            f"not well-formed XML: {err}",
            source=source,
            hint="the download may have been cut short; the next run tries again",
        ) from err
    if root is None:
        raise ParseError("not well-formed XML: no root element", source=source)
    if not atom and not channel:
        raise ParseError("an RSS document without <channel>", source=source)
    if title.lower().startswith("feed error"):
        raise ParseError(f"arXiv answered {title!r}", source=source, hint=_HINT_CATEGORY)
    return _Head(
        title=title,
        date=_atom_date(date_text) if atom else _rss_date(date_text),
        atom=atom,
    )


_ATOM_ENTRY = f"{{{ATOM_NS}}}entry"
_ATOM_TITLE = f"{{{ATOM_NS}}}title"
_ATOM_UPDATED = f"{{{ATOM_NS}}}updated"


def _item(
    element: etree._Element,
    number: int,
    atom: bool,
    followed: tuple[str, ...],
    warnings: list[str],
    entries: list[ParsedEntry],
    source: str,
) -> None:
    if number == 1:
        first = _text(element.find("a:title" if atom else "title", _NS))
        if first.lower().startswith("feed error"):
            raise ParseError(f"arXiv answered {first!r}", source=source, hint=_HINT_CATEGORY)
    entry = _entry(element, number=number, atom=atom, followed=followed, warnings=warnings)
    if entry is not None:
        entries.append(entry)


def _drop(element: etree._Element, parent: etree._Element) -> None:
    """Free an item once read, and the siblings before it."""
    element.clear()
    while element.getprevious() is not None:
        del parent[0]


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
