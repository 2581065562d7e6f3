"""Our conventions for the values of RSS and Atom documents, for the fast path.

Owns the transformations the normalised entry promises between the XML and the
feed-shaped dictionaries :mod:`aggregator._sources.feed` turns into entries: stripping,
making links absolute, deciding that an RSS title "looks like HTML", undoing UTF-8 read
as Latin-1, mapping C1 controls to Windows-1252, reading dates, and the link, author
and category conventions. They are the conventions feedparser (the fallback) follows,
written out here so that both paths give the same normalised entry, which
``tests/test_parser_equivalence.py`` checks field by field; nothing here imports
feedparser (``tests/test_architecture.py`` allows only its public ``feedparser.parse``
and top-level names, used by :mod:`.feed`). The tables below are ours: when a later
feedparser changes its own, the equivalence test says so.

Where a convention is costly to repeat exactly (an HTML title with comments or unknown
entities, a date in a rare format), this raises :class:`Unsupported` and the document
goes to feedparser: the fast path reads a document exactly or not at all.
:mod:`aggregator._sources.fast_feed` walks the XML; this module parses nothing.

Never does: I/O.
"""

from __future__ import annotations

import codecs
import contextlib
import html
import re
import urllib.parse
from datetime import datetime, timedelta
from functools import lru_cache
from html.entities import entitydefs, html5, name2codepoint

from lxml import etree

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XML_MEDIA_TYPES = frozenset(
    {"application/xml", "application/rss+xml", "application/atom+xml", "application/rdf+xml"}
)
_PROLOG_RE = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")

#: Namespaces whose elements mean something to a feed reader (lower-cased URI: the
#: conventional prefix). RSS and Atom's own ('') and those whose elements the fast path
#: reads (content, dc, dcterms, prism, slash, wfw) are among them; an entry using any
#: other of them (media, itunes, georss, ...) is left to feedparser, which reads more
#: of them than we replicate. Elements of a namespace not listed change nothing we read.
KNOWN_NAMESPACES: dict[str, str] = {
    uri.lower(): prefix
    for prefix, uris in {
        "": (
            "",
            "http://backend.userland.com/rss",
            "http://blogs.law.harvard.edu/tech/rss",
            "http://purl.org/rss/1.0/",
            "http://my.netscape.com/rdf/simple/0.9/",
            "http://example.com/newformat#",
            "http://example.com/necho",
            "http://purl.org/echo/",
            "uri/of/echo/namespace#",
            "http://purl.org/pie/",
            "http://purl.org/atom/ns#",
            "http://www.w3.org/2005/Atom",
            "http://purl.org/rss/1.0/modules/rss091#",
        ),
        "admin": ("http://webns.net/mvcb/",),
        "ag": ("http://purl.org/rss/1.0/modules/aggregation/",),
        "annotate": ("http://purl.org/rss/1.0/modules/annotate/",),
        "audio": ("http://media.tangent.org/rss/1.0/",),
        "blogChannel": ("http://backend.userland.com/blogChannelModule",),
        "cc": ("http://creativecommons.org/ns#license", "http://web.resource.org/cc/"),
        "creativeCommons": (
            "http://cyber.law.harvard.edu/rss/creativeCommonsRssModule.html",
            "http://backend.userland.com/creativeCommonsRssModule",
        ),
        "co": ("http://purl.org/rss/1.0/modules/company",),
        "content": ("http://purl.org/rss/1.0/modules/content/",),
        "cp": ("http://my.theinfo.org/changed/1.0/rss/",),
        "dc": ("http://purl.org/dc/elements/1.1/",),
        "dcterms": ("http://purl.org/dc/terms/",),
        "email": ("http://purl.org/rss/1.0/modules/email/",),
        "ev": ("http://purl.org/rss/1.0/modules/event/",),
        "feedburner": ("http://rssnamespace.org/feedburner/ext/1.0",),
        "fm": ("http://freshmeat.net/rss/fm/",),
        "foaf": ("http://xmlns.com/foaf/0.1/",),
        "geo": ("http://www.w3.org/2003/01/geo/wgs84_pos#",),
        "georss": ("http://www.georss.org/georss",),
        "gml": ("http://www.opengis.net/gml",),
        "icbm": ("http://postneo.com/icbm/",),
        "image": ("http://purl.org/rss/1.0/modules/image/",),
        "itunes": (
            "http://www.itunes.com/DTDs/PodCast-1.0.dtd",
            "http://example.com/DTDs/PodCast-1.0.dtd",
        ),
        "l": ("http://purl.org/rss/1.0/modules/link/",),
        "media": ("http://search.yahoo.com/mrss", "http://search.yahoo.com/mrss/"),
        "pingback": ("http://madskills.com/public/xml/rss/module/pingback/",),
        "prism": ("http://prismstandard.org/namespaces/1.2/basic/",),
        "rdf": ("http://www.w3.org/1999/02/22-rdf-syntax-ns#",),
        "rdfs": ("http://www.w3.org/2000/01/rdf-schema#",),
        "ref": ("http://purl.org/rss/1.0/modules/reference/",),
        "reqv": ("http://purl.org/rss/1.0/modules/richequiv/",),
        "search": ("http://purl.org/rss/1.0/modules/search/",),
        "slash": ("http://purl.org/rss/1.0/modules/slash/",),
        "soap": ("http://schemas.xmlsoap.org/soap/envelope/",),
        "ss": ("http://purl.org/rss/1.0/modules/servicestatus/",),
        "str": ("http://hacks.benhammersley.com/rss/streaming/",),
        "sub": ("http://purl.org/rss/1.0/modules/subscription/",),
        "sy": ("http://purl.org/rss/1.0/modules/syndication/",),
        "szf": ("http://schemas.pocketsoap.com/rss/myDescModule/",),
        "taxo": ("http://purl.org/rss/1.0/modules/taxonomy/",),
        "thr": ("http://purl.org/rss/1.0/modules/threading/",),
        "ti": ("http://purl.org/rss/1.0/modules/textinput/",),
        "trackback": ("http://madskills.com/public/xml/rss/module/trackback/",),
        "wfw": ("http://wellformedweb.org/commentAPI/",),
        "wiki": ("http://purl.org/rss/1.0/modules/wiki/",),
        "xhtml": ("http://www.w3.org/1999/xhtml",),
        "xlink": ("http://www.w3.org/1999/xlink",),
        "xml": ("http://www.w3.org/XML/1998/namespace",),
        "psc": ("http://podlove.org/simple-chapters",),
    }.items()
    for uri in uris
}

#: Elements whose HTML has its relative URIs made absolute.
CAN_CONTAIN_RELATIVE_URIS = frozenset(
    {"content", "copyright", "description", "info", "rights", "subtitle", "summary"}
    | {"tagline", "title"}
)
#: The (element, attribute) pairs of HTML that hold a URI.
URI_ATTRIBUTES = frozenset(
    {
        ("a", "href"),
        ("applet", "codebase"),
        ("area", "href"),
        ("audio", "src"),
        ("blockquote", "cite"),
        ("body", "background"),
        ("del", "cite"),
        ("form", "action"),
        ("frame", "longdesc"),
        ("frame", "src"),
        ("iframe", "longdesc"),
        ("iframe", "src"),
        ("head", "profile"),
        ("img", "longdesc"),
        ("img", "src"),
        ("img", "usemap"),
        ("input", "src"),
        ("input", "usemap"),
        ("ins", "cite"),
        ("link", "href"),
        ("object", "classid"),
        ("object", "codebase"),
        ("object", "data"),
        ("object", "usemap"),
        ("q", "cite"),
        ("script", "src"),
        ("source", "src"),
        ("video", "poster"),
        ("video", "src"),
    }
)
#: Schemes a resolved URI may have; a URI that resolves to another scheme is left as
#: it was, for ``normalize.sanitize_html`` (which keeps only web links) to judge.
_SCHEME_WORDS = (
    "file ftp gopher h323 hdl http https imap magnet mailto mms news nntp prospero"
    " rsync rtsp rtspu sftp shttp sip sips snews svn svn+ssh telnet wais aim callto"
    " cvs facetime feed git gtalk irc ircs irc6 itms msnim skype ssh smb ymsg"
)
RESOLVABLE_SCHEMES = frozenset(_SCHEME_WORDS.split())
#: Tags a plain-text RSS value may hold and still be taken for HTML (``looks_like_html``).
_ELEMENT_WORDS = (
    "a abbr acronym address area article aside audio b big blockquote br button"
    " canvas caption center cite code col colgroup command datagrid datalist dd del"
    " details dfn dialog dir div dl dt em event-source fieldset figcaption figure font"
    " footer form h1 h2 h3 h4 h5 h6 header hr i img input ins kbd keygen label legend"
    " li m map menu meter multicol nav nextid noscript ol optgroup option output p pre"
    " progress q s samp section select small sound source spacer span strike strong"
    " sub sup table tbody td textarea tfoot th thead time tr tt u ul var video"
)
HTML_ELEMENTS = frozenset(_ELEMENT_WORDS.split())
#: C1 controls as the Windows-1252 characters they stand for in text that was really
#: Windows-1252 (Python's codec: the five code points it leaves undefined stay).
CP1252_C1 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_C1_RE = re.compile("[\x80-\x9f]")
_ATTRIBUTE = r"""[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?"""
_START_TAG_RE = re.compile(rf"<([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+{_ATTRIBUTE})+)\s*(/?)>")
_ATTRIBUTE_RE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


class Unsupported(Exception):
    """The document needs feedparser: the fast path could not promise the same result."""


def check_encoding(data: bytes, content_type: str | None) -> None:
    """Decline documents feedparser might decode differently from lxml.

    UTF-8 (declared or not, BOM or not) and, for ``text/xml`` without a charset, which
    RFC 3023 makes US-ASCII, a document that is ASCII.
    """
    head = data[:512]
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or b"\x00" in head[:4]:
        raise Unsupported("UTF-16/32")
    match = _PROLOG_RE.match(head)
    if match and match.group(1).lower() not in (b"utf-8", b"utf8"):
        raise Unsupported("encoding")
    if content_type:
        media, _, params = content_type.partition(";")
        media = media.strip().lower()
        charset = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
        if media == "text/xml" and not charset:
            if not data.isascii():
                raise Unsupported("text/xml without a charset is US-ASCII")
            return
        if media not in _XML_MEDIA_TYPES and media != "text/xml":
            raise Unsupported("content type")
        if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
            raise Unsupported("charset")


def finish_text(
    text: str, element: str, content_type: str | None, *, base: str, guess_html: bool
) -> tuple[str, str | None]:
    """A text-only element's value and its final type.

    Stripped; a link or id made absolute; HTML given its absolute URIs; UTF-8 that was
    read as Latin-1 repaired, and C1 controls read as Windows-1252. ``guess_html``:
    plain text that looks like HTML is HTML (RSS's convention, not Atom's).
    """
    output = text.strip()
    if element in ("link", "id") and output:
        output = urljoin(base, output)
    if guess_html and content_type == "text/plain" and looks_like_html(output):
        content_type = "text/html"
    if content_type in HTML_TYPES and element in CAN_CONTAIN_RELATIVE_URIS:
        if element == "title":
            if ("<" in output or "&" in output) and not is_plain_html(output):
                raise Unsupported("an HTML title with markup beyond tags and known entities")
            # A title ends as one line of text: its URIs never show, so they stay.
        elif "<" in output:
            output = resolve_uris(output, base)
    if not output.isascii():
        # The repair of UTF-8 read as Latin-1 (feedparser applies it whatever the
        # document's encoding, so we do too, to agree).
        with contextlib.suppress(UnicodeError):
            output = output.encode("iso-8859-1").decode("utf-8")
        if _C1_RE.search(output):
            output = output.translate(CP1252_C1)
    return output, content_type


_TAG_NAME_RE = re.compile(r"</?(\w+)")
_ENTITY_NAME_RE = re.compile(r"&(\w+);")
_CLOSE_OR_REFERENCE_RE = re.compile(r"</(\w+)>|&#?\w+;")


def looks_like_html(text: str) -> bool:
    """Whether plain text is HTML after all: it has a closing tag or a character
    reference, all its tags are among :data:`HTML_ELEMENTS` and all its entities are
    HTML's. Errs on the side of text: a false positive loses the text's markup."""
    if not _CLOSE_OR_REFERENCE_RE.search(text):
        return False
    if any(tag.lower() not in HTML_ELEMENTS for tag in _TAG_NAME_RE.findall(text)):
        return False
    return all(name in entitydefs for name in _ENTITY_NAME_RE.findall(text))


_REFERENCE = (
    r"&(?:#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;"
    r"|(?![A-Za-z#])|[A-Za-z][-.A-Za-z0-9]*+(?!;))"  # a bare "&", "&name" without ";"
)
_PLAIN_TAG = (
    r"</?[A-Za-z][A-Za-z0-9]*+(?:\s++[A-Za-z_:][-A-Za-z0-9_:.]*+"
    r"""(?:\s*+=\s*+(?:"[^"<>]*+"|'[^'<>]*+'|[^\s"'<>=`]++))?+)*+\s*+/?>"""
)
_PLAIN_HTML_RE = re.compile(rf"(?:[^<>&]++|{_REFERENCE}|{_PLAIN_TAG})*+")
_NAMED_REFERENCE_RE = re.compile(r"&([A-Za-z][A-Za-z0-9]*)(;?)")
#: Entities HTML 5 expands even without their ";" (``&copy`` is ©).
_BARE_ENTITIES = frozenset(name for name in html5 if not name.endswith(";"))


def is_plain_html(markup: str) -> bool:
    """Whether ``markup`` is only text, tags and references HTML 4 and SGML agree on.

    Such an HTML title gives the same text whichever way it is read. Comments,
    declarations, stray ``<`` or ``>``, entities HTML 4 does not define, and ``&name``
    without ``;`` where HTML 5 would still see an entity (``&copy=1``) are read
    differently by feedparser's SGML parser, so those titles go to it.
    """
    if not _PLAIN_HTML_RE.fullmatch(markup):
        return False
    for name, semicolon in _NAMED_REFERENCE_RE.findall(markup):
        if semicolon:
            if name not in name2codepoint and name != "apos":
                return False
        elif name in name2codepoint or any(
            name[:end] in _BARE_ENTITIES for end in range(2, len(name) + 1)
        ):
            return False
    return True


def scoped_base(base: str, xml_base: str) -> str:
    """The base URI inside an element with ``xml:base``: joined to the current base,
    and never a scheme outside :data:`RESOLVABLE_SCHEMES` (such an ``xml:base`` is
    ignored) once there is a base."""
    if base:
        return safe_absolute_uri(base, xml_base or base) or base
    return urljoin(base, xml_base)


def join_uri(base: str, uri: str) -> str:
    """A link's href, made absolute."""
    return urljoin(base, uri)


_EXTRA_SLASHES_RE = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
#: An absolute http(s) URL that ``urllib.parse.urljoin`` returns as it is (no empty
#: query or fragment to drop, no ``;params``, no user info or IPv6 host to check).
_PLAIN_ABSOLUTE_RE = re.compile(
    r"https?://[A-Za-z0-9._~-]+(?::[0-9]+)?(?:/[^\s?#;\[\]\\]*)?(?:\?[^\s#]+)?(?:#\S+)?"
)


#: A relative reference made of a path (rooted or not), a query and a fragment, which
#: joins by concatenation once it has no "." or ".." segment and no "//".
_PLAIN_RELATIVE_RE = re.compile(r"[^\s?#;:\\\[\]]+(?:\?[^\s#]+)?(?:#\S+)?")


def urljoin(base: str, uri: str) -> str:
    """``uri`` made absolute against ``base``; "" when it cannot be read.

    ``urllib.parse.urljoin``, after collapsing the extra slashes of ``http:///x``. The
    common cases are done without it, giving what it gives: an absolute web URL is
    returned as it is, and a plain path is appended to a plain base (both checked by
    ``test_urljoin_is_urllibs``).
    """
    if _PLAIN_ABSOLUTE_RE.fullmatch(uri):
        return uri
    other = _OTHER_SCHEME_RE.fullmatch(uri)
    if other and other.group(1).lower() not in _JOINED_SCHEMES and (not base or _plain_base(base)):
        return uri  # tag:, urn:, mailto: (an Atom id): not joined to anything
    if base and _PLAIN_RELATIVE_RE.fullmatch(uri) and (parts := _plain_base(base)):
        path = uri.partition("?")[0].partition("#")[0]
        if "//" not in path and not _has_dot_segment(path):
            origin, directory = parts
            return origin + uri if uri[0] == "/" else origin + directory + uri
    uri = _EXTRA_SLASHES_RE.sub(r"\1\3", uri)
    try:
        return urllib.parse.urljoin(base, uri)
    except ValueError:
        return ""


#: A URI with a scheme and no authority ("tag:example.org,2026:post-1"): when its
#: scheme is not one urllib joins (``uses_relative``), urljoin gives it back as it is.
_OTHER_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(?!//)\S*")
_JOINED_SCHEMES = frozenset(urllib.parse.uses_relative)


def _has_dot_segment(path: str) -> bool:
    return "." in path and any(segment in (".", "..") for segment in path.split("/"))


@lru_cache(maxsize=256)
def _plain_base(base: str) -> tuple[str, str] | None:
    """(scheme://host, the directory of its path) for a plain absolute web URL whose
    path needs no cleaning; None otherwise."""
    if not _PLAIN_ABSOLUTE_RE.fullmatch(base):
        return None
    split = urllib.parse.urlsplit(base)
    if "//" in split.path or _has_dot_segment(split.path):
        return None
    return f"{split.scheme}://{split.netloc}", split.path[: split.path.rfind("/") + 1] or "/"


def safe_absolute_uri(base: str, uri: str | None = None) -> str:
    """``uri`` made absolute against ``base``, or "" when the result's scheme is not in
    :data:`RESOLVABLE_SCHEMES` (``javascript:`` and the like)."""
    if not base:
        return uri or ""
    if not uri:
        try:
            scheme = urllib.parse.urlparse(base)[0]
        except ValueError:
            return ""
        return base if not scheme or scheme in RESOLVABLE_SCHEMES else ""
    if _PLAIN_ABSOLUTE_RE.fullmatch(uri):
        return uri
    joined = urljoin(base, uri)
    if joined.strip().split(":", 1)[0] not in RESOLVABLE_SCHEMES:
        return ""
    return joined


_W3CDTF_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_RFC822_RE = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(\d{1,2})\s+"
    rf"({'|'.join(_MONTHS)})[a-z]*\s+(\d{{4}})\s+(\d{{2}}):(\d{{2}})(?::(\d{{2}}))?\s+"
    r"([+-]\d{4}|gmt|utc?|z|[ecmp][sd]t)",
    re.IGNORECASE,
)
#: RFC 822's zone names, in hours east of UTC (the day name is not checked: nor do
#: other readers, and a wrong one is common).
_ZONES = {"gmt": 0, "ut": 0, "utc": 0, "z": 0, "edt": -4, "est": -5, "cdt": -5, "cst": -6}
_ZONES |= {"mdt": -6, "mst": -7, "pdt": -7, "pst": -8}

#: (year, month, day, hour, minute, second) in UTC.
TimeFields = tuple[int, int, int, int, int, int]


def parse_date(text: str) -> TimeFields | None:
    """A feed's date in UTC: W3CDTF (Atom, ``dc:date``) or RFC 822 (RSS ``pubDate``).

    A time without an offset is read as UTC (``feed._time`` reads it again in the
    configured zone); a fraction of a second is dropped; W3CDTF without a time is
    midnight. None for a text without digits (no date at all). Other forms (two-digit
    years, other zone names, other languages, invalid days) raise
    :class:`Unsupported`: feedparser knows more of them, and a date is worth the
    fallback. The standard library reads these forms
    too (``email.utils.parsedate_to_datetime``, ``datetime.fromisoformat``) but not
    quite as feeds use them (``-0000``, ``t``, offsets without a colon), so the two
    patterns say exactly what is read.
    """
    if not text:
        return None
    if match := _W3CDTF_RE.fullmatch(text):
        fields = [int(part or 0) for part in match.groups()[:6]]
        zone = match.group(7) or "z"
        offset = 0 if zone in "zZ" else int(zone[1:3]) * 60 + int(zone[4:6])
    elif match := _RFC822_RE.fullmatch(text):
        parts = match.groups()
        fields = [int(parts[2]), _MONTHS[parts[1][:3].lower()], int(parts[0])]
        fields += [int(parts[3]), int(parts[4]), int(parts[5] or 0)]
        zone = parts[6].lower()
        numeric = zone[0] in "+-"
        offset = int(zone[1:3]) * 60 + int(zone[3:5]) if numeric else _ZONES[zone] * 60
    elif not any(character.isdigit() for character in text):
        return None  # every form of date has a year: no reader can date this
    else:
        raise Unsupported(f"a date in a form the fast path does not read: {text[:40]!r}")
    if zone[0] == "-":
        offset = -offset
    try:
        year, month, day, hour, minute, second = fields
        moment = datetime(year, month, day, hour, minute, second) - timedelta(minutes=offset)
    except (ValueError, OverflowError) as err:
        raise Unsupported(f"an invalid date: {text[:40]!r}") from err
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"


def attributes(elem: etree._Element) -> dict[str, str]:
    """feedparser's view of the attributes: names lower-cased, rel and type values too."""
    found: dict[str, str] = {}
    for name, value in elem.attrib.items():
        key = str(name)
        if key == _XML_BASE:
            key = "xml:base"  # feedparser keeps it among the element's attributes
        elif key.startswith("{"):
            raise Unsupported(f"namespaced attribute {key}")
        key = key.lower()
        found[key] = str(value).lower() if key in ("rel", "type") else str(value)
    return found


def is_html(content_type: str) -> bool:
    return map_type(content_type) in HTML_TYPES


def map_type(value: str) -> str:
    value = value.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(value, value)


_EMAIL_RE = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"""
    r"""([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)


def author_from_text(author: str) -> dict[str, str]:
    """feedparser's ``_sync_author_detail`` for an author given as one string."""
    detail: dict[str, str] = {}
    email = None
    match = _EMAIL_RE.search(author)
    if match:
        email = match.group(0)
        author = author.replace(email, "").replace("()", "").replace("<>", "")
        author = author.replace("&lt;&gt;", "").strip()
        if author and author[0] == "(":
            author = author[1:]
        if author and author[-1] == ")":
            author = author[:-1]
        author = author.strip()
    if author:
        detail["name"] = author
    if email:
        detail["email"] = email
    return detail


def resolve_uris(markup: str, base: str) -> str:
    """What feedparser's ``resolve_relative_uris`` does to the attributes of HTML.

    feedparser re-serialises the whole fragment through its sgmllib processor, which
    costs more than parsing the XML. What survives ``normalize.sanitize_html`` of that is
    the attributes: their names lower-cased, duplicates collapsed (the last value wins),
    ``rel`` and ``type`` values lower-cased, sorted, and URIs made absolute against the
    document's location (an unsafe one is left for the sanitiser to drop). This does
    only that; the rest of feedparser's rewriting (``<br />``, lower-case tag names,
    escaping) is undone by the sanitiser, as the equivalence test checks.
    """

    def start_tag(match: re.Match[str]) -> str:
        tag = match.group(1).lower()
        found: dict[str, str] = {}
        for attribute in _ATTRIBUTE_RE.finditer(match.group(2)):
            name = attribute.group(1).lower()
            value = next((v for v in attribute.group(2, 3, 4) if v is not None), None)
            value = name if value is None else html.unescape(value)
            found[name] = value.lower() if name in ("rel", "type") else value
        parts = []
        for name, value in sorted(found.items()):
            if (tag, name) in URI_ATTRIBUTES:
                # an unsafe URI stays as it was, for the sanitiser to drop
                value = safe_absolute_uri(base, value.strip()) or value
            parts.append(f' {name}="{html.escape(value, quote=True)}"')
        return f"<{match.group(1)}{''.join(parts)}{match.group(3)}>"

    return _START_TAG_RE.sub(start_tag, markup)


def link_attributes(elem: etree._Element) -> dict[str, str]:
    """feedparser's ``_start_link`` defaults: rel alternate, an HTML or Atom type."""
    attrs = attributes(elem)
    attrs.setdefault("rel", "alternate")
    attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
    return enforce_href(attrs)


def enforce_href(attrs: dict[str, str]) -> dict[str, str]:
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


def add_tag(
    tags: list[dict[str, str | None]], term: str | None, scheme: str | None, label: str | None
) -> None:
    if not term and not scheme and not label:
        return
    value = {"term": term, "scheme": scheme, "label": label}
    if value not in tags:
        tags.append(value)
