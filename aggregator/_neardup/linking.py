"""The duplicate-linking stage: on each plan storage applied, before anything is published.

For every entry a plan stores that is new by its identity key, ask the store for
candidates by band and work keys (indexed lookups, no scan), decide
(``rules.choose_match``) and, on a match, link the duplicate to the kept entry
(``store.link_duplicate``). Every new or updated row's features (computed by the plan)
are stored. Also: splitting a wrong link, explaining a link, and indexing entries
stored before this stage existed.

New entries' features are written together (``store.save_new_features``), not one
by one: until then the entries of the same plan are matched in memory exactly as the
store would match them (:class:`_Pending`), and they are written before anything else
touches the tables involved (a link, an updated row's features).

Holds no SQL and formats nothing for people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from .._storage.sqlite import Store
from .._storage.sqlite.dupes import DuplicateLink
from .._update.plan import Link, Linker, Plan, Probe
from ..config.settings import DedupSettings
from ..errors import LinkNotFoundError
from ..types import StoredEntry
from .minhash import MinHasher, hasher_for, shingles, similarity
from .rules import (
    REASONS,
    Candidate,
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
    store: Store,
    found: Features,
    *,
    rules: Rules,
    scheme: str,
    probe: TextEntry | None = None,
    stored: Sequence[Candidate] | None = None,
    pending: Sequence[Candidate] = (),
) -> Match | None:
    """The stored entry ``found`` duplicates, if any: candidates by indexed lookups,
    exact similarity for those near the threshold, then the rules.

    ``probe`` is the entry ``found`` describes, to recompute its shingles near the
    threshold when ``found`` came without them. ``stored`` are its candidates when
    looked up already (see :class:`_Lookups`); ``pending`` those whose features are not
    written yet (see :class:`_Pending`).
    """
    if stored is None:
        stored = store.candidates(found, scheme=scheme)
    candidates = [*stored, *pending]
    if not candidates:
        return None
    grey = grey_keys(found, candidates, rules.threshold)
    if grey:
        if not found.shingle_set and probe is not None:
            found = replace(found, shingle_set=frozenset(shingles(entry_text(probe))))
        texts = store.entry_texts(grey)
        candidates = refine(found, candidates, texts)
    return choose_match(found, candidates, rules=rules, split_from=store.split_partners(found.key))


def linker(store: Store, settings: DedupSettings) -> Linker:
    """The near-duplicate stage as ``Store.apply`` runs it on each plan it wrote."""
    return partial(link_plan, store, settings=settings)


def link_plan(store: Store, plan: Plan, *, settings: DedupSettings) -> tuple[Link, ...]:
    """Store the features of a plan's new and updated rows; find and link the
    duplicates among its new entries.

    Call inside the transaction that applied ``plan`` (``Store.apply`` does), so that
    a crash leaves neither an entry without its link nor a link without its entry.
    """
    scheme = hasher_for(settings.num_perm, settings.bands).scheme.name
    rules = rules_of(settings)
    pending = _Pending(store, scheme)
    lookups = _Lookups(store, plan.probes, scheme)
    links: list[Link] = []
    for index, probe in enumerate(plan.probes):
        match = None
        if probe.match:
            match = find_match(
                store,
                probe.features,
                rules=rules,
                scheme=scheme,
                probe=probe.row,
                stored=lookups.candidates(index),
                pending=pending.candidates(probe.features),
            )
        if match is None and probe.new:
            pending.add(probe.features)
            continue
        # The store changes here: pending features, this row's, a link.
        pending.write()
        lookups.forget()
        store.save_features(probe.features, scheme=scheme, new=probe.new)
        if match is not None:
            links.append(_link(store, probe, match, plan=plan, rules=rules))
    pending.write()
    # A source delivering an already linked duplicate again may file it under new
    # categories: the kept entry follows.
    for kept_key in dict.fromkeys(store.kept_keys(plan.refiled).values()):
        store.refresh_merged_categories(kept_key)
    return tuple(links)


def _link(store: Store, probe: Probe, match: Match, *, plan: Plan, rules: Rules) -> Link:
    """Link the new row and its match: the earliest copy is kept, unless the new one's
    source ranks higher (``source_priority``)."""
    key = probe.row.key
    kept_sources = store.entry_source_names(match.key)
    newcomer_kept = newcomer_is_kept(plan.source, kept_sources, rules.source_priority)
    duplicate, kept = (match.key, key) if newcomer_kept else (key, match.key)
    store.link_duplicate(
        duplicate, kept_key=kept, reason=match.reason, similarity=match.similarity, now=plan.now
    )
    return Link(duplicate, kept, match.reason, match.similarity, newcomer_kept)


class _Lookups:
    """The stored candidates of a plan's new entries, looked up many at a time.

    A lookup holds until the store changes: it covers the run of new entries from the
    one asked for (at most :data:`LOOKAHEAD`), and :meth:`forget` drops it when
    something is written besides the new entries' features (which :class:`_Pending`
    stands in for meanwhile).
    """

    def __init__(self, store: Store, probes: Sequence[Probe], scheme: str) -> None:
        self._store = store
        self._probes = probes
        self._scheme = scheme
        self._found: dict[int, list[Candidate]] = {}

    def candidates(self, index: int) -> list[Candidate]:
        if index not in self._found:
            run: list[int] = []
            for ahead in range(index, min(index + LOOKAHEAD, len(self._probes))):
                probe = self._probes[ahead]
                if not (probe.new and probe.match):
                    break
                run.append(ahead)
            answers = self._store.candidates_of(
                [self._probes[i].features for i in run], scheme=self._scheme
            )
            self._found = {i: answers[self._probes[i].row.key] for i in run}
        return self._found[index]

    def forget(self) -> None:
        self._found = {}


#: New entries whose stored candidates are looked up together.
LOOKAHEAD = 500


class _Pending:
    """New entries' features not written yet, and the candidates they would make.

    A new entry's features are written with its band and work keys, no duplicate link
    and its first-seen time to the second; :meth:`candidates` finds among them what
    ``store.candidates`` would find once they are written (by the same keys, indexed).
    """

    def __init__(self, store: Store, scheme: str) -> None:
        self._store = store
        self._scheme = scheme
        self._features: list[Features] = []
        self._owners: dict[int | str, list[int]] = {}

    def add(self, found: Features) -> None:
        index = len(self._features)
        self._features.append(found)
        for part in dict.fromkeys(_lookup_keys(found)):
            self._owners.setdefault(part, []).append(index)

    def candidates(self, found: Features) -> list[Candidate]:
        indexes: set[int] = set()
        for part in _lookup_keys(found):
            indexes.update(self._owners.get(part, ()))
        return [
            Candidate(
                key=other.key,
                when=other.when.astimezone(UTC).replace(microsecond=0),
                signature=other.signature,
                work_keys=tuple(dict.fromkeys(other.work_keys)),
            )
            for other in (self._features[i] for i in sorted(indexes))
            if other.key != found.key
        ]

    def write(self) -> None:
        if self._features:
            self._store.save_new_features(self._features, scheme=self._scheme)
            self._features = []
            self._owners = {}


def _lookup_keys(found: Features) -> list[int | str]:
    """What candidates are found by: band keys and work keys."""
    return [*found.bands, *found.work_keys]


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
