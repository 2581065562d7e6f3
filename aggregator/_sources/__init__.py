"""Parsers: one module per input format, bytes in, :class:`ParsedFeed` out.

Parsers never touch the network, the file system or the database. Each exposes
``parse(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed`` and
raises :class:`~aggregator.errors.ParseError` naming the source when the bytes are
not what the format expects.
"""

from __future__ import annotations

from .common import ParseOptions, Parser, decode_text

__all__ = ["FEED_ENGINES", "ParseOptions", "Parser", "decode_text", "get_parser"]


#: Values of ``[fetch].parser``: the fast lxml path with feedparser as its fallback, or
#: feedparser alone (for comparison, or should the fast path ever misread a feed).
FEED_ENGINES = ("auto", "feedparser")


def get_parser(kind: str, engine: str = "auto") -> Parser:
    """The parse function for a source kind (see ``aggregator.config.sources.KINDS``).

    ``engine`` chooses how RSS and Atom are read (see :data:`FEED_ENGINES`); arXiv's
    feeds have a reader of their own.
    """
    from . import fast_feed, feed, markdown, markdown_digest, page
    from .arxiv import feed as arxiv

    if engine not in FEED_ENGINES:
        raise ValueError(f"unknown feed parser {engine!r}")
    feed_parse = fast_feed.parse if engine == "auto" else feed.parse
    parsers: dict[str, Parser] = {
        "feed": feed_parse,
        "arxiv": arxiv.parse,
        "markdown-digest": markdown_digest.parse,
        "markdown": markdown.parse,
        "page": page.parse,
    }
    return parsers[kind]
