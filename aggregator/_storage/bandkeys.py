"""An entry's stored LSH band keys, made again from its stored signature.

The band-key tables (``lsh_bands``, ``lsh_bands_recent``) have one index each, their
primary key ``(band, sig_id)``, which finding candidates needs. Deleting an entry's
keys (its row updated, linked as a duplicate, pruned) does not need a second index by
``sig_id`` on tables written 32 rows per entry: the keys are made again from the
signature stored beside them (``MinHasher.bands``) and deleted through the primary key.
Both stores use this. Pure: no SQL, no I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from .._neardup.minhash import MinHasher, Scheme

#: The schemes whose band keys ``MinHasher.bands`` makes from the stored signature:
#: every scheme written since band keys are computed as now (``minhash4``). Migration
#: 23 dropped the keys of older schemes' signatures (no key made now can equal them).
#: A change to how band keys are computed takes a new scheme name, and keeps this true.
_RECOMPUTABLE = re.compile(r"minhash4:k\d+:(\d+)x(\d+):s(\d+)(?::r\d+)?")


@functools.lru_cache(maxsize=4)
def _hasher(num_perm: int, bands: int, seed: int) -> MinHasher | None:
    try:
        return MinHasher(Scheme(num_perm=num_perm, bands=bands, seed=seed))
    except ValueError:
        return None


def stored_band_keys(scheme: str, signature: bytes | None) -> tuple[int, ...] | None:
    """The band keys stored with ``signature`` of ``scheme``; ``None`` when they cannot
    be made again (another scheme's, or a damaged signature)."""
    if signature is None:
        return ()  # too short a text: stored without keys
    match = _RECOMPUTABLE.fullmatch(scheme)
    if match is None:
        return None
    num_perm, bands, seed = (int(part) for part in match.groups())
    hasher = _hasher(num_perm, bands, seed)
    if hasher is None or len(signature) != 4 * num_perm:
        return None
    return hasher.bands(MinHasher.from_bytes(signature))


def band_key_rows(
    signatures: Iterable[tuple[int, str, bytes | None]],
) -> tuple[list[tuple[int, int]], list[int]]:
    """For signature rows ``(id, scheme, signature)``: the ``(band, sig_id)`` rows to
    delete by primary key, and the ids whose keys cannot be made again (to delete by
    ``sig_id``, which scans the tables)."""
    rows: list[tuple[int, int]] = []
    unknown: list[int] = []
    for sig_id, scheme, signature in signatures:
        keys = stored_band_keys(scheme, None if signature is None else bytes(signature))
        if keys is None:
            unknown.append(int(sig_id))
        else:
            rows.extend((band, int(sig_id)) for band in keys)
    return rows, unknown
