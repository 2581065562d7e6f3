"""Source kinds and what each source needs (a URL or a path, its categories).

Never fetches or parses: it only describes where entries come from and how the
categories of an entry are decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .access import NO_ACCESS, Access


@dataclass(frozen=True)
class Kind:
    """What a source kind is and how its categories work."""

    name: str
    description: str
    #: Whether entries of this kind carry their own categories by default.
    entry_categories: bool


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("feed", "RSS 0.9x/1.0/2.0 or Atom 0.3/1.0 feed", False),
        Kind("arxiv", "arXiv RSS/Atom feed of one or more categories", True),
        Kind("markdown-digest", "daily list of papers in Markdown", True),
        Kind("markdown", "one article in Markdown (front matter or heading)", False),
        Kind("page", "one web page saved as HTML or text", False),
    )
}


@dataclass(frozen=True)
class Source:
    """One configured source."""

    name: str
    kind: str
    url: str | None = None
    path: Path | None = None
    categories: tuple[str, ...] = ()
    entry_categories: bool = False
    timezone: str = "UTC"
    enabled: bool = True
    #: arXiv: the categories the feed follows (its query); entries are filed under those
    #: of them they are listed in, each with its announce type.
    follow: tuple[str, ...] = ()
    #: Login, extra headers, User-Agent and cookies for its requests (names of
    #: environment variables, never secrets).
    access: Access = NO_ACCESS
    #: Seconds between fetches (None: every run); ``adaptive`` lets the observed rhythm
    #: move it within bounds (aggregator._fetch.schedule).
    interval: float | None = None
    adaptive: bool = False
    #: Fetch each new entry's link and extract the article (aggregator._fetch.fulltext).
    fetch_full_text: bool = False

    @property
    def location(self) -> str:
        """The URL or path, for messages."""
        return self.url if self.url is not None else str(self.path)

    def categories_for(self, entry_categories: tuple[str, ...]) -> tuple[str, ...]:
        """The categories an entry is filed under.

        The configured categories, plus the entry's own when the source uses them;
        a source with neither files its entries under its own name.
        """
        chosen = list(self.categories)
        if self.entry_categories:
            chosen.extend(entry_categories)
        if not chosen:
            chosen.append(self.name)
        return tuple(dict.fromkeys(chosen))
