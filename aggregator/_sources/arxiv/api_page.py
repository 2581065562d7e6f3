"""One page of arXiv's export API (``export.arxiv.org/api/query``): Atom 1.0 in, papers out.

Owns reading the API's Atom (``<opensearch:totalResults>``, entries with
``<id>http://arxiv.org/abs/2601.10001v2</id>``, ``<published>`` (version 1) and
``<updated>`` (this version), authors, ``<arxiv:primary_category>``, categories,
``<arxiv:doi>``, ``<arxiv:journal_ref>``) into :class:`ParsedEntry` values like the
feed parser's. The API knows submission times, not announcements: each version is
given the listing day arXiv's schedule puts it in (:meth:`Calendar.listing_for`) and the
announce type that follows from its version (1: new or cross, later: replace or
replace-cross) in each followed category it is in. A result in none of them (the API
matches ``cat:cs.LG`` on any of a paper's categories, and a paper's categories can
change) is left out and counted in ``ApiPage.left_out``.

Raises :class:`ParseError` for XML that is not the API's Atom and for the API's own
error entries (``<id>http://arxiv.org/api/errors#...</id>``). No I/O.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from lxml import etree

from ..._update.normalize import arxiv_id, parse_datetime
from ...errors import ParseError
from ...types import ParsedEntry
from .announce import announce_per_category, listed_under
from .calendar import Calendar
from .feed import ARXIV_NS, ATOM_NS

OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
_NS = {"a": ATOM_NS, "arxiv": ARXIV_NS, "os": OPENSEARCH_NS}


@dataclass(frozen=True)
class ApiPage:
    entries: tuple[ParsedEntry, ...]
    #: How many results the whole query has.
    total: int
    warnings: tuple[str, ...] = ()
    #: Results in none of the followed categories, left out.
    left_out: int = 0


def parse_page(
    data: bytes, *, source: str, followed: tuple[str, ...], calendar: Calendar
) -> ApiPage:
    """Parse one page of API results. Raises ParseError."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise ParseError(f"the arXiv API sent ill-formed XML: {err}", source=source) from err
    if etree.QName(root).localname != "feed" or etree.QName(root).namespace != ATOM_NS:
        raise ParseError("not an arXiv API answer (expected Atom)", source=source)
    total_text = _text(root.find("os:totalResults", _NS))
    entries: list[ParsedEntry] = []
    warnings: list[str] = []
    left_out = 0
    for number, item in enumerate(root.findall("a:entry", _NS), start=1):
        guid = _text(item.find("a:id", _NS))
        if "/api/errors" in guid:
            message = _text(item.find("a:summary", _NS)) or "unknown error"
            raise ParseError(f"the arXiv API answered: {message}", source=source)
        entry = _entry(item, guid=guid, followed=followed, calendar=calendar)
        if entry is None:
            warnings.append(f"result {number}: skipped, no readable arXiv ID in {guid!r}")
        elif entry.categories or not followed:
            entries.append(entry)
        else:
            left_out += 1
    try:
        total = int(total_text)
    except ValueError:
        total = len(entries)
    return ApiPage(entries=tuple(entries), total=total, warnings=tuple(warnings), left_out=left_out)


def _midnight(day: date, calendar: Calendar) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(calendar.timezone))


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(str(t) for t in element.itertext()).split())


def _entry(
    item: etree._Element, *, guid: str, followed: tuple[str, ...], calendar: Calendar
) -> ParsedEntry | None:
    found = arxiv_id(guid)
    if found is None:
        return None
    paper_id, version = found
    published = parse_datetime(_text(item.find("a:published", _NS)))
    updated = parse_datetime(_text(item.find("a:updated", _NS))) or published
    primary_el = item.find("arxiv:primary_category", _NS)
    primary = primary_el.get("term") if primary_el is not None else None
    subjects = [str(el.get("term")) for el in item.findall("a:category", _NS) if el.get("term")]
    if primary:
        subjects = [primary, *[s for s in subjects if s != primary]]
    subjects = list(dict.fromkeys(subjects))
    listed = listed_under(subjects, followed)
    first = version in (None, 1)
    announce = announce_per_category(
        "new" if first else "replace", listed=listed, primary=primary and str(primary)
    )
    # Dated like the feeds: by announcement (midnight US Eastern of the listing day).
    announced = calendar.listing_for(updated) if updated else None
    first_listed = _midnight(calendar.listing_for(published), calendar) if published else None
    summary = _text(item.find("a:summary", _NS))
    return ParsedEntry(
        title=_text(item.find("a:title", _NS)),
        link=f"https://arxiv.org/abs/{paper_id}",
        guid=guid,
        published=first_listed,
        updated=None if first or announced is None else _midnight(announced, calendar),
        authors=tuple(_text(el) for el in item.findall("a:author/a:name", _NS) if _text(el)),
        summary=html.escape(summary, quote=False) if summary else None,
        categories=listed,
        pdf_url=f"https://arxiv.org/pdf/{paper_id}",
        arxiv_id=paper_id,
        doi=_text(item.find("arxiv:doi", _NS)) or None,
        announced=announced,
        version=version,
        announce=announce,
        primary_category=str(primary) if primary else None,
        subjects=tuple(subjects),
        journal_ref=_text(item.find("arxiv:journal_ref", _NS)) or None,
    )
