"""Archived feeds (RFC 5005): every entry that left a current feed stays reachable by
walking ``prev-archive`` links back from the current feed, page by page.

Days are made by running aggregator on a local RSS file with a fixed clock per day, as
a daily cron job would; pages are read back with feedparser and validated against the
RFC 4287 schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
import pytest
from atomcheck import validate_atom
from lxml import etree

from aggregator.config.settings import Settings, load_config
from aggregator.core import run

BASE = "https://feeds.example.org/"
DAY1 = date(2026, 11, 2)
HISTORY = "{http://purl.org/syndication/history/1.0}archive"


@dataclass
class Site:
    folder: Path
    settings_text: str
    made: list[str] = field(default_factory=list)

    def settings(self, extra: str = "") -> Settings:
        (self.folder / "aggregator.toml").write_text(self.settings_text + extra)
        return load_config(self.folder / "aggregator.toml")

    def day(self, day: date, count: int, extra: str = "") -> None:
        """Run on ``day`` with ``count`` new papers in cs.AI, published that day."""
        when = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=6)
        items = []
        for n in range(count):
            guid = f"https://example.org/{day.isoformat()}/{n}"
            items.append(
                f"<item><title>Paper {day} {n}</title><link>{guid}</link><guid>{guid}</guid>"
                f"<pubDate>{format_datetime(when - timedelta(minutes=n))}</pubDate>"
                f"<description>Abstract of paper {n} of {day}.</description></item>"
            )
            self.made.append(guid)
        (self.folder / "papers.rss").write_text(
            f'<rss version="2.0"><channel><title>papers</title>{"".join(items)}</channel></rss>'
        )
        summary = run(self.settings(extra), clock=lambda: when, run_date=day)
        assert not summary.failed

    @property
    def feeds(self) -> Path:
        return self.folder / "public" / "feeds"

    def read(self, url: str) -> bytes:
        assert url.startswith(BASE), url
        return (self.folder / "public" / url.removeprefix(BASE)).read_bytes()

    def walk(self, feed: str) -> tuple[list[str], list[str]]:
        """(entry links, archive page URLs) from ``feeds/<feed>`` back through every
        ``prev-archive``, checking each page on the way."""
        url = f"{BASE}feeds/{feed}"
        links: list[str] = []
        pages: list[str] = []
        newer: str | None = None
        while True:
            data = self.read(url)
            validate_atom(data)
            parsed = feedparser.parse(data)
            assert not parsed.bozo, url
            rels = {link.rel: link.href for link in parsed.feed.links}
            links += [entry.link for entry in parsed.entries]
            is_archive = etree.fromstring(data).find(HISTORY) is not None
            assert is_archive == (newer is not None), url  # only pages carry fh:archive
            if newer is not None:
                pages.append(url)
                assert rels["current"] == f"{BASE}feeds/{feed}"
                if newer != f"{BASE}feeds/{feed}":
                    assert rels["next-archive"] == newer  # the chain goes both ways
                else:
                    assert "next-archive" not in rels  # the newest page: next is current
            if "prev-archive" not in rels:
                return links, pages
            newer, url = url, rels["prev-archive"]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    text = (
        f'[publish]\nbase_url = "{BASE}"\n'
        '[[sources]]\nname = "papers"\npath = "papers.rss"\ncategories = ["cs.AI"]\n'
    )
    return Site(tmp_path, text)


def test_a_day_of_600_is_whole_in_the_current_feeds_and_older_days_are_archived(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    for offset in range(4):
        site.day(DAY1 + timedelta(days=offset), 20)
    site.day(DAY1 + timedelta(days=4), 600)
    assert "feed_max_entries" not in caplog.text
    for feed in ("cs.AI.atom", "all.atom"):
        current = feedparser.parse((site.feeds / feed).read_bytes())
        day5 = [e.link for e in current.entries if "/2026-11-06/" in e.link]
        assert len(day5) == 600  # the whole day, in the current feed
        links, pages = site.walk(feed)
        assert sorted(links) == sorted(site.made)  # every entry, each once
        stem = feed.removesuffix(".atom")
        assert pages == [f"{BASE}feeds/{stem}/2026-11-0{d}.atom" for d in (4, 3, 2)]


def test_pages_are_written_once_cut_at_the_cap_and_pruned_with_their_day(
    site: Site,
) -> None:
    site.settings_text = site.settings_text.replace(
        "[publish]\n", "[publish]\nfeed_days = 1\nfeed_max_entries = 10\n"
    )
    for offset in range(3):
        site.day(DAY1 + timedelta(days=offset), 25)
    links, pages = site.walk("cs.AI.atom")
    # Days 1 and 2 are closed: three pages each (10, 10, 5). Day 3 is open: its 15
    # oldest papers are cut from the current feed by the cap, for now.
    assert len(pages) == 6 and len(links) == 10 + 50
    folder = site.feeds / "cs.AI"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2026-11-02.2.atom",
        "2026-11-02.3.atom",
        "2026-11-02.atom",
        "2026-11-03.2.atom",
        "2026-11-03.3.atom",
        "2026-11-03.atom",
    ]
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    site.day(DAY1 + timedelta(days=3), 5)
    links, pages = site.walk("cs.AI.atom")
    # Day 3 closed: its cut papers are back. (The current feed's newest 10 overlap the
    # newest page: RFC 5005 readers merge entries by id.)
    assert set(links) == set(site.made)
    assert len(pages) == 9
    after = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    # Only the page that was newest changed (it gained its next-archive link).
    assert [n for n in stamps if after[n] != stamps[n]] == ["2026-11-03.atom"]

    again = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    site.day(DAY1 + timedelta(days=3), 0)  # a rerun: nothing new
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == again

    # Retention: days 1 and 2 pruned, their pages go, and the chain ends where it should.
    site.day(DAY1 + timedelta(days=5), 1, extra="[storage]\nkeep_days = 3\n")
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.startswith(("2026-11-02", "2026-11-03"))], names
    links, pages = site.walk("cs.AI.atom")
    kept = {
        url
        for url in site.made
        if not url.startswith(
            ("https://example.org/2026-11-02/", "https://example.org/2026-11-03/")
        )
    }
    assert set(links) == kept and pages
