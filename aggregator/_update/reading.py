"""Reading documents: parsing, normalising, near-duplicate features, on every core.

Owns the CPU-bound, pure part of ingesting one document, from its screened bytes to
normalised entries (with, on request, their near-duplicate features and the text the
full-text index holds of them), and where it runs: in this process, or in a pool
of worker processes (``[fetch] processes``) so that parsing uses the other cores while
the main process fetches, decides and stores. Knows nothing of the database:
unchanged documents, arXiv batches and the decisions stay in ``ingest`` and ``plan``.

It also holds what reading ahead needs from a fetch: the screened document and its
fingerprint (:func:`prepare_document`), the request (:func:`request_for`), and a
document :class:`Started` in a worker process, or read by a job queue's worker
(:class:`ReadElsewhere`).

Worker processes are started with ``spawn`` (the main process runs fetching
threads, which ``fork`` would copy mid-flight) and only when a run has enough to
read: in ``auto`` mode once the documents read in this process pass
:data:`AUTO_POOL_BYTES`, so a run of a few small feeds never pays their start-up.
Exceptions do not cross the process boundary: a worker returns a failure as text,
and the main process raises it again as the :class:`ParseError` it was. Should the
workers themselves fail (one killed, none able to start), the run says so once and
reads the rest, the document in hand included, in this process.
"""

from __future__ import annotations

import logging
import os
import pickle
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime
from multiprocessing import get_context
from typing import TYPE_CHECKING

from .._common import fts
from .._common.fts import Columns
from .._fetch import unchanged
from .._fetch.decoding import Prepared, prepare
from .._neardup.minhash import hasher_for
from .._neardup.rules import Features, document_features
from .._sources import ParseOptions, get_parser
from ..config.sources import Source
from ..errors import AggregatorError
from ..types import Entry, ParsedEntry
from .decide import Decision, decide
from .normalize import normalize

if TYPE_CHECKING:  # not imported in parsing processes: settings pull in the scheduler
    from .._fetch.http import Fetched
    from ..config.settings import Settings

log = logging.getLogger(__name__)

#: In ``auto`` mode, bytes read in this process before the worker pool starts.
AUTO_POOL_BYTES = 2_000_000

#: Links dropped by normalising that a document's warnings name one by one.
SHOWN_REFUSALS = 3


@dataclass(frozen=True)
class ReadRequest:
    """One document to read, and how."""

    data: bytes
    kind: str
    #: ``[fetch] parser``: "auto" or "feedparser".
    engine: str
    source: str
    options: ParseOptions
    #: First-seen time of new entries (near-duplicate features use it when undated).
    now: datetime
    #: Near-duplicate scheme ``(num_perm, bands)``, or ``None`` for no features.
    scheme: tuple[int, int] | None = None
    #: To decide each entry as if seen for the first time (``dedup.decide`` with no
    #: stored row): the source's settings and the run's day. ``None``: no decisions.
    first_sight: tuple[Source, date] | None = None
    #: To make each entry's full-text index columns too (``fts.entry_columns``).
    search_text: bool = False


@dataclass(frozen=True)
class Read:
    """A document read: its normalised entries and what the parser said of it."""

    #: One per entry the parser found, in document order.
    entries: tuple[Entry, ...]
    #: The parser's: a document with warnings is read again on the next run.
    warnings: tuple[str, ...]
    #: arXiv: the announcement day the document lists.
    announced: date | None
    #: Near-duplicate features by entry key, with the entry they describe and
    #: without shingle sets (see :mod:`aggregator._neardup.linking`).
    features: dict[str, tuple[Entry, Features]] = field(default_factory=dict)
    #: The decision for each key's first entry should the store not know the key
    #: (``decide`` is pure: ``plan.decide_document`` uses it where that holds).
    first_sight: dict[str, Decision] = field(default_factory=dict)
    #: The full-text index columns of each key's first entry, with that entry (the plan
    #: hands them to storage when the row written reads as the entry does).
    search_text: dict[str, tuple[Entry, Columns]] = field(default_factory=dict)
    #: What normalising dropped (unsafe links), in words. Reported, but no reason to read
    #: the document again: the same bytes drop the same links.
    dropped: tuple[str, ...] = ()
    #: The parser's ``ParsedFeed.reader``: which reader read the document.
    reader: str = ""
    #: arXiv: papers in none of the source's categories, left out by the parser.
    left_out: int = 0


def normalize_all(
    items: list[ParsedEntry], source: str, warnings: list[str] | None = None
) -> tuple[Entry, ...]:
    """Normalise parsed entries; ``position`` is each one's place in the document.

    What normalising refused is added to ``warnings`` (see :func:`report_refused`).
    """
    refused: list[str] = []
    entries = tuple(
        normalize(item, source=source, position=index, warnings=refused)
        for index, item in enumerate(items, start=1)
    )
    if warnings is not None:
        report_refused(refused, warnings)
    return entries


def report_refused(refused: list[str], warnings: list[str]) -> None:
    """What normalising refused (a ``javascript:`` link), added to ``warnings``: the
    first :data:`SHOWN_REFUSALS` one by one, the rest counted in one more line (a local
    copy of a feed can hold hundreds of relative links)."""
    if refused:
        warnings.extend(refused[:SHOWN_REFUSALS])
        if len(refused) > SHOWN_REFUSALS:
            warnings.append(f"and {len(refused) - SHOWN_REFUSALS} more links dropped likewise")


def read(request: ReadRequest) -> Read:
    """Parse and normalise one document (raises ParseError as the parser does).

    Each entry is normalised, decided and given its search text in turn, while its
    text is at hand (its summary's and content's JSON among it: the content hash and
    the row's hash share it); the near-duplicate features come after, for the whole
    document at once.
    """
    parser = get_parser(request.kind, request.engine)
    parsed = parser(request.data, source=request.source, options=request.options)
    refused: list[str] = []
    entries: list[Entry] = []
    decided: dict[str, Decision] = {}
    search_text: dict[str, tuple[Entry, Columns]] = {}
    for index, item in enumerate(parsed.entries, start=1):
        entry = normalize(item, source=request.source, position=index, warnings=refused)
        entries.append(entry)
        if request.first_sight is not None and entry.key not in decided:
            decided[entry.key] = _first_sight(entry, request.first_sight, request.now)
        if request.search_text and entry.key not in search_text:
            search_text[entry.key] = (entry, _search_text(entry))
    dropped: list[str] = []
    report_refused(refused, dropped)
    found: dict[str, tuple[Entry, Features]] = {}
    if request.scheme is not None:
        # Without shingle sets: only needed near the threshold, they are recomputed then.
        hasher = hasher_for(*request.scheme)
        computed = document_features(
            entries, source=request.source, first_seen=request.now, hasher=hasher
        )
        found = {entry.key: (entry, one) for entry, one in zip(entries, computed, strict=True)}
    return Read(
        entries=tuple(entries),
        warnings=tuple(parsed.warnings),
        dropped=tuple(dropped),
        announced=parsed.announced,
        features=found,
        first_sight=decided,
        search_text=search_text,
        reader=parsed.reader,
        left_out=parsed.left_out,
    )


def _first_sight(entry: Entry, first_sight: tuple[Source, date], now: datetime) -> Decision:
    """The decision for ``entry`` should the store not know its key."""
    source, today = first_sight
    return decide(
        entry,
        existing=None,
        previous_hash=None,
        seen_in_this_document=False,
        categories=source.categories_for(entry.categories),
        now=now,
        today=today,
    )


def _search_text(entry: Entry) -> Columns:
    return fts.entry_columns(
        title=entry.title,
        summary=entry.summary,
        sections=entry.sections,
        authors=entry.authors,
        content=entry.content,
    )


def _read_in_worker(request: ReadRequest) -> Read:
    """:func:`read` in a worker process. Its errors travel back pickled: every
    AggregatorError does, with its attributes; a bug's exception that would not is sent
    as a RuntimeError naming its type."""
    try:
        return read(request)
    except AggregatorError:
        raise
    except Exception as err:  # a bug in a parser: reported for this source only
        try:
            pickle.dumps(err)
        except Exception:
            raise RuntimeError(f"{type(err).__name__}: {err}") from None
        raise


class PendingRead:
    """A document being read in a worker; :meth:`result` waits for it."""

    def __init__(self, future: Future[Read], request: ReadRequest, reader: Reader):
        self._future = future
        self._request = request
        self._reader = reader

    def result(self) -> Read:
        try:
            return self._future.result()  # a worker's error is raised here, as itself
        except BrokenProcessPool as err:  # a worker died (killed, out of memory)
            self._reader.give_up(err)
            return self._reader.read_here(self._request)


class ReadElsewhere:
    """A document read by a job queue's worker: its Read, or the error reading raised
    (raised again by :meth:`result`, as a worker process's would be)."""

    def __init__(self, read: Read | None, error: BaseException | None = None) -> None:
        self._read = read
        self._error = error

    def result(self) -> Read:
        if self._error is not None:
            raise self._error
        assert self._read is not None
        return self._read


def worker_count(setting: str | int) -> int:
    """Worker processes for ``[fetch] processes``: ``auto`` is one per core (none on one)."""
    if setting == "auto":
        cores = os.cpu_count() or 1
        return cores if cores > 1 else 0
    return int(setting)


class Reader:
    """Reads documents here or in worker processes; close it (``with``) when done."""

    def __init__(self, setting: str | int) -> None:
        self.workers = worker_count(setting)
        self._auto = setting == "auto"
        self._read_here = 0
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    @property
    def pooled(self) -> bool:
        """Whether documents are read in workers (from now on)."""
        if self.workers < 1:
            return False
        return not self._auto or self._read_here >= AUTO_POOL_BYTES

    def read_here(self, request: ReadRequest) -> Read:
        """Read ``request`` in this process (and count it towards starting the pool)."""
        self._read_here += len(request.data)
        return read(request)

    def submit(self, request: ReadRequest) -> PendingRead | None:
        """Start reading ``request`` in a worker; ``None`` when it is to be read here."""
        if not self.pooled:
            return None
        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=get_context("spawn")
                )
            future = self._pool.submit(_read_in_worker, request)
        except (BrokenProcessPool, OSError) as err:
            self.give_up(err)
            return None
        return PendingRead(future, request, self)

    def give_up(self, err: BaseException) -> None:
        """Read everything in this process from now on: the workers cannot be used."""
        if self.workers:
            log.warning(
                "parsing in worker processes failed (%s); reading in this process instead", err
            )
        self.workers = 0
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


@dataclass(frozen=True)
class Started:
    """A fetched document handed to a worker process to read, ahead of storing."""

    prepared: Prepared
    document: str
    pending: PendingRead | ReadElsewhere
    #: The run's clock when reading started: new entries' first-seen time.
    now: datetime


def prepare_document(source: Source, settings: Settings, fetched: Fetched) -> tuple[Prepared, str]:
    """The screened document and its fingerprint (see :mod:`aggregator._fetch.unchanged`)."""
    prepared = prepare(fetched.data, fetched.content_type, kind=source.kind, source=source.name)
    document = unchanged.fingerprint(
        source, prepared.data, content_type=prepared.content_type, parser=settings.fetch.parser
    )
    return prepared, document


def request_for(
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
            now=now,
        ),
        now=now,
        scheme=(dedup.num_perm, dedup.bands) if ahead_for else None,
        first_sight=(source, ahead_for) if ahead_for else None,
        search_text=bool(ahead_for),
    )
