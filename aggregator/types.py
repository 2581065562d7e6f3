"""Plain value objects that flow through the pipeline.

Parsers produce :class:`ParsedFeed` objects holding :class:`ParsedEntry` values;
``normalize`` turns those into :class:`Entry` values with an identity key; the store
hands back :class:`StoredEntry` values. All are frozen: stages never mutate their input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

#: What stages ask for the current time (timezone-aware UTC): injected, so that
#: tests pass a fixed one.
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class ParsedEntry:
    """One item as a parser found it: no identity key yet, text as given.

    Times are timezone-aware (UTC) or ``None``; HTML fields are not yet sanitised.
    """

    title: str
    link: str | None = None
    guid: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    #: Short text or HTML (an abstract, a description).
    summary: str | None = None
    #: The full body as HTML, when the source has one.
    content: str | None = None
    #: Structured summary sections, e.g. (("Background", "..."), ("Innovation", "...")).
    sections: tuple[tuple[str, str], ...] = ()
    #: Categories the entry carries itself (e.g. "cs.AI" in a daily list).
    categories: tuple[str, ...] = ()
    pdf_url: str | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    language: str | None = None
    #: The day a dated list announced this entry (its digest day), if the format says.
    announced: date | None = None
    #: arXiv: the version this delivery carries (``2`` for ``2601.06098v2``).
    version: int | None = None
    #: arXiv: how it was announced (new, cross, replace, replace-cross) per category it is
    #: listed under in this document, e.g. (("cs.AI", "new"), ("cs.LG", "cross")).
    announce: tuple[tuple[str, str], ...] = ()
    #: arXiv: the paper's primary category and all its categories (primary first).
    primary_category: str | None = None
    subjects: tuple[str, ...] = ()
    journal_ref: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """What a parser returns for one document."""

    entries: tuple[ParsedEntry, ...]
    title: str | None = None
    link: str | None = None
    #: Problems that did not stop parsing (e.g. ill-formed XML feedparser recovered from).
    warnings: tuple[str, ...] = ()
    #: The day the document's batch was announced, for dated lists (arXiv's feed date).
    announced: date | None = None
    #: arXiv: papers in the document listed in none of the source's categories, left out.
    left_out: int = 0
    #: Which reader read the document: "lxml" (the fast feed path), "feedparser" (its
    #: fallback), "arxiv", "arxiv-listing"; "" for formats with a single reader. For
    #: measuring (``benchmarks.paths``); never stored, and not part of equality.
    reader: str = field(default="", compare=False)


@dataclass(frozen=True)
class Entry:
    """A normalised entry: sanitised HTML, canonical links, an identity key.

    ``key`` identifies the entry across sources (``arxiv:2601.06098``, ``doi:...``,
    ``url:https://...``, ``guid:<source>:<guid>``); ``content_hash`` changes exactly
    when the entry's user-visible content changes.
    """

    key: str
    title: str
    source: str
    link: str | None
    guid: str | None
    published: datetime | None
    updated: datetime | None
    authors: tuple[str, ...]
    summary: str | None
    content: str | None
    sections: tuple[tuple[str, str], ...]
    categories: tuple[str, ...]
    pdf_url: str | None
    arxiv_id: str | None
    doi: str | None
    language: str | None
    announced: date | None
    content_hash: str
    #: Position in the source document, for a stable order within a day.
    position: int = 0
    version: int | None = None
    announce: tuple[tuple[str, str], ...] = ()
    primary_category: str | None = None
    subjects: tuple[str, ...] = ()
    journal_ref: str | None = None
    #: Title and summary as the source gave them, when ``title``/``summary`` had their
    #: LaTeX turned into Unicode.
    raw_title: str | None = None
    raw_summary: str | None = None
    #: arXiv: the author names as the source gave them, when ``authors`` had their TeX
    #: accents turned into Unicode (``J\\"urgen`` for ``Jürgen``).
    raw_authors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class StoredEntry:
    """An entry as the store holds it: one row per key, merged over its sources."""

    key: str
    atom_id: str
    title: str
    link: str | None
    published: datetime | None
    updated: datetime
    first_seen: datetime
    digest_day: date
    authors: tuple[str, ...]
    summary: str | None
    content: str | None
    sections: tuple[tuple[str, str], ...]
    categories: tuple[str, ...]
    pdf_url: str | None
    arxiv_id: str | None
    doi: str | None
    language: str | None
    content_hash: str
    position: int
    sources: tuple[str, ...] = field(default=())
    #: arXiv: newest version seen, primary category, all categories, journal reference.
    version: int | None = None
    primary_category: str | None = None
    subjects: tuple[str, ...] = ()
    journal_ref: str | None = None
    #: Title, summary and author names as the source gave them (LaTeX), when they differ.
    raw_title: str | None = None
    raw_summary: str | None = None
    raw_authors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Summary:
    """What a summariser wrote about an entry: a TL;DR and three short sections.

    ``title`` is the entry's title translated into ``language`` (``None`` when no
    translation was asked for). ``provider`` names who wrote it ("extractive", or
    "openai-compatible/<model>"), shown beside it so that readers know.
    """

    tldr: str
    background: str = ""
    innovation: str = ""
    conclusion: str = ""
    title: str | None = None
    language: str | None = None
    provider: str = "extractive"

    @property
    def sections(self) -> tuple[tuple[str, str], ...]:
        """The non-empty sections as (heading, text), in reading order."""
        named = (
            ("Background", self.background),
            ("Innovation", self.innovation),
            ("Conclusion", self.conclusion),
        )
        return tuple((heading, text) for heading, text in named if text)


@dataclass(frozen=True)
class PublishedFile:
    """An output file as it was last written (or found already up to date)."""

    path: str
    #: Of everything the file was built from (see ``publish.output_fingerprint``).
    fingerprint: str
    size: int
    mtime_ns: int


#: Text with the words a search matched marked: runs of (text, matched), in order.
Marked = tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class SearchHit:
    """One entry a search found, its title and a snippet of its text marked."""

    entry: StoredEntry
    title: Marked
    #: The best matching part of the abstract, content or authors (or their start).
    snippet: Marked
    #: bm25 relevance: lower is better (SQLite's sign).
    score: float


@dataclass(frozen=True)
class SearchResults:
    """A page of a search's results, best match first."""

    query: str
    #: Entries matching in all, of which ``hits`` are those from ``offset`` on.
    total: int
    offset: int
    hits: tuple[SearchHit, ...]
    #: Entries stored but not indexed yet (a run stopped before indexing them).
    unindexed: int = 0


@dataclass(frozen=True)
class Rank:
    """Where an entry stands for one reader, and why (see ``_enrich.order``).

    ``tier`` 0: by a followed author; 1: matches a keyword; 2: the rest, ordered by
    ``score`` (similarity to the reader's liked papers; None: listing order).
    """

    tier: int
    score: float | None = None
    #: "by a followed author: X", "matches: agent", "like: <title>"; "" for none.
    reason: str = ""

    def sort_key(self, position: int) -> tuple[int, float, int]:
        """Tier, then higher score first, then the listing position (stable ties)."""
        return (self.tier, -self.score if self.score is not None else 0.0, position)


@dataclass(frozen=True)
class Personal:
    """What is one subscriber's own in their digest: where each entry stands for them
    (by key; their part is listed in that order, with the reasons) and the address of
    their personal feed (None when they have none)."""

    ranks: dict[str, Rank] = field(default_factory=dict)
    feed_url: str | None = None
