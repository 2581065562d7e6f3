"""The pipeline: wiring fetch, parse, normalise, dedup, store, publish and digest.

Owns the order of the stages (ingest, prune, digests, feeds, mail), the run lock, the
recovery of interrupted runs (their files, digests and unfinished deliveries), the
run record, and where the database may be created; formats nothing for people (the
CLI does). Ingest lives in :mod:`.ingest`: a failing source becomes a
:class:`SourceReport` with its error and the run goes on; only storage and publishing
failures stop a run, and what they left unwritten is written by the next run.
"""

from __future__ import annotations

import logging
import time as time_module
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from ._enrich import wiring
from ._enrich.ranker import Ranker, RankingReport
from ._fetch import websub
from ._fetch.health import FetchState
from ._mail import deliver, imap, unsubscribe
from ._mail.unsubscribe import MailRequest
from ._neardup import linking
from ._output import digest as digests
from ._output import housekeeping, personal
from ._output.beside import Beside
from ._output.build import build_digest, day_bounds, feed_entries, publish_feeds, write_digests
from ._sources.arxiv.api import PAGE_SIZE
from ._storage import database_exists, open_store, run_lock
from ._storage.protocol import Storage
from ._storage.sqlite import Delivery, SourceHealth
from ._storage.sqlite.check import Inspection, inspect_database
from ._storage.sqlite.deliveries import (
    EMPTY,
    FAILED_PERMANENT,
    FAILED_TEMPORARY,
    SENDING,
    SENT,
    UNFINISHED,
    UNSERVED,
)
from ._storage.sqlite.dupes import DuplicateLink
from ._storage.sqlite.subscribers import Unsubscribe
from ._update.backfill import BackfillReport
from ._update.backfill import backfill as store_listings
from ._update.decide import Outcome
from ._update.ingest import SourceReport, ingest, system_clock
from ._update.reading import worker_count
from .config.mail import EMAIL_SCHEMA, EmailSettings
from .config.settings import Settings, StorageSettings
from .errors import AggregatorError, ConfigError, DeliveryError, StorageError
from .types import Clock, SearchResults, StoredEntry

log = logging.getLogger(__name__)

__all__ = [
    "EMPTY",
    "FAILED_PERMANENT",
    "FAILED_TEMPORARY",
    "SENDING",
    "SENT",
    "UNSERVED",
    "Aggregator",
    "Clock",
    "Delivery",
    "DuplicateLink",
    "Enricher",
    "FetchState",
    "Inspection",
    "RunSummary",
    "SearchResults",
    "SourceHealth",
    "SourceReport",
    "Status",
    "build_digest",
    "day_bounds",
    "days_to_finish",
    "default_enrichers",
    "ingest",
    "migrate_database",
    "prepare_database",
    "publish_feeds",
    "run",
    "send_day",
    "system_clock",
    "today_in",
    "write_digests",
]


@dataclass
class RunSummary:
    """The outcome of a run (or of its fetch, publish or digest part)."""

    run_date: date
    sources: list[SourceReport] = field(default_factory=list)
    feeds_written: int = 0
    feeds_total: int = 0
    digests_written: int = 0
    digest_days: list[date] = field(default_factory=list)
    index_written: bool = False
    #: What sending the day's digest did; None when not asked to or email is off.
    delivery: deliver.DeliveryReport | None = None
    #: What finishing earlier days' unfinished deliveries did, oldest day first.
    resumed: list[deliver.DeliveryReport] = field(default_factory=list)
    #: Entries removed by ``[storage].keep_days``, and the digest days removed with them.
    pruned: int = 0
    pruned_digests: list[date] = field(default_factory=list)
    #: Runs found interrupted (killed) and finished by this one.
    recovered_runs: list[int] = field(default_factory=list)
    #: Why the run stopped, when an error stopped it (kept in the run record for `status`).
    error: str | None = None
    #: The database file, when this run created it (a first run, or a typo in its name).
    #: The SQLite file, or the PostgreSQL URL, when this run created the database (schema).
    created_database: Path | str | None = None
    #: What ranking did (None when no interests are configured or nothing was ingested).
    ranking: RankingReport | None = None
    #: Personal feeds written (changed) by this run.
    personal_feeds: int = 0
    #: Lines the enrichers had for the run's output (what they did, what to act on).
    notes: list[str] = field(default_factory=list)
    #: Wall seconds of each stage the run took: ingest (fetch, parse, dedup, store,
    #: prune), search index, enrich, feeds (publishing), digests (only what the run
    #: waited for after the feeds when a second process wrote them beside).
    stages: dict[str, float] = field(default_factory=dict)
    #: Whether the digests were written by a second process, beside the feeds.
    digests_beside: bool = False

    def count(self, outcome: Outcome) -> int:
        return sum(report.counts[outcome.value] for report in self.sources)

    @property
    def failed(self) -> list[SourceReport]:
        return [report for report in self.sources if not report.ok]

    @property
    def deliveries(self) -> list[deliver.DeliveryReport]:
        """Every day's delivery report of this run, oldest day first."""
        return [*self.resumed, *([self.delivery] if self.delivery else [])]

    def as_dict(self) -> dict[str, object]:
        return {
            "run_date": self.run_date.isoformat(),
            "sources": len(self.sources),
            **{o.value: self.count(o) for o in Outcome},
            "failed": {r.name: r.error for r in self.failed},
            "notes": {r.name: r.note for r in self.sources if r.note},
            "not_modified": sum(1 for r in self.sources if r.not_modified),
            "skipped": {r.name: r.skipped for r in self.sources if r.skipped},
            "feeds_written": self.feeds_written,
            "digests_written": self.digests_written,
            **({"delivery": self.delivery.as_dict()} if self.delivery else {}),
            **({"resumed": [r.as_dict() for r in self.resumed]} if self.resumed else {}),
            "pruned": self.pruned,
            "recovered_runs": self.recovered_runs,
            **({"ranking": self.ranking.as_dict()} if self.ranking else {}),
            **({"personal_feeds": self.personal_feeds} if self.personal_feeds else {}),
            **({"error": self.error} if self.error else {}),
            "stages": {name: round(seconds, 3) for name, seconds in self.stages.items()},
        }


def today_in(settings: Settings, now: datetime) -> date:
    """The calendar day of ``now`` in the digest time zone."""
    return now.astimezone(ZoneInfo(settings.digest.timezone)).date()


def send_day(
    settings: Settings, store: Storage, day: date, *, clock: Clock, **options: Any
) -> deliver.DeliveryReport:
    """Mail the digest of ``day`` to every subscriber; ``options`` go to deliver.send_digest."""
    chosen = build_digest(settings, store, day)
    try:
        parts = wiring.personal_parts(settings, store, chosen, wiring.ranker_for(settings, store))
        if parts:
            options["personal"] = parts
        return deliver.send_digest(settings, store, chosen, clock=clock, **options)
    except DeliveryError as err:
        return deliver.DeliveryReport(day=day.isoformat(), error=err.describe())


def days_to_finish(
    settings: Settings, store: Storage, run_date: date
) -> dict[date, set[str] | None]:
    """Earlier days, within ``[email] resume_days`` of ``run_date``, left unfinished.

    Maps each day to the subscribers whose delivery is still pending, sending
    (reported, not resent) or failed temporarily; or to None (everyone) for the
    day of an interrupted run that meant to mail its digest and planned nothing.
    """
    email = settings.email
    if email is None or email.resume_days <= 0:
        return {}
    since = run_date - timedelta(days=email.resume_days)
    planned: dict[date, set[str]] = {}
    for row in store.deliveries_between(since, run_date, states=UNFINISHED):
        planned.setdefault(row.day, set()).add(row.subscriber)
    days: dict[date, set[str] | None] = {**planned}
    for day in store.unplanned_send_days(since, run_date):
        days[day] = None
    return dict(sorted(days.items()))


def finish_earlier_days(
    settings: Settings, store: Storage, run_date: date, *, clock: Clock
) -> list[deliver.DeliveryReport]:
    """Send what earlier runs left unsent (see :func:`days_to_finish`), oldest day first.

    One attempt per message (no retry rounds): those days' own sends had theirs,
    and the next run tries again while the day is within ``resume_days``.
    """
    return [
        send_day(settings, store, day, clock=clock, only=only, retries=0, resumed=True)
        for day, only in days_to_finish(settings, store, run_date).items()
    ]


# -- the facade ---------------------------------------------------------------------------


class Enricher(Protocol):
    """A stage between storing and publishing: ranking, summaries (the ``enrich`` hook).

    Each run hands every entry it created or whose text changed (a new version) to
    each enricher once, after the entries are stored and before anything is
    published, in the order they were stored, with the open store (to cache what it
    computes). It returns lines for the run's output (what it did, what to act on).
    An enricher that raises stops the run like a storage error: what it was given is
    stored already, and the next run does not hand it over again.
    """

    def enrich(self, entries: Sequence[StoredEntry], store: Storage) -> Sequence[str]: ...


def default_enrichers(
    settings: Settings, *, clock: Clock, summaries: bool = True
) -> list[Enricher]:
    """The enrichers the config asks for: the summariser of ``[summaries]`` when it
    asks a server (the extractive provider needs none: its text is computed when shown)."""
    enrichers: list[Enricher] = []
    if summaries and settings.summaries.uses_server:
        from ._enrich.summaries import Summariser

        enrichers.append(Summariser(settings.summaries, now=clock))
    return enrichers


@dataclass(frozen=True)
class Status:
    """What ``status`` shows, as stored: per-source health and fetch state, the days
    each source brought new entries, the last runs, entries per category, the last
    delivery day and the subscribers not served on the days before it."""

    health: dict[str, SourceHealth]
    fetch_states: dict[str, FetchState]
    new_entry_days: dict[str, list[date]]
    runs: list[dict[str, Any]]
    categories: list[tuple[str, int]]
    total: int
    deliveries: list[Delivery]
    earlier_unserved: list[Delivery]
    #: Per fetch_full_text source: its articles to try again, and given up.
    articles: dict[str, tuple[int, int]] = field(default_factory=dict)


class Aggregator:
    """The one way in: every command a user runs is one method here.

    Built from validated settings and what varies (the clock, the HTTP client, the
    enrichers), it owns the run lock and the run record: every method that writes
    the database holds ``[storage]``'s lock while it does (waiting up to
    ``lock_timeout``, then :class:`LockedError`), and the runs are recorded for
    ``status``. Stages do the work; this class only wires them. Errors are
    :class:`AggregatorError` subclasses; a failing source is a value in the result.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        client: httpx.Client | None = None,
        enrichers: Sequence[Enricher] | None = None,
        summaries: bool = True,
    ) -> None:
        """``enrichers`` default to what the config asks for (:func:`default_enrichers`);
        ``summaries=False`` leaves the summariser out (``run --no-summaries``)."""
        self.settings = settings
        self.clock = clock
        self.client = client
        self.enrichers = tuple(
            default_enrichers(settings, clock=clock, summaries=summaries)
            if enrichers is None
            else enrichers
        )

    # -- the pipeline commands

    def run(
        self,
        *,
        run_date: date | None = None,
        ingest: bool = True,
        publish: bool = True,
        digest: bool = True,
        send: bool = False,
        purpose: str = "run",
        progress: Callable[[SourceReport], None] | None = None,
        every_source: bool = False,
    ) -> RunSummary:
        """One run: ingest every source, prune, write digests, publish feeds and the
        index, then mail the run day's digest (``send``, when ``[email]`` is
        configured), after finishing the deliveries earlier runs left unfinished.
        A source with an ``interval`` is asked only when due, unless ``every_source``.

        A run that finds an earlier one interrupted (killed) also removes its
        temporary files and re-renders every digest, so the outputs end as if the
        interrupted run had finished. Feeds and the index are rebuilt when what they
        show may have changed (see :func:`publish_feeds`).
        """
        steps = _Steps(
            ingest, publish, digest, send and self.settings.email is not None, every_source
        )
        # A run that ingests reads the tables it needs and meets damage there; the
        # whole-file check would double a quiet rerun's time. publish, digest and dupes
        # split check first.
        with self._locked_store(purpose, verify=not ingest) as store:
            return self._run(store, run_date or self.today(), steps, progress)

    def fetch(
        self,
        *,
        run_date: date | None = None,
        purpose: str = "fetch",
        progress: Callable[[SourceReport], None] | None = None,
        every_source: bool = False,
    ) -> RunSummary:
        """Fetch and store every source that is due (``every_source``: all); publish nothing."""
        return self.run(
            run_date=run_date,
            publish=False,
            digest=False,
            purpose=purpose,
            progress=progress,
            every_source=every_source,
        )

    def publish(self) -> RunSummary:
        """Write the feeds and the index page from what is stored."""
        return self.run(ingest=False, digest=False, purpose="publish")

    def digest(self, day: date | None = None) -> RunSummary:
        """Write the digest of ``day`` (default: today) from what is stored."""
        return self.run(run_date=day, ingest=False, publish=False, purpose="digest")

    def render_digest(self, day: date) -> digests.Rendered:
        """The digest of ``day`` as HTML and text, written nowhere (reads only): the same
        page as the file, its links to the days around it included."""
        self._require_database()
        with open_store(self.settings.storage) as store:
            chosen = build_digest(self.settings, store, day)
            # Reads only: scores not cached yet are not computed (listing order).
            ranker = wiring.ranker_for(self.settings, store, compute=False)
            chosen = wiring.published_order(chosen, ranker)
            days = sorted({*store.digest_days(), *store.announcement_days()})
        links = digests.day_links(days, day)
        return digests.render(chosen, base_url=self.settings.publish.base_url, links=links)

    def send(
        self, day: date, *, mark_unconfirmed_sent: bool = False, **options: Any
    ) -> tuple[deliver.DeliveryReport, list[str]]:
        """Mail the digest of ``day`` to each subscriber not served yet.

        ``mark_unconfirmed_sent`` first records unconfirmed messages as sent (returned
        as the second value); ``options`` go to :func:`deliver.send_digest`.
        """
        self._require_database()
        with self._locked_store("send") as store:
            marked = (
                store.mark_unconfirmed_sent(day, now=self.clock()) if mark_unconfirmed_sent else []
            )
            return send_day(self.settings, store, day, clock=self.clock, **options), marked

    # -- reading: no lock, nothing written

    def status(self) -> Status | None:
        """Everything ``status`` reports, or None when there is no database yet."""
        if not database_exists(self.settings.storage):
            return None
        with open_store(self.settings.storage) as store:
            deliveries = store.last_deliveries()
            return Status(
                health={row.name: row for row in store.source_health()},
                fetch_states=store.fetch_states(),
                new_entry_days=store.new_entry_days(),
                runs=store.last_runs(),
                categories=store.categories(),
                total=store.count_entries(),
                deliveries=deliveries,
                earlier_unserved=self._earlier_unserved(store, deliveries),
                articles=store.article_counts(),
            )

    def _earlier_unserved(self, store: Storage, last: list[Delivery]) -> list[Delivery]:
        """Subscribers not served on the ``resume_days`` before the last delivery day."""
        if not last:
            return []
        email = self.settings.email
        window = email.resume_days if email else int(EMAIL_SCHEMA["resume_days"][1])
        day = last[0].day
        return store.deliveries_between(day - timedelta(days=window), day, states=UNSERVED)

    def duplicates(self, *, limit: int) -> tuple[list[DuplicateLink], int]:
        """The newest ``limit`` duplicate links, and how many there are in all."""
        self._require_database()
        with open_store(self.settings.storage) as store:
            return store.duplicate_links(limit=limit), store.count_duplicates()

    def explain(self, ident: str) -> linking.Explanation:
        """Why an entry was linked as a duplicate: the rule, the similarity, what is shared."""
        self._require_database()
        with open_store(self.settings.storage) as store:
            return linking.explain(store, ident, self.settings.dedup)

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
        """Stored entries matching ``query``, best match first, with marked titles and
        snippets (see "Search" in the README for the query language; ``syntax="fts5"``
        takes SQLite's). SearchError for a query with nothing to find or broken FTS5
        syntax; ConfigError when there is no database yet."""
        self._require_database()
        # Reads only, and often (a served search page): no whole-file check.
        with open_store(self.settings.storage, verify=False) as store:
            return store.search(
                query, syntax=syntax, category=category, since=since, limit=limit, offset=offset
            )

    def category_names(self) -> list[str]:
        """The categories with a visible entry, by name (reads only); none without a
        database yet."""
        if not database_exists(self.settings.storage):
            return []
        with open_store(self.settings.storage, verify=False) as store:
            return [name for name, _ in store.categories()]

    def inspect(self, *, quick: bool = False) -> Inspection:
        """The database file checked without changing it (integrity, foreign keys, schema)."""
        if self.settings.storage.url is not None:
            raise ConfigError(
                "`aggregator check` inspects SQLite files; [storage] url names PostgreSQL",
                key="storage.url",
                hint="PostgreSQL checks its own pages: see pg_amcheck, and its server log",
            )
        return inspect_database(self.settings.storage.database, quick=quick)

    # -- subscribers: who left, and leaving (see _mail/unsubscribe.py)

    def unsubscribes(self) -> dict[str, Unsubscribe]:
        """Every recorded unsubscribe by lower-case address ({} without a database)."""
        if not database_exists(self.settings.storage):
            return {}
        with open_store(self.settings.storage) as store:
            return store.unsubscribes()

    def unsubscribe_token(self, address: str) -> str:
        """``address``'s signed unsubscribe token (the key is made on first use).

        This and :meth:`unsubscribe` answer web requests (``serve``): they skip reading
        every page of the database first, as a run does."""
        email = self._email_settings()
        with open_store(self.settings.storage, verify=False) as store:
            secret = unsubscribe.secret_for(email, self._stored_secret(store))
        return unsubscribe.token_for(secret, address)

    def unsubscribe(self, address: str, *, token: str | None, via: str, detail: str = "") -> bool:
        """Record that ``address`` leaves; ``token`` must be its own (None: trusted, from
        the CLI). True when recorded now, False when it had left already. Raises
        DeliveryError for a token that is not ``address``'s."""
        email = self._email_settings()
        with open_store(self.settings.storage, verify=False) as store:
            if token is not None:
                secret = unsubscribe.secret_for(email, self._stored_secret(store))
                if not unsubscribe.valid(secret, address, token):
                    raise DeliveryError(f"the unsubscribe link of {address} is not valid")
            return store.record_unsubscribe(
                address, via=via, now=self.clock(), detail=detail or None
            )

    def resubscribe(self, address: str) -> bool:
        """Forget that ``address`` left; False when it had not."""
        if not database_exists(self.settings.storage):
            return False
        with open_store(self.settings.storage) as store:
            return store.forget_unsubscribe(address)

    def unsubscribe_mail(
        self, messages: Sequence[Message], *, trust_from: bool = False, dry_run: bool = False
    ) -> list[tuple[MailRequest, bool]]:
        """Read requests mailed to ``unsubscribe_mailto`` and record them (unless
        ``dry_run``); each with whether it was recorded now."""
        email = self._email_settings()
        with open_store(self.settings.storage) as store:
            secret = unsubscribe.secret_for(email, self._stored_secret(store))
            found = unsubscribe.read_requests(
                messages, self.settings.subscribers, secret, trust_from=trust_from
            )
            done = []
            for request in found:
                new = False
                if request.address is not None and not dry_run:
                    detail = f"{request.reason}: {request.message_id or request.subject}"
                    new = store.record_unsubscribe(
                        request.address, via="mail", now=self.clock(), detail=detail
                    )
                done.append((request, new))
            return done

    def unsubscribe_imap(
        self, *, trust_from: bool = False, dry_run: bool = False, include_seen: bool = False
    ) -> list[tuple[MailRequest, bool]]:
        """Read the unread requests in ``[email] unsubscribe_imap``'s folder and record
        them as :meth:`unsubscribe_mail` does; then mark those messages read (unless
        ``dry_run``). Recording comes first: a failure in between only reads them again,
        and reading again records nothing twice."""
        box, password = imap.mailbox_of(self._email_settings())
        timeout = self._email_settings().timeout
        with imap.open_mailbox(box, password, timeout=timeout) as reader:
            mails = reader.messages(include_seen=include_seen)
            done = self.unsubscribe_mail(
                [m.message for m in mails], trust_from=trust_from, dry_run=dry_run
            )
            if not dry_run:
                reader.mark_seen([m.uid for m in mails])
        return done

    def _email_settings(self) -> EmailSettings:
        if self.settings.email is None:
            raise ConfigError("email is not configured", hint="add an [email] table")
        return self.settings.email

    def _stored_secret(self, store: Storage) -> str | None:
        email = self._email_settings()
        return None if email.unsubscribe_secret_env else store.secret(unsubscribe.SECRET_NAME)

    def repair(self, found: Inspection) -> int:
        """Tidy a restored or recovered database: delete rows that refer to lost rows and
        have the next run read every source and rewrite every output. Returns the rows
        deleted."""
        with self._locked_store("check --repair") as store:
            deleted = store.delete_orphans(found.orphans)
            store.forget_what_was_read_and_written(now=self.clock())
        return deleted

    # -- maintenance commands

    def backfill(
        self,
        *,
        start: date,
        end: date,
        names: Sequence[str] = (),
        sleep: Callable[[float], None] = time_module.sleep,
        page_size: int = PAGE_SIZE,
    ) -> BackfillReport:
        """Store past arXiv listings from the export API (see ``arxiv backfill``), then
        write those days' digests and the feeds: under the run lock, recorded as a run,
        the new papers near-duplicate linked and handed to the enrichers like a run's."""
        with self._locked_store("arxiv backfill") as store:
            summary = RunSummary(run_date=self.today())
            with self._recorded(store, summary, sends=False):
                report = store_listings(
                    self.settings,
                    store,
                    start=start,
                    end=end,
                    names=names,
                    clock=self.clock,
                    sleep=sleep,
                    client=self.client,
                    page_size=page_size,
                )
                summary.sources = report.sources
                store.update_search_index()
                self._enrich(store, summary)
                if report.touched:
                    summary.digests_written, report.digest_days = _write_digests(
                        self.settings, store, report.touched
                    )
                    summary.digest_days = report.digest_days
                    self._publish_feeds(store, summary)
        return report

    def split(self, ident: str, *, publish: bool = True) -> DuplicateLink:
        """Undo a wrong duplicate link for good; rewrite the outputs unless told not to."""
        self._require_database()
        with self._locked_store("dupes split") as store:
            link = linking.split(store, ident, now=self.clock(), settings=self.settings.dedup)
            if publish:
                self._run(store, self.today(), _Steps(False, True, True, False), None)
        return link

    def reindex(self, *, everything: bool = False) -> int:
        """Compute near-duplicate signatures for stored entries that lack them."""
        self._require_database()
        with self._locked_store("dupes reindex") as store:
            return linking.index_missing(
                store, self.settings.dedup, now=self.clock(), everything=everything
            )

    def work(self, *, concurrency: int | None = None, name: str | None = None) -> None:
        """Be a worker of the job queue (``aggregator worker``): fetch and read the
        sources runs queue, until stopped. ConfigError without ``[queue] enabled``."""
        queue = self.settings.queue
        if not queue.enabled:
            raise ConfigError(
                "the job queue is off: a worker would wait for jobs no run queues",
                file=self.settings.origin,
                key="queue.enabled",
                hint='set [queue] enabled = true (and [storage] url = "postgresql://...")',
            )
        from ._update.queue.jobs import run_worker

        with open_store(self.settings.storage, verify=False):
            pass  # the schema brought up to date (queue_results), as any command does
        run_worker(self.settings, concurrency=concurrency or queue.concurrency, name=name)

    def queue_init(self) -> bool:
        """Bring the database's schema up to date and give it the job queue's tables
        (procrastinate's); False when they were there already. Idempotent."""
        from ._update.queue.jobs import ensure_queue

        with self._locked_store("queue init"):
            return ensure_queue(self.settings)

    def queue_status(self) -> dict[str, Any]:
        """The queue's jobs by status and its workers' heartbeats (see ``queue status``)."""
        from ._update.queue.jobs import queue_status

        return queue_status(self.settings)

    def reset_sources(self, names: Sequence[str]) -> None:
        """Forget the failures, rests, 410s and validators of the named sources."""
        with self._locked_store("sources reset") as store:
            store.reset_fetch_state(list(names))

    @contextmanager
    def locked(self, purpose: str) -> Iterator[None]:
        """Hold the run lock while something else changes what a run reads (the config)."""
        storage = self.settings.storage
        if storage.url is None and not storage.database.parent.is_dir():
            yield  # no database can be running there
            return
        with run_lock(storage, timeout=storage.lock_timeout, purpose=purpose):
            yield

    def today(self) -> date:
        """Today in ``[digest].timezone``."""
        return today_in(self.settings, self.clock())

    # -- wiring

    @contextmanager
    def _locked_store(self, purpose: str, *, verify: bool = True) -> Iterator[Storage]:
        storage = self.settings.storage
        prepare_database(self.settings)
        with (
            run_lock(storage, timeout=storage.lock_timeout, purpose=purpose),
            open_store(
                storage, busy_timeout=max(storage.lock_timeout, 1.0), verify=verify
            ) as store,
        ):
            yield store

    def _require_database(self) -> None:
        database = self.settings.storage.database
        if not database_exists(self.settings.storage):
            # Nothing stored; and no new, empty database at a mistyped path.
            raise ConfigError(
                f"no database yet at {database}",
                hint="run `aggregator run` first, or check [storage] database",
            )

    def _run(
        self,
        store: Storage,
        run_date: date,
        steps: _Steps,
        progress: Callable[[SourceReport], None] | None,
    ) -> RunSummary:
        summary = RunSummary(run_date=run_date)
        if store.created:
            storage = self.settings.storage
            summary.created_database = storage.url if storage.url else storage.database
        if steps.digest:
            # Only a run that writes digests can finish an interrupted one's work; until
            # then the interrupted run stays on record as unfinished.
            summary.recovered_runs = store.close_interrupted_runs(now=self.clock())
        housekeeping.remove_temp_files(self.settings.publish.output_dir)
        with self._recorded(store, summary, sends=steps.send):
            touched = self._ingest(store, summary, progress, steps) if steps.ingest else set()
            # With no enricher to change what the digests show (rankings, summaries),
            # they can be written while the search index is filled, too.
            enriches = bool(self.enrichers) or wiring.configured(self.settings)
            beside = None if enriches else self._digests_beside(store, summary, steps, touched)
            try:
                if steps.ingest:
                    self._index_and_enrich(store, summary)
                if enriches:
                    beside = self._digests_beside(store, summary, steps, touched)
                if steps.digest and beside is None:
                    with _timed(summary.stages, "digests"):
                        self._digests(store, summary, touched, ingested=steps.ingest)
                if steps.publish:
                    with _timed(summary.stages, "feeds"):
                        self._publish_feeds(store, summary)
                    summary.index_written = True
                if beside is not None:
                    with _timed(summary.stages, "digests"):
                        self._digests(store, summary, touched, ingested=True, beside=beside)
            finally:
                if beside is not None:
                    beside.close()
            if steps.send:
                summary.resumed = finish_earlier_days(
                    self.settings, store, run_date, clock=self.clock
                )
                summary.delivery = send_day(self.settings, store, run_date, clock=self.clock)
        return summary

    @contextmanager
    def _recorded(self, store: Storage, summary: RunSummary, *, sends: bool) -> Iterator[None]:
        """The run record around a run: ok, partial (a source or a subscriber failed) or
        failed with its reason; left "running" on Ctrl-C, so that the next run treats
        it as interrupted, like a killed one, and finishes its outputs and mail."""
        run_id = store.start_run(now=self.clock(), run_date=summary.run_date, sends=sends)
        status: str | None = "failed"
        try:
            yield
            delivered = all(report.ok for report in summary.deliveries)
            status = "partial" if summary.failed or not delivered else "ok"
        except AggregatorError as err:
            summary.error = err.describe()
            raise
        except KeyboardInterrupt:
            status = None
            raise
        except Exception as err:
            summary.error = f"{type(err).__name__}: {err}"
            raise
        finally:
            if status is not None:
                store.finish_run(run_id, now=self.clock(), status=status, summary=summary.as_dict())

    def _ingest(
        self,
        store: Storage,
        summary: RunSummary,
        progress: Callable[[SourceReport], None] | None,
        steps: _Steps,
    ) -> set[date]:
        with _timed(summary.stages, "ingest"), self._queued(store, summary.run_date) as queued:
            summary.sources, touched = ingest(
                self.settings,
                store,
                clock=self.clock,
                run_date=summary.run_date,
                client=self.client,
                progress=progress,
                every_source=steps.every_source,
                queued=queued,
            )
            prune(self.settings, store, summary, now=self.clock())
        return touched

    def _index_and_enrich(self, store: Storage, summary: RunSummary) -> None:
        # In bulk, once the sources are stored (a run that stops before this leaves the
        # entries noted, and the next run indexes them).
        with _timed(summary.stages, "search index"):
            store.update_search_index()
        with _timed(summary.stages, "enrich"):
            self._enrich(store, summary)

    def _queued(self, store: Storage, run_date: date) -> AbstractContextManager[Any]:
        """The job queue that fetches for this run (``[queue] enabled``), else None."""
        if not self.settings.queue.enabled:
            return nullcontext(None)
        from ._update.queue.coordinate import QueuedFetch

        return QueuedFetch(self.settings, store, run_date=run_date, clock=self.clock)

    def _digests_beside(
        self, store: Storage, summary: RunSummary, steps: _Steps, touched: set[date]
    ) -> Beside[tuple[int, list[date]]] | None:
        """The digests started in a second process, when this run stored enough to make
        the digests and the feeds each worth a core (see :data:`BESIDE_ENTRIES`); else
        None: the digests are written here, before the feeds, as always."""
        if not (steps.ingest and steps.publish and steps.digest):
            return None
        if worker_count(self.settings.fetch.processes) < 1:
            return None
        if sum(len(r.new_keys) + len(r.changed_keys) for r in summary.sources) < BESIDE_ENTRIES:
            return None
        days = self._digest_days(store, summary, touched, ingested=True)
        gone = tuple(summary.pruned_digests)
        return Beside("the digests", _digests_in_child, self.settings, days, gone)

    def _publish_feeds(self, store: Storage, summary: RunSummary) -> None:
        """Publish the feeds, the index page and the personal feeds; then, with
        ``[publish] websub_hub``, tell the hub which feed URLs changed. A hub that fails
        is a warning, never a failed run."""
        done = publish_all(self.settings, store, clock=self.clock)
        summary.feeds_written, summary.feeds_total = done.written, done.total
        summary.personal_feeds = done.personal
        hub = self.settings.publish.websub_hub
        if hub and done.changed:
            for problem in websub.ping(
                hub, list(done.changed), self.settings.fetch, client=self.client
            ):
                log.warning("%s", problem)

    def _enrich(self, store: Storage, summary: RunSummary) -> None:
        enrichers = list(self.enrichers)
        ranker = wiring.ranker_for(self.settings, store)
        if ranker is not None:
            ranker.profile_for(None)  # liked papers looked up (and reported) every run
            enrichers.append(ranker)
            summary.ranking = ranker.report
        if not enrichers:
            return
        created = [key for report in summary.sources for key in report.new_keys]
        changed = [key for report in summary.sources for key in report.changed_keys]
        # Linked as a near-duplicate of an older entry: stored, but never published.
        hidden = store.kept_keys(created)
        keys = list(dict.fromkeys(key for key in (*created, *changed) if key not in hidden))
        rows = store.get_entries(keys)
        entries = [rows[key] for key in keys if key in rows]
        for enricher in enrichers:
            summary.notes.extend(enricher.enrich(entries, store))

    def _digests(
        self,
        store: Storage,
        summary: RunSummary,
        touched: set[date],
        *,
        ingested: bool,
        beside: Beside[tuple[int, list[date]]] | None = None,
    ) -> None:
        """Write the digests here, or take what the second process wrote (and write
        them here after all if it died)."""
        done = beside.result() if beside is not None else None
        summary.digests_beside = done is not None
        if done is None:
            days = self._digest_days(store, summary, touched, ingested=ingested)
            done = _write_digests(self.settings, store, days, gone=summary.pruned_digests)
        summary.digests_written, summary.digest_days = done

    def _digest_days(
        self, store: Storage, summary: RunSummary, touched: set[date], *, ingested: bool
    ) -> set[date]:
        if summary.recovered_runs:
            touched |= {*store.digest_days(), *store.announcement_days()}
        # A run renders the days its entries changed; `aggregator digest` (no ingest)
        # renders the day it was asked for.
        return touched if ingested else touched | {summary.run_date}


def _write_digests(
    settings: Settings, store: Storage, days: set[date], *, gone: Sequence[date] = ()
) -> tuple[int, list[date]]:
    """:func:`write_digests`, each digest in the default profile's order."""
    ranker = wiring.ranker_for(settings, store)
    return write_digests(
        settings,
        store,
        days,
        gone=gone,
        order=(lambda digest: wiring.published_order(digest, ranker)) if ranker else None,
        order_key=wiring.published_fingerprint(ranker),
    )


@contextmanager
def _timed(stages: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall seconds of the block to ``stages[name]``."""
    start = time_module.perf_counter()
    try:
        yield
    finally:
        stages[name] = stages.get(name, 0.0) + time_module.perf_counter() - start


#: A run that stored at least this many new or changed entries writes its digests in a
#: second process while it fills the search index and publishes the feeds: on two
#: cores they take the time of the longer instead of their sum (a first run of 200
#: feeds: about 27 s each). Starting the process costs about 0.9 s of a core (its
#: imports, measured), so by estimate it pays once the run's own share (search index
#: and feeds, about 0.25 ms per entry) takes longer than that: from about 4,000.
BESIDE_ENTRIES = 5_000


@dataclass(frozen=True)
class Published:
    """What publishing wrote: feeds written of feeds in all, the URLs of the feed files
    that changed (for a WebSub hub), personal feeds written."""

    written: int
    total: int
    changed: tuple[str, ...]
    personal: int


def publish_all(settings: Settings, store: Storage, *, clock: Clock) -> Published:
    """Every category feed, ``all.atom``, the index page and the personal feeds."""
    changed: list[str] = []
    # The index page's highlights in the default profile's order, as the digests.
    ranker = wiring.ranker_for(settings, store)
    written, total = publish_feeds(
        settings,
        store,
        clock=clock,
        changed=changed,
        order=(lambda digest: wiring.published_order(digest, ranker)) if ranker else None,
        order_key=wiring.published_fingerprint(ranker),
    )
    personal = _write_personal_feeds(settings, store, ranker, clock=clock)
    return Published(written, total, tuple(changed), personal)


def _digests_in_child(
    settings: Settings, days: set[date], gone: Sequence[date]
) -> tuple[int, list[date]]:
    """:func:`_write_digests` in the second process, on its own connection."""
    storage = settings.storage
    # Only the run that started it writes meanwhile (its search index: seconds in one
    # transaction after a big run); every other program waits for the run lock.
    busy = max(storage.lock_timeout, 600.0)
    with open_store(storage, busy_timeout=busy, verify=False) as store:
        return _write_digests(settings, store, days, gone=gone)


def _write_personal_feeds(
    settings: Settings, store: Storage, ranker: Ranker | None, *, clock: Clock
) -> int:
    """Write each subscriber's personal feed; returns how many changed."""
    if ranker is None:
        return 0
    candidates, _ = feed_entries(store, None, settings.publish)
    return sum(
        personal.write_personal_feed(
            settings, token, entries, name=subscriber.name, fallback_updated=clock()
        )
        for subscriber, token, entries in wiring.personal_feeds(settings, ranker, candidates)
    )


@dataclass(frozen=True)
class _Steps:
    """Which steps a run takes."""

    ingest: bool
    publish: bool
    digest: bool
    send: bool
    #: Ask every source, due or not (``run --all``).
    every_source: bool = False


def run(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    run_date: date | None = None,
    client: httpx.Client | None = None,
    do_ingest: bool = True,
    do_publish: bool = True,
    do_digest: bool = True,
    do_send: bool = False,
    purpose: str = "run",
    progress: Callable[[SourceReport], None] | None = None,
    every_source: bool = False,
) -> RunSummary:
    """:meth:`Aggregator.run` in one call, for scripts and tests."""
    return Aggregator(settings, clock=clock, client=client).run(
        run_date=run_date,
        ingest=do_ingest,
        publish=do_publish,
        digest=do_digest,
        send=do_send,
        purpose=purpose,
        progress=progress,
        every_source=every_source,
    )


def prepare_database(settings: Settings) -> None:
    """Make sure ``[storage] database`` can be opened where the config says.

    Its folder must exist, or ``[storage] create`` must allow creating it: a typo in
    the path would otherwise start a new, empty database, and every entry would be new
    again (and mailed again). Raises ConfigError naming the key and the folder.
    """
    folder = settings.storage.database.parent
    if settings.storage.url is not None or folder.is_dir():
        return
    if folder.exists() or not settings.storage.create:
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ConfigError(
            f"the database's folder {folder} {what}",
            file=settings.origin,
            key="storage.database",
            hint="fix the path, create the folder, or set [storage] create = true"
            " to have it created",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(
            f"cannot create the database's folder {folder}: {err.strerror or err}",
            hint="create it yourself, with write access for the user running aggregator",
        ) from err


def prune(settings: Settings, store: Storage, summary: RunSummary, *, now: datetime) -> None:
    """Apply ``[storage].keep_days``: prune old entries and the digests of their days."""
    before = housekeeping.cutoff(now, settings.storage.keep_days)
    if before is None:
        return
    summary.pruned = store.prune_entries(before=before, now=now).entries
    first_kept = housekeeping.cutoff_day(before, settings.digest.timezone)
    summary.pruned_digests = housekeeping.remove_digests_before(
        settings.publish.output_dir, first_kept, keep=set(store.digest_days())
    )


def migrate_database(
    source: Path,
    target: StorageSettings,
    *,
    force: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Copy the SQLite database ``source`` into ``target``'s PostgreSQL database, both
    run locks held (no waiting); the rows copied per table. See ``aggregator migrate``."""
    from ._storage.postgres.copy import copy_sqlite_to_postgres

    with (
        run_lock(StorageSettings(database=source), timeout=0, purpose="migrate"),
        run_lock(target, timeout=0, purpose="migrate"),
    ):
        return copy_sqlite_to_postgres(source, target, force=force, progress=progress)
