"""Parsers: one module per input format, bytes in, :class:`ParsedFeed` out.

Parsers never touch the network, the file system or the database. Each exposes
``parse(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed`` and
raises :class:`~aggregator.errors.ParseError` naming the source when the bytes are
not what the format expects.
"""

from __future__ import annotations

from ..types import ParsedFeed
from .common import ParseOptions, Parser, decode_text

__all__ = ["FEED_ENGINES", "ParseOptions", "Parser", "decode_text", "get_parser"]


#: Values of ``[fetch].parser``: the fast lxml path with feedparser as its fallback, or
#: feedparser alone (for comparison, or should the fast path ever misread a feed).
FEED_ENGINES = ("auto", "feedparser")


def get_parser(kind: str, engine: str = "auto") -> Parser:
    """The parse function for a source kind (see ``aggregator.config.sources.KINDS``).

    ``engine`` chooses how RSS and Atom are read (see :data:`FEED_ENGINES`); arXiv's
    documents have a reader of their own, which a ``feed`` source's document is handed
    to when its content says it is arXiv's (see :mod:`.arxiv.recognise`).
    """
    from . import markdown, markdown_digest, page
    from .arxiv import reader as arxiv

    if engine not in FEED_ENGINES:
        raise ValueError(f"unknown feed parser {engine!r}")
    parsers: dict[str, Parser] = {
        "feed": _feed_or_arxiv if engine == "auto" else _feedparser_or_arxiv,
        "arxiv": arxiv.read,
        "markdown-digest": markdown_digest.parse,
        "markdown": markdown.parse,
        "page": page.parse,
    }
    return parsers[kind]


def _feed_or_arxiv(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """A ``feed`` source's document: arXiv's by the arXiv reader, else the fast path."""
    from .fast_feed import parse

    return _arxiv_first(data, source=source, options=options, plain=parse)


def _feedparser_or_arxiv(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """A ``feed`` source's document: arXiv's by the arXiv reader, else feedparser."""
    from .feed import parse

    return _arxiv_first(data, source=source, options=options, plain=parse)


def _arxiv_first(data: bytes, *, source: str, options: ParseOptions, plain: Parser) -> ParsedFeed:
    # A paper must mean the same whichever kind of source brought it: arXiv's feed read
    # as a plain feed would keep the announce preamble, one author string, the run's day.
    from .arxiv import reader, recognise

    if recognise.document_kind(data) is not None:
        return reader.read(data, source=source, options=options)
    return plain(data, source=source, options=options)
