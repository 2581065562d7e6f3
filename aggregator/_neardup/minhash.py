"""Text fingerprints: normalised text, shingles, MinHash signatures and LSH band keys. Pure.

Owns how a text becomes comparable:

- **text**: NFKC-folded, lower-case, with URLs and short boilerplate lines (share
  buttons, "source:", copyright, navigation bars) removed;
- **shingles**: overlapping runs of three tokens, where a token is a word in scripts
  that separate words by spaces and a single character in Chinese, Japanese and Korean,
  so that ``大模型的力量`` gives character 3-grams and English gives word 3-grams;
- **MinHash** signatures of the shingle sets (``num_perm`` multiply-shift hash
  functions ``(a*x + b mod 2**64) >> 32`` over a 32-bit hash of each shingle, a
  2-universal family that needs no modulo; a shingle's hash mixes the CRC-32 of its
  tokens, so no string is built per shingle) and their **LSH band keys**: the
  signature cut into ``bands`` bands, each hashed to one 64-bit integer. Two texts
  become candidates when any band key is equal; the share of equal signature values
  estimates their Jaccard similarity.

Knows nothing of entries, the database or the rules: ``neardup`` builds on it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Tokens per shingle: word 3-grams, or character 3-grams in CJK text.
SHINGLE_SIZE = 3
#: Below this many shingles a text is too short to judge by content alone.
MIN_SHINGLES = 12

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
_WEB_RE = re.compile(r"(?:https?://|www\.)\S+")
# Whole lines that wrap a republished article rather than belong to it.
_BOILERPLATE_RE = re.compile(
    r"^\W*(?:"
    r"share(?: this)?(?: on \w+)?|tweet|print|email|comments?|related(?: articles| posts)?"
    r"|read more\b.*|continue reading|click here\b.*|subscribe\b.*|advertisement|sponsored"
    r"|(?:photo|image|source|via|editor|author|originally published)\s*[:|].*"
    r"|copyright\s*(?:©|\(c\)|\d{4}).*|©.*|all rights reserved.*"
    # Labels followed by a separator ("来源：...", "作者 | ...", "当前位置:首页 > ...").
    r"|(?:来源|原标题|责任编辑|编辑|作者|本文来源|转载|声明|免责声明|出典|相关阅读|相关文章"
    r"|延伸阅读|推荐阅读|上一篇|下一篇|当前位置|分享到|共有)\s*[:：|丨>].*"
    # Site furniture that stands alone on its line.
    r"|(?:设为首页|加入收藏|版权所有|関連記事|編集部|ホーム).*"
    r")\W*$",
    re.IGNORECASE,
)
# A navigation bar: three or more short items separated by | or •.
_NAV_RE = re.compile(r"^(?:[^|•\n]{1,16}[|•]){3,}[^|•\n]{0,16}$")


# -- text and shingles --------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """NFKC, lower case, no URLs or addresses, no boilerplate lines."""
    text = unicodedata.normalize("NFKC", text).lower()
    # Without an "@" only the (cheap) URL half of the pattern can match.
    text = (_URL_RE if "@" in text else _WEB_RE).sub(" ", text)
    lines = text.splitlines()
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
    return shingles_of(tokens(normalize_text(text)), size)


def shingles_of(found: list[str], size: int = SHINGLE_SIZE) -> set[str]:
    """The set of ``size``-token shingles of a text's :func:`tokens`."""
    if len(found) < size:
        return {" ".join(found)} if found else set()
    return {" ".join(found[i : i + size]) for i in range(len(found) - size + 1)}


#: CRC-32 of tokens already seen in this process (a vocabulary, so it stays small).
_TOKEN_CRC: dict[str, int] = {}
_MAX_CACHED_TOKENS = 1 << 20
#: Odd multipliers mixing the token hashes of a shingle, one per position.
_MIX = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93],
    dtype=np.uint64,
)


def shingle_hashes(words: list[str], size: int = SHINGLE_SIZE) -> npt.NDArray[np.uint64]:
    """32-bit hashes (as ``uint64``) of the distinct ``size``-token shingles of ``words``.

    Each token is hashed once (CRC-32, cached) and a shingle's hash mixes its tokens'
    hashes position by position, in numpy: the same shingles as :func:`shingles_of`
    without building a string per shingle.
    """
    if size > len(_MIX):
        raise ValueError(f"shingles of at most {len(_MIX)} tokens")
    cache = _TOKEN_CRC
    if len(cache) > _MAX_CACHED_TOKENS:
        cache.clear()
    values = []
    for word in words:
        crc = cache.get(word)
        if crc is None:
            crc = cache[word] = zlib.crc32(word.encode("utf-8"))
        values.append(crc)
    ids = np.array(values, dtype=np.uint64)
    count = max(len(ids) - size + 1, 1 if len(ids) else 0)
    mixed = np.zeros(count, dtype=np.uint64)
    for position in range(min(size, len(ids))):
        mixed = (mixed ^ ids[position : position + count]) * _MIX[position]
    result: npt.NDArray[np.uint64] = np.unique(mixed >> _SHIFT)
    return result


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
        return f"minhash3:k{SHINGLE_SIZE}:{self.num_perm}x{self.bands}:s{self.seed}"


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
        """The MinHash of a set of strings (each hashed with CRC-32)."""
        values = [zlib.crc32(item.encode("utf-8")) for item in items]
        return self.signature_of(np.array(values, dtype=np.uint64))

    def signature_of(self, hashed: npt.NDArray[np.uint64]) -> Signature | None:
        """The MinHash of distinct 32-bit hashes (:func:`shingle_hashes`); ``None`` for
        fewer than :data:`MIN_SHINGLES`."""
        if hashed.shape[0] < MIN_SHINGLES:
            return None
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


@functools.lru_cache(maxsize=4)
def hasher_for(num_perm: int, bands: int) -> MinHasher:
    """One hasher per scheme: its permutations are drawn once per process."""
    return MinHasher(Scheme(num_perm=num_perm, bands=bands))


def similarity(one: Signature | None, other: Signature | None) -> float | None:
    """Estimated Jaccard similarity of two signatures of one scheme; ``None`` if unknown."""
    if one is None or other is None or one.shape != other.shape:
        return None
    return float(np.count_nonzero(one == other)) / float(one.shape[0])


def jaccard(one: frozenset[str] | set[str], other: frozenset[str] | set[str]) -> float:
    """The exact Jaccard similarity of two shingle sets."""
    union = len(one | other)
    return len(one & other) / union if union else 0.0
