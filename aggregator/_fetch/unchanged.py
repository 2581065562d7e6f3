"""Knowing, before parsing, that a source's document is the one already stored.

Owns the fingerprint of a fetched document: a hash of its bytes and of everything
else that shapes what parsing and filing it would store (the source's settings, the
Content-Type, the feed parser chosen, aggregator's version). When a source delivers a
document with the fingerprint recorded after it was last stored, every entry in it is
unchanged by construction, so the pipeline skips parsing, normalising and deciding.

Never does: I/O (the store keeps the fingerprints; the pipeline asks it).
"""

from __future__ import annotations

import hashlib

from .._common.version import __version__
from ..config.sources import Source


def fingerprint(source: Source, data: bytes, *, content_type: str | None, parser: str) -> str:
    """A hash that changes when the bytes or anything that reads them changes."""
    digest = hashlib.sha256()
    # repr of the frozen dataclass: every setting of the source, present and future.
    settings = repr((__version__, parser, content_type, source))
    digest.update(settings.encode("utf-8"))
    digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()
