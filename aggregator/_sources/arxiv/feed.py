"""arXiv's RSS 2.0 and Atom feeds (``rss.arxiv.org/rss/cs.AI``, ``/atom/cs.AI+cs.LG``).

Owns reading one feed document into a :class:`ParsedFeed` whose entries carry what arXiv
says about each paper: the ID and version (``<guid>oai:arXiv.org:2601.06098v2</guid>``,
the description's ``arXiv:2601.06098v2``), the announce type (``<arxiv:announce_type>``),
all its categories, the authors (``<dc:creator>``, comma-separated), DOI and journal
reference, and the abstract without arXiv's ``arXiv:... Announce Type: ... Abstract:``
preamble. The feed's listing day (the channel ``<pubDate>``, in US Eastern time) becomes
``ParsedFeed.announced`` and every entry's ``announced`` (its digest day).

Categories come from the document: the followed ones are the source's
(``options.categories``), else those in its URL, else those the feed names for itself
(its self link, its channel ``<link>`` or Atom ``<id>``, or its title "cs.LG, cs.AI
updates on arXiv.org"), so a joined feed saved as a file is read as the feed it is. An
entry is *listed* under the followed categories it belongs to (``cs`` follows every
``cs.*``), and only under those: a paper in none of them (a joined feed's paper outside
the source's categories) is left out and counted in ``ParsedFeed.left_out``. Each listed
category gets its own announce type, as arXiv's listing pages show it: a ``new`` paper
is ``new`` in its primary category and ``cross`` in the others, a ``replace`` is
``replace`` there and ``replace-cross`` elsewhere. When no categories are known at all,
a paper is filed under its primary category, with a warning.

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
from dataclasses import dataclass, field, replace
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
from .announce import ANNOUNCE_TYPES, announce_per_category, listed_in, listed_under
from .calendar import TIMEZONE
from .recognise import is_html, query_categories, saved_from

ARXIV_NS = "http://arxiv.org/schemas/atom"
ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"

_NS = {"a": ATOM_NS, "arxiv": ARXIV_NS, "dc": DC_NS}
_PREAMBLE_RE = re.compile(
    r"^\s*arXiv:(?P<id>\S+?)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
#: "cs.AI updates on arXiv.org"; a joined feed's: "cs.LG, cs.AI, stat.ML updates on ...".
_TITLE_CATEGORIES_RE = re.compile(r"^(?P<cats>.+?)\s+updates on arXiv\.org", re.IGNORECASE)
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

        # A page saved from a browser names the URL it was saved from.
        followed = (
            options.categories
            or categories_in_url(options.location)
            or categories_in_url(saved_from(data))
        )
        listing = parse_listing(data, source=source, followed=followed)
        return replace(listing, reader="arxiv-listing")
    warnings: list[str] = []
    entries: list[ParsedEntry] = []
    head = _read(data, source=source, options=options, warnings=warnings, entries=entries)
    item_dates = head.item_dates
    if head.atom and item_dates:
        # The Atom feed's <updated> is when it was built; its entries carry the listing day.
        day: date | None = Counter(item_dates).most_common(1)[0][0]
    else:
        day = head.date
        if day is None and item_dates:
            day = Counter(item_dates).most_common(1)[0][0]
            warnings.append("the feed has no <pubDate>: dated by its items' dates")
    if day is None and (entries or head.left_out):
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
        reader="arxiv",
        left_out=head.left_out,
    )


#: ``date`` under a name that ``_Head.date`` does not hide.
_Day = date


@dataclass(frozen=True)
class _Head:
    """What the parser needs from the channel (RSS) or feed (Atom) element."""

    title: str
    date: date | None
    atom: bool
    #: Papers listed in none of the followed categories, left out.
    left_out: int = 0
    #: The announcement day of each paper that gives one, left out or not.
    item_dates: tuple[_Day, ...] = ()


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
    reader = _Reader(source, options, warnings, entries)
    try:
        for event, element in events:
            if reader.root is None:
                reader.start(element)
            elif event == "end":
                reader.end(element)
    except etree.XMLSyntaxError as err:
        raise ParseError(
            f"not well-formed XML: {err}",
            source=source,
            hint="the download may have been cut short; the next run tries again",
        ) from err
    return reader.head()


@dataclass
class _Reader:
    """One pass over a feed's elements as they end: the items, the title and the date."""

    source: str
    options: ParseOptions
    warnings: list[str]
    entries: list[ParsedEntry]
    root: etree._Element | None = None
    atom: bool = False
    title: str = ""
    date_text: str = ""
    #: RSS: whether the root held a <channel>.
    channel: bool = False
    #: The channel's <link> (RSS) or <id> (Atom), and its self link: the feed's URL.
    link: str = ""
    self_url: str = ""
    #: Which categories are followed and which the feed lists, known from the first item
    #: on (the channel's title and links come before it).
    filing: _Filing | None = None
    number: int = 0
    left_out: int = 0
    dates: list[date] = field(default_factory=list)

    def start(self, root: etree._Element) -> None:
        """The root element: an RSS or an Atom feed, nothing else."""
        self.root = root
        tag = etree.QName(root)
        self.atom = tag.localname == "feed" and tag.namespace == ATOM_NS
        if tag.localname != "rss" and not self.atom:
            raise ParseError(
                f"not an arXiv RSS or Atom feed: the document starts with <{tag.localname}>",
                source=self.source,
                hint="point the source at https://rss.arxiv.org/rss/<category>",
            )

    def end(self, element: etree._Element) -> None:
        """An element read to its end: an item, the feed's title or date, or <channel>."""
        parent = element.getparent()
        if parent is None:
            return
        name = element.tag
        if self.atom and parent is self.root:
            if name == _ATOM_ENTRY:
                self._item(element, parent)
            elif name == _ATOM_TITLE:
                self.title = _text(element)
            elif name == _ATOM_UPDATED:
                self.date_text = _text(element)
            elif name == _ATOM_ID:
                self.link = _text(element)
            elif name == _ATOM_LINK and element.get("rel") == "self":
                self.self_url = str(element.get("href") or "")
        elif not self.atom and parent.getparent() is self.root and parent.tag == "channel":
            if name == "item":
                self._item(element, parent)
            elif name == "title":
                self.title = _text(element)
            elif name == "pubDate":
                self.date_text = _text(element)
            elif name == "link":
                self.link = _text(element)
            elif name == _ATOM_LINK and element.get("rel") == "self":
                self.self_url = str(element.get("href") or "")
        elif not self.atom and name == "channel" and parent is self.root:
            self.channel = True

    def _item(self, element: etree._Element, parent: etree._Element) -> None:
        self.number += 1
        if self.filing is None:
            self.filing = _filing_for(
                self.options, _document_categories(self.self_url, self.link, self.title)
            )
            if not self.filing.followed:
                self.warnings.append(_NO_CATEGORIES)
        if self.number == 1:
            first = _text(element.find("a:title" if self.atom else "title", _NS))
            if first.lower().startswith("feed error"):
                raise ParseError(
                    f"arXiv answered {first!r}", source=self.source, hint=_HINT_CATEGORY
                )
        entry = _entry(
            element, number=self.number, atom=self.atom, filing=self.filing, warnings=self.warnings
        )
        if entry is not None and entry.published is not None:
            self.dates.append(_eastern(entry.published))
        if entry is not None and (entry.categories or not self.filing.followed):
            self.entries.append(entry)
        elif entry is not None:
            self.left_out += 1
        _drop(element, parent)

    def head(self) -> _Head:
        """The feed's title and day, once the whole document is read. Raises ParseError."""
        if self.root is None:
            raise ParseError("not well-formed XML: no root element", source=self.source)
        if not self.atom and not self.channel:
            raise ParseError("an RSS document without <channel>", source=self.source)
        title = self.title
        if title.lower().startswith("feed error"):
            raise ParseError(f"arXiv answered {title!r}", source=self.source, hint=_HINT_CATEGORY)
        date_text = self.date_text
        return _Head(
            title=title,
            date=_atom_date(date_text) if self.atom else _rss_date(date_text),
            atom=self.atom,
            left_out=self.left_out,
            item_dates=tuple(self.dates),
        )


_ATOM_ENTRY = f"{{{ATOM_NS}}}entry"
_ATOM_TITLE = f"{{{ATOM_NS}}}title"
_ATOM_UPDATED = f"{{{ATOM_NS}}}updated"
_ATOM_ID = f"{{{ATOM_NS}}}id"
_ATOM_LINK = f"{{{ATOM_NS}}}link"
_NO_CATEGORIES = (
    "the source, its URL and the feed name no arXiv category: each paper is filed under"
    " its primary category (give the source categories = [...] to choose)"
)


@dataclass(frozen=True)
class _Filing:
    """Which categories a paper may be filed under, and which the document lists."""

    #: The source's categories, else its URL's, else the document's.
    followed: tuple[str, ...]
    #: The categories the document itself lists (its URL's, else its channel's), which
    #: tell a cross-list from a paper new there; the followed ones when unknown.
    listing: tuple[str, ...]


def _filing_for(options: ParseOptions, document: tuple[str, ...]) -> _Filing:
    in_url = categories_in_url(options.location)
    followed = options.categories or in_url or document
    return _Filing(followed=followed, listing=in_url or document or followed)


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
    """The categories an arXiv URL asks for: ``/rss/cs.AI+cs.LG``, ``/list/cs.AI/new``,
    the export API's ``search_query=cat:cs.LG OR cat:math.*``."""
    if not location or "://" not in location:
        return ()
    asked = query_categories(location)  # the export API's cat: terms
    if asked:
        return asked
    parts = [unquote(p) for p in urlsplit(location).path.split("/") if p]
    # /rss/cs.AI+cs.LG, /atom/cs.AI, or the listing page /list/cs.AI/new; nothing else
    # (the API's /api/query, an Atom <id> such as http://arxiv.org/api/Ke3nQ0) names any.
    where = next((i for i, p in enumerate(parts[:-1]) if p in ("rss", "atom", "list")), None)
    if where is None:
        return ()
    return tuple(c for c in re.split(r"[+ ]", parts[where + 1]) if _CATEGORY_RE.match(c))


def _document_categories(self_url: str, link: str, title: str) -> tuple[str, ...]:
    """The categories a feed says it lists: its self URL's, its link's, else its title's."""
    for url in (self_url, link):
        found = categories_in_url(url)
        if found:
            return found
    match = _TITLE_CATEGORIES_RE.match(title)
    if match:
        names = re.split(r"[\s,+]+", match.group("cats").strip())
        return tuple(c for c in names if _CATEGORY_RE.match(c))
    return ()


def is_listing(data: bytes) -> bool:
    """Whether ``data`` is an HTML page (arXiv's listing page) rather than a feed, also
    when saved from a browser with a comment before its doctype (see :mod:`.recognise`)."""
    return is_html(data)


@dataclass(frozen=True)
class _Item:
    """What an RSS item or an Atom entry says, before arXiv's rules are applied."""

    title: str
    guid: str
    link: str
    pdf: str
    description: str
    subjects: list[str]
    #: Atom's <author><name>s; empty for RSS, whose authors are in <dc:creator>.
    names: list[str]
    when: datetime | None


def _atom_item(item: etree._Element) -> _Item:
    links = item.findall("a:link", _NS)
    return _Item(
        title=_text(item.find("a:title", _NS)),
        guid=_text(item.find("a:id", _NS)),
        link=next(
            (str(el.get("href")) for el in links if el.get("rel", "alternate") == "alternate"),
            "",
        ),
        pdf=next((str(el.get("href")) for el in links if el.get("type") == "application/pdf"), ""),
        description=_raw_text(item.find("a:summary", _NS)),
        subjects=[str(el.get("term")) for el in item.findall("a:category", _NS) if el.get("term")],
        names=[_text(el) for el in item.findall("a:author/a:name", _NS)],
        when=parse_datetime(
            _text(item.find("a:published", _NS)) or _text(item.find("a:updated", _NS))
        ),
    )


def _rss_item(item: etree._Element) -> _Item:
    return _Item(
        title=_text(item.find("title", _NS)),
        guid=_text(item.find("guid", _NS)),
        link=_text(item.find("link", _NS)),
        pdf="",
        description=_raw_text(item.find("description", _NS)),
        subjects=[_text(el) for el in item.findall("category") if _text(el)],
        names=[],
        when=parse_datetime(_text(item.find("pubDate", _NS))),
    )


def _entry(
    item: etree._Element,
    *,
    number: int,
    atom: bool,
    filing: _Filing,
    warnings: list[str],
) -> ParsedEntry | None:
    """The paper ``item`` says, with no categories when it is in no followed one;
    None (with a warning) when it has no readable arXiv ID."""
    said = _atom_item(item) if atom else _rss_item(item)
    preamble = _PREAMBLE_RE.match(said.description)
    found = _paper_id(said, preamble, number, warnings)
    if found is None:
        return None
    paper_id, version = found
    announce_type = _first_text(item, "arxiv:announce_type").lower() or (
        preamble.group("type").lower() if preamble else ""
    )
    if announce_type and announce_type not in ANNOUNCE_TYPES:
        warnings.append(f"item {number} ({paper_id}): unknown announce type {announce_type!r}")
    abstract = said.description[preamble.end() :] if preamble else said.description
    abstract = " ".join(abstract.split())
    listed, primary, subjects = _listed(item, said.subjects, filing, announce_type)
    names = said.names or [
        name for el in item.findall("dc:creator", _NS) for name in _split_creators(_text(el))
    ]
    return ParsedEntry(
        title=said.title,
        link=said.link or f"https://arxiv.org/abs/{paper_id}",
        guid=said.guid or None,
        published=said.when,
        updated=said.when if announce_type.startswith("replace") else None,
        authors=tuple(names),
        summary=_escape(abstract) if abstract else None,
        categories=listed,
        pdf_url=said.pdf or f"https://arxiv.org/pdf/{paper_id}",
        arxiv_id=paper_id,
        doi=_first_text(item, "arxiv:DOI", "arxiv:doi") or None,
        version=version,
        announce=announce_per_category(announce_type or None, listed=listed, primary=primary),
        primary_category=primary,
        subjects=subjects,
        journal_ref=_first_text(item, "arxiv:journal_reference", "arxiv:journal_ref") or None,
    )


def _first_text(item: etree._Element, *paths: str) -> str:
    """The text of the first of ``paths`` under ``item`` that has any ("" if none)."""
    for path in paths:
        text = _text(item.find(path, _NS))
        if text:
            return text
    return ""


def _paper_id(
    said: _Item, preamble: re.Match[str] | None, number: int, warnings: list[str]
) -> tuple[str, int | None] | None:
    """The arXiv ID and version, from the guid, the link or the description's preamble.

    None, with a warning, when none of them holds a readable ID.
    """
    found = (
        arxiv_id(said.guid)
        or arxiv_id(said.link)
        or (arxiv_id(preamble.group("id")) if preamble else None)
    )
    if found is None:
        in_preamble = preamble.group("id") if preamble else ""
        shown = said.guid or said.link or in_preamble or said.title[:60]
        warnings.append(
            f"item {number}: skipped, no readable arXiv ID in {shown!r}"
            " (expected e.g. oai:arXiv.org:2601.06098v1 or https://arxiv.org/abs/2601.06098)"
        )
        return None
    paper_id, version = found
    if version is None and preamble:
        in_text = arxiv_id(preamble.group("id"))
        version = in_text[1] if in_text and in_text[0] == paper_id else None
    return paper_id, version


def _listed(
    item: etree._Element, subjects: list[str], filing: _Filing, announce_type: str
) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    """The followed categories the paper is listed under (none: it is left out), its
    primary category, and all its categories (primary first)."""
    primary_el = item.find("arxiv:primary_category", _NS)
    primary = (
        str(primary_el.get("term")) if primary_el is not None and primary_el.get("term") else None
    )
    subjects = list(dict.fromkeys(subjects))
    listed = listed_under(subjects, filing.followed)
    if primary is None and announce_type in ANNOUNCE_TYPES and subjects:
        # arXiv lists the primary category first; a new paper's primary is one of the
        # categories the feed lists, a cross-list's is not.
        lists = filing.listing or listed
        if announce_type in ("new", "replace"):
            primary = next((s for s in subjects if listed_in(s, lists)), subjects[0])
        else:
            primary = next((s for s in subjects if not listed_in(s, lists)), None)
    if primary and primary in subjects:
        subjects.remove(primary)
        subjects.insert(0, primary)
    return listed, primary, tuple(subjects)


def _dated(entry: ParsedEntry, day: date) -> ParsedEntry:
    """The entry filed under the feed's listing day; undated items get its midnight ET."""
    published = entry.published or datetime.combine(day, datetime.min.time(), ZoneInfo(TIMEZONE))
    updated = entry.updated or (
        published if entry.announce and entry.announce[0][1].startswith("replace") else None
    )
    return replace(entry, announced=day, published=published, updated=updated)


_AND_SPLIT_RE = re.compile(r"\s+and\s+")


def _split_creators(text: str) -> tuple[str, ...]:
    """``"A, B, C and D"`` (arXiv's dc:creator) as names."""
    parts = split_authors(text)
    names: list[str] = []
    for part in parts:
        names.extend(p.strip() for p in _AND_SPLIT_RE.split(part) if p.strip())
    return tuple(names)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)
