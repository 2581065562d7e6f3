"""The search page of ``aggregator serve``: a page of results rendered to HTML.

Server-side, no script: a GET form (``/search?q=...&category=...&page=N``) and the
results, best first, their matched words in ``<mark>``. Every piece of text from a feed
or the query goes through the template's autoescaping, the marks included (they are
runs of text, never markup). Owns the page's layout and paging; no SQL, no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..types import SearchResults
from .templating import environment

#: Hits per page.
PAGE_SIZE = 20
#: Pages a query may be paged through (enough for any reading; bounds the work).
MAX_PAGES = 50


@dataclass(frozen=True)
class SearchPage:
    """What one request asks, as read from its query string."""

    query: str = ""
    category: str = ""
    page: int = 1


def read_request(params: dict[str, list[str]], *, categories: list[str]) -> SearchPage:
    """The request's ``q``, ``category`` (one of ``categories`` or none) and ``page``
    (1 to :data:`MAX_PAGES`; anything else is page 1)."""
    query = " ".join((params.get("q") or [""])[0].split())[:500]
    category = (params.get("category") or [""])[0]
    raw = (params.get("page") or ["1"])[0]
    page = int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_PAGES else 1
    return SearchPage(query, category if category in categories else "", page)


def render(
    request: SearchPage,
    *,
    results: SearchResults | None,
    error: str | None,
    categories: list[str],
    title: str,
) -> str:
    """The page: the form (``request`` filled in), then the results or the error."""
    pages = 0
    if results is not None:
        pages = min(MAX_PAGES, -(-results.total // PAGE_SIZE))
    return (
        environment()
        .get_template("search.html")
        .render(
            title=title,
            request=request,
            results=results,
            error=error,
            categories=categories,
            pages=pages,
            first=(request.page - 1) * PAGE_SIZE + 1,
        )
    )
