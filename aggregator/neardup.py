"""Near-duplicate and same-work detection: text fingerprints and the match decision. Pure.

Owns what makes two entries "the same story" beyond their identity keys:

- **text**: an entry's title and body reduced to plain, NFKC-folded, lower-case text
  with URLs and boilerplate lines (share buttons, "source:", copyright) removed;
- **shingles**: overlapping runs of three tokens, where a token is a word in scripts
  that separate words by spaces and a single character in Chinese, Japanese and Korean,
  so that ``大模型的力量`` gives character 3-grams and English gives word 3-grams;
- **MinHash** signatures of the shingle sets (``num_perm`` multiply-shift hash
  functions ``(a*x + b mod 2**64) >> 32`` over the 32-bit CRC of each shingle, a
  2-universal family that needs no modulo) and their **LSH band keys**: the
  signature cut into ``bands`` bands, each hashed to one 64-bit integer. Two
  entries become candidates when any band key is equal; the share of equal
  signature values estimates their Jaccard similarity;
- **work keys**: exact keys for the same work under different metadata (arXiv ID from
  any of the entry's own links, DOI, normalised title plus first author's surname)
  and the same source re-issuing identical text under a new guid;
- **the decision**: which stored candidate, if any, a new entry duplicates, and which
  of the two is kept (:func:`choose_match`, :func:`newcomer_is_kept`).

Never touches the database or the network; ``store.dupes`` keeps the keys and
``duplicates`` (the stage) wires the two.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .normalize import arxiv_id, doi, html_to_text

#: Tokens per shingle: word 3-grams, or character 3-grams in CJK text.
SHINGLE_SIZE = 3
#: Below this many shingles a text is too short to judge by content alone.
MIN_SHINGLES = 12
#: Fewest title tokens and characters for a title + first author key (shorter titles,
#: such as "Annual report" or "年度报告", recur too often).
MIN_TITLE_TOKENS = 4
MIN_TITLE_CHARS = 12

_SHIFT = np.uint64(32)
#: Shingles hashed at once (128 x 4096 x 8 bytes = 4 MB at most).
_SLICE = 4096
#: Boilerplate and navigation are short lines; a paragraph is never dropped.
_MAX_CLUTTER_LINE = 160

Signature = npt.NDArray[np.uint32]

# Han, kana, hangul and the CJK compatibility blocks: one token per character.
_CJK = (
    "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff"
)
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+")
# Whole lines that wrap a republished article rather than belong to it.
_BOILERPLATE_RE = re.compile(
    r"^\W*(?:"
    r"share(?: this)?(?: on \w+)?|tweet|print|email|comments?|related(?: articles| posts)?"
    r"|read more|continue reading|click here.*|subscribe.*|advertisement|sponsored"
    r"|(?:photo|image|source|via|editor|author|originally published)\s*[:|].*"
    r"|copyright.*|©.*|all rights reserved.*"
    r"|(?:来源|原标题|责任编辑|编辑|作者|本文来源|转载|声明|版权所有|免责声明|点击|分享|收藏|"
    r"设为首页|加入收藏|当前位置|相关阅读|相关文章|延伸阅读|推荐阅读|上一篇|下一篇|"
    r"出典|関連記事|編集部|共有|ホーム)\s*[:：|丨>]?.*"
    r")\W*$",
    re.IGNORECASE,
)
# A navigation bar: three or more short items separated by | or •.
_NAV_RE = re.compile(r"^(?:[^|•\n]{1,16}[|•]){3,}[^|•\n]{0,16}$")
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


# -- text and shingles --------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """NFKC, lower case, no URLs or addresses, no boilerplate lines."""
    text = unicodedata.normalize("NFKC", text).lower()
    lines = [_URL_RE.sub(" ", line) for line in text.splitlines()]
    return "\n".join(line for line in lines if not _is_clutter(line.strip()))


def _is_clutter(line: str) -> bool:
    if len(line) > _MAX_CLUTTER_LINE:
        return False
    return bool(_BOILERPLATE_RE.match(line) or _NAV_RE.match(line))


def tokens(text: str) -> list[str]:
    """Words, and single characters of CJK scripts, of already normalised text."""
    return _TOKEN_RE.findall(text)


def shingles(text: str, size: int = SHINGLE_SIZE) -> set[str]:
    """The set of ``size``-token shingles of ``text`` (normalised here)."""
    found = tokens(normalize_text(text))
    if len(found) < size:
        return {" ".join(found)} if found else set()
    return {" ".join(found[i : i + size]) for i in range(len(found) - size + 1)}


def entry_text(entry: TextEntry) -> str:
    """Title and body of an entry as plain text: the full content, else the summary."""
    parts = [entry.title, html_to_text(entry.content or entry.summary)]
    parts.extend(f"{heading}\n{text}" for heading, text in entry.sections)
    return "\n".join(part for part in parts if part)


# -- MinHash and LSH ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scheme:
    """The MinHash parameters; signatures of different schemes cannot be compared."""

    num_perm: int = 128
    bands: int = 32
    seed: int = 1

    def __post_init__(self) -> None:
        if self.num_perm < 1 or self.bands < 1 or self.num_perm % self.bands:
            raise ValueError("num_perm must be a positive multiple of bands")

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands

    @property
    def name(self) -> str:
        """Stored beside each signature, e.g. ``minhash1:k3:128x32:s1``."""
        return f"minhash2:k{SHINGLE_SIZE}:{self.num_perm}x{self.bands}:s{self.seed}"


class MinHasher:
    """Signatures and band keys for one :class:`Scheme`."""

    def __init__(self, scheme: Scheme) -> None:
        self.scheme = scheme
        rng = np.random.default_rng(scheme.seed)
        top = np.iinfo(np.uint64).max
        # Multiply-shift hashing wraps modulo 2**64 on purpose; ``a`` must be odd.
        self._a = (
            rng.integers(0, top, scheme.num_perm, dtype=np.uint64, endpoint=True) | np.uint64(1)
        )[:, None]
        self._b = rng.integers(0, top, scheme.num_perm, dtype=np.uint64, endpoint=True)[:, None]
        # Band keys: a random odd multiplier per row of a band, a random offset per band.
        self._row_mult = rng.integers(0, top, scheme.rows, dtype=np.uint64, endpoint=True) | 1
        self._band_offset = rng.integers(0, top, scheme.bands, dtype=np.uint64, endpoint=True)

    def signature(self, items: Iterable[str]) -> Signature | None:
        """The MinHash of a shingle set; ``None`` for fewer than :data:`MIN_SHINGLES`."""
        values = [zlib.crc32(item.encode("utf-8")) for item in items]
        if len(values) < MIN_SHINGLES:
            return None
        hashed = np.array(values, dtype=np.uint64)
        minimum = np.full(self.scheme.num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
        # In slices, so that a very long page never needs a huge num_perm x n matrix.
        for start in range(0, hashed.shape[0], _SLICE):
            part = hashed[None, start : start + _SLICE]
            minimum = np.minimum(minimum, ((self._a * part + self._b) >> _SHIFT).min(axis=1))
        result: Signature = minimum.astype(np.uint32)
        return result

    def bands(self, signature: Signature) -> tuple[int, ...]:
        """One signed 64-bit key per band (the band's number is part of the key).

        Equal bands give equal keys; unequal bands collide with probability about
        2**-32, which only adds a candidate that the signature comparison rejects.
        """
        rows = signature.astype(np.uint64).reshape(self.scheme.bands, self.scheme.rows)
        keys = (rows * self._row_mult[None, :]).sum(axis=1, dtype=np.uint64) + self._band_offset
        return tuple(int(key) for key in keys.view(np.int64))

    @staticmethod
    def to_bytes(signature: Signature) -> bytes:
        return signature.astype("<u4").tobytes()

    @staticmethod
    def from_bytes(data: bytes) -> Signature:
        result: Signature = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        return result


def similarity(one: Signature | None, other: Signature | None) -> float | None:
    """Estimated Jaccard similarity of two signatures of one scheme; ``None`` if unknown."""
    if one is None or other is None or one.shape != other.shape:
        return None
    return float(np.count_nonzero(one == other)) / float(one.shape[0])


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
    if len(tokens(title)) < MIN_TITLE_TOKENS or len(title) < MIN_TITLE_CHARS or not author:
        return None
    digest = hashlib.sha256(f"{title}\x00{author}".encode()).hexdigest()[:24]
    return f"title:{digest}"


def same_text_key(entry: TextEntry, source: str) -> str:
    """``same:<hash>`` of the source, its normalised text and the published time.

    A feed that re-issues an entry under a new guid keeps these; a recurring post
    with the same words on another date does not.
    """
    text = " ".join(tokens(normalize_text(entry_text(entry))))
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
    #: The shingles themselves, to compute an exact similarity near the threshold
    #: (not stored).
    shingle_set: frozenset[str] = field(default=frozenset(), repr=False, compare=False)


def features(
    entry: TextEntry, *, key: str, source: str, first_seen: datetime, hasher: MinHasher
) -> Features:
    """Compute an entry's signature, band keys and work keys."""
    found = shingles(entry_text(entry))
    signature = hasher.signature(found)
    work = [f"arxiv:{value}" for value in sorted(arxiv_ids(entry))]
    work += [f"doi:{value}" for value in sorted(dois(entry))]
    title_key = title_author_key(entry)
    if title_key:
        work.append(title_key)
    work.append(same_text_key(entry, source))
    return Features(
        key=key,
        when=entry.published or first_seen,
        signature=signature,
        bands=hasher.bands(signature) if signature is not None else (),
        work_keys=tuple(work),
        shingle_count=len(found),
        shingle_set=frozenset(found),
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


def jaccard(one: frozenset[str] | set[str], other: frozenset[str] | set[str]) -> float:
    """The exact Jaccard similarity of two shingle sets."""
    union = len(one | other)
    return len(one & other) / union if union else 0.0


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
        if text is not None and probe.shingle_set:
            candidate = replace(candidate, exact=jaccard(probe.shingle_set, shingles(text)))
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
