"""What every parser shares: the options it is given, and decoding a text document.

Pure; imports no parser, so that parsers and the registry in ``__init__`` never import
each other in a circle.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..errors import ParseError
from ..types import ParsedFeed


@dataclass(frozen=True)
class ParseOptions:
    """What a parser may know besides the bytes."""

    #: IANA time zone for times the document gives without an offset.
    timezone: str = "UTC"
    #: Where the document came from (a URL or a path), for relative links and messages.
    location: str | None = None
    #: The HTTP Content-Type header, if the bytes came over HTTP.
    content_type: str | None = None
    #: The categories the source follows (arXiv: the feed's query), if it says.
    categories: tuple[str, ...] = ()
    #: The run's clock reading: a publication date guessed from a page may not be later.
    now: datetime | None = None


Parser = Callable[..., ParsedFeed]


def decode_text(data: bytes, *, source: str, declared: str | None = None) -> str:
    """Decode a text document: a BOM wins, then ``declared``, then UTF-8.

    Raises ParseError, naming the byte offset, when the bytes are not valid in
    the encoding they claim, rather than guessing and storing mojibake.
    """
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            declared = name
            break
    encoding = declared or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ParseError(f"unknown text encoding {encoding!r}", source=source) from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise ParseError(
            f"not valid {encoding} text at byte {err.start}",
            source=source,
            hint=f"save the file as {encoding} or declare its real encoding",
        ) from err
