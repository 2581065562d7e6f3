"""The Atom checker itself: it passes valid documents and, above all, can fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from atomcheck import validate_atom

TESTS = Path(__file__).parent

VALID = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Example feed</title>
  <link rel="self" href="https://example.org/feeds/all.atom"/>
  <link href="https://example.org/"/>
  <id>tag:example.org,2026:feeds/all</id>
  <updated>2026-01-16T08:00:00Z</updated>
  <author><name>Feed Author</name></author>
  <entry>
    <title>First</title>
    <link rel="alternate" type="text/html" href="https://example.org/1"/>
    <link rel="alternate" type="text/html" hreflang="ja" href="https://example.org/ja/1"/>
    <id>https://example.org/1</id>
    <published>2026-01-15T09:00:00+09:00</published>
    <updated>2026-01-16T07:59:59Z</updated>
    <summary>One.</summary>
  </entry>
  <entry>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Second</div></title>
    <id>urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6</id>
    <updated>2026-01-16T08:00:00.25-05:00</updated>
    <content type="html">&lt;p&gt;Two&lt;/p&gt;</content>
  </entry>
</feed>
"""


def broken(old: str, new: str) -> bytes:
    assert old in VALID, old
    return VALID.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    "path",
    [
        TESTS / "data" / "feeds" / "atom10-xhtml.xml",
        TESTS / "data" / "feeds" / "shift_jis.xml",
        TESTS.parent / "seeds" / "ntt-rd-news.atom",
    ],
    ids=lambda path: path.name,
)
def test_valid_documents_pass(path: Path) -> None:
    validate_atom(path.read_bytes())


def test_the_valid_example_passes() -> None:
    validate_atom(VALID.encode())


def test_an_entry_document_passes() -> None:
    validate_atom(
        b'<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>tag:x.org,2026:1</id>'
        b"<updated>2026-01-01T00:00:00Z</updated><author><name>a</name></author>"
        b'<link href="https://x.org/1"/></entry>'
    )


# Each case breaks one rule; the message must say which.
CASES = {
    "missing entry id": (
        broken("<id>https://example.org/1</id>", ""),
        "not valid against atom.rng",
    ),
    "missing feed id": (
        broken("<id>tag:example.org,2026:feeds/all</id>", ""),
        "not valid against atom.rng",
    ),
    "entry without updated": (
        broken("<updated>2026-01-16T07:59:59Z</updated>", ""),
        "not valid against atom.rng",
    ),
    "two titles": (
        broken("<title>First</title>", "<title>First</title><title>Again</title>"),
        "not valid against atom.rng",
    ),
    "date only": (
        broken("2026-01-15T09:00:00+09:00", "2026-01-15"),
        "not valid against atom.rng",
    ),
    "no time zone": (
        broken("2026-01-15T09:00:00+09:00", "2026-01-15T09:00:00"),
        "atom:published '2026-01-15T09:00:00' is not an RFC 3339 date-time",
    ),
    "RFC 822 date": (
        broken("2026-01-16T08:00:00Z", "Fri, 16 Jan 2026 08:00:00 GMT"),
        "not valid against atom.rng",
    ),
    "leap second": (
        broken("2026-01-16T07:59:59Z", "2026-01-16T07:59:60Z"),
        "not valid against atom.rng",  # libxml2's xsd:dateTime has no leap seconds
    ),
    "no such day": (
        broken("2026-01-15T09:00:00+09:00", "2026-02-30T09:00:00+09:00"),
        "not valid against atom.rng",
    ),
    "no author anywhere": (
        broken("<author><name>Feed Author</name></author>", ""),
        "entry 'https://example.org/1' has no atom:author and neither has the feed",
    ),
    "relative id": (
        broken("<id>https://example.org/1</id>", "<id>/entries/1</id>"),
        "atom:id '/entries/1' is not an absolute IRI",
    ),
    "no content and no alternate link": (
        broken(
            '<link rel="alternate" type="text/html" href="https://example.org/1"/>\n'
            '    <link rel="alternate" type="text/html" hreflang="ja" '
            'href="https://example.org/ja/1"/>',
            '<link rel="related" href="https://example.org/1"/>',
        ),
        "entry 'https://example.org/1' has neither atom:content nor a rel=alternate link",
    ),
    "two alternate links of one type and language": (
        broken('hreflang="ja" ', ""),
        "entry 'https://example.org/1' has more than one rel=alternate link with "
        "type='text/html' and hreflang=None",
    ),
    "not Atom": (
        b'<rss version="2.0"><channel><title>t</title></channel></rss>',
        "not valid against atom.rng",
    ),
    "not XML": (b"<feed", "not well-formed XML"),
}


@pytest.mark.parametrize("data, message", CASES.values(), ids=CASES.keys())
def test_broken_documents_fail(data: bytes, message: str) -> None:
    with pytest.raises(AssertionError) as caught:
        validate_atom(data)
    assert message in str(caught.value)


def test_the_schema_error_log_is_in_the_message() -> None:
    with pytest.raises(AssertionError, match="RELAXNG"):
        validate_atom(broken("<id>https://example.org/1</id>", ""))


def test_all_problems_are_listed_at_once() -> None:
    data = broken("<author><name>Feed Author</name></author>", "").replace(
        b"<id>https://example.org/1</id>", b"<id>entry-1</id>"
    )
    with pytest.raises(AssertionError) as caught:
        validate_atom(data)
    assert str(caught.value).splitlines() == [
        "breaks RFC 4287:",
        "- entry 'entry-1' has no atom:author and neither has the feed",
        "- entry 'urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6' has no atom:author and neither "
        "has the feed",
        "- atom:id 'entry-1' is not an absolute IRI",
    ]
