"""The Atom writer: awkward text comes back from feedparser as it went in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import feedparser
from atomcheck import validate_atom
from lxml import etree

from aggregator._output.feedwriter import build_feed
from aggregator._update.decide import atom_id_for
from aggregator.types import StoredEntry

WHEN = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def entry(key: str, **fields: object) -> StoredEntry:
    values: dict[str, object] = {
        "key": key,
        "atom_id": atom_id_for(key),
        "title": key,
        "link": f"https://example.org/{key}",
        "published": WHEN,
        "updated": WHEN,
        "first_seen": WHEN,
        "digest_day": date(2026, 11, 23),
        "authors": (),
        "summary": None,
        "content": None,
        "sections": (),
        "categories": (),
        "pdf_url": None,
        "arxiv_id": None,
        "doi": None,
        "language": None,
        "content_hash": "",
        "position": 0,
    }
    values.update(fields)
    return StoredEntry(**values)  # type: ignore[arg-type]


def test_markup_quotes_and_control_characters_survive_the_round_trip() -> None:
    awkward = entry(
        "a",
        title="Fish & chips < \"crisps\" > 'peas'\r\nsecond line\x01\ufffe",
        link='https://example.org/?a=1&b="2"\t<x>',
        authors=("Ada <Lovelace> & co",),
        categories=('R&D "lab"', "数学"),
        summary="<p>5 &lt; 6 &amp; \x0cdone</p>",
        sections=(("Method", "One.\n\nTwo & three."),),
        pdf_url="https://example.org/a.pdf",
    )
    bare = entry("b", link=None)
    data = build_feed(
        [awkward, bare],
        category='R&D "lab"',
        title="Site & <friends>",
        base_url="https://feeds.example.org/",
        self_href="https://feeds.example.org/feeds/R-D.atom",
        fallback_updated=WHEN,
    )
    validate_atom(data)
    etree.fromstring(data)  # well-formed
    parsed = feedparser.parse(data)
    assert not parsed.bozo
    assert parsed.feed.title == "Site & <friends>"
    first, second = parsed.entries
    assert first.title == "Fish & chips < \"crisps\" > 'peas'\r\nsecond line"
    # The tab is gone: a link is published as a browser reads it (safety.safe_url).
    assert first.link == 'https://example.org/?a=1&b="2"<x>'
    assert first.authors[0].name == "Ada <Lovelace> & co"
    assert [t.term for t in first.tags] == ['R&D "lab"', "数学"]
    assert first.summary == "<p>5 &lt; 6 &amp; done</p>"
    assert "<h3>Method</h3><p>One.</p><p>Two &amp; three.</p>" in first.content[0].value
    assert any(link.type == "application/pdf" for link in first.links)
    assert second.content[0].type == "text/plain" and second.content[0].value == "b"


def test_an_empty_feed_is_valid_and_dated_by_the_fallback() -> None:
    data = build_feed(
        [],
        category=None,
        title="Empty",
        base_url="https://feeds.example.org/",
        self_href="https://feeds.example.org/feeds/all.atom",
        fallback_updated=WHEN,
    )
    validate_atom(data)
    assert feedparser.parse(data).feed.updated == "2026-11-23T07:30:00Z"


def test_the_same_entries_give_the_same_bytes_on_every_build() -> None:
    """feedgen stamps a feed and each entry with the build time, and itself as the
    generator, unless told otherwise: nothing of that may reach the bytes."""

    def build() -> bytes:
        return build_feed(
            [entry("a", authors=("Ada",), summary="<p>s</p>"), entry("b", link=None)],
            category="cs.AI",
            title="Site",
            base_url="https://feeds.example.org/",
            self_href="https://feeds.example.org/feeds/cs.AI.atom",
            fallback_updated=datetime.now(UTC),
        )

    first = build()
    assert build() == first
    parsed = feedparser.parse(first)
    assert parsed.feed.generator == "aggregator"
    assert parsed.feed.updated == "2026-11-23T07:30:00Z"
    assert [e.updated for e in parsed.entries] == ["2026-11-23T07:30:00Z"] * 2


def test_text_no_xml_can_carry_is_dropped_not_a_failed_publish() -> None:
    """A lone surrogate (a broken decoder upstream) or a NUL cannot be written as XML."""
    data = build_feed(
        [entry("a", title="half \ud83d of a pair\x00", authors=("\udcffAda",))],
        category=None,
        title="Site",
        base_url="https://feeds.example.org/",
        self_href="https://feeds.example.org/feeds/all.atom",
        fallback_updated=WHEN,
    )
    validate_atom(data)
    (parsed,) = feedparser.parse(data).entries
    assert parsed.title == "half  of a pair"
    assert parsed.authors[0].name == "Ada"
