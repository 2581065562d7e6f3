"""The arXiv reader: any arXiv document, whatever the source kind that fetched it.

Owns choosing, from the document itself (:mod:`.recognise`), which of arXiv's formats
it is and handing it to that format's parser: a day's feed (RSS or Atom) or a listing
page to :func:`.feed.parse` (which reads listing pages through :mod:`.listing`), and an
export-API answer or an author feed to :func:`.api_page.parse_page`, whose papers are
dated one by one by arXiv's schedule. ``kind = "arxiv"`` sources read through here,
and so do ``kind = "feed"`` sources whose document turns out to be arXiv's, so that a
paper means the same whichever way it came in: abstract without the announce preamble,
authors split, the announcement day, a versionless link, the DOI.

Pure, like every parser: bytes in, :class:`ParsedFeed` out; raises ParseError.
"""

from __future__ import annotations

from ...types import ParsedFeed
from ..common import ParseOptions
from . import recognise
from .api_page import parse_page
from .calendar import Calendar
from .feed import parse as parse_feed


def read(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """Read an arXiv feed, listing page, export-API answer or author feed."""
    if recognise.document_kind(data) == "api":
        return _read_api(data, source=source, options=options)
    return parse_feed(data, source=source, options=options)


def _read_api(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """An export-API answer or author feed: each paper under the listing day arXiv's
    schedule gives its version; the document's day is the latest of them."""
    followed = options.categories or recognise.query_categories(options.location)
    page = parse_page(data, source=source, followed=followed, calendar=Calendar())
    days = [entry.announced for entry in page.entries if entry.announced is not None]
    return ParsedFeed(
        entries=page.entries,
        warnings=page.warnings,
        announced=max(days) if days else None,
        reader="arxiv-api",
    )
