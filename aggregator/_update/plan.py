"""The plan: what one source's delivery changes in storage. Pure: no I/O, no clock.

:func:`plan_document` takes a document as this run read it (a :class:`Document`: its
normalised entries, the source, the fetch state to keep) and what storage knows of its
entries' keys (a :class:`Known`, from ``Store.known``), decides every entry
(:func:`.decide.decide`) and returns a frozen :class:`Plan`: the rows to insert and to
update, the filings (entry, category, how it arrived), this source's copy of each entry,
arXiv's announcements and batches, the digest days touched, the near-duplicate work
(each new or updated row, whether to match it), the counts per outcome, and the
source's own record. :func:`plan_listings` does the same for papers from arXiv's export API
(``arxiv backfill``), :func:`plan_visit` for a visit that stored no entries (a 304, an
unchanged document, a failure).

Storage applies plans (``Store.apply``), and near-duplicate linking runs on what was
applied, inside the same transaction (:mod:`aggregator._neardup.linking`: it needs the
stored candidates, including the entries just written). Linking is the one step that
can change an outcome after the plan: a new entry found to copy a stored one counts as
a duplicate. That happens in one place, :meth:`Counts.linked`, which storage applies to
the plan's counts before it records the source and which the reports show; nothing
patches counts anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from .._common.fts import Columns
from .._fetch.health import FetchState
from .._neardup.rules import Features, TextEntry
from ..config.settings import DedupSettings
from ..config.sources import Source
from ..types import Entry, StoredEntry
from .decide import Decision, Outcome, decide

# -- what goes in -------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """What storage knows of one document's keys, read in one go (``Store.known``)."""

    #: The stored rows of the keys that have one.
    rows: Mapping[str, StoredEntry] = field(default_factory=dict)
    #: The content hash this source last delivered, per key.
    delivered: Mapping[str, str] = field(default_factory=dict)
    #: Pruned entries (tombstones): the content hash this source delivered before.
    pruned: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """One source's delivery this run, read and normalised: what a plan is made from."""

    source: Source
    #: In document order; papers caught up from arXiv's export API first.
    entries: tuple[Entry, ...]
    #: The run's clock when the document was read: new entries' first-seen time.
    now: datetime
    #: How many entries the document itself listed (without caught-up papers).
    listed: int = 0
    #: arXiv: the announcement day the document lists.
    announced: date | None = None
    #: To recognise the same document next time; ``None`` to read it again then (the
    #: parser warned, and the warnings should be reported again).
    fingerprint: str | None = None
    #: The source's HTTP state after this fetch (``None`` for a local file).
    fetch_state: FetchState | None = None
    #: Near-duplicate features computed ahead by a worker, by key, with their entry.
    features: Mapping[str, tuple[Entry, Features]] = field(default_factory=dict)
    #: Decisions made ahead by a worker as if storage knew none of the keys.
    first_sight: Mapping[str, Decision] = field(default_factory=dict)
    #: Full-text index columns made ahead by a worker, by key, with their entry.
    search_text: Mapping[str, tuple[Entry, Columns]] = field(default_factory=dict)


# -- what comes out -----------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A near-duplicate link made on a plan's new entry, once applied."""

    key: str
    kept_key: str
    reason: str
    similarity: float | None
    #: True when the newcomer was kept and the stored copy became the duplicate.
    newcomer_kept: bool = False


@dataclass(frozen=True)
class Counts:
    """Entries per outcome (see :class:`.decide.Outcome`)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0

    @classmethod
    def of(cls, decisions: Iterable[Decision], *, unchanged: int = 0) -> Counts:
        found = {outcome: 0 for outcome in Outcome}
        for decision in decisions:
            found[decision.outcome] += 1
        return cls(
            new=found[Outcome.NEW],
            updated=found[Outcome.UPDATED],
            unchanged=found[Outcome.UNCHANGED] + unchanged,
            duplicate=found[Outcome.DUPLICATE],
        )

    def linked(self, links: Sequence[Link]) -> Counts:
        """The counts once near-duplicate linking has judged the new entries: a new
        entry linked to a stored one is a duplicate (one whose stored copy was linked to
        it instead, as the preferred source's, stays new)."""
        merged = sum(1 for link in links if not link.newcomer_kept)
        return replace(self, new=self.new - merged, duplicate=self.duplicate + merged)

    def as_dict(self) -> dict[str, int]:
        return {outcome.value: getattr(self, outcome.value) for outcome in Outcome}


@dataclass(frozen=True)
class Filing:
    """An entry filed under a category, and how it arrived there (an arXiv announce
    type: new, cross, replace, replace-cross; else ``listed``)."""

    key: str
    category: str
    how: str


@dataclass(frozen=True)
class Copy:
    """The source's copy of an entry: its guid and content hash, to judge the next one."""

    key: str
    guid: str | None
    content_hash: str


@dataclass(frozen=True)
class Announcement:
    """arXiv announced the paper ``key`` in ``category`` on ``day``, as ``how``."""

    key: str
    category: str
    day: date
    how: str
    version: int | None


@dataclass(frozen=True)
class Batch:
    """arXiv: the source delivered the listing of ``day``, ``entries`` papers long."""

    day: date
    entries: int


@dataclass(frozen=True)
class Probe:
    """Near-duplicate work: a new or updated row whose features are to be stored, and
    for a new row, when ``match``, compared with the stored entries'."""

    row: StoredEntry
    new: bool
    match: bool
    #: Computed ahead (by a worker) from an entry that reads as the row does; ``None``:
    #: computed from the row when linked (one at a time, so a plan stays small).
    features: Features | None = None


@dataclass(frozen=True)
class SourceRecord:
    """The visit to record for the source: a success, or the error in words."""

    name: str
    kind: str
    location: str
    error: str | None = None


@dataclass(frozen=True)
class DocumentRecord:
    """The document to recognise next time (``fingerprint``; ``None`` forgets it)."""

    fingerprint: str | None
    entries: int
    batch_day: date | None = None
    batch_items: int | None = None


@dataclass(frozen=True)
class Plan:
    """Everything one source's delivery changes in storage, in the order it is written."""

    source: str
    #: The time written with the rows (first seen, filed, recorded).
    now: datetime
    counts: Counts = Counts()
    inserts: tuple[StoredEntry, ...] = ()
    updates: tuple[StoredEntry, ...] = ()
    filings: tuple[Filing, ...] = ()
    copies: tuple[Copy, ...] = ()
    announcements: tuple[Announcement, ...] = ()
    #: The days whose digest the delivery changes (rendered again, even after a failure).
    digest_days: tuple[date, ...] = ()
    batches: tuple[Batch, ...] = ()
    probes: tuple[Probe, ...] = ()
    #: The full-text index columns of rows written (``(key, *columns)``), where made
    #: ahead for exactly the text written; storage indexes the other rows from their text.
    search_text: tuple[tuple[str, str, str, str, str], ...] = ()
    #: Entries delivered again with categories: if one is a linked duplicate, the entry
    #: kept in its place takes its categories again.
    refiled: tuple[str, ...] = ()
    #: ``None``: the source is not recorded (``arxiv backfill`` is no visit).
    record: SourceRecord | None = None
    fetch_state: FetchState | None = None
    #: ``None``: what is remembered of the source's last document stays as it is.
    document: DocumentRecord | None = None

    @property
    def new_keys(self) -> tuple[str, ...]:
        """The keys of the rows this plan creates, in the order they are stored."""
        return tuple(row.key for row in self.inserts)


@dataclass(frozen=True)
class Applied:
    """A plan as storage applied it, with the links made on its new entries."""

    plan: Plan
    links: tuple[Link, ...] = ()
    #: The plan's counts after linking (:meth:`Counts.linked`).
    counts: Counts = Counts()


#: The near-duplicate stage, as ``Store.apply`` calls it on each plan it wrote.
Linker = Callable[[Plan], Sequence[Link]]


# -- planning -----------------------------------------------------------------------------


def plan_document(document: Document, known: Known, *, today: date, dedup: DedupSettings) -> Plan:
    """The plan for ``document``, given what storage knows of its keys.

    ``today`` is the run's day in the digest time zone: the digest day of new entries
    no list dates, and the day an update is shown on. Entries pruned by retention that
    the source still lists unchanged stay pruned (they count as unchanged).
    """
    source = document.source
    kept = [e for e in document.entries if known.pruned.get(e.key) != e.content_hash]
    # Made for the document as parsed: not once entries were added or left out.
    whole = len(kept) == len(document.entries) == document.listed
    decisions = decide_document(
        source,
        kept,
        known,
        now=document.now,
        today=today,
        first_sight=document.first_sight if whole else None,
    )
    plan = _entries_plan(
        source.name,
        decisions,
        now=document.now,
        dedup=dedup,
        computed=document.features,
        search_text=document.search_text,
        unchanged=len(document.entries) - len(kept),
    )
    arxiv = source.kind == "arxiv"
    batches: tuple[Batch, ...] = ()
    if arxiv and document.announced is not None and document.listed:
        batches = (Batch(document.announced, document.listed),)
    return replace(
        plan,
        digest_days=_digest_days(decisions, today),
        batches=batches,
        record=SourceRecord(source.name, source.kind, source.location),
        fetch_state=document.fetch_state,
        document=DocumentRecord(
            document.fingerprint,
            entries=len(document.entries),
            batch_day=document.announced,
            batch_items=document.listed if arxiv else None,
        ),
    )


def plan_listings(
    source: Source,
    entries: Sequence[Entry],
    known: Known,
    *,
    now: datetime,
    today: date,
    dedup: DedupSettings,
) -> Plan:
    """The plan for papers of past listings from arXiv's export API (``arxiv backfill``).

    Decided as a feed's delivery is, and filed by listing day: the digest days touched
    are those days only (an update is not news of the day the command runs), and each
    day is recorded as a batch the source delivered. Tombstones are not consulted: a
    backfill asked for those days on purpose. The source's visit is not recorded.
    """
    decisions = decide_document(source, list(entries), known, now=now, today=today)
    listed: dict[date, int] = {}
    for decision in decisions:
        if decision.announced is not None:
            listed[decision.announced] = listed.get(decision.announced, 0) + 1
    plan = _entries_plan(source.name, decisions, now=now, dedup=dedup, computed={})
    return replace(
        plan,
        digest_days=tuple(listed),
        batches=tuple(Batch(day, count) for day, count in listed.items()),
    )


def plan_entries(
    source: Source,
    entries: Sequence[Entry],
    known: Known,
    *,
    now: datetime,
    today: date,
    dedup: DedupSettings,
) -> Plan:
    """The rows ``entries`` call for, decided against ``known``: no digest days, batches
    or record of the source's visit (see :func:`plan_document` for a whole delivery)."""
    decisions = decide_document(source, list(entries), known, now=now, today=today)
    return _entries_plan(source.name, decisions, now=now, dedup=dedup, computed={})


def plan_visit(
    source: Source,
    *,
    now: datetime,
    error: str | None = None,
    fetch_state: FetchState | None = None,
    unchanged: int = 0,
) -> Plan:
    """The plan of a visit that stores no entries: a 304, a document already stored
    (``unchanged`` entries), or a failure (``error``, with the state to rest by)."""
    return Plan(
        source=source.name,
        now=now,
        counts=Counts(unchanged=unchanged),
        record=SourceRecord(source.name, source.kind, source.location, error),
        fetch_state=fetch_state,
    )


def decide_document(
    source: Source,
    entries: list[Entry],
    known: Known,
    *,
    now: datetime,
    today: date,
    first_sight: Mapping[str, Decision] | None = None,
) -> list[Decision]:
    """Decide every entry of one document against storage (and earlier entries in it).

    ``first_sight`` holds decisions made ahead (in a worker) for these very entries,
    with this ``now`` and ``today``, as if storage knew none of them: one is used
    where that is so, for a key's first entry in the document.
    """
    rows = dict(known.rows)
    seen: set[str] = set()
    decisions = []
    for entry in entries:
        existing = rows.get(entry.key)
        unknown = existing is None and entry.key not in seen and entry.key not in known.delivered
        ahead = first_sight.get(entry.key) if first_sight and unknown else None
        if ahead is not None:
            decision = ahead
        else:
            decision = decide(
                entry,
                existing=existing,
                previous_hash=known.delivered.get(entry.key),
                seen_in_this_document=entry.key in seen,
                categories=source.categories_for(entry.categories),
                now=now,
                today=today,
            )
        seen.add(entry.key)
        rows[entry.key] = decision.row
        decisions.append(decision)
    return decisions


def _digest_days(decisions: Sequence[Decision], today: date) -> tuple[date, ...]:
    """The days whose digest shows what ``decisions`` change: a new entry's digest day,
    ``today`` for an update, the day arXiv announced a paper, whatever the outcome, and
    the day a row's digest day moved from (it must leave that digest)."""
    days: set[date] = set()
    for decision in decisions:
        if decision.outcome is Outcome.NEW:
            days.add(decision.row.digest_day)
        elif decision.outcome is Outcome.UPDATED:
            days.add(today)
        if decision.announced is not None:
            days.add(decision.announced)
        if decision.moved_from is not None:
            days.add(decision.moved_from)
    return tuple(sorted(days))


def _entries_plan(
    source: str,
    decisions: Sequence[Decision],
    *,
    now: datetime,
    dedup: DedupSettings,
    computed: Mapping[str, tuple[Entry, Features]],
    search_text: Mapping[str, tuple[Entry, Columns]] | None = None,
    unchanged: int = 0,
) -> Plan:
    """The rows, filings, copies, announcements and near-duplicate work of ``decisions``.

    Unchanged rows are not rewritten; a new row is inserted, any other changed row
    updated.
    """
    return Plan(
        source=source,
        now=now,
        counts=Counts.of(decisions, unchanged=unchanged),
        inserts=tuple(d.row for d in decisions if d.changed and d.outcome is Outcome.NEW),
        updates=tuple(d.row for d in decisions if d.changed and d.outcome is not Outcome.NEW),
        filings=tuple(
            Filing(d.row.key, category, dict(d.announce).get(category, "listed"))
            for d in decisions
            for category in d.categories
        ),
        copies=tuple(Copy(d.row.key, d.source_guid, d.source_hash) for d in decisions),
        announcements=tuple(
            Announcement(d.row.key, category, d.announced, how, d.row.version)
            for d in decisions
            if d.announced is not None
            for category, how in d.announce
        ),
        probes=_probes(decisions, dedup=dedup, computed=computed),
        search_text=_search_text(decisions, search_text) if search_text else (),
        refiled=tuple(
            d.row.key for d in decisions if d.categories and d.outcome is not Outcome.NEW
        ),
    )


def _probes(
    decisions: Sequence[Decision],
    *,
    dedup: DedupSettings,
    computed: Mapping[str, tuple[Entry, Features]],
) -> tuple[Probe, ...]:
    """The near-duplicate work: every new or updated row (with features computed ahead
    when they still describe it), and for new rows whether to look for what they
    duplicate."""
    probes = []
    for decision in decisions:
        if decision.outcome not in (Outcome.NEW, Outcome.UPDATED):
            continue
        new = decision.outcome is Outcome.NEW
        probes.append(
            Probe(
                decision.row,
                new=new,
                match=new and dedup.enabled,
                features=_reusable(computed, decision.row),
            )
        )
    return tuple(probes)


def _search_text(
    decisions: Sequence[Decision], made: Mapping[str, tuple[Entry, Columns]]
) -> tuple[tuple[str, str, str, str, str], ...]:
    """The index columns made ahead for the rows written, where the row's indexed
    fields are the entry's they were made from (a merge with the stored row, an arXiv
    replacement, may change them: then storage makes them from the row)."""
    found = []
    for decision in decisions:
        if not decision.changed:  # not written
            continue
        row = decision.row
        if row.key in made:
            entry, columns = made[row.key]
            if _indexed_of(entry) == _indexed_of(row):
                found.append((row.key, *columns))
    return tuple(found)


def _indexed_of(entry: TextEntry) -> tuple[object, ...]:
    """Every field the full-text index columns are made from."""
    return (entry.title, entry.summary, entry.sections, entry.authors, entry.content)


def _text_of(entry: TextEntry) -> tuple[object, ...]:
    """Every field features are computed from."""
    return (
        entry.title,
        entry.link,
        entry.published,
        entry.authors,
        entry.summary,
        entry.content,
        entry.sections,
        entry.pdf_url,
        entry.arxiv_id,
        entry.doi,
    )


def _reusable(computed: Mapping[str, tuple[Entry, Features]], row: StoredEntry) -> Features | None:
    """Features computed ahead for ``row``'s key, if the row still reads as their entry.

    A merge with the stored row (an update, an arXiv replacement) changes what the
    features must describe; then they are computed again from the row.
    """
    if row.key not in computed:
        return None
    entry, found = computed[row.key]
    if found.when != (row.published or row.first_seen) or _text_of(entry) != _text_of(row):
        return None
    return found
