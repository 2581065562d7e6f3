"""feeds.opml: every published feed in one OPML 2.0 file, for a reader to import."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from conftest import serve_generated
from pytest_httpserver import HTTPServer

from aggregator._sources import opml
from aggregator.config.settings import load_config
from aggregator.core import run

BASE = "https://news.example.org/lab/"


def test_every_published_feed_is_in_the_opml_and_nothing_else(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    body = serve_generated(httpserver, 4, entries=5)
    config = write_config(f'[publish]\nbase_url = "{BASE}"\ntitle = "Lab news"\n{body}')
    assert not run(load_config(config), clock=clock).failed
    public = tmp_path / "public"
    # Read back with the project's own OPML reader, as `sources import` would.
    subscriptions = opml.read((public / "feeds.opml").read_bytes(), origin="feeds.opml")
    published = sorted(p.name for p in (public / "feeds").glob("*.atom"))
    assert sorted(s.url.removeprefix(f"{BASE}feeds/") for s in subscriptions) == published
    assert all(s.url.startswith(BASE) for s in subscriptions)
    assert subscriptions[0].title == "Lab news: all"  # all first, as on the index page
    assert subscriptions[0].categories == ()  # every category, not one named "all"
    assert {s.categories for s in subscriptions[1:]} == {
        (name.removesuffix(".atom"),) for name in published if name != "all.atom"
    }
    index = (public / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<link rel="outline" type="text/x-opml"[^>]* href="feeds.opml">', index)
    assert '<a href="feeds.opml">' in index


def test_the_opml_is_written_again_only_when_missing_or_changed(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    body = serve_generated(httpserver, 2, entries=3)
    config = write_config(body)
    run(load_config(config), clock=clock)
    path = tmp_path / "public" / "feeds.opml"
    first = path.stat().st_mtime_ns
    again = run(load_config(config), clock=clock)
    assert again.feeds_written == 0 and path.stat().st_mtime_ns == first
    path.unlink()
    run(load_config(config), clock=clock)
    assert path.is_file()  # a missing file is written again
    # The addresses are under [publish] base_url (its default: `aggregator serve`'s).
    base = load_config(config).publish.base_url
    assert opml.read(path.read_bytes(), origin="x")[0].url == f"{base}feeds/all.atom"
