"""Parser for one article page, saved as HTML or as text (``kind = "page"``).

Owns finding the article inside a page full of site clutter and returning it as one
:class:`ParsedEntry`: title, publication time, authors, canonical link and the body as HTML,
without navigation, breadcrumbs, the meta line, prev/next links, related lists or footer.

HTML (a doctype, ``<html>``, ``<body>`` or ``<article>`` at the start, or an HTML
Content-Type) is read with lxml:

- title: ``og:title``, then the ``<h1>`` of the article, then ``<title>`` without a
  `` - Site`` / `` | Site`` suffix;
- time: ``article:published_time``, ``<time datetime>``, JSON-LD ``datePublished``, then a
  labelled date in the text (``发布时间:``, ``Published``, ...);
- authors: ``<meta name=author>``, JSON-LD ``author``, ``rel``/``itemprop`` author, then a
  ``作者:`` / ``By`` label;
- body: ``[itemprop=articleBody]``, else the largest ``<article>``, else ``<main>``, else the
  element holding the most paragraph text; inside it, ``nav``, ``header``, ``footer``,
  ``aside``, scripts, styles, forms and elements whose class or id names clutter
  (related, comment, share, nav, menu, footer, sidebar, breadcrumb, recommend, ...) are dropped.

Text (a page saved as text) is read line by line: the title is the last breadcrumb segment
(``当前位置:首页 >专报 >Title``) where it repeats as a line, else the line above the first
labelled date, else the first line that is not a menu bullet; the meta line just below the title
gives the time and the ``作者:`` authors (the site's poster, not a byline inside the article,
which stays in the body); the body runs from there to the first end marker (``上一篇``,
``相关文章``, ``Copyright``, ``Related posts``, ...), each block becoming an escaped ``<p>``,
and lines repeating the title (image stand-ins) dropped.

Times without an offset are read in ``options.timezone``; a date without a time is midnight UTC.
Does no I/O and does not sanitise the HTML it returns.
"""

from ..errors import ParseError
from ..types import ParsedFeed
from .common import ParseOptions, decode_text
from .page_html import _declared_charset, _is_html, _parse_html
from .page_text import _parse_text

# --- entry point -------------------------------------------------------------------------------


def parse(data: bytes, *, source: str, options: ParseOptions) -> ParsedFeed:
    """Parse one article page (HTML or saved text) into one entry.

    Raises ParseError when the page is empty, has no title line, or no article text is left
    once the site's clutter is removed.
    """
    text = decode_text(data, source=source, declared=_declared_charset(data, options))
    if not text.strip():
        raise ParseError("the page is empty", source=source, hint="check the saved file or the URL")
    if _is_html(text, options):
        return _parse_html(text, source=source, options=options)
    return _parse_text(text, source=source, options=options)
