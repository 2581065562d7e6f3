"""Who a reader is to the ranking (a profile) and where each entry stands for them.

Owns the profile value (keywords, followed authors, the liked papers found among the
stored entries, and the hash the score cache is keyed by) and the pure rules that
turn an entry, its cached score and the titles of the liked papers into a
:class:`~aggregator.types.Rank` with its reason. No I/O, no scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._common.matching import fold, matching_keywords, same_author
from .._update.normalize import html_to_text
from ..types import Rank, StoredEntry
from .likes import LikedRef

#: Fewest liked papers found among the stored entries for a model to be learned;
#: with fewer, the rest keeps its listing order.
MIN_LIKED = 3

#: The scoring method: a new one (other features, other learner) changes this, and
#: the cached scores of the old one are no longer read.
MODEL = "tfidf-linearsvc-1"

#: Tiers: followed authors first, then keyword matches, then the rest.
AUTHOR, KEYWORD, REST = 0, 1, 2

#: Cosine similarity to the nearest liked paper below which no "like:" reason is given.
MIN_SIMILARITY = 0.05


@dataclass(frozen=True)
class Profile:
    """One reader's interests, resolved against the store."""

    #: "default" or the subscriber's address (for messages).
    name: str
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    #: Keys of the liked papers found among the stored entries, sorted.
    liked: tuple[str, ...] = ()
    #: Liked papers not (yet) stored.
    missing: tuple[LikedRef, ...] = ()

    @property
    def learns(self) -> bool:
        """Whether there are enough liked papers to learn from."""
        return len(self.liked) >= MIN_LIKED

    @property
    def is_empty(self) -> bool:
        return not (self.keywords or self.authors or self.learns)

    @property
    def key(self) -> str:
        """The score cache's name for what the scores depend on: the liked papers."""
        data = json.dumps({"liked": self.liked, "model": MODEL}, sort_keys=True)
        return hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]

    @property
    def fingerprint(self) -> str:
        """Changes whenever an ordering by this profile may change."""
        data = json.dumps([self.keywords, self.authors, self.liked, MODEL])
        return hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]


def entry_text(entry: StoredEntry) -> str:
    """What keywords are searched in: title, abstract and structured sections."""
    parts = [entry.title, html_to_text(entry.summary) if entry.summary else ""]
    parts += [f"{heading} {text}" for heading, text in entry.sections]
    return fold("\n".join(parts))


def rank(
    entry: StoredEntry,
    profile: Profile,
    score: tuple[float, str | None] | None,
    liked_titles: Mapping[str, str],
) -> Rank:
    """Where ``entry`` stands for ``profile``: followed author, keyword, or its score.

    ``score`` is the entry's cached (score, nearest liked entry) for the profile, None
    when it has none (too few liked papers: listing order).
    """
    value = score[0] if score is not None else None
    for author in entry.authors if profile.authors else ():
        followed = next((f for f in profile.authors if same_author(f, author)), None)
        if followed is not None:
            return Rank(AUTHOR, value, f"by a followed author: {author}")
    if profile.keywords:
        found = matching_keywords(entry_text(entry), profile.keywords)
        if found:
            return Rank(KEYWORD, value, f"matches: {', '.join(found)}")
    if score is None:
        return Rank(REST)
    nearest = score[1]
    reason = ""
    if nearest is not None and nearest in liked_titles and entry.key not in liked_titles:
        reason = f"like: {liked_titles[nearest]}"
    if entry.key in liked_titles:
        reason = "you liked it"
    return Rank(REST, value, reason)


def ranks(
    entries: Sequence[StoredEntry],
    profile: Profile,
    scores: Mapping[str, tuple[float, str | None]],
    liked_titles: Mapping[str, str],
) -> dict[str, Rank]:
    """:func:`rank` of each entry, by key."""
    return {
        entry.key: rank(entry, profile, scores.get(entry.key), liked_titles) for entry in entries
    }


def ordered(entries: Sequence[StoredEntry], table: Mapping[str, Rank]) -> list[StoredEntry]:
    """``entries`` in rank order (tier, score, then their own order)."""
    positions = {entry.key: index for index, entry in enumerate(entries)}
    default = Rank(REST)
    return sorted(entries, key=lambda e: table.get(e.key, default).sort_key(positions[e.key]))
