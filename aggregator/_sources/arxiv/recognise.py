"""Recognising arXiv: by a URL, and by a document's content. Pure.

Owns the answers to "is this arXiv's?" asked before any reader is chosen:

- **By URL** (:func:`arxiv_url`): arXiv's RSS and Atom feeds (``rss.arxiv.org/rss/cs.CL``,
  ``/atom/...``, and the older ``export.arxiv.org/rss/...``), the export API
  (``export.arxiv.org/api/query?...``), the listing pages (``arxiv.org/list/<cat>/new``)
  and author feeds (``arxiv.org/a/<author-id>``, ``.atom``, ``.atom2``). ``sources add``
  and OPML import use it to choose ``kind = "arxiv"``.
- **By content** (:func:`document_kind`): a feed that declares the ``arxiv:`` namespace
  (``http://arxiv.org/schemas/atom``), carries guids ``oai:arXiv.org:...`` or abstracts
  starting "arXiv:... Announce Type:"; an export-API answer or author feed (Atom whose
  entries are ``http://arxiv.org/abs/...`` with arXiv's namespace, dated per paper); and a
  listing page (HTML with arXiv's "Showing new listings for ..." line). A ``feed`` source
  whose document is arXiv's is read by the arXiv reader (see :mod:`.reader`).
- **HTML or XML** (:func:`is_html`): a page saved from a browser starts with a comment
  (``<!-- saved from url=(0036)https://arxiv.org/list/cs.CL/new -->``) before its doctype;
  it is still HTML, and the URL it was saved from says what it lists (:func:`saved_from`).

Imports no reader (the readers import it). Never parses a whole document: it looks at its
first bytes only.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

ARXIV_NAMESPACE = b"http://arxiv.org/schemas/atom"

#: How much of a document is looked at: arXiv's markers are in the root element and the
#: first item, well within this.
_HEAD_BYTES = 65_536

_HOSTS = ("arxiv.org", "www.arxiv.org", "export.arxiv.org", "rss.arxiv.org", "lanl.arxiv.org")
_FEED_PATH_RE = re.compile(r"^/(?:rss|atom)/[^/]+/?$")
_LIST_PATH_RE = re.compile(r"^/list/[^/]+(?:/[^/]*)?/?$")
_AUTHOR_PATH_RE = re.compile(r"^/a/[A-Za-z0-9_.-]+$")
_API_PATH_RE = re.compile(r"^/api/query/?$")
_CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")
_QUERY_CATEGORY_RE = re.compile(r"\bcat:([a-z][a-z\-]*(?:\.[A-Za-z\-]+)?(?:\.\*)?)")

#: What opens a document before its first element: white space, a byte order mark,
#: comments, an XML declaration or processing instructions.
_PREAMBLE_RE = re.compile(rb"^(?:\s+|\xef\xbb\xbf|<!--.*?-->|<\?.*?\?>)*", re.S)
_SAVED_FROM_RE = re.compile(rb"<!--\s*saved from url=\(\d+\)\s*(\S+?)\s*-->", re.I)
_DATELINE_RE = re.compile(rb"(?:new|recent)\s+(?:listings?|submissions?)\s+for", re.I)
_ANNOUNCE_RE = re.compile(rb"arXiv:\S+\s+Announce Type:", re.I)
_ITEM_RE = re.compile(rb"<(?:\w+:)?(?:item|entry)[\s>]")
_ARXIV_HOST_RE = re.compile(rb"://(?:(?:rss|export|www)\.)?arxiv\.org/|on arXiv\.org", re.I)


def arxiv_url(url: str) -> str | None:
    """What arXiv URL ``url`` is ("feed", "api", "listing", "author"), or None.

    Only arXiv's own hosts count: a mirror or a proxy is configured as ``kind = "arxiv"``
    by hand (or recognised from its content when read as a feed).
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return None
    if (parts.hostname or "").lower() not in _HOSTS:
        return None
    path = unquote(parts.path)
    if _FEED_PATH_RE.match(path):
        return "feed"
    if _API_PATH_RE.match(path):
        return "api"
    if _LIST_PATH_RE.match(path):
        return "listing"
    if _AUTHOR_PATH_RE.match(path):
        return "author"
    return None


def is_category(name: str) -> bool:
    """Whether ``name`` is written as arXiv writes categories (cs.AI, hep-th, math)."""
    return bool(_CATEGORY_RE.match(name))


def query_categories(url: str | None) -> tuple[str, ...]:
    """The categories an export-API query asks for (``search_query=cat:cs.AI OR cat:cs.LG``).

    ``cat:math.*`` follows the archive ``math``. Empty for any other URL (an author feed,
    a search by title): its papers are then filed under their primary category.
    """
    if not url or "://" not in url:
        return ()
    query = parse_qs(urlsplit(url).query).get("search_query", [])
    found: list[str] = []
    for text in query:
        found.extend(c.removesuffix(".*") for c in _QUERY_CATEGORY_RE.findall(text))
    return tuple(dict.fromkeys(found))


def is_html(data: bytes) -> bool:
    """Whether ``data`` is an HTML page rather than XML, whatever comments precede it.

    A page saved from a browser starts with ``<!-- saved from url=... -->``; an XHTML
    page may start with an XML declaration: both are HTML when the first element is
    ``<html>`` or the doctype says ``html`` (an RSS or Atom document's never does).
    """
    head = data[:_HEAD_BYTES]
    start = _PREAMBLE_RE.match(head)
    rest = head[start.end() if start else 0 :].lower()
    if rest.startswith(b"<!doctype"):
        return rest[len(b"<!doctype") :].lstrip().startswith(b"html")
    return rest.startswith((b"<html", b"<head", b"<body"))


def saved_from(data: bytes) -> str | None:
    """The URL a browser saved the page from (its ``saved from url=`` comment), if any."""
    found = _SAVED_FROM_RE.search(data[:4096])
    if found is None:
        return None
    return found.group(1).decode("ascii", "replace")


def is_listing_page(data: bytes) -> bool:
    """Whether ``data`` is HTML that reads as arXiv's listing page (its dateline)."""
    return is_html(data) and bool(_DATELINE_RE.search(data[: _HEAD_BYTES * 4]))


def document_kind(data: bytes) -> str | None:
    """What arXiv document ``data`` is: "listing", "api" (an export-API answer or an
    author feed: papers dated one by one), "feed" (a day's listing as RSS or Atom), or
    None when it is not arXiv's.

    A feed is arXiv's when its own head (what comes before the first item) names
    arxiv.org and it carries arXiv's marks (the ``arxiv:`` namespace, ``oai:arXiv.org:``
    guids, the "Announce Type:" preamble), or when every item read carries an arXiv guid
    or preamble. The namespace alone is not enough: any feed may declare it for one
    paper among its posts, and such a feed stays a plain feed.
    """
    if is_html(data):
        return "listing" if is_listing_page(data) else None
    head = data[:_HEAD_BYTES]
    first = _ITEM_RE.search(head)
    # The namespace's own URI is at arxiv.org too: it says nothing of whose feed it is.
    channel = (head[: first.start()] if first else head).replace(ARXIV_NAMESPACE, b"")
    items = _ITEM_RE.split(head)[1:-1]  # those read to their end
    marked = b"oai:arXiv.org:" in head or bool(_ANNOUNCE_RE.search(head))
    if _ARXIV_HOST_RE.search(channel) and (marked or ARXIV_NAMESPACE in head):
        return "api" if is_api_answer(data) else "feed"
    if items and all(b"oai:arXiv.org:" in i or _ANNOUNCE_RE.search(i) for i in items):
        return "feed"
    return None


def is_api_answer(data: bytes) -> bool:
    """Whether ``data`` is Atom in the export API's shape: entries identified by
    ``http://arxiv.org/abs/<id>v<n>`` and dated per paper, no announce types."""
    head = data[:_HEAD_BYTES]
    if b"announce_type" in head or b"oai:arXiv.org:" in head:
        return False
    is_atom = b"http://www.w3.org/2005/Atom" in head
    return is_atom and bool(re.search(rb"<id>\s*https?://arxiv\.org/(?:abs|api)/", head))
