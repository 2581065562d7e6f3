"""Failed article fetches (fetch_full_text) tried again on later runs, with backoff.

Against a server on 127.0.0.1 whose article pages fail (503, refused, 404) and then
answer; each run is a real run on a real database (SQLite and PostgreSQL), the
published feed read back with feedparser, ``status --json`` read through the CLI.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from smtpserver import free_port
from werkzeug import Request, Response

from aggregator._app.cli import main
from aggregator._storage import open_store
from aggregator._update import article_state, fulltext
from aggregator.config.settings import Settings, StorageSettings, load_config
from aggregator.core import RunSummary, run

T0 = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
TEXT = (
    "The new timetable adds a late train on weekdays and moves the first Sunday service"
    " forty minutes earlier, after two years of requests from people working night shifts."
)


def _article(title: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1><p>{TEXT}</p>"
        f"<p>{title}: {TEXT}</p></article></body></html>"
    ).encode()


class Site:
    """A feed and its article pages; ``failures[path]`` answers 503 that many times."""

    def __init__(self, server: HTTPServer, links: dict[str, str]) -> None:
        self.server, self.links = server, links
        self.hits: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        server.expect_request("/feed.xml").respond_with_handler(self.handle)
        for path in ("/a", "/b", "/c", "/gone"):
            server.expect_request(path).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        self.hits[request.path] += 1
        if request.path == "/feed.xml":
            items = "".join(
                f"<item><title>{title}</title><link>{link}</link><guid>{title}</guid>"
                f"<description>Teaser of {title}.</description></item>"
                for title, link in self.links.items()
            )
            return Response(
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>Trains</title>'
                f"<link>{self.server.url_for('/')}</link>{items}</channel></rss>",
                content_type="application/rss+xml",
            )
        if request.path == "/gone":
            return Response("not here", status=404)
        if self.failures[request.path] > 0:
            self.failures[request.path] -= 1
            return Response("busy", status=503)
        return Response(_article(request.path.strip("/")), content_type="text/html")


def _settings(tmp_path: Path, site: Site, storage: StorageSettings) -> Settings:
    path = tmp_path / "aggregator.toml"
    path.write_text(
        '[storage]\ndatabase = "agg.db"\n[fetch]\nmin_interval = {}\ntimeout = 5\n'
        f'[[sources]]\nname = "trains"\nurl = "{site.server.url_for("/feed.xml")}"\n'
        "fetch_full_text = true\n",
        encoding="utf-8",
    )
    settings = load_config(path)
    return replace(settings, storage=replace(settings.storage, url=storage.url))


def _run(settings: Settings, when: datetime) -> RunSummary:
    summary = run(settings, clock=lambda: when, run_date=when.date())
    assert not summary.failed, summary.failed
    return summary


def _contents(settings: Settings) -> dict[str, str | None]:
    data = (settings.publish.output_dir / "feeds" / "trains.atom").read_bytes()
    return {
        e.title: (e.content[0].value if "content" in e else None)
        for e in feedparser.parse(data).entries
    }


def test_a_failed_article_is_fetched_on_a_later_run_then_never_again(
    httpserver: HTTPServer, tmp_path: Path, storage: StorageSettings
) -> None:
    refused = f"http://127.0.0.1:{free_port()}/refused"
    site = Site(
        httpserver,
        {"a": httpserver.url_for("/a"), "gone": httpserver.url_for("/gone"), "r": refused},
    )
    site.failures["/a"] = 1
    settings = _settings(tmp_path, site, storage)

    first = _run(settings, T0)
    assert first.sources[0].counts["new"] == 3
    assert any("/a" in w and "503" in w for w in first.sources[0].warnings)
    assert _contents(settings)["a"] is None  # the feed's teaser only, for now
    with open_store(settings.storage) as store:
        records = {r.link: r for r in store.article_fetches("trains")}
        assert store.article_counts() == {"trains": (2, 1)}
    a = records[httpserver.url_for("/a")]
    assert (a.state, a.tries, a.next_attempt) == ("pending", 1, T0 + timedelta(hours=2))
    assert "503" in a.last_error
    assert (records[refused].state, records[refused].tries) == ("pending", 1)
    # A 404 will not pass: given up at once.
    gone = records[httpserver.url_for("/gone")]
    assert (gone.state, gone.tries, gone.next_attempt) == ("failed", 1, None)

    # Before the backoff is over: not asked.
    _run(settings, T0 + timedelta(hours=1))
    assert site.hits["/a"] == 1

    # After it: had, put into the entry and published; the refused one tries again.
    third = _run(settings, T0 + timedelta(hours=3))
    assert third.sources[0].counts["updated"] == 0  # the entry is the same entry
    assert site.hits["/a"] == 2
    assert TEXT in (_contents(settings)["a"] or "")
    with open_store(settings.storage) as store:
        records = {r.link: r for r in store.article_fetches("trains")}
        assert store.article_counts() == {"trains": (1, 1)}
    assert httpserver.url_for("/a") not in records
    assert (records[refused].tries, records[refused].next_attempt) == (
        2,
        T0 + timedelta(hours=3) + timedelta(hours=8),
    )

    # The third try of the refused one is its last; /a and /gone are never asked again.
    for hours in (12, 48, 96):
        _run(settings, T0 + timedelta(hours=hours))
    assert site.hits["/a"] == 2 and site.hits["/gone"] == 1
    with open_store(settings.storage) as store:
        left = {r.link: (r.state, r.tries) for r in store.article_fetches("trains")}
        assert store.article_counts() == {"trains": (0, 2)}
    assert left == {refused: ("failed", 3), httpserver.url_for("/gone"): ("failed", 1)}


def test_articles_over_the_per_run_cap_wait_for_the_next_run(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fulltext, "MAX_ARTICLES", 2)
    site = Site(httpserver, {name: httpserver.url_for(f"/{name}") for name in ("a", "b", "c")})
    settings = _settings(tmp_path, site, StorageSettings(database=tmp_path / "unused"))
    _run(settings, T0)
    assert sum(site.hits[p] for p in ("/a", "/b", "/c")) == 2
    assert sum(content is None for content in _contents(settings).values()) == 1
    with open_store(settings.storage) as store:
        assert store.article_counts() == {"trains": (1, 0)}
    _run(settings, T0 + timedelta(minutes=5))  # waiting is due at once
    assert site.hits == Counter({"/feed.xml": 2, "/a": 1, "/b": 1, "/c": 1})
    assert all(TEXT in (content or "") for content in _contents(settings).values())
    with open_store(settings.storage) as store:
        assert store.article_counts() == {}


@pytest.mark.sqlite_only(
    reason="runs with a Settings object, then `status` loads the config file: the"
    " PostgreSQL pass would give the two a different database each"
)
def test_status_shows_pending_and_failed_articles(httpserver: HTTPServer, tmp_path: Path) -> None:
    site = Site(httpserver, {"a": httpserver.url_for("/a"), "g": httpserver.url_for("/gone")})
    site.failures["/a"] = 5
    settings = _settings(tmp_path, site, StorageSettings(database=tmp_path / "unused"))
    _run(settings, T0)
    config = str(tmp_path / "aggregator.toml")
    result = CliRunner().invoke(main, ["--config", config, "status", "--json"])
    assert result.exit_code == 0, result.output
    (line,) = json.loads(result.stdout)
    assert (line["articles_pending"], line["articles_failed"]) == (1, 1)
    text = CliRunner().invoke(main, ["--config", config, "status"])
    assert "articles: 1 to try again, 1 given up" in " ".join(text.stdout.split())


def test_the_retry_rules() -> None:
    first = article_state.after_failure(
        None, key="k", source="s", link="l", error="503", permanent=False, now=T0
    )
    assert (first.tries, first.state, first.next_attempt) == (1, "pending", T0 + timedelta(hours=2))
    second = article_state.after_failure(
        first, key="k", source="s", link="l", error="503", permanent=False, now=T0
    )
    assert (second.tries, second.next_attempt) == (2, T0 + timedelta(hours=8))
    third = article_state.after_failure(
        second, key="k", source="s", link="l", error="503", permanent=False, now=T0
    )
    assert (third.tries, third.state, third.next_attempt) == (3, "failed", None)
    assert not article_state.is_due(third, T0 + timedelta(days=365))
    assert article_state.is_due(first, T0 + timedelta(hours=2))
    assert not article_state.is_due(first, T0 + timedelta(hours=1, minutes=59))
