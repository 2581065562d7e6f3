"""The duplicate-linking stage: after the identity decision, before anything is published.

For every entry a source delivers that is new by its identity key, compute its
near-duplicate features (``neardup``), ask the store for candidates by band and work
keys (indexed lookups, no scan), decide (``neardup.choose_match``) and, on a match,
link the duplicate to the kept entry (``store.link_duplicate``). Entries updated by
their source get fresh features. Also: splitting a wrong link, explaining a link,
and indexing entries stored before this stage existed.

Holds no SQL and formats nothing for people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .._storage.sqlite import Store
from .._storage.sqlite.dupes import DuplicateLink
from .._update.decide import Decision, Outcome
from ..config.settings import DedupSettings
from ..errors import LinkNotFoundError
from ..types import StoredEntry
from .minhash import MinHasher, hasher_for, shingles, similarity
from .rules import (
    REASONS,
    Features,
    Match,
    Rules,
    TextEntry,
    choose_match,
    entry_text,
    features,
    grey_keys,
    newcomer_is_kept,
    refine,
)


@dataclass(frozen=True)
class Linked:
    """One link made during ingest."""

    key: str
    kept_key: str
    reason: str
    similarity: float | None
    #: True when the newcomer was kept and the stored copy became the duplicate.
    newcomer_kept: bool = False


def rules_of(settings: DedupSettings) -> Rules:
    return Rules(
        threshold=settings.threshold,
        window=timedelta(days=settings.window_days),
        title_window=timedelta(days=settings.title_window_days),
        source_priority=settings.source_priority,
    )


def features_of(
    entry: TextEntry, *, key: str, source: str, first_seen: datetime, settings: DedupSettings
) -> Features:
    return features(
        entry,
        key=key,
        source=source,
        first_seen=first_seen,
        hasher=hasher_for(settings.num_perm, settings.bands),
    )


def find_match(
    store: Store, found: Features, *, rules: Rules, scheme: str, probe: TextEntry | None = None
) -> Match | None:
    """The stored entry ``found`` duplicates, if any: candidates by indexed lookups,
    exact similarity for those near the threshold, then the rules.

    ``probe`` is the entry ``found`` describes, to recompute its shingles near the
    threshold when ``found`` came without them (from a worker process).
    """
    candidates = store.candidates(found, scheme=scheme)
    if not candidates:
        return None
    grey = grey_keys(found, candidates, rules.threshold)
    if grey:
        if not found.shingle_set and probe is not None:
            found = replace(found, shingle_set=frozenset(shingles(entry_text(probe))))
        texts = store.entry_texts(grey)
        candidates = refine(found, candidates, texts)
    return choose_match(found, candidates, rules=rules, split_from=store.split_partners(found.key))


def link_new_entries(
    store: Store,
    decisions: Sequence[Decision],
    *,
    source: str,
    settings: DedupSettings,
    now: datetime,
    computed: Mapping[str, tuple[TextEntry, Features]] | None = None,
) -> list[Linked]:
    """Find and link the duplicates among one document's new entries.

    Call inside the transaction that applied ``decisions``, so that a crash leaves
    neither an entry without its link nor a link without its entry. ``computed``
    holds features already computed from the parsed entries (in a worker process),
    used where the stored row reads exactly as the entry they were computed from.
    """
    hasher = hasher_for(settings.num_perm, settings.bands)
    scheme = hasher.scheme.name
    rules = rules_of(settings)
    linked: list[Linked] = []
    for decision in decisions:
        if decision.outcome not in (Outcome.NEW, Outcome.UPDATED):
            continue
        row = decision.row
        found = _reusable(computed, row)
        if found is None:
            found = features_of(
                row, key=row.key, source=source, first_seen=row.first_seen, settings=settings
            )
        match = None
        if decision.outcome is Outcome.NEW and settings.enabled:
            match = find_match(store, found, rules=rules, scheme=scheme, probe=row)
        store.save_features(found, scheme=scheme, new=decision.outcome is Outcome.NEW)
        if match is None:
            continue
        if newcomer_is_kept(source, store.entry_source_names(match.key), rules.source_priority):
            store.link_duplicate(
                match.key,
                kept_key=row.key,
                reason=match.reason,
                similarity=match.similarity,
                now=now,
            )
            linked.append(Linked(match.key, row.key, match.reason, match.similarity, True))
        else:
            store.link_duplicate(
                row.key,
                kept_key=match.key,
                reason=match.reason,
                similarity=match.similarity,
                now=now,
            )
            linked.append(Linked(row.key, match.key, match.reason, match.similarity))
    # A source delivering an already linked duplicate again may file it under new
    # categories: the kept entry follows.
    delivered = [d.row.key for d in decisions if d.categories and d.outcome is not Outcome.NEW]
    for kept_key in set(store.kept_keys(delivered).values()):
        store.refresh_merged_categories(kept_key)
    return linked


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


def _reusable(
    computed: Mapping[str, tuple[TextEntry, Features]] | None, row: StoredEntry
) -> Features | None:
    """Features computed ahead for ``row``'s key, if the row still reads as their entry.

    A merge with the stored row (an update, an arXiv replacement) changes what the
    features must describe; then they are computed again from the row.
    """
    if not computed or row.key not in computed:
        return None
    entry, found = computed[row.key]
    if found.when != (row.published or row.first_seen) or _text_of(entry) != _text_of(row):
        return None
    return found


def index_missing(
    store: Store, settings: DedupSettings, *, now: datetime, everything: bool = False
) -> int:
    """Compute features for stored entries that lack them (or have another scheme's).

    By default only entries first seen within the window, the ones new arrivals can
    still be compared with; ``everything`` indexes all. Links nothing: entries
    already published stay as they are. Returns the number of entries indexed.
    """
    hasher = hasher_for(settings.num_perm, settings.bands)
    since = None if everything else now - timedelta(days=settings.window_days)
    keys = store.keys_needing_features(hasher.scheme.name, since=since)
    done = 0
    for start in range(0, len(keys), 500):
        rows = store.get_entries(keys[start : start + 500])
        with store.transaction():
            for row in rows.values():
                _index(store, row, settings)
                done += 1
    return done


def _index(store: Store, row: StoredEntry, settings: DedupSettings) -> None:
    """Compute and save a stored entry's features (its first source counts as its own)."""
    found = features_of(
        row,
        key=row.key,
        source=row.sources[0] if row.sources else "",
        first_seen=row.first_seen,
        settings=settings,
    )
    store.save_features(found, scheme=hasher_for(settings.num_perm, settings.bands).scheme.name)


# -- undo and explain ---------------------------------------------------------------------


def find_link(store: Store, ident: str) -> DuplicateLink:
    """The link named by its number, or its duplicate's key, Atom id or link."""
    link = store.duplicate_link(ident.strip())
    if link is None:
        raise LinkNotFoundError(
            f"no duplicate link {ident!r}",
            hint="`aggregator dupes list` shows the links with their numbers",
        )
    return link


def split(store: Store, ident: str, *, now: datetime, settings: DedupSettings) -> DuplicateLink:
    """Undo a link: the duplicate is published again, and the pair is never re-linked.

    A linked duplicate keeps no band keys (see ``store.link_duplicate``); the entry
    gets them back here, so that later arrivals are compared with it again.
    """
    link = find_link(store, ident)
    with store.transaction():
        store.split_duplicate(link.entry_key, now=now)
        row = store.get_entries([link.entry_key]).get(link.entry_key)
        if row is not None:
            _index(store, row, settings)
    return link


@dataclass(frozen=True)
class Explanation:
    link: DuplicateLink
    reason_text: str
    #: Similarity estimated now from the stored signatures (``None`` if either is missing).
    similarity_now: float | None
    shared_work_keys: tuple[str, ...]
    duplicate_sources: tuple[str, ...]
    kept_sources: tuple[str, ...]
    duplicate_when: str | None
    kept_when: str | None
    duplicate_link: str | None
    kept_link: str | None
    threshold: float
    window_days: int


def explain(store: Store, ident: str, settings: DedupSettings) -> Explanation:
    """Why an entry was linked: the rule, the similarity, what the two share."""
    link = find_link(store, ident)
    feats = store.stored_features([link.entry_key, link.kept_key])
    rows = store.get_entries([link.entry_key, link.kept_key])
    dup, kept = feats.get(link.entry_key), feats.get(link.kept_key)
    sim = None
    if dup and kept and dup.scheme == kept.scheme and dup.signature and kept.signature:
        sim = similarity(MinHasher.from_bytes(dup.signature), MinHasher.from_bytes(kept.signature))
    shared = tuple(sorted(set(dup.work_keys) & set(kept.work_keys))) if dup and kept else ()
    dup_row, kept_row = rows.get(link.entry_key), rows.get(link.kept_key)
    return Explanation(
        link=link,
        reason_text=REASONS.get(link.reason, link.reason),
        similarity_now=sim,
        shared_work_keys=shared,
        duplicate_sources=tuple(store.entry_source_names(link.entry_key)),
        kept_sources=tuple(store.entry_source_names(link.kept_key)),
        duplicate_when=dup.seen if dup else None,
        kept_when=kept.seen if kept else None,
        duplicate_link=dup_row.link if dup_row else None,
        kept_link=kept_row.link if kept_row else None,
        threshold=settings.threshold,
        window_days=settings.window_days,
    )
