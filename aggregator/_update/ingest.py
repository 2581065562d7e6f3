"""Ingest: every enabled source fetched, decoded, parsed, normalised, decided and stored.

Owns the per-source loop of a run: fetching concurrently (see :mod:`.fetch`), then in
config order skipping unchanged documents, parsing, the arXiv calendar notes, the
identity and near-duplicate decisions and one transaction per source. A failing
source becomes a :class:`SourceReport` with its error; the run goes on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import httpx

from .._common.faults import pause_point
from .._fetch import health, unchanged
from .._fetch.decoding import Prepared, prepare
from .._fetch.health import FetchState
from .._fetch.http import Attempt, Fetched, Fetcher, fetch_in_order
from .._neardup import linking as duplicates
from .._sources import ParseOptions
from .._sources.arxiv.api import catch_up
from .._sources.arxiv.calendar import BatchState, Calendar, batch_state
from .._storage.sqlite import SourceHealth, Store
from .._storage.sqlite.documents import LastDocument
from ..config.settings import Settings
from ..config.sources import Source
from ..errors import AggregatorError, FetchError, SourceError
from ..types import Entry, StoredEntry
from .decide import Decision, Outcome, decide
from .reading import PendingRead, Reader, ReadRequest, normalize_all

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


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
    #: Why the source was not asked this run (resting, rate-limited or gone).
    skipped: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    #: What the run found, in words, when counts alone mislead (arXiv: "not refreshed
    #: yet", "no announcement today (Saturday)"); not an error.
    note: str | None = None
    #: The identity keys of the rows this source created in this run, in store order.
    new_keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


# -- ingest -------------------------------------------------------------------------------


def ingest(
    settings: Settings,
    store: Store,
    *,
    clock: Clock,
    run_date: date,
    client: httpx.Client | None = None,
    progress: Callable[[SourceReport], None] | None = None,
) -> tuple[list[SourceReport], set[date]]:
    """Fetch, parse and store every enabled source; return reports and digest days touched.

    Sources are fetched concurrently (see :mod:`aggregator._fetch.http`); parsing and storing
    happen here, in config order, so the outcome does not depend on which server
    answers first. ``progress`` is called with each source's report when it is done.
    """
    reports: list[SourceReport] = []
    touched: set[date] = set()
    enabled = [source for source in settings.sources if source.enabled]
    duplicates.index_missing(store, settings.dedup, now=clock())
    known = {row.name: row for row in store.source_health()}
    failures = {name: row.consecutive_failures for name, row in known.items()}
    with (
        Fetcher(settings.fetch, client=client) as fetcher,
        Reader(settings.fetch.processes) as reader,
        store.batch() as batch,
    ):
        pool = ThreadPoolExecutor(max_workers=settings.fetch.workers, thread_name_prefix="fetch")
        # Documents being read in worker processes, stored in config order when done.
        window: deque[tuple[Attempt, SourceReport, Started | None]] = deque()

        def finish() -> None:
            nonlocal touched
            attempt, report, started = window.popleft()
            if attempt.skipped is not None:
                _skip(report, attempt, known.get(attempt.source.name))
            else:
                touched |= _attempt(
                    attempt,
                    settings,
                    store,
                    report,
                    clock,
                    run_date,
                    fetcher.client,
                    reader,
                    started,
                )
                if batch.due():
                    batch.commit()
                    pause_point("ingest")
            _log(report)
            if progress is not None:
                progress(report)

        try:
            attempts = fetch_in_order(
                enabled,
                states=store.fetch_states(),
                failures=failures,
                fetcher=fetcher,
                pool=pool,
                now=clock(),
                ahead=4 * settings.fetch.workers,
            )
            for attempt in attempts:
                source = attempt.source
                report = SourceReport(source.name, source.kind, source.location)
                reports.append(report)
                started = None
                if attempt.skipped is None and reader.pooled:
                    started = _start(attempt, settings, store, reader, clock(), run_date)
                window.append((attempt, report, started))
                while len(window) > (reader.workers + 1 if reader.pooled else 0):
                    finish()
            while window:
                finish()
            batch.commit()
            pause_point("ingest")
        finally:
            # Before the client closes: no fetch may still be running on it.
            pool.shutdown(wait=True, cancel_futures=True)
    return reports, touched


def _skip(report: SourceReport, attempt: Attempt, last: SourceHealth | None) -> None:
    """A source not asked this run: resting or gone. Only a gone or failing one is an error."""
    report.skipped = attempt.skipped
    state = attempt.state
    if state is not None and (state.disabled_reason or state.next_reason == health.BACKOFF):
        previous = ""
        if last and last.last_error and not state.disabled_reason:
            previous = f"; last error: {last.last_error}"
        report.error = f"not fetched: {attempt.skipped}{previous}"


def _attempt(
    attempt: Attempt,
    settings: Settings,
    store: Store,
    report: SourceReport,
    clock: Clock,
    run_date: date,
    client: httpx.Client,
    reader: Reader,
    started: Started | None = None,
) -> set[date]:
    source = attempt.source
    failure: FetchError | None = None
    try:
        fetched = attempt.result()
        report.status = fetched.status
        state = attempt.state
        if state is not None:
            state = health.after_success(
                state,
                status=fetched.status,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                moved_to=fetched.moved_to,
            )
            if fetched.moved_to:
                report.warnings.append(
                    f"moved permanently to {fetched.moved_to}; later runs fetch it there"
                    " (update its url in the config to make it so for good)"
                )
        if fetched.not_modified:
            report.not_modified = True
            if source.kind == "arxiv":
                last = store.last_document(source.name)
                _note_unchanged_batch(source, settings, store, report, last, clock())
            with store.transaction():
                if state is not None:
                    store.save_fetch_state(state)
                store.record_source(
                    name=source.name,
                    kind=source.kind,
                    location=source.location,
                    now=clock(),
                    error=None,
                )
            return set()
        return _ingest_source(
            source,
            settings,
            store,
            report,
            started.now if started else clock(),
            run_date,
            fetched,
            reader,
            started,
            state,
            client,
        )
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
    now = clock()
    with store.transaction():
        store.record_source(
            name=source.name,
            kind=source.kind,
            location=source.location,
            now=now,
            error=report.error,
        )
        if attempt.state is not None:
            failed = attempt.state
            if report.status is not None:
                failed = dataclasses.replace(failed, last_status=report.status)
            if failure is not None:
                failed = health.after_failure(
                    failed,
                    failure,
                    failures=_failures(store, source.name),
                    now=now,
                    settings=settings.fetch,
                )
            else:  # the server answered, the bytes are bad: rest as after any failure
                failed = dataclasses.replace(
                    failed,
                    next_attempt=now
                    + health.backoff(_failures(store, source.name), settings.fetch),
                    next_reason=health.BACKOFF,
                )
            store.save_fetch_state(failed)
    return set()


def _failures(store: Store, name: str) -> int:
    return store.consecutive_failures().get(name, 1)


def _log(report: SourceReport) -> None:
    if report.error:
        log.info("%s: failed: %s", report.name, report.error)
    elif report.skipped:
        log.info("%s: skipped: %s", report.name, report.skipped)
    elif report.not_modified:
        log.info("%s: not modified", report.name)
    else:
        counts = ", ".join(f"{count} {name}" for name, count in report.counts.items())
        log.info("%s: %s", report.name, counts)


def _ingest_source(
    source: Source,
    settings: Settings,
    store: Store,
    report: SourceReport,
    now: datetime,
    run_date: date,
    fetched: Fetched,
    reader: Reader,
    started: Started | None = None,
    fetch_state: FetchState | None = None,
    client: httpx.Client | None = None,
) -> set[date]:
    if started is not None:
        prepared, document = started.prepared, started.document
    else:
        prepared, document = _prepare(source, settings, fetched)
    if prepared.corrected_from:
        log.info(
            "%s: declared %s but is %s", source.name, prepared.corrected_from, prepared.encoding
        )
    last = store.last_document(source.name)
    # The same bytes, read the same way, give the same entries: skip parsing them. An
    # unchanged arXiv feed still says something ("not refreshed yet"): its remembered
    # batch says it, unless listings were missed and must be caught up.
    if (
        last is not None
        and last.fingerprint == document
        and (
            source.kind != "arxiv"
            or _note_unchanged_batch(source, settings, store, report, last, now)
        )
    ):
        report.counts[Outcome.UNCHANGED.value] = last.entries
        with store.transaction():
            store.record_source(
                name=source.name, kind=source.kind, location=source.location, now=now, error=None
            )
            if fetch_state is not None:
                store.save_fetch_state(fetch_state)
        return set()
    request = _request(source, settings, prepared, fetched, now)
    parsed = started.pending.result() if started else reader.read_here(request)
    report.warnings.extend(parsed.warnings)
    report.warnings.extend(parsed.dropped)
    entries = list(parsed.entries)
    if source.kind == "arxiv":
        state = _batch(source, settings, store, parsed.announced, len(parsed.entries), now)
        if state.warning:
            report.warnings.append(state.warning)
        # Missed listings first: a version they hold is older than the feed's.
        missed, suffix = catch_up(source, settings, state, client=client, warnings=report.warnings)
        if missed:
            shift = len(missed)
            entries = [
                *normalize_all(missed, source.name, report.warnings),
                *(dataclasses.replace(entry, position=entry.position + shift) for entry in entries),
            ]
        report.note = state.note + suffix
    # Entries pruned by retention that the source still lists unchanged stay pruned.
    pruned = store.pruned_hashes(source.name, [entry.key for entry in entries])
    kept = [entry for entry in entries if pruned.get(entry.key) != entry.content_hash]
    report.counts[Outcome.UNCHANGED.value] += len(entries) - len(kept)
    decisions = decide_all(
        source,
        kept,
        store,
        now=now,
        today=run_date,
        # Made for the document as parsed: not once entries were added or left out.
        first_sight=(
            parsed.first_sight if len(kept) == len(entries) == len(parsed.entries) else None
        ),
    )
    touched: set[date] = set()
    for item in decisions:
        report.counts[item.outcome.value] += 1
        if item.outcome is Outcome.NEW:
            touched.add(item.row.digest_day)
        elif item.outcome is Outcome.UPDATED:
            touched.add(run_date)
        if item.announced is not None:  # arXiv: the day's listing, whatever the outcome
            touched.add(item.announced)
    with store.transaction():
        store.apply(decisions, source=source.name, now=now)
        store.record_announcements(decisions, source=source.name)
        # With the entries: a run that fails before writing these digests leaves them due.
        store.mark_digests_due(touched, now=now)
        if source.kind == "arxiv" and parsed.announced is not None and parsed.entries:
            store.record_batch(source.name, parsed.announced, entries=len(parsed.entries), now=now)
        linked = duplicates.link_new_entries(
            store,
            decisions,
            source=source.name,
            settings=settings.dedup,
            now=now,
            computed=parsed.features,
        )
        merged = {link.key for link in linked if not link.newcomer_kept}
        report.new_keys += [
            item.row.key
            for item in decisions
            if item.outcome is Outcome.NEW and item.row.key not in merged
        ]
        report.counts[Outcome.NEW.value] -= len(merged)
        report.counts[Outcome.DUPLICATE.value] += len(merged)
        store.record_source(
            name=source.name,
            kind=source.kind,
            location=source.location,
            now=now,
            error=None,
            new_entries=report.counts[Outcome.NEW.value],
        )
        if fetch_state is not None:
            # Saved with the entries: a parse failure keeps the old validators, so the
            # next run downloads the document again instead of getting a 304.
            store.save_fetch_state(fetch_state)
        # A document with warnings is read again next time, so they are reported again.
        store.remember_document(
            source.name,
            None if parsed.warnings else document,
            entries=len(entries),
            now=now,
            batch_day=parsed.announced,
            batch_items=len(parsed.entries) if source.kind == "arxiv" else None,
        )
    return touched


@dataclass(frozen=True)
class Started:
    """A fetched document handed to a worker process to read, ahead of storing."""

    prepared: Prepared
    document: str
    pending: PendingRead
    #: The run's clock when reading started: new entries' first-seen time.
    now: datetime


def _prepare(source: Source, settings: Settings, fetched: Fetched) -> tuple[Prepared, str]:
    """The screened document and its fingerprint (see :mod:`.unchanged`)."""
    prepared = prepare(fetched.data, fetched.content_type, kind=source.kind, source=source.name)
    document = unchanged.fingerprint(
        source, prepared.data, content_type=prepared.content_type, parser=settings.fetch.parser
    )
    return prepared, document


def _request(
    source: Source,
    settings: Settings,
    prepared: Prepared,
    fetched: Fetched,
    now: datetime,
    *,
    ahead_for: date | None = None,
) -> ReadRequest:
    """What a document is read with; ``ahead_for`` (the run's day) asks a worker to
    also compute near-duplicate features and first-sight decisions."""
    dedup = settings.dedup
    return ReadRequest(
        data=prepared.data,
        kind=source.kind,
        engine=settings.fetch.parser,
        source=source.name,
        options=ParseOptions(
            timezone=source.timezone,
            location=fetched.url or source.location,
            content_type=prepared.content_type,
            categories=source.follow,
        ),
        now=now,
        scheme=(dedup.num_perm, dedup.bands) if ahead_for else None,
        first_sight=(source, ahead_for) if ahead_for else None,
    )


def _start(
    attempt: Attempt,
    settings: Settings,
    store: Store,
    reader: Reader,
    now: datetime,
    run_date: date,
) -> Started | None:
    """Hand ``attempt``'s document to a worker when it will need reading.

    ``None`` when there is nothing to read (a failure, a 304, an unchanged document):
    :func:`_attempt` then deals with it as ever, and reports any failure.
    """
    source = attempt.source
    try:
        fetched = attempt.result()
        if fetched.not_modified:
            return None
        prepared, document = _prepare(source, settings, fetched)
    except Exception:  # reported by _attempt, in order
        return None
    last = store.last_document(source.name)
    if last is not None and last.fingerprint == document:
        return None
    request = _request(source, settings, prepared, fetched, now, ahead_for=run_date)
    pending = reader.submit(request)
    return Started(prepared, document, pending, now) if pending else None


def _batch(
    source: Source,
    settings: Settings,
    store: Store,
    day: date | None,
    items: int,
    now: datetime,
) -> BatchState:
    """What an arXiv document listing ``items`` papers of ``day`` means for this run."""
    return batch_state(
        batch_day=day,
        items=items,
        last_day=store.last_batch(source.name),
        now=now,
        calendar=Calendar(holidays=frozenset(settings.arxiv.holidays)),
    )


def _note_unchanged_batch(
    source: Source,
    settings: Settings,
    store: Store,
    report: SourceReport,
    last: LastDocument | None,
    now: datetime,
) -> bool:
    """Report what an arXiv source's unchanged document (``last``) says, from its
    remembered batch.

    False when it must be read again instead: nothing is remembered of its batch, or
    listing days were missed since, which only the full path catches up on.
    """
    if last is None or last.batch_items is None:
        return False
    state = _batch(source, settings, store, last.batch_day, last.batch_items, now)
    if state.missed:
        return False
    if state.warning:
        report.warnings.append(state.warning)
    report.note = state.note
    return True


def decide_all(
    source: Source,
    entries: list[Entry],
    store: Store,
    *,
    now: datetime,
    today: date,
    first_sight: Mapping[str, Decision] | None = None,
) -> list[Decision]:
    """Decide every entry of one document against the store (and earlier entries in it).

    ``first_sight`` holds decisions made ahead (in a worker) for these very entries,
    with this ``now`` and ``today``, as if the store knew none of them: one is used
    where that is so, for a key's first entry in the document.
    """
    keys = [entry.key for entry in entries]
    rows: dict[str, StoredEntry] = store.get_entries(keys)
    hashes = store.source_hashes(source.name, keys)
    seen: set[str] = set()
    decisions = []
    for entry in entries:
        existing = rows.get(entry.key)
        unknown = existing is None and entry.key not in seen and entry.key not in hashes
        ahead = first_sight.get(entry.key) if first_sight and unknown else None
        if ahead is not None:
            decision = ahead
        else:
            decision = decide(
                entry,
                existing=existing,
                previous_hash=hashes.get(entry.key),
                seen_in_this_document=entry.key in seen,
                categories=source.categories_for(entry.categories),
                now=now,
                today=today,
            )
        seen.add(entry.key)
        rows[entry.key] = decision.row
        decisions.append(decision)
    return decisions
