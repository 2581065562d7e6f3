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

from .._storage.protocol import Storage
from .._storage.sqlite.dupes import DuplicateLink
from .._update.plan import Link, Linker, Plan, Probe
from ..config.settings import DedupSettings
from ..errors import LinkNotFoundError
from ..types import StoredEntry
from .minhash import MinHasher, hasher_for, similarity, text_shingles
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
    store: Storage,
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
        if not found.shingles.shape[0] and probe is not None:
            found = replace(found, shingles=text_shingles(entry_text(probe)))
        texts = store.entry_texts(grey)
        candidates = refine(found, candidates, texts)
    return choose_match(found, candidates, rules=rules, split_from=store.split_partners(found.key))


def linker(store: Storage, settings: DedupSettings) -> Linker:
    """The near-duplicate stage as ``Store.apply`` runs it on each plan it wrote."""
    return partial(link_plan, store, settings=settings)


def link_plan(store: Storage, plan: Plan, *, settings: DedupSettings) -> tuple[Link, ...]:
    """Store the features of a plan's new and updated rows; find and link the
    duplicates among its new entries.

    Call inside the transaction that applied ``plan`` (``Store.apply`` does), so that
    a crash leaves neither an entry without its link nor a link without its entry.
    """
    hasher = hasher_for(settings.num_perm, settings.bands)
    scheme = hasher.scheme.name
    rules = rules_of(settings)
    pending = _Pending(store, scheme)
    lookups = _Lookups(store, plan, hasher)
    links: list[Link] = []
    for index, probe in enumerate(plan.probes):
        found = lookups.features(index)
        match = None
        if probe.match:
            match = find_match(
                store,
                found,
                rules=rules,
                scheme=scheme,
                probe=probe.row,
                stored=lookups.candidates(index),
                pending=pending.candidates(found),
            )
        if match is None and probe.new and len(pending) < LOOKAHEAD:
            pending.add(found)
            continue
        # The store changes here: pending features written, this row's, a link.
        pending.write()
        lookups.forget()
        if match is None and probe.new:
            pending.add(found)
            continue
        store.save_features(found, scheme=scheme, new=probe.new)
        if match is not None:
            links.append(_link(store, probe, match, plan=plan, rules=rules))
    pending.write()
    # A source delivering an already linked duplicate again may file it under new
    # categories: the kept entry follows.
    for kept_key in dict.fromkeys(store.kept_keys(plan.refiled).values()):
        store.refresh_merged_categories(kept_key)
    return tuple(links)


def _link(store: Storage, probe: Probe, match: Match, *, plan: Plan, rules: Rules) -> Link:
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
    """The features of a plan's rows, and the stored candidates of its new entries,
    computed and looked up many at a time.

    A lookup covers the run of new entries from the one asked for (at most
    :data:`LOOKAHEAD`) and holds until the store changes: :meth:`forget` drops it when
    something is written besides the new entries' features (which :class:`_Pending`
    stands in for meanwhile).
    """

    def __init__(self, store: Storage, plan: Plan, hasher: MinHasher) -> None:
        self._store = store
        self._probes = plan.probes
        self._source = plan.source
        self._hasher = hasher
        self._features: dict[int, Features] = {}
        self._found: dict[int, list[Candidate]] = {}

    def features(self, index: int) -> Features:
        """The features of probe ``index`` (probes are asked for in order): computed
        ahead, else from its row."""
        if index not in self._features:
            # Those of earlier probes are done with.
            self._features = {i: f for i, f in self._features.items() if i > index}
            self._compute_run(index)
        return self._features[index]

    def _compute_run(self, index: int) -> None:
        """Compute the features of probe ``index`` and the run after it, keeping those
        computed already (a lookup after a write starts mid-run and reaches past it)."""
        for i in self._run(index) or [index]:
            if i not in self._features:
                self._features[i] = self._compute(i)

    def candidates(self, index: int) -> list[Candidate]:
        if index not in self._found:
            run = self._run(index)
            self._compute_run(index)
            answers = self._store.candidates_of(
                [self._features[i] for i in run], scheme=self._hasher.scheme.name
            )
            self._found = {i: answers[self._probes[i].row.key] for i in run}
        return self._found[index]

    def forget(self) -> None:
        self._found = {}

    def _run(self, index: int) -> list[int]:
        """Probe ``index`` and the new entries to match right after it."""
        run: list[int] = []
        for ahead in range(index, min(index + LOOKAHEAD, len(self._probes))):
            probe = self._probes[ahead]
            if not (probe.new and probe.match):
                break
            run.append(ahead)
        return run

    def _compute(self, index: int) -> Features:
        probe = self._probes[index]
        if probe.features is not None:
            return probe.features
        row = probe.row
        # Without the shingle set: find_match computes it for a borderline candidate.
        return features(
            row,
            key=row.key,
            source=self._source,
            first_seen=row.first_seen,
            hasher=self._hasher,
            keep_shingles=False,
        )


#: New entries whose features are computed, looked up and written together, at most.
LOOKAHEAD = 500


class _Pending:
    """New entries' features not written yet, and the candidates they would make.

    A new entry's features are written with its band and work keys, no duplicate link
    and its first-seen time to the second; :meth:`candidates` finds among them what
    ``store.candidates`` would find once they are written (by the same keys, indexed).
    """

    def __init__(self, store: Storage, scheme: str) -> None:
        self._store = store
        self._scheme = scheme
        self._features: list[Features] = []
        self._owners: dict[int | str, int | list[int]] = {}

    def __len__(self) -> int:
        return len(self._features)

    def add(self, found: Features) -> None:
        index = len(self._features)
        self._features.append(found)
        # Most keys have one owner: an int, a list only for the few shared ones.
        for part in _lookup_keys(found):
            owners = self._owners.get(part)
            if owners is None:
                self._owners[part] = index
            elif isinstance(owners, list):
                owners.append(index)
            elif owners != index:
                self._owners[part] = [owners, index]

    def candidates(self, found: Features) -> list[Candidate]:
        indexes: set[int] = set()
        for part in _lookup_keys(found):
            owners = self._owners.get(part)
            if isinstance(owners, int):
                indexes.add(owners)
            elif owners is not None:
                indexes.update(owners)
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
    store: Storage, settings: DedupSettings, *, now: datetime, everything: bool = False
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


def _index(store: Storage, row: StoredEntry, settings: DedupSettings) -> None:
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


def find_link(store: Storage, ident: str) -> DuplicateLink:
    """The link named by its number, or its duplicate's key, Atom id or link."""
    link = store.duplicate_link(ident.strip())
    if link is None:
        raise LinkNotFoundError(
            f"no duplicate link {ident!r}",
            hint="`aggregator dupes list` shows the links with their numbers",
        )
    return link


def split(store: Storage, ident: str, *, now: datetime, settings: DedupSettings) -> DuplicateLink:
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


def explain(store: Storage, ident: str, settings: DedupSettings) -> Explanation:
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
