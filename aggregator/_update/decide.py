"""The new / updated / unchanged / duplicate decision. Pure: no I/O.

Given a normalised entry from one source and what the store knows about its
identity key, decide what happens and build the row to store:

- **new**: no row has this key yet; the row is created.
- **unchanged**: this source delivered this key before with the same content hash.
- **updated**: this source delivered this key before with different content; its
  fields replace the stored ones, ``updated`` moves forward, ``published`` stays.
- **duplicate**: the key is known from another source (or earlier in the same
  document); the row gains this source's categories and any fields it lacked,
  and keeps its own values and times.

arXiv papers follow the same rules with one more: a delivery carrying a **higher
version** than the stored row (``2601.06098v2`` after ``v1``), from whichever source, is
an update (new title, abstract, version; ``published`` stays the first announcement), and
a lower version never overwrites a higher one. Each delivery also says how it was
announced in each category (``Decision.announce``), which the store records per day.

And one meaning per paper: **arXiv's own reading** of a paper (its feed, listing page or
export API, through whichever kind of source) replaces what another reader stored for
it (a plain feed's copy with the announce preamble in its abstract and the run's day,
a daily list's), and is never changed by another reader afterwards: the row reads the
same whatever the order of the sources.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from ..types import Entry, StoredEntry
from .normalize import visible_hash


class Outcome(enum.Enum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    #: The row as it should be stored afterwards.
    row: StoredEntry
    #: Categories this delivery files the entry under.
    categories: tuple[str, ...]
    #: The content hash this source delivered (recorded per source).
    source_hash: str
    source_guid: str | None
    #: Whether the stored row must be rewritten.
    changed: bool = True
    #: arXiv: (category, announce type) pairs of this delivery, and the day announced.
    announce: tuple[tuple[str, str], ...] = ()
    announced: date | None = None
    #: The digest day the row had before, when this delivery moved it (arXiv's reading
    #: replacing another's): that day's digest must lose it.
    moved_from: date | None = None


_ATOM_NAMESPACE = uuid.UUID("6f3c5c1e-4b1d-5d8e-9a53-1c3a2b0f7e11")


def atom_id_for(key: str) -> str:
    """A stable ``urn:uuid:`` for an identity key, fixed at first sight and stored."""
    return f"urn:uuid:{uuid.uuid5(_ATOM_NAMESPACE, key)}"


def row_hash(row: StoredEntry) -> str:
    """Hash of a stored row's visible content, to skip rewriting unchanged rows."""
    return _row_hash(row, row.categories, row.updated)


def _row_hash(item: Entry | StoredEntry, categories: tuple[str, ...], updated: datetime) -> str:
    """:func:`row_hash` of a row with ``item``'s text, ``categories`` and ``updated``."""
    tail = [[list(s) for s in item.sections], item.pdf_url, sorted(categories), updated.isoformat()]
    if item.version is not None or item.journal_ref or item.subjects:
        tail += [str(item.version), item.journal_ref, list(item.subjects), item.primary_category]
    return visible_hash(
        [item.title, item.link, list(item.authors)], item.summary, item.content, tail
    )


def decide(
    entry: Entry,
    *,
    existing: StoredEntry | None,
    previous_hash: str | None,
    seen_in_this_document: bool,
    categories: tuple[str, ...],
    now: datetime,
    today: date,
) -> Decision:
    """Decide what one delivery of ``entry`` means (see the module docstring).

    ``previous_hash`` is the content hash this same source delivered for the key
    last time (``None`` if never); ``today`` is the run's day in the digest time zone.
    """
    if existing is None:
        row = _new_row(entry, categories, now=now, today=today, hashed=True)
        return _decision(entry, Outcome.NEW, row, None, categories)
    # The row as this delivery leaves it, before its content: categories and sources.
    filed = replace(
        existing,
        categories=tuple(dict.fromkeys((*existing.categories, *categories))),
        sources=tuple(dict.fromkeys((*existing.sources, entry.source))),
    )
    outcome, row = (
        _arxiv_reading(entry, existing, filed)
        or _versioned(entry, existing, filed, previous_hash, now)
        or _delivered(entry, existing, filed, previous_hash, seen_in_this_document, now)
    )
    return _decision(entry, outcome, row, existing, categories)


def read_by_arxiv(item: Entry | StoredEntry) -> bool:
    """Whether a delivery (or a stored row) is arXiv's own reading of a paper.

    arXiv's readers (its feeds, listing pages, export API, whatever the source kind) give
    every paper its subject list; no other reader does, so a row that has one was
    written by them.
    """
    return item.arxiv_id is not None and bool(item.subjects)


def _arxiv_reading(
    entry: Entry, existing: StoredEntry, filed: StoredEntry
) -> tuple[Outcome, StoredEntry] | None:
    """One meaning per paper: arXiv's reading of a paper replaces what another reader
    stored (a plain feed's, a daily list's), and no other reader changes arXiv's.

    ``None`` when both or neither are arXiv's: the ordinary rules apply.
    """
    if read_by_arxiv(entry) == read_by_arxiv(existing):
        return None
    if read_by_arxiv(existing):
        # Gaps only, and never a version arXiv did not announce.
        row = replace(_fill_missing(filed, entry), version=existing.version)
        if row == existing:
            return Outcome.UNCHANGED, existing
        return Outcome.DUPLICATE, _hashed(row)
    # The row as if arXiv's reading had come first (its day, times, text, position);
    # what only the other reader had (content, sections, language) stays.
    row = _new_row(entry, filed.categories, now=existing.first_seen, today=existing.digest_day)
    row = replace(
        row,
        atom_id=existing.atom_id,
        sources=filed.sources,
        content=entry.content or existing.content,
        sections=entry.sections or existing.sections,
        language=entry.language or existing.language,
        doi=entry.doi or existing.doi,
        journal_ref=entry.journal_ref or existing.journal_ref,
        # Published feeds promise that ``updated`` never goes back.
        updated=max(row.updated, existing.updated),
    )
    return Outcome.UPDATED, _hashed(row)


def _decision(
    entry: Entry,
    outcome: Outcome,
    row: StoredEntry,
    existing: StoredEntry | None,
    categories: tuple[str, ...],
) -> Decision:
    """The decision to store ``row``, with what this delivery says of its categories."""
    announce = tuple((c, how) for c, how in entry.announce if c in categories)
    return Decision(
        outcome,
        row,
        categories,
        entry.content_hash,
        entry.guid,
        changed=existing is None or row != existing,
        announce=announce,
        announced=entry.announced if announce else None,
        moved_from=(
            existing.digest_day
            if existing is not None and existing.digest_day != row.digest_day
            else None
        ),
    )


def _hashed(row: StoredEntry) -> StoredEntry:
    return replace(row, content_hash=row_hash(row))


def _new_row(
    entry: Entry,
    categories: tuple[str, ...],
    *,
    now: datetime,
    today: date,
    hashed: bool = False,
) -> StoredEntry:
    """The row of an entry no source delivered before; its content hash empty unless
    ``hashed`` (made from the entry's fields: the row is built once)."""
    categories = tuple(dict.fromkeys(categories))
    updated = entry.updated or entry.published or now
    return StoredEntry(
        key=entry.key,
        atom_id=atom_id_for(entry.key),
        title=entry.title,
        link=entry.link,
        published=entry.published,
        updated=updated,
        first_seen=now,
        digest_day=entry.announced or today,
        authors=entry.authors,
        summary=entry.summary,
        content=entry.content,
        sections=entry.sections,
        categories=categories,
        pdf_url=entry.pdf_url,
        arxiv_id=entry.arxiv_id,
        doi=entry.doi,
        language=entry.language,
        content_hash=_row_hash(entry, categories, updated) if hashed else "",
        position=entry.position,
        sources=(entry.source,),
        version=entry.version,
        primary_category=entry.primary_category,
        subjects=entry.subjects,
        journal_ref=entry.journal_ref,
        raw_title=entry.raw_title,
        raw_summary=entry.raw_summary,
        raw_authors=entry.raw_authors,
    )


def _versioned(
    entry: Entry,
    existing: StoredEntry,
    filed: StoredEntry,
    previous_hash: str | None,
    now: datetime,
) -> tuple[Outcome, StoredEntry] | None:
    """arXiv's rule, when both copies carry a version: a higher one replaces the row, a
    lower one only fills gaps. ``None`` when the version says nothing (the same one,
    not caught up from another source): the ordinary rules apply."""
    if entry.version is None or existing.version is None:
        return None
    if entry.version > existing.version:
        row = _replacement(existing, entry, now)
        row = replace(row, categories=filed.categories, sources=filed.sources)
        return Outcome.UPDATED, _hashed(row)
    same_text = entry.title == existing.title and entry.summary in (None, existing.summary)
    if entry.version == existing.version and same_text and previous_hash != entry.content_hash:
        # This source's copy caught up with a version another source brought first.
        return Outcome.DUPLICATE, _hashed(_fill_missing(filed, entry))
    if entry.version < existing.version:  # an older copy never overwrites a newer one
        row = _fill_missing(filed, entry)
        if row == existing:
            return Outcome.UNCHANGED, row
        return Outcome.DUPLICATE, _hashed(row)
    return None


def _delivered(
    entry: Entry,
    existing: StoredEntry,
    filed: StoredEntry,
    previous_hash: str | None,
    seen_in_this_document: bool,
    now: datetime,
) -> tuple[Outcome, StoredEntry]:
    """The ordinary rules: another source's copy (or a second one in this document)
    is a duplicate, the same content again is unchanged, other content an update."""
    if previous_hash is None or seen_in_this_document:
        return Outcome.DUPLICATE, _hashed(_fill_missing(filed, entry))
    if previous_hash == entry.content_hash:
        filed = _names_read(filed, entry)
        return Outcome.UNCHANGED, filed if filed == existing else _hashed(filed)
    return Outcome.UPDATED, _hashed(_changed(filed, entry, now))


def _changed(row: StoredEntry, entry: Entry, now: datetime) -> StoredEntry:
    """The row after its source changed the entry: the new text, the old ``published``.

    ``updated`` moves forward: to the entry's own time when it is later, else ``now``.
    """
    updated = entry.updated if entry.updated and entry.updated > row.updated else now
    return replace(
        row,
        title=entry.title,
        link=entry.link or row.link,
        published=row.published or entry.published,
        updated=max(updated, row.updated),
        authors=entry.authors or row.authors,
        summary=entry.summary or row.summary,
        content=entry.content or row.content,
        sections=entry.sections or row.sections,
        pdf_url=entry.pdf_url or row.pdf_url,
        doi=row.doi or entry.doi,
        language=entry.language or row.language,
        version=_max_version(row.version, entry.version),
        primary_category=entry.primary_category or row.primary_category,
        subjects=tuple(dict.fromkeys((*row.subjects, *entry.subjects))),
        journal_ref=entry.journal_ref or row.journal_ref,
        raw_title=entry.raw_title,
        raw_summary=entry.raw_summary if entry.summary else row.raw_summary,
        raw_authors=entry.raw_authors if entry.authors else row.raw_authors,
    )


def _replacement(row: StoredEntry, entry: Entry, now: datetime) -> StoredEntry:
    """The row after a new arXiv version: its title, abstract and version; same ``published``.

    ``updated`` is the replacement's own time when it gives one later than the row's,
    else ``now``: it always moves forward.
    """
    updated = entry.updated if entry.updated and entry.updated > row.updated else now
    return replace(
        row,
        title=entry.title,
        link=row.link or entry.link,
        published=row.published or entry.published,
        updated=max(updated, row.updated),
        authors=entry.authors or row.authors,
        summary=entry.summary or row.summary,
        raw_title=entry.raw_title,
        raw_summary=entry.raw_summary if entry.summary else row.raw_summary,
        raw_authors=entry.raw_authors if entry.authors else row.raw_authors,
        pdf_url=row.pdf_url or entry.pdf_url,
        doi=entry.doi or row.doi,
        version=entry.version,
        primary_category=entry.primary_category or row.primary_category,
        subjects=tuple(dict.fromkeys((*entry.subjects, *row.subjects))),
        journal_ref=entry.journal_ref or row.journal_ref,
    )


def _max_version(a: int | None, b: int | None) -> int | None:
    return max(a, b) if a is not None and b is not None else a if a is not None else b


def _fill_missing(row: StoredEntry, entry: Entry) -> StoredEntry:
    """The row with empty fields taken from another source's copy of the entry."""
    return replace(
        row,
        link=row.link or entry.link,
        published=row.published or entry.published,
        authors=row.authors or entry.authors,
        summary=row.summary or entry.summary,
        content=row.content or entry.content,
        sections=row.sections or entry.sections,
        pdf_url=row.pdf_url or entry.pdf_url,
        doi=row.doi or entry.doi,
        language=row.language or entry.language,
        version=_max_version(row.version, entry.version),
        primary_category=row.primary_category or entry.primary_category,
        subjects=tuple(dict.fromkeys((*row.subjects, *entry.subjects))),
        journal_ref=row.journal_ref or entry.journal_ref,
        raw_summary=row.raw_summary if row.summary else entry.raw_summary,
        raw_authors=row.raw_authors if row.authors else entry.raw_authors,
    )


def _names_read(row: StoredEntry, entry: Entry) -> StoredEntry:
    """The row with this delivery's names read as Unicode when it still holds them as
    delivered: stored before names were read. Their content hash, of the names as
    delivered, did not change: the paper is unchanged, only shown better."""
    if entry.raw_authors is None or row.raw_authors is not None:
        return row
    if row.authors != entry.raw_authors:
        return row
    return replace(row, authors=entry.authors, raw_authors=entry.raw_authors)
