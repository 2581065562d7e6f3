"""Near-duplicate and same-work detection: entry features and the match decision. Pure.

Owns what makes two entries "the same story" beyond their identity keys, on top of
the text fingerprints of ``minhash``:

- **features** of an entry: the MinHash signature and band keys of its title and
  body, and its **work keys**: exact keys for the same work under different metadata
  (arXiv ID from any of the entry's own links, DOI, normalised title plus first
  author's surname) and for the same source re-issuing identical text under a new guid;
- **the decision**: which stored candidate, if any, a new entry duplicates
  (:func:`choose_match`; estimates near the threshold are replaced by the exact
  similarity, :func:`refine`), and which of the two is kept (:func:`newcomer_is_kept`).

Never touches the database or the network; ``store.dupes`` keeps the keys and
``duplicates`` (the stage) wires the two.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from .._update.normalize import arxiv_id, doi, html_to_text
from .minhash import (
    MinHasher,
    Shingles,
    Signature,
    jaccard,
    no_shingles,
    normalize_text,
    shingle_hashes,
    shingle_hashes_of_all,
    similarity,
    text_shingles,
    tokens,
)

#: Fewest title tokens and characters for a title + first author key (shorter titles,
#: such as "Annual report" or "年度报告", recur too often).
MIN_TITLE_TOKENS = 4
MIN_TITLE_CHARS = 12

_TITLE_STRIP_RE = re.compile(r"[^\w]+")


class TextEntry(Protocol):
    """What near-duplicate detection reads of an entry (``Entry`` and ``StoredEntry``)."""

    @property
    def title(self) -> str: ...
    @property
    def link(self) -> str | None: ...
    @property
    def published(self) -> datetime | None: ...
    @property
    def authors(self) -> tuple[str, ...]: ...
    @property
    def summary(self) -> str | None: ...
    @property
    def content(self) -> str | None: ...
    @property
    def sections(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def pdf_url(self) -> str | None: ...
    @property
    def arxiv_id(self) -> str | None: ...
    @property
    def doi(self) -> str | None: ...


class KeyedEntry(TextEntry, Protocol):
    """An entry with its identity key (``Entry``)."""

    @property
    def key(self) -> str: ...


# -- text --------------------------------------------------------------------------------


def entry_text(entry: TextEntry) -> str:
    """Title and body of an entry as plain text: the full content, else the summary."""
    return compose_text(entry.title, entry.content, entry.summary, entry.sections)


def compose_text(
    title: str,
    content: str | None,
    summary: str | None,
    sections: Sequence[tuple[str, str]],
) -> str:
    """:func:`entry_text` from the fields themselves."""
    parts = [title, html_to_text(content or summary)]
    parts.extend(f"{heading}\n{text}" for heading, text in sections)
    return "\n".join(part for part in parts if part)


# -- work keys ----------------------------------------------------------------------------


def normalize_title(title: str) -> str:
    """A title for comparison: NFKC, lower case, punctuation and spacing removed."""
    folded = unicodedata.normalize("NFKC", title).lower()
    return " ".join(tokens(_TITLE_STRIP_RE.sub(" ", folded)))


def surname(author: str) -> str:
    """The family name of ``author`` folded for comparison ("Wang, N." and "N. Wang")."""
    name = unicodedata.normalize("NFKC", author).strip()
    if "," in name:
        name = name.split(",", 1)[0]
    elif " " in name.strip():
        name = name.split()[-1]
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(c for c in decomposed if c.isalnum())


def arxiv_ids(entry: TextEntry) -> set[str]:
    """arXiv IDs (no version) the entry itself points at: its ID, link or PDF link."""
    found = {entry.arxiv_id} if entry.arxiv_id else set()
    for url in (entry.link, entry.pdf_url):
        parsed = arxiv_id(url)
        if parsed:
            found.add(parsed[0])
    return found


def dois(entry: TextEntry) -> set[str]:
    """DOIs of the entry: its DOI field, or a doi.org link."""
    found = {entry.doi} if entry.doi else set()
    for url in (entry.link, entry.pdf_url):
        value = doi(url) if url and "doi.org/" in url.lower() else None
        if value:
            found.add(value)
    return found


def title_author_key(entry: TextEntry) -> str | None:
    """``title:<hash>`` of the normalised title and first author; ``None`` if too weak."""
    if not entry.authors:
        return None
    title = normalize_title(entry.title)
    author = surname(entry.authors[0])
    # The normalised title is its tokens joined by single spaces.
    if len(title.split(" ")) < MIN_TITLE_TOKENS or len(title) < MIN_TITLE_CHARS or not author:
        return None
    digest = hashlib.sha256(f"{title}\x00{author}".encode()).hexdigest()[:24]
    return f"title:{digest}"


def same_text_key(entry: TextEntry, source: str, words: list[str] | None = None) -> str:
    """``same:<hash>`` of the source, its normalised text and the published time.

    A feed that re-issues an entry under a new guid keeps these; a recurring post
    with the same words on another date does not. ``words`` are the entry's text
    tokens when the caller has them already.
    """
    if words is None:
        words = tokens(normalize_text(entry_text(entry)))
    text = " ".join(words)
    when = entry.published.isoformat() if entry.published else ""
    digest = hashlib.sha256(f"{source}\x00{when}\x00{text}".encode()).hexdigest()[:24]
    # Undated entries get their own kind: for them the time window applies.
    return f"same:{digest}" if when else f"sameu:{digest}"


# -- features and the decision ------------------------------------------------------------

#: Reasons, strongest first; stored with each link and shown by ``dupes explain``.
REASONS = {
    "arxiv": "same arXiv ID",
    "doi": "same DOI",
    "title": "same normalised title and first author",
    "same": "same text from the same source under a new guid",
    "near": "near-duplicate text",
}


@dataclass(frozen=True)
class Features:
    """What is stored per entry to find its duplicates later."""

    key: str
    #: When the story happened, for the window: published, else first seen.
    when: datetime
    signature: Signature | None
    bands: tuple[int, ...]
    #: Exact match keys: ``arxiv:...``, ``doi:...``, ``title:...``, ``same:...``.
    work_keys: tuple[str, ...]
    #: The shingle count, shown by ``dupes explain``.
    shingle_count: int = 0
    #: The shingles themselves (their hashes), to compute an exact similarity near the
    #: threshold (not stored).
    shingles: Shingles = field(default_factory=no_shingles, repr=False, compare=False)

    def __getstate__(self) -> tuple[object, ...]:
        """Pickled compactly, arrays as their bytes: the parsing workers send features
        by the thousand, and a numpy array's own pickling costs several times more.
        (State, not a reduce function: the job queue's restricted unpickler builds
        aggregator's data classes and nothing it would have to call.)"""
        signature = None if self.signature is None else self.signature.tobytes()
        fields = (self.key, self.when, signature, self.bands, self.work_keys)
        return (*fields, self.shingle_count, self.shingles.tobytes())

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        key, when, signature, bands, work_keys, shingle_count, shingles = state
        if signature is not None:
            signature = np.frombuffer(bytearray(signature), np.uint32)
        shingles = np.frombuffer(bytearray(shingles), np.uint64) if shingles else no_shingles()
        values = {
            "key": key,
            "when": when,
            "signature": signature,
            "bands": bands,
            "work_keys": work_keys,
            "shingle_count": shingle_count,
            "shingles": shingles,
        }
        for name, value in values.items():  # frozen: set as dataclasses' __init__ does
            object.__setattr__(self, name, value)


def features(
    entry: TextEntry,
    *,
    key: str,
    source: str,
    first_seen: datetime,
    hasher: MinHasher,
    keep_shingles: bool = True,
) -> Features:
    """Compute an entry's signature, band keys and work keys.

    ``keep_shingles=False`` leaves out the shingles, which only a borderline
    candidate needs (``linking.find_match`` recomputes them then) and which would
    only weigh on features sent between processes.
    """
    words = tokens(normalize_text(entry_text(entry)))
    hashed = shingle_hashes(words)
    signature = hasher.signature_of(hashed)
    bands = hasher.bands(signature) if signature is not None else ()
    kept = None if keep_shingles else no_shingles()
    return _features(entry, key, source, first_seen, words, hashed, signature, bands, kept)


def document_features(
    entries: Sequence[KeyedEntry], *, source: str, first_seen: datetime, hasher: MinHasher
) -> list[Features]:
    """:func:`features` of each of a document's entries, without their shingles (as
    ``keep_shingles=False``): the same values, with the shingles, signatures and band
    keys of all of them computed together (a numpy or compiled call costs about as
    much for one text as for the whole document)."""
    words = [tokens(normalize_text(entry_text(entry))) for entry in entries]
    hashed = shingle_hashes_of_all(words)
    signatures = hasher.signatures_of(hashed)
    bands = hasher.bands_of(signatures)
    empty = no_shingles()
    return [
        _features(entry, entry.key, source, first_seen, text, one, signature, keys, empty)
        for entry, text, one, signature, keys in zip(
            entries, words, hashed, signatures, bands, strict=True
        )
    ]


def _features(
    entry: TextEntry,
    key: str,
    source: str,
    first_seen: datetime,
    words: list[str],
    hashed: Shingles,
    signature: Signature | None,
    bands: tuple[int, ...],
    shingles: Shingles | None = None,
) -> Features:
    """The features of an entry whose tokens, shingles, signature and bands are known
    (``shingles``: what to keep of them, all by default)."""
    work = [f"arxiv:{value}" for value in sorted(arxiv_ids(entry))]
    work += [f"doi:{value}" for value in sorted(dois(entry))]
    title_key = title_author_key(entry)
    if title_key:
        work.append(title_key)
    work.append(same_text_key(entry, source, words))
    return Features(
        key=key,
        when=entry.published or first_seen,
        signature=signature,
        bands=bands,
        work_keys=tuple(work),
        shingle_count=int(hashed.shape[0]),
        shingles=hashed if shingles is None else shingles,
    )


@dataclass(frozen=True)
class Candidate:
    """A stored entry that shares a band or a work key with a new one."""

    key: str
    when: datetime
    signature: Signature | None
    work_keys: tuple[str, ...]
    #: The entry it is already linked to as a duplicate, if it is one.
    kept_key: str | None = None
    #: The exact Jaccard similarity with the probe, when :func:`refine` computed it.
    exact: float | None = None


@dataclass(frozen=True)
class Rules:
    """The tunable part of the decision (``[dedup]`` in the config)."""

    threshold: float = 0.5
    window: timedelta = timedelta(days=14)
    title_window: timedelta = timedelta(days=180)
    source_priority: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """The new entry duplicates ``key`` (a stored entry that is not itself a duplicate)."""

    key: str
    reason: str
    similarity: float | None
    #: The candidate that matched, when it is a duplicate of ``key``.
    via: str | None = None


@dataclass(frozen=True)
class _Scored:
    rank: int
    score: float
    candidate: Candidate
    reason: str
    similarity: float | None = field(default=None)


#: Work-key kinds, strongest first, and the reason each records (undated texts
#: from the same source, ``sameu``, only match within the window).
_EXACT_KINDS = (
    ("arxiv", "arxiv"),
    ("doi", "doi"),
    ("title", "title"),
    ("same", "same"),
    ("sameu", "same"),
)


def _prefix(key: str) -> str:
    return key.split(":", 1)[0]


def choose_match(
    probe: Features,
    candidates: Sequence[Candidate],
    *,
    rules: Rules,
    split_from: frozenset[str] = frozenset(),
) -> Match | None:
    """The stored entry ``probe`` duplicates, or ``None``.

    Exact work keys win over text similarity (arXiv ID, then DOI, then title and first
    author within ``title_window``, then the same text from the same source); otherwise
    the most similar candidate whose estimated Jaccard similarity reaches ``threshold``
    and whose time is within ``window``. Two entries with different arXiv IDs or DOIs
    are different works whatever their text. ``split_from`` holds keys a user split
    from this entry: they never match again.
    """
    own: dict[str, set[str]] = {}
    for work in probe.work_keys:
        own.setdefault(_prefix(work), set()).add(work)
    scored: list[_Scored] = []
    for candidate in candidates:
        if candidate.key == probe.key or candidate.key in split_from:
            continue
        if candidate.kept_key is not None and candidate.kept_key in split_from:
            continue
        theirs: dict[str, set[str]] = {}
        for work in candidate.work_keys:
            theirs.setdefault(_prefix(work), set()).add(work)
        if any(
            own.get(kind) and theirs.get(kind) and not own[kind] & theirs[kind]
            for kind in ("arxiv", "doi")
        ):
            continue  # different papers, however alike their abstracts
        sim = (
            candidate.exact
            if candidate.exact is not None
            else similarity(probe.signature, candidate.signature)
        )
        apart = abs(probe.when - candidate.when)
        for rank, (kind, reason) in enumerate(_EXACT_KINDS):
            if own.get(kind, set()) & theirs.get(kind, set()):
                if kind == "title" and apart > rules.title_window:
                    continue
                if kind == "sameu" and apart > rules.window:
                    continue
                scored.append(_Scored(rank, -(sim or 0.0), candidate, reason, sim))
                break
        else:
            if sim is not None and sim >= rules.threshold and apart <= rules.window:
                scored.append(_Scored(4, -sim, candidate, "near", sim))
    if not scored:
        return None
    best = min(scored, key=lambda s: (s.rank, s.score, s.candidate.when, s.candidate.key))
    candidate = best.candidate
    if candidate.kept_key is not None:
        return Match(candidate.kept_key, best.reason, best.similarity, via=candidate.key)
    return Match(candidate.key, best.reason, best.similarity)


#: Estimates this close to the threshold are checked against the exact similarity:
#: with 128 functions the estimate's standard deviation is up to 0.044.
GREY_ZONE = 0.12


def grey_keys(probe: Features, candidates: Sequence[Candidate], threshold: float) -> list[str]:
    """Candidates whose estimated similarity is too close to the threshold to trust."""
    found = []
    for candidate in candidates:
        estimate = similarity(probe.signature, candidate.signature)
        if estimate is not None and abs(estimate - threshold) < GREY_ZONE:
            found.append(candidate.key)
    return found


def refine(
    probe: Features, candidates: Sequence[Candidate], texts: dict[str, str]
) -> list[Candidate]:
    """Candidates with the exact similarity set for those whose text is in ``texts``.

    ``texts`` maps keys from :func:`grey_keys` to :func:`entry_text` of the stored
    entry. The exact value replaces the estimate in :func:`choose_match`, so that
    sampling noise decides no borderline case.
    """
    refined = []
    for candidate in candidates:
        text = texts.get(candidate.key)
        if text is not None and probe.shingles.shape[0]:
            candidate = replace(candidate, exact=jaccard(probe.shingles, text_shingles(text)))
        refined.append(candidate)
    return refined


def source_rank(source: str, priority: Sequence[str]) -> int:
    """Position of ``source`` in ``source_priority``; unlisted sources rank last."""
    return priority.index(source) if source in priority else len(priority)


def newcomer_is_kept(new_source: str, kept_sources: Sequence[str], priority: Sequence[str]) -> bool:
    """The kept-copy rule: the earliest copy is kept, unless the newcomer's source
    ranks above every source of the stored copy in ``source_priority``."""
    if not priority or not kept_sources:
        return False
    best = min(source_rank(s, priority) for s in kept_sources)
    return source_rank(new_source, priority) < best
