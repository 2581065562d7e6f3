"""Text fingerprints: normalised text, shingles, MinHash signatures and LSH band keys. Pure.

Owns how a text becomes comparable:

- **text**: NFKC-folded, lower-case, with URLs and short boilerplate lines (share
  buttons, "source:", copyright, navigation bars) removed;
- **shingles**: overlapping runs of three tokens, where a token is a word in scripts
  that separate words by spaces and a single character in Chinese, Japanese and Korean,
  so that ``大模型的力量`` gives character 3-grams and English gives word 3-grams; a
  shingle is handled as a 64-bit hash that mixes the hashes of its tokens (each token
  hashed once per process), so that no string is built per shingle, and the exact
  similarity near the threshold compares the same hashes the signature is made of;
- **MinHash** signatures of the shingle sets (``num_perm`` multiply-shift hash
  functions ``(a*x + b mod 2**64) >> 32``, a 2-universal family that needs no modulo,
  computed by rensa's R-MinHash in compiled code) and their **LSH band keys**: the
  signature cut into ``bands`` bands, each hashed to one 64-bit integer. Two texts
  become candidates when any band key is equal; the share of equal signature values
  estimates their Jaccard similarity.

Knows nothing of entries, the database or the rules: ``neardup`` builds on it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import unicodedata
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import rensa

#: Tokens per shingle: word 3-grams, or character 3-grams in CJK text.
SHINGLE_SIZE = 3
#: Below this many shingles a text is too short to judge by content alone.
MIN_SHINGLES = 12

#: Boilerplate and navigation are short lines; a paragraph is never dropped.
_MAX_CLUTTER_LINE = 160

Signature = npt.NDArray[np.uint32]
#: The distinct shingles of a text as sorted 64-bit hashes (:func:`shingle_hashes`).
Shingles = npt.NDArray[np.uint64]

# Han, kana, hangul and the CJK compatibility blocks: one token per character.
_CJK = (
    "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff"
)
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
# The same tokens in the commonest cases, much faster: text without CJK characters,
# and ASCII text, where a token is a run of letters and digits.
_CJK_RE = re.compile(rf"[{_CJK}]")
_CJK_RUN_RE = re.compile(rf"([{_CJK}]+)")
_WORD_RE = re.compile(r"[^\W_]+")
_ASCII_SEPARATORS = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})
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
    # Each pattern needs its literal part: most texts have neither and skip the scan.
    if "@" in text:
        text = _URL_RE.sub(" ", text)
    elif "://" in text or "www." in text:
        text = _WEB_RE.sub(" ", text)
    lines = text.splitlines()
    return "\n".join(line for line in lines if not _is_clutter(line.strip()))


def _is_clutter(line: str) -> bool:
    if len(line) > _MAX_CLUTTER_LINE:
        return False
    return bool(_BOILERPLATE_RE.match(line) or _NAV_RE.match(line))


def tokens(text: str) -> list[str]:
    """Words, and single characters of CJK scripts, of already normalised text."""
    if text.isascii():
        return text.translate(_ASCII_SEPARATORS).split()
    if _CJK_RE.search(text) is None:
        return _WORD_RE.findall(text)
    # Between CJK runs, words as above (a word never spans a CJK character); in a run,
    # one token per character. Much faster than _TOKEN_RE over the whole text when the
    # text between the runs is ASCII (an English post quoting Chinese).
    found: list[str] = []
    for index, piece in enumerate(_CJK_RUN_RE.split(text)):
        if index % 2:
            found.extend(piece)
        elif piece.isascii():
            found.extend(piece.translate(_ASCII_SEPARATORS).split())
        else:
            found.extend(_WORD_RE.findall(piece))
    return found


def shingles(text: str, size: int = SHINGLE_SIZE) -> set[str]:
    """The set of ``size``-token shingles of ``text`` (normalised here), as strings."""
    return shingles_of(tokens(normalize_text(text)), size)


def shingles_of(found: list[str], size: int = SHINGLE_SIZE) -> set[str]:
    """The set of ``size``-token shingles of a text's :func:`tokens`: what
    :func:`shingle_hashes` hashes, one hash per string."""
    if len(found) < size:
        return {" ".join(found)} if found else set()
    return {" ".join(found[i : i + size]) for i in range(len(found) - size + 1)}


class _TokenHashes(dict[str, int]):
    """64-bit hashes of the tokens seen in this process (a vocabulary, so it stays
    small): ``map`` over its ``__getitem__`` hashes a list of tokens in C."""

    def __missing__(self, token: str) -> int:
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        value = self[token] = int.from_bytes(digest, "little")
        return value


_TOKEN_HASHES = _TokenHashes()
_MAX_CACHED_TOKENS = 1 << 20
#: Odd multipliers mixing the token hashes of a shingle, one per position.
_MIX = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93],
    dtype=np.uint64,
)


def shingle_hashes(words: list[str], size: int = SHINGLE_SIZE) -> Shingles:
    """Sorted distinct 64-bit hashes of the ``size``-token shingles of ``words``.

    The shingles are those of :func:`shingles_of`, one hash each, computed without
    building a string per shingle: each token's hash is looked up (a token is hashed
    once per process) and a shingle's hash mixes its tokens' hashes position by
    position, in numpy. A few whole-array operations per text: at a few hundred
    tokens each numpy call costs about as much as its arithmetic, which is why
    :func:`shingle_hashes_of_all` does them once for many texts.
    """
    return shingle_hashes_of_all([words], size)[0]


def shingle_hashes_of_all(texts: Sequence[list[str]], size: int = SHINGLE_SIZE) -> list[Shingles]:
    """:func:`shingle_hashes` of each of ``texts`` (each a list of tokens), the tokens
    looked up and the shingles mixed for all of them at once, then cut apart."""
    if size > len(_MIX):
        raise ValueError(f"shingles of at most {len(_MIX)} tokens")
    cache = _TOKEN_HASHES
    if len(cache) > _MAX_CACHED_TOKENS:
        cache.clear()
    counts = [len(words) for words in texts]
    total = sum(counts)
    ids = np.fromiter(
        map(cache.__getitem__, itertools.chain.from_iterable(texts)), dtype=np.uint64, count=total
    )
    # The shingle starting at each token, as if the texts were one: a text's own
    # shingles are those starting at its first len - size + 1 tokens.
    mixed = _mixed(ids, size)
    found = []
    start = 0
    for count in counts:
        if count >= size:
            found.append(_distinct(mixed[start : start + count - size + 1].copy()))
        elif count:  # fewer tokens than a shingle: one shingle of them all
            found.append(_mixed(ids[start : start + count], count))
        else:
            found.append(no_shingles())
        start += count
    return found


def _mixed(ids: npt.NDArray[np.uint64], size: int) -> npt.NDArray[np.uint64]:
    """The mixed hash of each run of ``size`` consecutive token hashes."""
    count = max(len(ids) - size + 1, 0)
    mixed: npt.NDArray[np.uint64] = ids[:count] * _MIX[0]
    for position in range(1, size):
        mixed ^= ids[position : position + count]
        mixed *= _MIX[position]
    return mixed


def no_shingles() -> Shingles:
    """The empty shingle set."""
    return np.zeros(0, dtype=np.uint64)


def text_shingles(text: str) -> Shingles:
    """:func:`shingle_hashes` of a text (normalised here)."""
    return shingle_hashes(tokens(normalize_text(text)))


def _distinct(values: npt.NDArray[np.uint64]) -> Shingles:
    # Sorting and comparing neighbours is several times faster than np.unique here.
    values.sort()
    if values.shape[0] < 2:
        return values
    keep = np.empty(values.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    result: Shingles = values[keep]
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
        """Stored beside each signature, e.g. ``minhash4:k3:128x32:s1:r2``.

        The last part is rensa's R-MinHash algorithm version: should a release of
        rensa compute other values, the stored signatures are recomputed
        (``linking.index_missing``) instead of being compared with new ones.
        """
        return (
            f"minhash4:k{SHINGLE_SIZE}:{self.num_perm}x{self.bands}:s{self.seed}"
            f":r{rensa.RMinHash.ALGORITHM_VERSION}"
        )


class MinHasher:
    """Signatures and band keys for one :class:`Scheme`."""

    def __init__(self, scheme: Scheme) -> None:
        self.scheme = scheme
        rng = np.random.default_rng(scheme.seed)
        top = np.iinfo(np.uint64).max
        # Band keys: a random odd multiplier per row of a band, a random offset per band.
        self._row_mult = rng.integers(0, top, scheme.rows, dtype=np.uint64, endpoint=True) | 1
        self._band_offset = rng.integers(0, top, scheme.bands, dtype=np.uint64, endpoint=True)

    def signature(self, items: Iterable[str]) -> Signature | None:
        """The MinHash of a set of strings (each hashed as a token is)."""
        values = [_TOKEN_HASHES[item] for item in items]
        return self.signature_of(_distinct(np.array(values, dtype=np.uint64)))

    def signature_of(self, hashed: Shingles) -> Signature | None:
        """The MinHash of distinct 64-bit hashes (:func:`shingle_hashes`); ``None`` for
        fewer than :data:`MIN_SHINGLES`."""
        count = hashed.shape[0]
        if count < MIN_SHINGLES:
            return None
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            hashed, (0, count), self.scheme.num_perm, self.scheme.seed
        )
        # Through array("I"): numpy converts a list of Python ints several times slower.
        result: Signature = np.frombuffer(array("I", matrix.to_rows()[0]), dtype=np.uint32)
        return result

    def signatures_of(self, hashed: Sequence[Shingles]) -> list[Signature | None]:
        """:meth:`signature_of` of each shingle set, in one call of the compiled code."""
        wanted = [index for index, one in enumerate(hashed) if one.shape[0] >= MIN_SHINGLES]
        found: list[Signature | None] = [None] * len(hashed)
        if not wanted:
            return found
        offsets = [0]
        for index in wanted:
            offsets.append(offsets[-1] + hashed[index].shape[0])
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            np.concatenate([hashed[index] for index in wanted]),
            tuple(offsets),
            self.scheme.num_perm,
            self.scheme.seed,
        )
        rows = matrix.to_rows()
        flat = np.frombuffer(array("I", itertools.chain.from_iterable(rows)), dtype=np.uint32)
        signatures = flat.reshape(len(wanted), self.scheme.num_perm)
        for row, index in enumerate(wanted):
            found[index] = signatures[row]
        return found

    def bands_of(self, signatures: Sequence[Signature | None]) -> list[tuple[int, ...]]:
        """:meth:`bands` of each signature (``()`` for none), in one product."""
        present = [signature for signature in signatures if signature is not None]
        if not present:
            return [() for _ in signatures]
        rows = np.stack(present).reshape(len(present), self.scheme.bands, self.scheme.rows)
        keys = rows.dot(self._row_mult)
        keys += self._band_offset
        each = iter(keys.view(np.int64).tolist())
        return [tuple(next(each)) if signature is not None else () for signature in signatures]

    def bands(self, signature: Signature) -> tuple[int, ...]:
        """One signed 64-bit key per band (the band's number is part of the key).

        Equal bands give equal keys; unequal bands collide with probability about
        2**-32, which only adds a candidate that the signature comparison rejects.
        """
        rows = signature.reshape(self.scheme.bands, self.scheme.rows)
        # The product of uint32 rows and uint64 multipliers is summed in uint64: it wraps.
        keys = rows.dot(self._row_mult)
        keys += self._band_offset
        return tuple(keys.view(np.int64).tolist())

    @staticmethod
    def to_bytes(signature: Signature) -> bytes:
        return signature.astype("<u4").tobytes()

    @staticmethod
    def from_bytes(data: bytes) -> Signature:
        result: Signature = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        return result


@functools.lru_cache(maxsize=4)
def hasher_for(num_perm: int, bands: int) -> MinHasher:
    """One hasher per scheme: its band multipliers are drawn once per process."""
    return MinHasher(Scheme(num_perm=num_perm, bands=bands))


def similarity(one: Signature | None, other: Signature | None) -> float | None:
    """Estimated Jaccard similarity of two signatures of one scheme; ``None`` if unknown."""
    if one is None or other is None or one.shape != other.shape:
        return None
    return float(np.count_nonzero(one == other)) / float(one.shape[0])


def jaccard(one: Shingles, other: Shingles) -> float:
    """The exact Jaccard similarity of two shingle sets (:func:`shingle_hashes`)."""
    common = np.intersect1d(one, other, assume_unique=True).shape[0]
    union = one.shape[0] + other.shape[0] - common
    return common / union if union else 0.0
