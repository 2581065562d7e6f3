"""Every feed in Atom, JSON Feed 1.1 and (when configured) RSS 2.0, with the same entries.

lemon24/reader, a feed reader library, reads the three variants of the same feeds over
HTTP from ``aggregator serve``'s server and must find the same entries (ids, titles,
links); the JSON Feed is checked against a JSON Feed 1.1 schema written from the spec
(``tests/data/schemas/jsonfeed-1.1.schema.json``), and that check is shown to reject broken
documents.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import feedparser
import orjson
import pytest
from atomcheck import validate_atom
from jsonfeedcheck import validate_json_feed
from lxml import html
from pytest_httpserver import HTTPServer

from aggregator._app.serve import FeedServer
from aggregator._output import feedwriter
from aggregator.config.settings import load_config
from aggregator.core import run
from aggregator.errors import ConfigError
from benchmarks import feeds as generator

reader = pytest.importorskip("reader", reason="the test extra installs lemon24/reader")


def _sources(httpserver: HTTPServer, count: int = 2, entries: int = 6) -> str:
    parts = []
    for index in range(count):
        httpserver.expect_request(f"/in/{index}.xml").respond_with_data(
            generator.feed_bytes(index, entries=entries), content_type="application/xml"
        )
        parts.append(
            f'[[sources]]\nname = "in-{index}"\nkind = "{generator.feed_kind(index)}"\n'
            f'url = "{httpserver.url_for(f"/in/{index}.xml")}"\n'
            f'categories = ["{generator.feed_category(index)}"]\n'
        )
    return "\n".join(parts)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Serve ``tmp_path/public`` as ``aggregator serve`` does; yields its base URL."""
    servers: list[FeedServer] = []

    def start() -> str:
        server = FeedServer(tmp_path / "public", ("127.0.0.1", 0))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return str(server.url)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _read_with_reader(database: Path, urls: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """What lemon24/reader stores for each feed URL: (id, title, link) newest first."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with reader.make_reader(str(database)) as peer:
        for url in urls:
            peer.add_feed(url)
        peer.update_feeds()
        for url in urls:
            feed = peer.get_feed(url)
            assert feed.last_exception is None, (url, feed.last_exception)
            found[url] = sorted((e.id, e.title, e.link) for e in peer.get_entries(feed=url))
    return found


def test_reader_reads_the_same_entries_from_atom_rss_and_json(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
    served: Callable[[], str],
) -> None:
    config = write_config(
        f'[publish]\nformats = ["atom", "json", "rss"]\n{_sources(httpserver, entries=6)}'
    )
    assert not run(load_config(config), clock=clock).failed
    feeds = tmp_path / "public" / "feeds"
    stems = sorted(p.name.removesuffix(".atom") for p in feeds.glob("*.atom"))
    assert len(stems) == 3  # all + two categories
    base = served()
    urls = [f"{base}feeds/{stem}.{kind}" for stem in stems for kind in ("atom", "rss", "json")]
    found = _read_with_reader(tmp_path / "reader.sqlite", urls)
    for stem in stems:
        atom_data = (feeds / f"{stem}.atom").read_bytes()
        validate_atom(atom_data)
        validate_json_feed((feeds / f"{stem}.json").read_bytes())
        expected = sorted((e.id, e.title, e.link) for e in feedparser.parse(atom_data).entries)
        assert len(expected) == (12 if stem == "all" else 6)
        for kind in ("atom", "rss", "json"):
            assert found[f"{base}feeds/{stem}.{kind}"] == expected, (stem, kind)


def test_the_json_feed_carries_what_the_atom_feed_does(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    base = "https://news.example.org/lab/"
    config = write_config(f'[publish]\nbase_url = "{base}"\n{_sources(httpserver, count=1)}')
    assert not run(load_config(config), clock=clock).failed
    feeds = tmp_path / "public" / "feeds"
    category = generator.feed_category(0)
    document = validate_json_feed((feeds / f"{category}.json").read_bytes())
    atom = feedparser.parse((feeds / f"{category}.atom").read_bytes())
    assert document["feed_url"] == f"{base}feeds/{category}.json"
    assert document["home_page_url"] == base
    assert [i["id"] for i in document["items"]] == [e.id for e in atom.entries]
    for item, entry in zip(document["items"], atom.entries, strict=True):
        assert item["date_modified"] == entry.updated
        assert item["tags"] == [t.term for t in entry.tags]
        assert item["content_html"] == (
            entry.content[0].value if "content" in entry else entry.summary
        )
        assert [a["name"] for a in item.get("authors", [])] == [
            a.name for a in entry.get("authors", [])
        ]
    # No RSS unless configured: the default formats are Atom and JSON Feed.
    assert not list(feeds.glob("*.rss"))


def test_the_json_feed_is_written_as_json_dumps_would_indent_it(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    # feedwriter.indented_json stands in for json.dumps(indent=2), whose encoder is the
    # slow pure-Python one: the bytes must be the ones json.dumps gives.
    config = write_config(_sources(httpserver, count=2))
    assert not run(load_config(config), clock=clock).failed
    documents = sorted((tmp_path / "public" / "feeds").glob("*.json"))
    assert len(documents) == 3
    for path in documents:
        text = path.read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"
    odd: list[Any] = [
        {},
        [],
        {"a": [], "b": {}, "c": [{}], "d": [[]]},
        ['\u00e9\u2028\x00"\\</\ud800', 0, -12, True, False, None],
        {"k\n": {"nested": ["x", {"y": ["z"]}]}},
    ]
    for value in odd:
        assert feedwriter.indented_json(value) == json.dumps(value, ensure_ascii=False, indent=2)
        if "\\ud800" not in json.dumps(value):  # orjson refuses lone surrogates (fallback)
            written = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
            assert written == json.dumps(value, ensure_ascii=False, indent=2)
    with pytest.raises(TypeError):
        feedwriter.indented_json({"x": 1.5})


def test_the_index_page_links_every_format_for_autodiscovery(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    config = write_config(f'[publish]\nformats = ["rss", "atom"]\n{_sources(httpserver)}')
    assert not run(load_config(config), clock=clock).failed
    public = tmp_path / "public"
    page = html.fromstring((public / "index.html").read_bytes())
    discovered = {
        (link.get("type"), link.get("href")) for link in page.xpath("//head/link[@rel='alternate']")
    }
    on_disk = {p.relative_to(public).as_posix() for p in (public / "feeds").iterdir()}
    kinds = {"atom": "application/atom+xml", "rss": "application/rss+xml"}
    assert discovered == {(kinds[name.rsplit(".", 1)[1]], name) for name in on_disk}
    assert len(discovered) == 6  # all + two categories, in Atom and RSS; no JSON
    # The body links each twin too.
    body_links = set(page.xpath("//body//a/@href"))
    assert {name for _, name in discovered} <= body_links


def test_unchanged_feeds_keep_their_bytes_in_every_format(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    text = f'[publish]\nformats = ["atom", "json", "rss"]\n{_sources(httpserver)}'
    run(load_config(write_config(text)), clock=clock)
    feeds = tmp_path / "public" / "feeds"
    before = {p.name: p.read_bytes() for p in feeds.iterdir()}
    # Into a fresh folder, from the same database: every file rebuilt, same bytes.
    again = text.replace("[publish]\n", '[publish]\noutput_dir = "again"\n')
    run(load_config(write_config(again)), clock=clock)
    after = {p.name: p.read_bytes() for p in (tmp_path / "again" / "feeds").iterdir()}
    assert after == before and len(before) == 9


def test_a_format_taken_out_of_formats_has_its_files_removed(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    sources = _sources(httpserver)
    run(
        load_config(write_config(f'[publish]\nformats = ["atom", "json", "rss"]\n{sources}')),
        clock=clock,
    )
    feeds = tmp_path / "public" / "feeds"
    mine = feeds / "notes.rss"  # a file of the same kind that we never published stays
    mine.write_text("kept")
    assert {p.suffix for p in feeds.iterdir()} == {".atom", ".json", ".rss"}
    run(load_config(write_config(f'[publish]\nformats = ["atom"]\n{sources}')), clock=clock)
    assert sorted(p.name for p in feeds.iterdir() if p.suffix != ".atom") == ["notes.rss"]
    index = (tmp_path / "public" / "index.html").read_text()
    assert ".rss" not in index and ".json" not in index
    # Put back: written again even though the database says nothing changed.
    run(load_config(write_config(f'[publish]\nformats = ["atom", "rss"]\n{sources}')), clock=clock)
    rss = {p.stem for p in feeds.iterdir() if p.suffix == ".rss"}
    assert rss == {p.stem for p in feeds.glob("*.atom")} | {"notes"}
    assert feedparser.parse((feeds / "all.rss").read_bytes()).entries


@pytest.mark.parametrize(
    ("formats", "message"),
    [
        ('["atom", "xml"]', "unknown feed format 'xml'"),
        ('["json"]', 'must include "atom"'),
        ('"atom"', "expected"),
    ],
)
def test_a_wrong_formats_key_is_an_error_naming_it(
    write_config: Callable[[str], Path], formats: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(write_config(f"[publish]\nformats = {formats}\n"))
    assert "publish.formats" in str(caught.value)


# --- the JSON Feed 1.1 check itself -------------------------------------------------------

VALID: dict[str, Any] = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "My Example Feed",
    "home_page_url": "https://example.org/",
    "feed_url": "https://example.org/feed.json",
    "hubs": [{"type": "WebSub", "url": "https://hub.example.org/"}],
    "items": [
        {"id": "2", "content_text": "This is a second item.", "url": "https://example.org/2"},
        {
            "id": "1",
            "content_html": "<p>Hello, world!</p>",
            "url": "https://example.org/1",
            "date_published": "2010-02-07T14:04:00-05:00",
            "authors": [{"name": "Ada"}],
            "attachments": [{"url": "https://example.org/1.pdf", "mime_type": "application/pdf"}],
            "_lab": {"about": "an extension is allowed"},
        },
    ],
}


def _broken(change: Callable[[dict[str, Any]], None]) -> bytes:
    document = json.loads(json.dumps(VALID))
    change(document)
    return json.dumps(document).encode()


def test_the_json_feed_check_accepts_a_valid_document() -> None:
    validate_json_feed(json.dumps(VALID).encode())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("version"), "'version' is a required property"),
        (lambda d: d.update(version="https://jsonfeed.org/version/2"), "was expected"),
        (lambda d: d.pop("items"), "'items' is a required property"),
        (lambda d: d["items"][0].pop("id"), "'id' is a required property"),
        (lambda d: d["items"][0].update(id=" "), "does not match"),
        (lambda d: d["items"][0].pop("content_text"), "is not valid under any of the given"),
        (lambda d: d["items"][1].update(date_published="7 Feb 2010"), "does not match"),
        (lambda d: d["items"][1].update(date_published="2010-02-07 14:04"), "does not match"),
        (lambda d: d["items"][1]["attachments"][0].pop("mime_type"), "'mime_type' is a required"),
        (lambda d: d["items"][1].update(authors=[{}]), "is not valid under any of the given"),
        (lambda d: d["items"][1].update(contenthtml="<p>x</p>"), "'contenthtml' does not"),
        (lambda d: d.update(feed_url="feed.json"), "does not match"),
        (lambda d: d["hubs"][0].pop("url"), "'url' is a required property"),
        (lambda d: d["items"][1].update(tags="one"), "is not of type 'array'"),
        (lambda d: d["items"][1].update(id="2"), "item ids repeated: 2"),
        (lambda d: d.update(next_url=d["feed_url"]), "next_url is the feed_url"),
    ],
)
def test_the_json_feed_check_rejects_a_broken_document(
    change: Callable[[dict[str, Any]], None], problem: str
) -> None:
    with pytest.raises(AssertionError, match=r"not valid JSON Feed 1\.1") as caught:
        validate_json_feed(_broken(change))
    assert problem in str(caught.value)


def test_the_json_feed_check_rejects_what_is_not_json() -> None:
    with pytest.raises(AssertionError, match="not UTF-8 JSON"):
        validate_json_feed(b'{"version": ')
