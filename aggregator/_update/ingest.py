"""Ingest: every enabled source fetched, read, planned and applied to storage.

Owns the per-source loop of a run. Fetching runs concurrently, ahead of the loop (see
:mod:`aggregator._fetch.http`); reading may run in worker processes (see
:mod:`.reading`). Then, in config order, each source goes through the same steps:

1. **fetch**: wait for its bytes (or a 304, or a failure);
2. **read**: skip a document already stored, else parse and normalise it; for arXiv,
   judge its batch and catch up missed listings from the export API;
3. **plan**: what storage knows of the document's keys (``Store.known``), then the
   pure plan (:func:`.plan.plan_document`);
4. **apply**: ``Store.apply`` writes the plan in a savepoint of the run's batch and
   runs near-duplicate linking on it (:mod:`aggregator._neardup.linking`).

The network is only waited on in steps 1 and 2, and never while a write transaction
is open: the batch commits first (fetch threads may be downloading the next
documents meanwhile; they never touch the database). A failing source becomes a
:class:`SourceReport` with its error, recorded with the state to rest by; the run
goes on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import httpx

from .._common.faults import pause_point
from .._fetch import health, schedule
from .._fetch.health import FetchState
from .._fetch.http import Attempt, Fetched, Fetcher, fetch_in_order
from .._neardup import linking
from .._sources.arxiv.announce import left_out_note
from .._sources.arxiv.api import catch_up
from .._sources.arxiv.calendar import BatchState, Calendar, batch_state
from .._storage.protocol import Batch, Storage
from .._storage.sqlite import SourceHealth
from .._storage.sqlite.documents import LastDocument
from ..config.settings import Settings
from ..config.sources import Source
from ..errors import AggregatorError, FetchError, SourceError
from ..types import Clock, Entry
from . import article_state, fulltext
from .article_state import ArticleFetch
from .decide import Outcome
from .plan import Applied, Document, Plan, plan_document, plan_visit
from .queue import Queued
from .reading import (
    Read,
    Reader,
    Started,
    normalize_all,
    prepare_document,
    request_for,
)

log = logging.getLogger(__name__)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class SourceReport:
    """What happened to one source in one run."""

    name: str
    kind: str
    location: str
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: HTTP status of the response, when there was one.
    status: int | None = None
    #: A 304: nothing was downloaded or parsed.
    not_modified: bool = False
    #: Why the source was not asked this run (resting, rate-limited, gone or not due).
    skipped: str | None = None
    #: Not asked because its ``interval`` has not passed (not worth a line of output).
    not_due: bool = False
    #: Entries per outcome, as applied (near-duplicate links included).
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    #: What the run found, in words, when counts alone mislead (arXiv: "not refreshed
    #: yet", "no announcement today (Saturday)"); not an error.
    note: str | None = None
    #: The identity keys of the rows this source created, in the order they were stored
    #: (near-duplicates linked to an older entry included: stored, but not published).
    new_keys: list[str] = field(default_factory=list)
    #: The keys of stored rows whose text this source changed (a new version, an edit).
    changed_keys: list[str] = field(default_factory=list)
    #: Which reader read the document this run ("lxml", "feedparser", "arxiv", ...; see
    #: ``ParsedFeed.reader``); ``None`` when nothing was read (a 304, the same bytes).
    reader: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def applied(self, done: Applied) -> None:
        """Take the counts and new keys of the source's plan as storage applied it."""
        self.counts = done.counts.as_dict()
        self.new_keys = list(done.plan.new_keys)
        self.changed_keys = [row.key for row in done.plan.updates]


# -- ingest -------------------------------------------------------------------------------


def ingest(
    settings: Settings,
    store: Storage,
    *,
    clock: Clock,
    run_date: date,
    client: httpx.Client | None = None,
    progress: Callable[[SourceReport], None] | None = None,
    every_source: bool = False,
    queued: Queued | None = None,
) -> tuple[list[SourceReport], set[date]]:
    """Fetch, read, plan and store every enabled source; return reports and digest days
    touched.

    Sources are fetched concurrently (see :mod:`aggregator._fetch.http`); reading,
    planning and storing happen here, in config order, so the outcome does not depend
    on which server answers first. ``progress`` is called with each source's report
    when it is done. A source with an ``interval`` that has not passed is not asked,
    unless ``every_source``. With ``queued``, the job queue's workers fetch and read
    instead (see :mod:`aggregator._update.queue`); the rest is the same.
    """
    linking.index_missing(store, settings.dedup, now=clock())
    health_rows = {row.name: row for row in store.source_health()}
    with (
        Fetcher(settings.fetch, client=client) as fetcher,
        Reader(settings.fetch.processes) as reader,
        store.batch() as batch,
    ):
        run = _Ingest(settings, store, clock, run_date, fetcher, reader, batch, health_rows)
        run.queued = queued
        pool = ThreadPoolExecutor(max_workers=settings.fetch.workers, thread_name_prefix="fetch")
        try:
            enabled = [source for source in settings.sources if source.enabled]
            not_due = {} if every_source else _waiting(enabled, store, health_rows, clock())
            if queued is not None:
                attempts = queued.attempts(
                    enabled,
                    states=store.fetch_states(),
                    failures=run.failures,
                    not_due=not_due,
                    idle=run.commit_now,
                )
            else:
                attempts = fetch_in_order(
                    enabled,
                    states=store.fetch_states(),
                    failures=run.failures,
                    fetcher=fetcher,
                    pool=pool,
                    now=clock(),
                    ahead=4 * settings.fetch.workers,
                    not_due=not_due,
                )
            run.each(attempts, progress)
        finally:
            # Before the client closes: no fetch may still be running on it.
            pool.shutdown(wait=True, cancel_futures=True)
    return run.reports, run.touched


def _waiting(
    sources: list[Source], store: Storage, rows: dict[str, SourceHealth], now: datetime
) -> dict[str, str]:
    """The sources whose interval has not passed since their last success, and why. The
    history (a scan of entry_sources) is read only when some source adapts to it."""
    adaptive = any(source.adaptive for source in sources)
    days = store.new_entry_days() if adaptive else {}
    last = {name: row.last_success for name, row in rows.items()}
    return schedule.waiting(sources, last, days, now)


class _Ingest:
    """One run's ingest: what every step of a source needs, and the sources' reports."""

    def __init__(
        self,
        settings: Settings,
        store: Storage,
        clock: Clock,
        run_date: date,
        fetcher: Fetcher,
        reader: Reader,
        batch: Batch,
        health_rows: dict[str, SourceHealth],
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.run_date = run_date
        self.fetcher = fetcher
        self.reader = reader
        self.batch = batch
        self.health = health_rows
        self.failures = {name: row.consecutive_failures for name, row in health_rows.items()}
        self.link = linking.linker(store, settings.dedup)
        self.reports: list[SourceReport] = []
        self.touched: set[date] = set()
        #: Article requests of fetch_full_text sources, made when first needed.
        self.articles: Fetcher | None = None
        #: The job queue that fetches and reads, when the run uses one.
        self.queued: Queued | None = None
        #: Per source, the articles of its new entries not had this run, to record
        #: once the entries are stored (see :meth:`_settle_articles`).
        self.article_records: dict[str, list[ArticleFetch]] = {}

    def each(self, attempts: Iterable[Attempt], progress: Progress | None) -> None:
        """Take every attempt to the store in order, documents read in workers ahead."""
        reader = self.reader
        # Documents being read in worker processes, stored in config order when done.
        window: deque[tuple[Attempt, SourceReport, Started | None]] = deque()
        for attempt in attempts:
            source = attempt.source
            report = SourceReport(source.name, source.kind, source.location)
            self.reports.append(report)
            started = None
            if attempt.skipped is None and (reader.pooled or self.queued is not None):
                started = self._start(attempt)
            window.append((attempt, report, started))
            while len(window) > (reader.workers + 1 if reader.pooled else 0):
                self._finish(*window.popleft(), progress)
        while window:
            self._finish(*window.popleft(), progress)
        self._commit()

    def _finish(
        self,
        attempt: Attempt,
        report: SourceReport,
        started: Started | None,
        progress: Progress | None,
    ) -> None:
        if attempt.skipped is not None:
            _skip(report, attempt, self.health.get(attempt.source.name))
            if self.queued is not None and self.queued.lost(attempt.source.name):
                report.error = attempt.skipped
        else:
            self._ingest(attempt, report, started)
            if self.batch.due():
                self._commit()
        _log(report)
        if progress is not None:
            progress(report)

    def commit_now(self) -> None:
        """Commit what is stored so far (the queue is about to wait for workers)."""
        self._commit()

    def _commit(self) -> None:
        """Make what is stored so far durable, and release the write lock."""
        if self.batch.commit():
            pause_point("ingest")

    def _ingest(self, attempt: Attempt, report: SourceReport, started: Started | None) -> None:
        """One source from its fetch to the store; a failure is reported and recorded."""
        source = attempt.source
        failure: FetchError | None = None
        try:
            plan = self._plan(attempt, report, started)
            [done] = self.store.apply([plan], link=self.link)
            report.applied(done)
            self.touched.update(plan.digest_days)
            if source.fetch_full_text:
                self._settle_articles(source, report)
            return
        except SourceError as err:
            report.error = err.describe()
            if isinstance(err, FetchError):
                report.status = err.status
                failure = err
        except AggregatorError:
            raise
        except Exception as err:  # a bug in one parser must not stop the others
            log.exception("unexpected error reading source %s", source.name)
            report.error = f"unexpected {type(err).__name__}: {err} (please report this bug)"
        now = self.clock()
        state = self._failed_state(attempt, report, failure, now)
        self.store.apply([plan_visit(source, now=now, error=report.error, fetch_state=state)])

    def _failed_state(
        self, attempt: Attempt, report: SourceReport, failure: FetchError | None, now: datetime
    ) -> FetchState | None:
        """The HTTP state to keep after a failed attempt: when to ask again."""
        if attempt.state is None:
            return None
        failed = attempt.state
        if report.status is not None:
            failed = dataclasses.replace(failed, last_status=report.status)
        # This failure included: the source's record counts it in the same transaction.
        failures = self.failures.get(attempt.source.name, 0) + 1
        if failure is not None:
            return health.after_failure(
                failed, failure, failures=failures, now=now, settings=self.settings.fetch
            )
        # The server answered, the bytes are bad: rest as after any failure.
        return dataclasses.replace(
            failed,
            next_attempt=now + health.backoff(failures, self.settings.fetch),
            next_reason=health.BACKOFF,
        )

    # -- fetch and read ---------------------------------------------------------------

    def _fetched(self, attempt: Attempt) -> Fetched:
        """The attempt's bytes, committing the batch first if they are still on the way."""
        future = attempt.future
        if future is not None and not future.done():
            self._commit()
        return attempt.result()

    def _plan(self, attempt: Attempt, report: SourceReport, started: Started | None) -> Plan:
        """What the source's visit changes: fetched, read, then planned against storage."""
        source = attempt.source
        fetched = self._fetched(attempt)
        report.status = fetched.status
        state = self._fetch_state(attempt, fetched, report)
        if fetched.not_modified:
            report.not_modified = True
            if source.kind == "arxiv":
                last = self.store.last_document(source.name)
                self._note_unchanged_batch(source, report, last, self.clock())
            return plan_visit(source, now=self.clock(), fetch_state=state)
        now = started.now if started else self.clock()
        if started is not None:
            prepared, fingerprint = started.prepared, started.document
        else:
            prepared, fingerprint = prepare_document(source, self.settings, fetched)
        if prepared.corrected_from:
            log.info(
                "%s: declared %s but is %s", source.name, prepared.corrected_from, prepared.encoding
            )
        last = self.store.last_document(source.name)
        # The same bytes, read the same way, give the same entries: skip parsing them. An
        # unchanged arXiv feed still says something ("not refreshed yet"): its remembered
        # batch says it, unless listings were missed and must be caught up.
        if (
            last is not None
            and last.fingerprint == fingerprint
            and (source.kind != "arxiv" or self._note_unchanged_batch(source, report, last, now))
        ):
            return plan_visit(source, now=now, fetch_state=state, unchanged=last.entries)
        if started is not None:
            parsed = started.pending.result()
        else:
            request = request_for(source, self.settings, prepared, fetched, now)
            parsed = self.reader.read_here(request)
        report.reader = parsed.reader or source.kind
        document = self._document(source, report, parsed, fingerprint, state, now)
        if source.fetch_full_text and document.entries:
            document = self._full_text(document, report)
        known = self.store.known(source.name, [entry.key for entry in document.entries])
        return plan_document(document, known, today=self.run_date, dedup=self.settings.dedup)

    def _full_text(self, document: Document, report: SourceReport) -> Document:
        """``document`` with the articles of its new entries fetched and extracted (see
        :mod:`.fulltext`), with no write transaction open while they are fetched."""
        self._commit()
        source, now = document.source, document.now
        stored = self.store.get_entries([entry.key for entry in document.entries])
        new = [entry for entry in document.entries if entry.key not in stored]
        found, outcomes, later = fulltext.with_full_text(
            source, new, self._article_fetcher(), warnings=report.warnings
        )
        self.article_records[source.name] = fulltext.records_after(source, outcomes, later, now)
        full = {entry.key: entry for entry in found}
        entries = tuple(full.get(entry.key, entry) for entry in document.entries)
        return dataclasses.replace(document, entries=entries)

    def _article_fetcher(self) -> Fetcher:
        if self.articles is None:
            self.articles = Fetcher(
                fulltext.article_settings(self.settings.fetch), client=self.fetcher.client
            )
        return self.articles

    def _settle_articles(self, source: Source, report: SourceReport) -> None:
        """Record the articles of the source's new entries not had, then try again those
        due from earlier runs (no write transaction open meanwhile): an article had goes
        into its entry (whose digest is rendered again), a failure waits or gives up."""
        now = self.clock()
        records = self.article_records.pop(source.name, [])
        fresh = {record.key for record in records}
        due = [
            record
            for record in self.store.article_fetches(source.name)
            if record.key not in fresh and article_state.is_due(record, now)
        ][: fulltext.MAX_ARTICLES]
        had: dict[str, str] = {}
        if due:
            self._commit()
            fetcher = self._article_fetcher()
            had, failed = fulltext.retry(source, due, fetcher, now=now, warnings=report.warnings)
            records += failed
        self.touched.update(self.store.record_articles(records, had, now=now))

    def _fetch_state(
        self, attempt: Attempt, fetched: Fetched, report: SourceReport
    ) -> FetchState | None:
        """The source's HTTP state after this answer (validators, a permanent move)."""
        if attempt.state is None:
            return None
        if fetched.moved_to:
            report.warnings.append(
                f"moved permanently to {fetched.moved_to}; later runs fetch it there"
                " (update its url in the config to make it so for good)"
            )
        return health.after_success(
            attempt.state,
            status=fetched.status,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            moved_to=fetched.moved_to,
        )

    def _document(
        self,
        source: Source,
        report: SourceReport,
        parsed: Read,
        fingerprint: str,
        state: FetchState | None,
        now: datetime,
    ) -> Document:
        """The document as read, with the papers of missed arXiv listings caught up."""
        report.warnings.extend(parsed.warnings)
        report.warnings.extend(parsed.dropped)
        entries = parsed.entries
        if source.kind == "arxiv":
            entries = self._caught_up(source, report, parsed, now)
        return Document(
            source=source,
            entries=entries,
            now=now,
            listed=len(parsed.entries),
            announced=parsed.announced,
            # A document with warnings is read again next time, so they are reported again.
            fingerprint=None if parsed.warnings else fingerprint,
            fetch_state=state,
            features=parsed.features,
            first_sight=parsed.first_sight,
            search_text=parsed.search_text,
        )

    def _caught_up(
        self, source: Source, report: SourceReport, parsed: Read, now: datetime
    ) -> tuple[Entry, ...]:
        """An arXiv document's entries, after the papers of the listings it shows were
        missed (asked from the export API, with no write transaction open)."""
        state = self._batch_state(source, parsed.announced, len(parsed.entries), now)
        if state.warning:
            report.warnings.append(state.warning)
        if state.missed:
            self._commit()
        missed, suffix = catch_up(
            source, self.settings, state, client=self.fetcher.client, warnings=report.warnings
        )
        report.note = state.note + suffix + left_out_note(parsed.left_out, source.follow)
        if not missed:
            return parsed.entries
        # Missed listings first: a version they hold is older than the feed's.
        shift = len(missed)
        return (
            *normalize_all(missed, source.name, report.warnings),
            *(dataclasses.replace(e, position=e.position + shift) for e in parsed.entries),
        )

    def _start(self, attempt: Attempt) -> Started | None:
        """Hand ``attempt``'s document to a worker when it will need reading.

        ``None`` when there is nothing to read (a failure, a 304, an unchanged document):
        :meth:`_ingest` then deals with it as ever, and reports any failure.
        """
        if self.queued is not None:
            return self._queued_start(attempt, self.queued)
        source = attempt.source
        now = self.clock()
        try:
            fetched = self._fetched(attempt)
            if fetched.not_modified:
                return None
            prepared, fingerprint = prepare_document(source, self.settings, fetched)
        except Exception:  # reported by _ingest, in order
            return None
        last = self.store.last_document(source.name)
        if last is not None and last.fingerprint == fingerprint:
            return None
        request = request_for(
            source, self.settings, prepared, fetched, now, ahead_for=self.run_date
        )
        pending = self.reader.submit(request)
        return Started(prepared, fingerprint, pending, now) if pending else None

    def _queued_start(self, attempt: Attempt, queued: Queued) -> Started | None:
        """What a queue worker read of ``attempt``'s document, unless it is unchanged."""
        started = queued.started(attempt)
        if started is None:
            return None
        last = self.store.last_document(attempt.source.name)
        return None if last is not None and last.fingerprint == started.document else started

    # -- arXiv batches ----------------------------------------------------------------

    def _batch_state(
        self, source: Source, day: date | None, items: int, now: datetime
    ) -> BatchState:
        """What an arXiv document listing ``items`` papers of ``day`` means for this run."""
        return batch_state(
            batch_day=day,
            items=items,
            last_day=self.store.last_batch(source.name),
            now=now,
            calendar=Calendar(holidays=frozenset(self.settings.arxiv.holidays)),
        )

    def _note_unchanged_batch(
        self, source: Source, report: SourceReport, last: LastDocument | None, now: datetime
    ) -> bool:
        """Report what an arXiv source's unchanged document (``last``) says, from its
        remembered batch.

        False when it must be read again instead: nothing is remembered of its batch, or
        listing days were missed since, which only the full path catches up on.
        """
        if last is None or last.batch_items is None:
            return False
        state = self._batch_state(source, last.batch_day, last.batch_items, now)
        if state.missed:
            return False
        if state.warning:
            report.warnings.append(state.warning)
        report.note = state.note
        return True


Progress = Callable[[SourceReport], None]


def _skip(report: SourceReport, attempt: Attempt, last: SourceHealth | None) -> None:
    """A source not asked this run: resting, gone or not due. Only a gone or failing one is
    an error."""
    report.skipped = attempt.skipped
    report.not_due = attempt.not_due
    state = attempt.state
    if state is not None and (state.disabled_reason or state.next_reason == health.BACKOFF):
        previous = ""
        if last and last.last_error and not state.disabled_reason:
            previous = f"; last error: {last.last_error}"
        report.error = f"not fetched: {attempt.skipped}{previous}"


def _log(report: SourceReport) -> None:
    if report.error:
        log.info("%s: failed: %s", report.name, report.error)
    elif report.skipped:
        log.info("%s: skipped: %s", report.name, report.skipped)
    elif report.not_modified:
        log.info("%s: not modified", report.name)
    else:
        counts = ", ".join(f"{count} {name}" for name, count in report.counts.items())
        # The slow fallback is worth knowing about: it reads about 5 times slower.
        how = f" (read by {report.reader})" if report.reader == "feedparser" else ""
        log.info("%s: %s%s", report.name, counts, how)
