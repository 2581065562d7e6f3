"""JSON Feed 1.0 and 1.1 input for ``kind = "feed"`` sources (aggregator/_sources/json_feed.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from atomcheck import validate_atom
from pytest_httpserver import HTTPServer

from aggregator._sources import ParseOptions, get_parser
from aggregator._sources import json_feed as jf
from aggregator._update.decide import Outcome
from aggregator.config.settings import load_config
from aggregator.core import run
from aggregator.errors import ParseError
from aggregator.types import ParsedFeed

FEEDS = Path(__file__).parent / "data" / "feeds"
V11 = FEEDS / "jsonfeed-1.1.json"
V10 = FEEDS / "jsonfeed-1.0.json"


def read(data: bytes, engine: str = "auto", **options: str) -> ParsedFeed:
    return get_parser("feed", engine)(data, source="lab", options=ParseOptions(**options))


def document(**fields: object) -> bytes:
    body: dict[str, object] = {"version": "https://jsonfeed.org/version/1.1", "title": "T"}
    body.update(fields)
    return json.dumps(body).encode()


# -- the two versions, field by field --------------------------------------------------------


@pytest.mark.parametrize("engine", ["auto", "feedparser"])
def test_json_feed_1_1(engine: str) -> None:
    parsed = read(V11.read_bytes(), engine)
    assert parsed.reader == "json"
    assert parsed.title == "Lab Notes"
    assert parsed.link == "https://notes.example.net/"
    assert parsed.warnings == ("item 3 (An item without an id) has no id: skipped",)
    first, second, third = parsed.entries

    assert first.guid == "https://notes.example.net/2026/03/sparse-attention"
    assert first.link == "https://notes.example.net/2026/03/sparse-attention"  # relative url
    assert first.title == "Sparse attention, revisited"
    assert first.content == (
        '<p>We re-ran the <a href="https://notes.example.net/data/runs.csv">runs</a>'
        " with longer contexts.</p>"
    )
    assert first.summary == "Longer contexts &amp; the same budget."  # plain text, escaped
    assert first.published == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert first.updated == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert first.authors == ("Ada Quill", "Bo Renner")
    assert first.categories == ("attention", "long-context")
    assert first.language == "en-GB"
    assert first.pdf_url == "https://notes.example.net/papers/sparse-attention.pdf"

    assert second.guid == "note-2026-02-27"
    assert second.link == "https://elsewhere.example.org/benchmarks"  # external_url
    assert second.content == "Plain text: a &lt; b and c &gt; d."  # content_text, escaped
    assert second.summary is None
    assert second.published == datetime(2026, 2, 27, 23, 5, tzinfo=UTC)
    assert second.updated is None
    assert second.authors == ("Notes Editors",)  # the feed's authors
    assert second.language == "en"  # the feed's language

    assert third.guid == "microblog-17"
    assert (third.title, third.link) == ("", None)
    assert third.content == "A post with no title and no link."


@pytest.mark.parametrize("engine", ["auto", "feedparser"])
def test_json_feed_1_0(engine: str) -> None:
    parsed = read(V10.read_bytes(), engine)
    assert parsed.reader == "json"
    assert (parsed.title, parsed.link, parsed.warnings) == (
        "Field Station Log",
        "https://station.example.com/",
        (),
    )
    first, second = parsed.entries
    assert first.guid == "1042"  # a number in 1.0
    assert first.link == "https://station.example.com/log/1042"
    assert first.title == "Sensor array back online"
    assert first.content == "<p>All <em>twelve</em> sensors report again.</p>"
    assert first.published == datetime(2026, 1, 15, 7, 45, tzinfo=UTC)
    assert first.authors == ("Ines Moreau",)  # 1.0's author object
    assert first.categories == ("sensors",)
    assert first.language is None

    assert second.guid == "1041"
    assert second.link == "https://station.example.com/log/entries/1041"  # against feed_url
    assert second.authors == ("Station Crew",)  # the feed's author
    assert second.summary == "Wind above 90 km/h expected tonight."
    assert second.content is None  # the same as the summary, as in the RSS/Atom path


def test_relative_urls_without_feed_url_use_the_location() -> None:
    data = document(items=[{"id": "a", "url": "posts/a", "content_text": "x"}])
    parsed = read(data, location="https://blog.example.org/feeds/feed.json")
    assert parsed.entries[0].link == "https://blog.example.org/feeds/posts/a"


def test_id_that_is_a_url_stands_in_for_the_link() -> None:
    parsed = read(document(items=[{"id": "https://x.example/p/1", "content_text": "x"}]))
    assert parsed.entries[0].link == "https://x.example/p/1"


def test_time_without_offset_is_read_in_the_configured_zone() -> None:
    data = document(items=[{"id": "a", "content_text": "x", "date_published": "2026-01-10T12:00"}])
    parsed = read(data, timezone="Europe/Berlin")
    assert parsed.entries[0].published == datetime(2026, 1, 10, 11, 0, tzinfo=UTC)


def test_empty_items_is_a_feed_without_entries() -> None:
    assert read(document(items=[])).entries == ()


def test_looks_like_json() -> None:
    assert jf.looks_like_json(b'\xef\xbb\xbf \n{"version": 1}')
    assert jf.looks_like_json(b"[1]")
    assert not jf.looks_like_json(b'<?xml version="1.0"?><rss/>')


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["auto", "feedparser"])
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"items": []}', "this is JSON, but not a JSON Feed (no jsonfeed.org version)"),
        (
            b'{"version": "https://example.org/v1", "items": []}',
            "this is JSON, but not a JSON Feed (no jsonfeed.org version)",
        ),
        (b"[1, 2]", "this is JSON, but not a JSON Feed (no jsonfeed.org version)"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}',
            "not a valid JSON Feed: its items are not a list",
        ),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not valid JSON:"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "caf\xe9", "items": []}',
            "not valid UTF-8 at byte 61 (a JSON Feed is UTF-8 by its spec)",
        ),
    ],
    ids=["no-version", "other-version", "array", "items-object", "invalid", "latin-1"],
)
def test_bad_json_is_a_clear_parse_error(data: bytes, message: str, engine: str) -> None:
    with pytest.raises(ParseError) as caught:
        read(data, engine)
    assert caught.value.message.startswith(message)
    assert caught.value.source == "lab"
    assert caught.value.hint


def test_items_without_id_are_skipped_with_a_warning() -> None:
    parsed = read(
        document(
            items=[
                {"title": "No id", "content_text": "x"},
                {"id": "", "content_text": "y"},
                "not an object",
                {"id": "ok", "content_text": "z"},
            ]
        )
    )
    assert [entry.guid for entry in parsed.entries] == ["ok"]
    assert parsed.warnings == (
        "item 1 (No id) has no id: skipped",
        "item 2 has no id: skipped",
        "item 3 is not a JSON object: skipped",
    )


def test_a_feed_whose_every_item_is_broken_is_an_error() -> None:
    with pytest.raises(ParseError, match="no item of the JSON Feed could be read"):
        read(document(items=[{"title": "No id"}]))


# -- a whole run -----------------------------------------------------------------------------


@pytest.mark.parametrize("parser", ["auto", "feedparser"])
def test_a_run_stores_and_publishes_a_json_feed(
    parser: str,
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(
        V11.read_bytes(), content_type="application/feed+json"
    )
    assert httpserver.host == "localhost" or httpserver.host.startswith("127.")
    body = (
        f'[fetch]\nparser = "{parser}"\n'
        f'[[sources]]\nname = "notes"\nkind = "feed"\nurl = "{httpserver.url_for("/feed.json")}"\n'
    )
    result = run(load_config(write_config(body)), clock=clock)
    assert not result.failed
    assert result.count(Outcome.NEW) == 3
    (report,) = result.sources
    assert report.reader == "json"
    assert any("has no id: skipped" in warning for warning in report.warnings)

    data = (tmp_path / "public" / "feeds" / "all.atom").read_bytes()
    validate_atom(data)
    published = feedparser.parse(data)
    by_title = {entry.get("title", ""): entry for entry in published.entries}
    assert set(by_title) == {
        "Sparse attention, revisited",
        "A benchmark worth reading",
        "(untitled)",
    }
    first = by_title["Sparse attention, revisited"]
    assert first.link == "https://notes.example.net/2026/03/sparse-attention"
    assert [author.name for author in first.authors] == ["Ada Quill", "Bo Renner"]
    assert "https://notes.example.net/data/runs.csv" in first.content[0].value
    assert by_title["A benchmark worth reading"].link == "https://elsewhere.example.org/benchmarks"

    # A JSON Feed in another encoding is not transcoded on the way (decoding.prepare
    # passes JSON through): it stays a clear error.
    latin = V10.read_bytes().replace(b"Storm", b"Temp\xeate")
    httpserver.expect_request("/latin.json").respond_with_data(
        latin, content_type="application/json"
    )
    body += f'[[sources]]\nname = "latin"\nurl = "{httpserver.url_for("/latin.json")}"\n'
    again = run(load_config(write_config(body)), clock=clock)
    assert [source.name for source in again.failed] == ["latin"]
    assert "not valid UTF-8" in str(again.sources[1].error)
    assert again.count(Outcome.NEW) == again.count(Outcome.UPDATED) == 0
