"""Runs over HTTP with the fast parser, then with feedparser forced: nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import feedparser
import pytest
from conftest import serve_generated
from pytest_httpserver import HTTPServer

from aggregator._update.decide import Outcome
from aggregator.config.settings import load_config
from aggregator.core import run
from aggregator.errors import ConfigError
from benchmarks import feeds as generator


def test_parser_key_is_validated(write_config: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_config('[fetch]\nparser = "lxml"\n'))
    assert "fetch.parser" in str(info.value.describe())
    assert "auto, feedparser" in str(info.value.describe())


def test_switching_parsers_changes_nothing_stored(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    body = serve_generated(httpserver, 4, entries=30)

    first = run(load_config(write_config(body)), clock=clock)
    assert not first.failed
    assert first.count(Outcome.NEW) == 4 * 30 - 6  # feed 2 cross-lists 6 of feed 0's papers
    assert first.count(Outcome.DUPLICATE) == 6
    feeds = {p.name: p.read_bytes() for p in (tmp_path / "public" / "feeds").iterdir()}

    again = run(load_config(write_config('[fetch]\nparser = "feedparser"\n' + body)), clock=clock)
    assert not again.failed
    assert again.count(Outcome.NEW) == again.count(Outcome.UPDATED) == 0
    assert again.count(Outcome.UNCHANGED) == 4 * 30  # the cross-listings too
    assert again.feeds_written == 0
    assert feeds == {p.name: p.read_bytes() for p in (tmp_path / "public" / "feeds").iterdir()}


def test_forced_feedparser_really_uses_feedparser(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[object] = []
    real = feedparser.parse

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(feedparser, "parse", counting)
    httpserver.expect_request("/f.xml").respond_with_data(
        generator.feed_bytes(1, entries=3), content_type="application/atom+xml"
    )
    body = f'[[sources]]\nname = "blog"\nurl = "{httpserver.url_for("/f.xml")}"\n'
    run(load_config(write_config(body)), clock=clock)
    assert calls == []  # well-formed Atom 1.0: the fast path read it
    run(load_config(write_config('[fetch]\nparser = "feedparser"\n' + body)), clock=clock)
    assert len(calls) == 1


def test_each_source_says_which_reader_read_it(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = Path(__file__).parent / "data" / "feeds"
    httpserver.expect_request("/atom.xml").respond_with_data(
        generator.feed_bytes(1, entries=3), content_type="application/atom+xml"
    )
    # Ill-formed XML: only feedparser's forgiving reader takes it.
    httpserver.expect_request("/bad.xml").respond_with_data(
        (data / "illformed.xml").read_bytes(), content_type="application/rss+xml"
    )
    httpserver.expect_request("/arxiv.xml").respond_with_data(
        generator.feed_bytes(0, entries=3), content_type="application/rss+xml"
    )
    body = "".join(
        f'[[sources]]\nname = "{name}"\nkind = "{kind}"\nurl = "{httpserver.url_for(path)}"\n'
        for name, kind, path in (
            ("blog", "feed", "/atom.xml"),
            ("broken", "feed", "/bad.xml"),
            ("papers", "arxiv", "/arxiv.xml"),
        )
    )
    caplog.set_level("INFO", logger="aggregator")
    first = run(load_config(write_config(body)), clock=clock)
    assert [(r.name, r.reader) for r in first.sources] == [
        ("blog", "lxml"),
        ("broken", "feedparser"),
        ("papers", "arxiv"),
    ]
    assert "broken: " in caplog.text and "(read by feedparser)" in caplog.text
    assert caplog.text.count("(read by") == 1
    # The same bytes again: nothing is read, so no reader is named; but a document the
    # parser warned about is read again on every run.
    again = run(load_config(write_config(body)), clock=clock)
    assert [r.reader for r in again.sources] == [None, "feedparser", None]
