"""The fast feed parser and feedparser give the same entries, field by field.

Runs both paths over every file in ``seeds/`` and ``tests/data/`` (recursively) and over
feeds from the benchmark generator, with and without an HTTP location (relative links
are resolved against it) and in two time zones (times without an offset). A document
the fast path declines is read by feedparser through the same ``parse`` call, so for
those the test checks that the fallback really happened and gives feedparser's answer.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import pytest

from aggregator._sources import ParseOptions, fast_feed, feed, get_parser
from aggregator._sources import feed_conventions as conventions
from aggregator._sources.arxiv import reader
from aggregator._update.normalize import normalize, sanitize_html
from aggregator.errors import ParseError
from aggregator.types import ParsedEntry, ParsedFeed
from benchmarks import feeds as generator

ROOT = Path(__file__).parent.parent
CORPUS = sorted(
    path
    for folder in (ROOT / "seeds", ROOT / "tests" / "data")
    for path in folder.rglob("*")
    if path.is_file()
)
OPTIONS = [
    ParseOptions(),
    ParseOptions(
        timezone="Europe/Berlin",
        location="https://example.org/feeds/feed.xml",
        content_type="application/rss+xml; charset=utf-8",
    ),
    # RFC 3023: US-ASCII, whatever the document says; the fast path reads ASCII ones.
    ParseOptions(location="http://example.org/feed", content_type="text/xml"),
]

#: Fields the two paths may give differently, with the reason; they are compared after
#: ``sanitize_html``, i.e. as the store keeps and hashes them.
ACCEPTED_DIFFERENCES: dict[str, str] = {
    "summary": "feedparser re-serialises HTML through sgmllib (sorted attributes, <br />, "
    "lower-case names), which costs more than parsing the XML; the fast path only "
    "resolves URIs and sorts attributes, and the sanitiser makes both identical",
    "content": "as summary",
}

#: Files the fast path must read itself (so that this test cannot pass by falling back).
MUST_BE_FAST = {
    "lab-reading-list.rss",
    "ntt-rd-news.atom",
    "rss10.rdf",
    "rss20-content.xml",
    "rss20-edge.xml",
    "atom10-edge.xml",
    "rss10-edge.rdf",
    "html-edge.xml",
    "bom-utf8.xml",
    "ascii-charrefs.xml",
    "atom10-xml-base.xml",
}
#: Files that need feedparser, with the reason the fast path declines them.
MUST_FALL_BACK = {
    "atom03.xml": "Atom 0.3",
    "atom10-xhtml.xml": "XHTML content",
    "entities.xml": "HTML entities: not well-formed XML",
    "illformed.xml": "not well-formed XML",
    "gb18030.xml": "not UTF-8",
    "shift_jis.xml": "not UTF-8",
    "rss091.xml": "RSS 0.91 (and not UTF-8)",
    "truncated.xml": "cut off",
    "truncated-early.xml": "cut off",
    "page.html": "an HTML page",
}


def both(data: bytes, options: ParseOptions) -> tuple[ParsedFeed | str, ParsedFeed | str]:
    """(auto path, feedparser path): the feeds, or the ParseError messages."""
    results: list[ParsedFeed | str] = []
    for parse in (fast_feed.parse, feed.parse):
        try:
            results.append(parse(data, source="s", options=options))
        except ParseError as err:
            results.append(err.describe())
    return results[0], results[1]


def assert_same(name: str, fast: ParsedFeed | str, slow: ParsedFeed | str) -> None:
    if isinstance(fast, str) or isinstance(slow, str):
        assert fast == slow, name
        return
    assert (fast.title, fast.link, fast.warnings) == (slow.title, slow.link, slow.warnings), name
    assert len(fast.entries) == len(slow.entries), name
    for index, (mine, theirs) in enumerate(zip(fast.entries, slow.entries, strict=True)):
        for field in dataclasses.fields(mine):
            got, want = getattr(mine, field.name), getattr(theirs, field.name)
            if field.name in ACCEPTED_DIFFERENCES:
                got, want = sanitize_html(got), sanitize_html(want)
            assert got == want, f"{name} entry {index}: {field.name}"
        # What the store sees, content hash included: switching parsers changes nothing.
        assert normalize(mine, source="s", position=index) == normalize(
            theirs, source="s", position=index
        ), f"{name} entry {index}"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "http-berlin", "text-xml"])
def test_every_sample_reads_the_same(path: Path, options: ParseOptions) -> None:
    data = path.read_bytes()
    fast, slow = both(data, options)
    assert_same(path.name, fast, slow)
    try:
        fast_feed.parse_fast(data, options)
        took_fast_path = True
    except fast_feed.Unsupported:
        took_fast_path = False
    if path.name in MUST_BE_FAST and (data.isascii() or options.content_type != "text/xml"):
        assert took_fast_path, path.name
    if path.name in MUST_FALL_BACK:
        assert not took_fast_path, path.name


def test_the_lists_name_real_files() -> None:
    names = {path.name for path in CORPUS}
    assert names >= MUST_BE_FAST
    assert names >= set(MUST_FALL_BACK)
    fields = {field.name for field in dataclasses.fields(ParsedEntry)}
    assert set(ACCEPTED_DIFFERENCES) <= fields


@pytest.mark.parametrize("index", range(6))
def test_generated_benchmark_feeds_read_the_same(index: int) -> None:
    data = generator.feed_bytes(index, entries=40)
    options = ParseOptions(location=f"http://127.0.0.1:8000/feeds/{index}.xml")
    fast, slow = both(data, options)
    assert_same(f"generated-{index}", fast, slow)
    fast_feed.parse_fast(data, options)  # raises if the fast path declined it


def test_feedparser_can_be_forced() -> None:
    data = (ROOT / "tests" / "data" / "feeds" / "equivalence" / "atom10-edge.xml").read_bytes()
    options = ParseOptions()
    assert get_parser("feed")(data, source="s", options=options).reader == "lxml"
    assert get_parser("feed", "feedparser")(data, source="s", options=options).reader == (
        "feedparser"
    )
    # arXiv's documents have a reader of their own, whichever engine reads other feeds.
    assert get_parser("arxiv", "feedparser") is get_parser("arxiv") is reader.read
    with pytest.raises(ValueError, match="unknown feed parser"):
        get_parser("feed", "expat")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]><rss version="2.0"/>', "DOCTYPE"),
        (b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"/>', "encoding"),
        (b'<rss version="0.91"><channel/></rss>', "RSS other than 2.0"),
        (
            b'<rss version="2.0"><channel><item><media:title xmlns:media='
            b'"http://search.yahoo.com/mrss/">t</media:title></item></channel></rss>',
            "media",
        ),
        (
            # Below an empty base, feedparser's base outlives the element: not replicated.
            b'<rss version="2.0"><channel><item xml:base="/x"><title>t</title></item>'
            b"</channel></rss>",
            "xml:base deeper than",
        ),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://a.example/">'
            b'<entry><author><uri xml:base="/b/">u</uri></author></entry></feed>',
            "xml:base deeper than",
        ),
        (
            b'<rss version="2.0"><channel><item><source url="http://a/">A</source></item>'
            b"</channel></rss>",
            "entry element <source>",
        ),
    ],
)
def test_the_fast_path_declines_what_it_cannot_read_exactly(data: bytes, reason: str) -> None:
    with pytest.raises(fast_feed.Unsupported, match=reason):
        fast_feed.parse_fast(data, ParseOptions())


def test_a_doctype_after_a_long_preamble_is_still_declined() -> None:
    data = (
        b'<?xml version="1.0"?><!--' + b"x" * 10_000 + b'--><!DOCTYPE rss [<!ENTITY e "E">]>'
        b'<rss version="2.0"><channel><item><title>&e;</title></item></channel></rss>'
    )
    with pytest.raises(fast_feed.Unsupported, match="DOCTYPE"):
        fast_feed.parse_fast(data, ParseOptions())
    fast, slow = both(data, ParseOptions())
    assert_same("late-doctype", fast, slow)


def test_entities_are_never_expanded() -> None:
    # A "billion laughs" document: declined before lxml sees it, and feedparser (which
    # drops the DOCTYPE) reads it without expanding anything.
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<rss version="2.0"><channel><item><title>&b;</title>'
        b"<link>https://example.org/1</link></item></channel></rss>"
    )
    with pytest.raises(fast_feed.Unsupported):
        fast_feed.parse_fast(bomb, ParseOptions())
    fast, slow = both(bomb, ParseOptions())
    assert_same("bomb", fast, slow)


def _rss(item: str) -> bytes:
    channel = f"<channel><title>t</title><item>{item}</item></channel>"
    return f'<rss version="2.0">{channel}</rss>'.encode()


DATES_READ = [
    "Mon, 05 Jan 2026 10:00:00 GMT",
    "Mon, 5 Jan 2026 10:00 +0530",
    "Tuesday, 06 January 2026 23:59:59 -0800",
    "06 Jan 2026 10:00:00 EST",
    "Wed, 07 Jan 2026 01:02:03 pdt",
    "Wed, 07 Jan 2026 01:02:03 UT",
    "2026-01-05T10:00:00Z",
    "2026-01-05t10:00:00.999+09:00",
    "2026-01-05T10:00-05:30",
    "2026-01-05T10:00:00",
    "2026-01-05 10:00",
    "2026-01-05",
    "0001-01-01T00:30:00Z",
    "not a date at all",
    "",
]
DATES_DECLINED = [
    "Mon, 05 Jan 26 10:00:00 GMT",  # two-digit year
    "Mon, 05 Jan 2026 10:00:00 CET",  # a zone name RFC 822 does not define
    "2026-02-30T10:00:00Z",  # no such day
    "2026-01-05T24:00:00Z",
    "Mon, 05 Jan 2026 23:59:60 GMT",  # leap second
    "2026/01/05 10:00:00",
    "2026-01-05T10:00:00+0530",  # an offset without its colon
]


@pytest.mark.parametrize("text", DATES_READ + DATES_DECLINED)
@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_dates_read_the_same(text: str, timezone: str) -> None:
    data = _rss(f"<title>x</title><link>https://a.example/1</link><pubDate>{text}</pubDate>")
    options = ParseOptions(timezone=timezone)
    fast, slow = both(data, options)
    assert_same(text, fast, slow)
    if text in DATES_READ:
        fast_feed.parse_fast(data, options)  # raises if declined
    else:
        with pytest.raises(fast_feed.Unsupported, match="date"):
            fast_feed.parse_fast(data, options)


#: HTML titles: read by the fast path when they are plain tags and HTML 4 entities,
#: given to feedparser otherwise; the text is the same either way.
HTML_TITLES = [
    ("a <b>bold</b> &amp; &hellip; &#8212; &#x2013; &#150; &apos; 日本", True),
    ("Q&A &copy2 &id_list=1 & more", False),  # "&copy2": HTML 5 sees an entity, SGML not
    ("search_query=(cat:cs.AI)&id_list=&start=0", True),  # "&id" as text, either way
    ("<img src='/x.png' alt=\"a\"/><br/>x", True),
    ("&copy=1", False),
    ("&hellip-x", False),
    ("&NewLine;", False),  # not an HTML 4 entity
    ("a <!-- c --> b", False),
    ("x < y", False),
    ("&foo;", False),
]


@pytest.mark.parametrize(("title", "fast"), HTML_TITLES)
def test_html_titles_read_the_same(title: str, fast: bool) -> None:
    data = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title><entry><title type="html">'
        f"{html.escape(title)}</title><id>https://a.example/1</id></entry></feed>"
    ).encode()
    mine, theirs = both(data, ParseOptions())
    assert_same(title, mine, theirs)
    if fast:
        fast_feed.parse_fast(data, ParseOptions())
    else:
        with pytest.raises(fast_feed.Unsupported, match="HTML title"):
            fast_feed.parse_fast(data, ParseOptions())


@pytest.mark.parametrize(
    "uri",
    [
        "https://a.example/x?q=1#f",
        "http://a.example:8080/p/a/t/h",
        "HTTP://a.example/x",
        "https://a.example/x?",
        "https://a.example/x#",
        "https://a.example/x;p",
        "https://u@a.example/",
        "https://[::1]/",
        "http:///a.example/x",
        "../up",
        "//b.example/x",
        "javascript:alert(1)",
        "https://a.example/ x",
        "https://a.example/日本",
        "https://a.example/x?q=a?b#c#d",
        "/rooted/x.png?q=1#f",
        "/",
        "relative/x.png",
        "x",
        "./x",
        "a/../b",
        "a//b",
        "/a/./b",
        "..",
        ".hidden/x",
        "?q=1",
        "#f",
        "a:b",
        "a b",
        "日本/x",
        "tag:blog.example,2026:2026/01/post-1",
        "TAG:Blog.example,2026:x",
        "urn:uuid:6f3c5c1e-4b1d-5d8e-9a53-1c3a2b0f7e11",
        "mailto:someone@example.org",
        "tag:a b",
        "\ttag:x",
        "http:relative/x",
        "HTTPS:x",
        "ftp:x",
        "svn+ssh:x",
        "1tag:x",
        "tag://authority/x",
        "tag:[::1",
        "é:x",
    ],
)
def test_urljoin_is_urllibs(uri: str) -> None:
    import re
    import urllib.parse

    fixed = re.sub("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)", r"\1\3", uri)
    bases = ["", "https://base.example/a/b", "http://base.example/", "https://base.example"]
    bases += ["https://b.example/a//b/c", "https://b.example/a/../b/", "https://b.example/?q#f"]
    bases += ["https://b.example/d/.x", "HTTPS://b.example/d/", "ftp://b.example/d/"]
    bases += ["tag:b.example,2026:feed", "urn:x"]
    for base in bases:
        assert conventions.urljoin(base, uri) == urllib.parse.urljoin(base, fixed)


def test_our_tables_are_the_fallbacks() -> None:
    """The alarm for a feedparser upgrade: the conventions we wrote out are still
    feedparser's. (Tests may read its internals; the package may not.)"""
    from feedparser.html import _cp1252
    from feedparser.mixin import _FeedParserMixin
    from feedparser.sanitizer import _HTMLSanitizer
    from feedparser.urls import ACCEPTABLE_URI_SCHEMES, RelativeURIResolver

    namespaces = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
    assert namespaces == conventions.KNOWN_NAMESPACES
    assert _FeedParserMixin.can_contain_relative_uris == conventions.CAN_CONTAIN_RELATIVE_URIS
    assert RelativeURIResolver.relative_uris == conventions.URI_ATTRIBUTES
    assert set(ACCEPTABLE_URI_SCHEMES) == conventions.RESOLVABLE_SCHEMES
    assert _HTMLSanitizer.acceptable_elements == conventions.HTML_ELEMENTS
    assert _cp1252 == conventions.CP1252_C1
