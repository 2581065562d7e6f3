"""Ranking each reader's entries: profiles resolved against the store, scores cached.

Owns turning the configured interests into profiles (reading each ``like_file`` and
looking the liked papers up among the stored entries), computing the scores entries
lack for each profile that has enough liked papers (one vectoriser per ranker, one
model per profile), caching them in the store, and answering where each entry stands
for a reader. A rerun finds every score cached and fits nothing. A like file that
cannot be read, or a liked paper not stored, is reported, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._storage.protocol import Storage
from ..config.interests import Interests
from ..config.mail import Subscriber
from ..config.settings import Settings
from ..types import Rank, StoredEntry
from . import order
from .likes import LikedRef, read_like_file
from .model import Corpus, Fit, fit_linear_svm, score, text_of
from .order import MODEL, Profile

log = logging.getLogger(__name__)

#: Stored entries a model learns the liked papers against (a fixed sample).
NEGATIVES = 1500

DEFAULT = "default"


@dataclass
class RankingReport:
    """What ranking did in one run: models fitted, scores computed, what was missing."""

    fitted: int = 0
    scored: int = 0
    #: Profile name ("default" or an address) -> liked papers not stored.
    missing: dict[str, list[str]] = field(default_factory=dict)
    #: Like files that could not be read, records in them that name no paper.
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "fitted": self.fitted,
            "scored": self.scored,
            **({"liked_not_stored": self.missing} if self.missing else {}),
            **({"problems": self.problems} if self.problems else {}),
        }


class Ranker:
    """Ranks entries for the default profile and each subscriber (an :class:`Enricher`).

    ``fit`` fits one model (the seam tests count); ``compute`` False only reads cached
    scores (for commands that must not write): entries without one keep their
    listing order after the ranked ones.
    """

    def __init__(
        self,
        settings: Settings,
        store: Storage,
        *,
        fit: Fit = fit_linear_svm,
        compute: bool = True,
        read_text: Callable[[Path], str] = lambda path: path.read_text(encoding="utf-8-sig"),
    ) -> None:
        self.settings = settings
        self.store = store
        self.fit = fit
        self.compute = compute
        self.read_text = read_text
        self.report = RankingReport()
        self._profiles: dict[str, Profile] | None = None
        self._titles: dict[str, str] = {}
        self._corpus: Corpus | None = None
        self._negatives: list[str] | None = None

    # -- profiles

    def profile_for(self, subscriber: Subscriber | None) -> Profile:
        """The profile of ``subscriber`` (None: the default profile)."""
        profiles = self._all_profiles()
        if subscriber is None or subscriber.interests is None:
            return profiles[DEFAULT]
        return profiles[subscriber.email]

    @property
    def active(self) -> bool:
        """Whether any profile orders anything (else digests keep listing order)."""
        return any(not p.is_empty for p in self._all_profiles().values())

    def _all_profiles(self) -> dict[str, Profile]:
        if self._profiles is None:
            self._profiles = {DEFAULT: self._resolve(DEFAULT, self.settings.interests)}
            for subscriber in self.settings.subscribers:
                if subscriber.interests is not None:
                    self._profiles[subscriber.email] = self._resolve(
                        subscriber.email, subscriber.interests
                    )
            liked = {key for p in self._profiles.values() for key in p.liked}
            texts = self.store.ranking_texts(sorted(liked))
            self._titles = {key: " ".join(title.split()) for key, (title, _) in texts.items()}
        return self._profiles

    def _resolve(self, name: str, interests: Interests) -> Profile:
        refs = list(interests.like)
        if interests.like_file is not None:
            refs += self._read_like_file(interests)
        refs = list(dict.fromkeys(refs))
        found = self.store.liked_keys([(ref.kind, ref.value) for ref in refs])
        missing = tuple(ref for ref in refs if (ref.kind, ref.value) not in found)
        if missing:
            self.report.missing[name] = [_describe(ref) for ref in missing]
        return Profile(
            name=name,
            keywords=interests.keywords,
            authors=interests.authors,
            liked=tuple(sorted(set(found.values()))),
            missing=missing,
        )

    def _read_like_file(self, interests: Interests) -> list[LikedRef]:
        path = interests.like_file
        assert path is not None
        key = f"{interests.where}.like_file"
        try:
            text = self.read_text(path)
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            self.report.problems.append(f"{key}: cannot read {path}: {reason}")
            return []
        found = read_like_file(text)
        if found.unusable:
            shown = ", ".join(found.unusable[:5])
            more = f" and {len(found.unusable) - 5} more" if len(found.unusable) > 5 else ""
            self.report.problems.append(f"{key}: {path}: no arXiv ID, DOI or URL in {shown}{more}")
        return list(found.refs)

    # -- scores

    def enrich(self, entries: Sequence[StoredEntry], store: Storage) -> Sequence[str]:
        """Compute and cache the scores of ``entries`` for every learning profile (in
        the store it was made with; what it did is the run's ``ranking`` report)."""
        self.scores([entry.key for entry in entries])
        return ()

    def scores(self, keys: Sequence[str], profiles: Sequence[Profile] | None = None) -> None:
        """Make sure each learning profile (of ``profiles``, default all) has a cached
        score for each of ``keys``; what is computed is saved in one transaction."""
        keys = list(dict.fromkeys(keys))
        if not keys or not self.compute:
            return
        chosen = self._all_profiles().values() if profiles is None else profiles
        learning = {p.key: p for p in chosen if p.learns}
        rows: list[tuple[str, str, float, str | None]] = []
        for profile in learning.values():
            cached = self.store.entry_scores(keys, profile=profile.key, model=MODEL)
            lacking = [key for key in keys if key not in cached]
            if not lacking:
                continue
            corpus = self._corpus_with(lacking, profile.liked)
            found = score(
                corpus,
                liked=list(profile.liked),
                negatives=[key for key in self._sample() if key in corpus.rows],
                candidates=[key for key in lacking if key in corpus.rows],
                fit=self.fit,
            )
            self.report.fitted += 1
            self.report.scored += len(found)
            rows += [(profile.key, key, value, near) for key, (value, near) in found.items()]
        self.store.save_entry_scores(rows, model=MODEL)

    def _sample(self) -> list[str]:
        if self._negatives is None:
            self._negatives = sorted(self.store.ranking_sample(NEGATIVES))
        return self._negatives

    def _corpus_with(self, keys: Sequence[str], liked: Sequence[str]) -> Corpus:
        if self._corpus is None:
            all_liked = {k for p in self._all_profiles().values() for k in p.liked}
            wanted = {*self._sample(), *all_liked, *keys}
            texts = self.store.ranking_texts(sorted(wanted))
            self._corpus = Corpus.build({k: text_of(*v) for k, v in texts.items()})
        missing = [key for key in [*keys, *liked] if key not in self._corpus.rows]
        if missing:
            texts = self.store.ranking_texts(missing)
            self._corpus.add({k: text_of(*v) for k, v in texts.items()})
        return self._corpus

    # -- ranks

    def ranks(self, entries: Sequence[StoredEntry], profile: Profile) -> dict[str, Rank]:
        """Where each of ``entries`` stands for ``profile`` (scores computed if lacking)."""
        if profile.is_empty:
            return {}
        keys = [entry.key for entry in entries]
        cached: dict[str, tuple[float, str | None]] = {}
        if profile.learns:
            cached = self.store.entry_scores(keys, profile=profile.key, model=MODEL)
            if len(cached) < len(set(keys)) and self.compute:
                self.scores(keys, [profile])
                cached = self.store.entry_scores(keys, profile=profile.key, model=MODEL)
        titles = {key: self._titles.get(key, key) for key in profile.liked}
        return order.ranks(entries, profile, cached, titles)


def _describe(ref: LikedRef) -> str:
    return f"{ref} ({ref.title[:60]})" if ref.title else str(ref)
