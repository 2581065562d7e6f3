"""A source whose document has not changed is not parsed again (aggregator._fetch.unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from conftest import DATA, Parses

from aggregator._fetch.unchanged import fingerprint
from aggregator._storage.sqlite import Store
from aggregator._update.decide import Outcome
from aggregator.config.settings import load_config
from aggregator.config.sources import Source
from aggregator.core import RunSummary, run
from benchmarks import feeds as generator


@pytest.fixture
def feed_file(tmp_path: Path) -> Path:
    path = tmp_path / "feed.xml"
    path.write_bytes(generator.feed_bytes(1, entries=5))
    return path


def config(write_config: Callable[[str], Path], path: Path, extra: str = "") -> Path:
    return write_config(f'[[sources]]\nname = "blog"\npath = "{path}"\n{extra}')


def once(config_path: Path, clock: Callable[[], datetime]) -> RunSummary:
    summary = run(load_config(config_path), clock=clock)
    assert not summary.failed
    return summary


def test_the_same_document_is_not_parsed_again(
    parses: Parses,
    feed_file: Path,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
) -> None:
    path = config(write_config, feed_file)
    assert once(path, clock).count(Outcome.NEW) == 5
    again = once(path, clock)
    assert parses == ["blog"]
    assert again.count(Outcome.UNCHANGED) == 5
    assert again.count(Outcome.NEW) == again.count(Outcome.UPDATED) == 0
    assert again.feeds_written == 0


def test_a_changed_byte_is_parsed(
    parses: Parses,
    feed_file: Path,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
) -> None:
    path = config(write_config, feed_file)
    once(path, clock)
    feed_file.write_bytes(feed_file.read_bytes().replace(b"</feed>", b"</feed>\n"))
    again = once(path, clock)
    assert parses == ["blog", "blog"]
    assert again.count(Outcome.UNCHANGED) == 5  # the entries themselves did not change


def test_changed_settings_read_the_document_again(
    parses: Parses,
    feed_file: Path,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    once(config(write_config, feed_file), clock)
    once(config(write_config, feed_file, 'categories = ["reading"]\n'), clock)
    assert parses == ["blog", "blog"]
    with Store(tmp_path / "aggregator.db") as store:
        assert ("reading", 5) in store.categories()


def test_a_document_with_warnings_is_read_and_reported_every_time(
    parses: Parses,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
) -> None:
    path = config(write_config, DATA / "feeds" / "illformed.xml")
    first, second = once(path, clock), once(path, clock)
    assert parses == ["blog", "blog"]
    assert first.sources[0].warnings
    assert second.sources[0].warnings == first.sources[0].warnings


def test_fingerprint_covers_bytes_settings_content_type_and_parser() -> None:
    source = Source(name="s", kind="feed", url="https://example.org/f")
    base = fingerprint(source, b"<rss/>", content_type=None, parser="auto")
    assert base == fingerprint(source, b"<rss/>", content_type=None, parser="auto")
    assert base != fingerprint(source, b"<rss />", content_type=None, parser="auto")
    assert base != fingerprint(source, b"<rss/>", content_type="text/xml", parser="auto")
    assert base != fingerprint(source, b"<rss/>", content_type=None, parser="feedparser")
    other = Source(name="s", kind="feed", url="https://example.org/f", timezone="Asia/Tokyo")
    assert base != fingerprint(other, b"<rss/>", content_type=None, parser="auto")
