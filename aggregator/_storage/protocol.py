"""The storage protocol: what the facade and the stages may ask of a database.

Every stage reaches storage through :class:`Storage`; :class:`~.sqlite.Store` (SQLite) and
:class:`~.postgres.PostgresStore` are the implementations, checked against the protocol
by mypy (``_conforms`` below), so that neither stage nor facade knows which it has.
Generated from the methods the stages call and then kept by hand: a stage that needs a
new query adds it here and to every implementation (mypy fails until both have it).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import date, datetime
    from typing import Any

    from aggregator._fetch.health import FetchState
    from aggregator._neardup.rules import Candidate, Features
    from aggregator._storage.postgres import PostgresStore
    from aggregator._storage.sqlite import Store
    from aggregator._storage.sqlite.check import Orphans
    from aggregator._storage.sqlite.deliveries import Delivery
    from aggregator._storage.sqlite.documents import LastDocument
    from aggregator._storage.sqlite.dupes import DuplicateLink, StoredFeatures
    from aggregator._storage.sqlite.retention import PruneResult
    from aggregator._storage.sqlite.runs import SourceHealth
    from aggregator._storage.sqlite.subscribers import Unsubscribe
    from aggregator._update.article_state import ArticleFetch
    from aggregator._update.plan import Applied, Known, Linker, Plan
    from aggregator.types import PublishedFile, SearchResults, StoredEntry, Summary


class Batch(Protocol):
    """An open :meth:`Storage.batch`: :meth:`due` says when to :meth:`commit`."""

    def begin(self) -> None: ...

    def due(self) -> bool: ...

    def commit(self) -> bool: ...


class Storage(Protocol):
    """A database of entries, their sources, runs, outputs and deliveries."""

    #: Whether opening created the database file (a first run, or a mistyped path).
    created: bool

    def article_counts(self) -> dict[str, tuple[int, int]]:
        """Per source, how many articles are pending (to be tried again) and failed."""
        ...

    def article_fetches(self, source: str) -> list[ArticleFetch]:
        """The articles of ``source`` not had yet, pending or given up, by entry key."""
        ...

    def announced_keys(self, keys: list[str]) -> set[str]:
        """Those of ``keys`` that arXiv announced on some day."""
        ...

    def announcement_days(self) -> list[date]: ...

    def announcements_on(self, day: date) -> dict[str, dict[str, str]]:
        """``{entry key: {category: announce type}}`` of the papers announced on ``day``."""
        ...

    def apply(self, plans: Iterable[Plan], *, link: Linker | None = None) -> list[Applied]:
        """Write ``plans`` in order, in one transaction, each in a savepoint of its own."""
        ...

    def batch(self, *, seconds: float = 2.0) -> AbstractContextManager[Batch]:
        """Group the :meth:`transaction` blocks inside into commits of about ``seconds``."""
        ...

    def candidates_of(
        self, found: Sequence[Features], *, scheme: str
    ) -> dict[str, list[Candidate]]:
        """:meth:`candidates` of each of ``found``, by key, looked up all at once."""
        ...

    def candidates(self, features: Features, *, scheme: str) -> list[Candidate]:
        """Stored entries sharing a band key or a work key with ``features``."""
        ...

    def categories(self) -> list[tuple[str, int]]:
        """Every category with its number of entries, by name."""
        ...

    def claim_delivery(
        self, day: date, subscriber: str, *, from_states: tuple[str, ...], now: datetime
    ) -> bool:
        """Move the row to ``sending`` if it is in one of ``from_states``; True if this call did."""
        ...

    def close_interrupted_runs(self, *, now: datetime) -> list[int]:
        """Mark runs still 'running' as 'interrupted' and return their ids."""
        ...

    def count_duplicates(self) -> int: ...

    def count_entries(self) -> int: ...

    def delete_orphans(self, orphans: tuple[Orphans, ...]) -> int:
        """Delete the rows ``orphans`` describes (found by :func:`inspect_database`)."""
        ...

    def deliveries_between(
        self, since: date, before: date, *, states: tuple[str, ...]
    ) -> list[Delivery]:
        """The rows of days ``since`` <= day < ``before`` in one of ``states``, by day."""
        ...

    def deliveries_for_day(self, day: date) -> dict[str, Delivery]:
        """The log of ``day``, by subscriber."""
        ...

    def digest_days(self) -> list[date]: ...

    def digests_due(self) -> list[date]:
        """The days marked due and not yet written, oldest first."""
        ...

    def duplicate_link(self, ident: str) -> DuplicateLink | None:
        """The link by its number, its duplicate's key, or its duplicate's Atom id."""
        ...

    def duplicate_links(self, *, limit: int | None = None) -> list[DuplicateLink]:
        """Every link, newest first."""
        ...

    def entries_for_day(self, day: date) -> list[StoredEntry]:
        """Entries whose digest day is ``day``, in arrival order."""
        ...

    def day_counts_in_category(self, category: str | None) -> list[tuple[date, int]]:
        """Each digest day with a visible entry (in ``category``; None: any), with its
        number of them, newest first."""
        ...

    def entries_in_category_on(self, category: str | None, day: date) -> list[StoredEntry]:
        """The visible entries of digest day ``day`` (in ``category``; None: any), newest
        first by ``updated``, then by key."""
        ...

    def entries_in_category(
        self, category: str | None, limit: int, *, since_day: date | None = None
    ) -> list[StoredEntry]:
        """Newest first by ``updated``; ``category=None`` means every entry.
        ``since_day``: only entries whose digest day is that day or later."""
        ...

    def entries_updated_between(
        self, start: datetime, end: datetime, *, before_day: date
    ) -> list[StoredEntry]:
        """Entries first shown before ``before_day`` whose ``updated`` is in [start, end)."""
        ...

    def entry_source_names(self, key: str) -> list[str]:
        """The sources that delivered ``key`` itself, first first."""
        ...

    def entry_texts(self, keys: Sequence[str]) -> dict[str, str]:
        """``neardup.entry_text`` of stored entries, read from their text columns alone"""
        ...

    def fetch_states(self) -> dict[str, FetchState]:
        """Every source's stored HTTP state, by source name."""
        ...

    def entry_scores(
        self, keys: Sequence[str], *, profile: str, model: str
    ) -> dict[str, tuple[float, str | None]]:
        """The cached (score, nearest liked entry) of those of ``keys`` that have one."""
        ...

    def finish_delivery(
        self,
        day: date,
        subscriber: str,
        *,
        state: str,
        now: datetime,
        code: int | None = None,
        reply: str | None = None,
        count_attempt: bool = False,
    ) -> None:
        """Record the outcome of an attempt: ``sent`` or a failure with the server's reply."""
        ...

    def finish_run(
        self, run_id: int, *, now: datetime, status: str, summary: dict[str, Any]
    ) -> None: ...

    def forget_unsubscribe(self, address: str) -> bool:
        """Let ``address`` receive the digest again; False when it had not unsubscribed."""
        ...

    def forget_what_was_read_and_written(self, *, now: datetime) -> None:
        """Make the next run read every source in full and rewrite every output file."""
        ...

    def get_entries(self, keys: Sequence[str]) -> dict[str, StoredEntry]:
        """The stored rows for ``keys`` that exist."""
        ...

    def kept_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """For each of ``keys`` that is a linked duplicate, the key kept in its place."""
        ...

    def keys_needing_features(self, scheme: str, *, since: datetime | None) -> list[str]:
        """Entries without features of ``scheme`` (first seen at or after ``since``)."""
        ...

    def known(self, source: str, keys: Sequence[str]) -> Known:
        """What is stored of ``keys``, as ``source`` delivers them (see ``plan.Known``)."""
        ...

    def last_batch(self, source: str) -> date | None:
        """The newest announcement day whose batch ``source`` has delivered, if any."""
        ...

    def last_deliveries(self, limit: int = 50) -> list[Delivery]:
        """The log of the most recent day anything was planned or sent, by subscriber."""
        ...

    def last_document(self, source: str) -> LastDocument | None:
        """The fingerprint and batch of ``source``'s last stored document."""
        ...

    def last_runs(self, limit: int = 5) -> list[dict[str, Any]]: ...

    def liked_keys(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored entry each (kind, value) reference (arxiv, doi, url) names."""
        ...

    def link_duplicate(
        self, key: str, *, kept_key: str, reason: str, similarity: float | None, now: datetime
    ) -> None:
        """Link ``key`` to ``kept_key``; duplicates of ``key`` follow it to ``kept_key``."""
        ...

    def mark_unconfirmed_sent(self, day: date, *, now: datetime) -> list[str]:
        """Record the ``sending`` rows of ``day`` as sent; return their subscribers."""
        ...

    def new_entry_days(self, limit: int = 60) -> dict[str, list[date]]:
        """Per source, the most recent ``limit`` days on which it delivered entries new to it."""
        ...

    def output_generation(self) -> int:
        """The counter every change to the published inputs moves (never goes back)."""
        ...

    def plan_day(
        self,
        day: date,
        *,
        due: list[tuple[str, int, str]],
        empty: list[str],
        now: datetime,
    ) -> None:
        """Record the day's plan in one transaction: who is due a message, who has none."""
        ...

    def record_articles(
        self, records: Sequence[ArticleFetch], had: Mapping[str, str], *, now: datetime
    ) -> list[date]:
        """Keep ``records``, put each article of ``had`` into its entry and forget its
        record, mark those entries' digest days due (one transaction); returns the days."""
        ...

    def prune_entries(self, *, before: datetime, now: datetime) -> PruneResult:
        """Delete entries first seen and last updated before ``before``, in one transaction."""
        ...

    def published_files(self, paths: Iterable[str]) -> dict[str, PublishedFile]:
        """The records of those of ``paths`` that were published before."""
        ...

    def ranking_sample(self, limit: int) -> dict[str, tuple[str, str]]:
        """Up to ``limit`` stored entries' (title, summary), the same for the same data."""
        ...

    def ranking_texts(self, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(title, summary as stored) of each of ``keys`` that is stored."""
        ...

    def recent_digest_days(self, category: str | None, count: int) -> list[date]:
        """The ``count`` latest digest days with a visible entry (in ``category``),
        newest first."""
        ...

    def record_published(
        self, files: Iterable[PublishedFile], *, digests_done: Iterable[date] = ()
    ) -> None:
        """Remember files just written (or found up to date), in one transaction, and"""
        ...

    def record_unsubscribe(
        self, address: str, *, via: str, now: datetime, detail: str | None = None
    ) -> bool:
        """Record that ``address`` unsubscribed; False when it already had."""
        ...

    def refresh_merged_categories(self, kept_key: str) -> None:
        """Give ``kept_key`` exactly the categories its linked duplicates carry."""
        ...

    def reset_fetch_state(self, names: list[str]) -> int:
        """Forget rests and 410s of ``names`` (validators too). Returns how many had any."""
        ...

    def save_entry_scores(
        self, rows: Iterable[tuple[str, str, float, str | None]], *, model: str
    ) -> None:
        """Cache (profile, entry key, score, nearest liked entry) rows of ``model``."""
        ...

    def save_features(self, features: Features, *, scheme: str, new: bool = False) -> None:
        """Store (or replace) an entry's signature, band keys and work keys."""
        ...

    def save_new_features(self, found: Sequence[Features], *, scheme: str) -> None:
        """Store the features of entries stored just now, in this transaction, in order:"""
        ...

    def search(
        self,
        query: str,
        *,
        syntax: str = "words",
        category: str | None = None,
        since: date | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResults:
        """Entries matching ``query``, best first, with marked titles and snippets."""
        ...

    def search_backlog(self) -> int:
        """Entries stored or changed and not indexed for search yet."""
        ...

    def secret(self, name: str) -> str:
        """The installation's secret ``name``: generated on first use, then kept."""
        ...

    def save_summaries(
        self, rows: Iterable[tuple[str, Summary]], *, variant: str, now: datetime
    ) -> None:
        """Cache ``(content hash, summary)`` pairs written by ``variant``."""
        ...

    def source_health(self) -> list[SourceHealth]: ...

    def split_duplicate(self, key: str, *, now: datetime) -> str | None:
        """Undo the link of ``key``; remember the pair so no later run links it again."""
        ...

    def split_partners(self, key: str) -> frozenset[str]:
        """Keys a user split from ``key``: they are never merged with it again."""
        ...

    def start_run(self, *, now: datetime, run_date: date, sends: bool = False) -> int:
        """Record a run as running. ``sends``: it means to mail its day's digest."""
        ...

    def stored_features(self, keys: Sequence[str]) -> dict[str, StoredFeatures]: ...

    def summaries_of(self, hashes: Sequence[str], *, variant: str) -> dict[str, Summary]:
        """The cached summaries of those of ``hashes`` written by ``variant``."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside happen, or none do."""
        ...

    def update_search_index(self) -> int:
        """Index every entry stored or changed since the last call; returns how many."""
        ...

    def unplanned_send_days(self, since: date, before: date) -> list[date]:
        """Days ``since`` <= day < ``before`` of interrupted runs that meant to mail"""
        ...

    def unsubscribes(self) -> dict[str, Unsubscribe]:
        """Every recorded unsubscribe, by address (lower case)."""
        ...


def _conforms(store: Store) -> Storage:
    """mypy checks here that the SQLite store implements the protocol."""
    return store


def _conforms_postgres(store: PostgresStore) -> Storage:
    """mypy checks here that the PostgreSQL store implements the protocol."""
    return store
