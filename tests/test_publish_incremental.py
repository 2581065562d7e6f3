"""Publishing rebuilds a feed or the index page only when its inputs may have changed.

Every case ends the same way: the files in the output folder are compared, byte for
byte, with those of a publish into an empty folder from the same database and
settings, and each feed is validated as Atom and read back with feedparser. A rebuild
is counted by wrapping ``feedwriter.build_feed`` and ``publish.render_index``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from atomcheck import validate_atom
from conftest import NOW

from aggregator._output import feedwriter, publish
from aggregator._storage.sqlite import Store
from aggregator.config.settings import Settings, load_config
from aggregator.core import publish_feeds, run
from aggregator.errors import PublishError


def rss(name: str, count: int, *, start: datetime, categories: tuple[str, ...]) -> str:
    items = []
    for n in range(count):
        when = format_datetime(start + timedelta(hours=n))
        items.append(
            f"<item><title>{name} {n}</title><link>https://example.org/{name}/{n}</link>"
            f"<guid>https://example.org/{name}/{n}</guid><pubDate>{when}</pubDate>"
            f"<category>{categories[n % len(categories)]}</category>"
            f"<description>Body of {name} {n}, about its own topic number {n}.</description>"
            "</item>"
        )
    return f'<rss version="2.0"><channel><title>{name}</title>{"".join(items)}</channel></rss>'


SITE = """
[publish]
base_url = "https://feeds.example.org/"
title = "{title}"
feed_max_entries = {limit}
[[sources]]
name = "news"
path = "news.rss"
entry_categories = true
"""


@dataclass
class Site:
    folder: Path
    builds: list[str]

    def settings(self, *, title: str = "Site", limit: int = 5, base: str = "") -> Settings:
        text = SITE.format(title=title, limit=limit)
        if base:
            text = text.replace("https://feeds.example.org/", base)
        (self.folder / "aggregator.toml").write_text(text)
        return load_config(self.folder / "aggregator.toml")

    def items(self, count: int, start: datetime = NOW - timedelta(days=3)) -> None:
        (self.folder / "news.rss").write_text(
            rss("news", count, start=start, categories=("alpha", "beta"))
        )

    def publish(self, settings: Settings) -> tuple[int, int]:
        self.builds.clear()
        with Store(settings.storage.database) as store:
            return publish_feeds(settings, store, clock=lambda: NOW)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    builds: list[str] = []
    build_feed, render_index = feedwriter.build_feed, publish.render_index

    def counting_build(entries: Any, **options: Any) -> bytes:
        builds.append(options["self_href"].rsplit("/", 1)[1])
        return build_feed(entries, **options)

    def counting_index(**options: Any) -> bytes:
        builds.append("index.html")
        return render_index(**options)

    monkeypatch.setattr(feedwriter, "build_feed", counting_build)
    monkeypatch.setattr(publish, "render_index", counting_index)
    site = Site(tmp_path, builds)
    site.items(8)
    run(site.settings(), clock=lambda: NOW, run_date=NOW.date())
    builds.clear()
    yield site


def outputs(folder: Path) -> dict[str, bytes]:
    """The published feeds and index page under ``folder``."""
    found = {"index.html": (folder / "index.html").read_bytes()}
    for path in sorted((folder / "feeds").glob("*.atom")):
        found[path.name] = path.read_bytes()
    return found


def assert_as_if_from_scratch(site: Site, settings: Settings) -> dict[str, bytes]:
    """The output folder holds what a publish into an empty folder writes, all valid."""
    scratch = replace(settings, publish=replace(settings.publish, output_dir=site.folder / "new"))
    site.publish(scratch)
    expected = outputs(scratch.publish.output_dir)
    assert outputs(settings.publish.output_dir) == expected
    for name, data in expected.items():
        if name.endswith(".atom"):
            validate_atom(data)
            assert not feedparser.parse(data).bozo, name
    return expected


def titles(data: bytes) -> list[str]:
    return [entry.title for entry in feedparser.parse(data).entries]


def test_a_rerun_with_nothing_changed_rebuilds_nothing(site: Site) -> None:
    settings = site.settings()
    before = outputs(settings.publish.output_dir)
    assert site.publish(settings) == (0, 3)
    assert site.builds == []
    assert outputs(settings.publish.output_dir) == before
    # A whole run whose source is unchanged publishes nothing either.
    run(settings, clock=lambda: NOW, run_date=NOW.date())
    assert site.builds == []
    assert_as_if_from_scratch(site, settings)


def test_new_entries_rebuild_the_feeds_and_the_index(site: Site) -> None:
    settings = site.settings()
    site.items(10)
    run(settings, clock=lambda: NOW, run_date=NOW.date())
    assert sorted(site.builds) == ["all.atom", "alpha.atom", "beta.atom", "index.html"]
    files = assert_as_if_from_scratch(site, settings)
    assert titles(files["all.atom"])[0] == "news 9"


def test_pruning_rebuilds(site: Site) -> None:
    settings = site.settings()
    later = NOW + timedelta(days=40)
    site.items(12, start=later - timedelta(hours=2))  # four new items, first seen later
    run(settings, clock=lambda: later, run_date=later.date())
    assert site.publish(settings) == (0, 3)
    with Store(settings.storage.database) as store:
        assert store.prune_entries(before=later - timedelta(days=1), now=later).entries == 8
    site.publish(settings)
    assert "all.atom" in site.builds
    files = assert_as_if_from_scratch(site, settings)
    assert titles(files["all.atom"]) == ["news 11", "news 10", "news 9", "news 8"]


def test_linking_and_splitting_a_duplicate_rebuild(site: Site) -> None:
    settings = site.settings()
    with Store(settings.storage.database) as store:
        keys = {e.title: e.key for e in store.entries_in_category(None, 100)}
        with store.transaction():
            store.link_duplicate(
                keys["news 7"], kept_key=keys["news 6"], reason="test", similarity=1.0, now=NOW
            )
    site.publish(settings)
    assert "all.atom" in site.builds
    files = assert_as_if_from_scratch(site, settings)
    assert "news 7" not in titles(files["all.atom"])

    with Store(settings.storage.database) as store, store.transaction():
        assert store.split_duplicate(keys["news 7"], now=NOW) == keys["news 6"]
    site.publish(settings)
    assert "all.atom" in site.builds
    files = assert_as_if_from_scratch(site, settings)
    assert "news 7" in titles(files["all.atom"])


@pytest.mark.parametrize(
    "change",
    [{"title": "Renamed"}, {"base": "https://elsewhere.example.net/"}, {"limit": 2}],
    ids=["title", "base_url", "feed_max_entries"],
)
def test_a_changed_setting_rebuilds_everything(site: Site, change: dict[str, Any]) -> None:
    settings = site.settings(**change)
    site.publish(settings)
    assert sorted(site.builds) == ["all.atom", "alpha.atom", "beta.atom", "index.html"]
    files = assert_as_if_from_scratch(site, settings)
    parsed = feedparser.parse(files["all.atom"])
    assert parsed.feed.title == f"{change.get('title', 'Site')}: all entries"
    assert parsed.feed.links[0].href.startswith(change.get("base", "https://feeds.example.org/"))
    assert len(parsed.entries) == change.get("limit", 5)


def test_a_deleted_or_edited_output_file_is_rebuilt(site: Site) -> None:
    settings = site.settings()
    feeds = settings.publish.output_dir / "feeds"
    (feeds / "alpha.atom").unlink()
    (settings.publish.output_dir / "index.html").unlink()
    site.publish(settings)
    assert sorted(site.builds) == ["alpha.atom", "index.html"]
    assert_as_if_from_scratch(site, settings)

    (feeds / "beta.atom").write_bytes(b"<feed/>")
    assert site.publish(settings) == (1, 3)
    assert site.builds == ["beta.atom"]
    assert_as_if_from_scratch(site, settings)


def test_a_publish_that_fails_midway_is_redone(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = site.settings()
    site.items(10)
    write_atomic = publish.write_atomic

    def failing(path: Path, data: bytes) -> bool:
        if path.name == "beta.atom":  # after all.atom and alpha.atom
            raise PublishError(f"cannot write {path}: disk full")
        return write_atomic(path, data)

    monkeypatch.setattr(publish, "write_atomic", failing)
    with pytest.raises(PublishError):
        run(settings, clock=lambda: NOW, run_date=NOW.date())
    monkeypatch.setattr(publish, "write_atomic", write_atomic)
    site.publish(settings)
    # The feeds written before the failure were recorded: only the rest is built.
    assert sorted(site.builds) == ["beta.atom", "index.html"]
    files = assert_as_if_from_scratch(site, settings)
    assert titles(files["all.atom"])[0] == "news 9"


@pytest.mark.sqlite_only(reason="patches a method of the SQLite store class")
def test_a_crash_before_the_fingerprints_are_recorded_is_redone(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files written, the process dies before recording them: the next publish checks."""
    settings = site.settings()
    site.items(10)

    def crash(self: Store, files: object, **_: object) -> None:
        raise KeyboardInterrupt  # as abrupt as it gets in-process

    record = Store.record_published
    monkeypatch.setattr(Store, "record_published", crash)
    with pytest.raises(KeyboardInterrupt):
        run(settings, clock=lambda: NOW, run_date=NOW.date())
    monkeypatch.setattr(Store, "record_published", record)
    site.publish(settings)
    assert sorted(site.builds) == ["all.atom", "alpha.atom", "beta.atom", "index.html"]
    files = assert_as_if_from_scratch(site, settings)
    assert titles(files["all.atom"])[0] == "news 9"


def test_every_write_to_what_feeds_show_moves_the_generation(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        conn = store.db.conn
        seen = [store.output_generation()]

        def moved() -> None:
            seen.append(store.output_generation())
            assert seen[-1] > seen[-2]

        columns = "key, atom_id, title, updated, first_seen, digest_day, content_hash"
        for key in ("k1", "k2"):
            conn.execute(
                f"INSERT INTO entries ({columns}) VALUES (?, ?, 't', 'u', 'f', 'd', 'h')",
                [key, f"urn:{key}"],
            )
            moved()
        conn.execute("UPDATE entries SET title = 'new' WHERE key = 'k1'")
        moved()
        conn.execute("INSERT INTO entry_categories VALUES ('k1', 'c', 's', 'listed', 'f')")
        moved()
        conn.execute("INSERT INTO duplicates VALUES (1, 'k2', 'k1', 'r', NULL, 'now')")
        moved()
        conn.execute("DELETE FROM duplicates")
        moved()
        conn.execute("INSERT INTO arxiv_announcements VALUES ('k1', 'c', 'd', 'new', 1, 's')")
        moved()
        before = store.output_generation()
        conn.execute("DELETE FROM entries WHERE key = 'k1'")  # cascades to three tables
        assert store.output_generation() >= before + 3
        # What no feed shows does not move it.
        before = store.output_generation()
        conn.execute("INSERT INTO entry_sources VALUES ('k2', 's', NULL, 'h', 'f')")
        conn.execute("INSERT INTO runs (started_at, run_date, status) VALUES ('a', 'b', 'ok')")
        assert store.output_generation() == before


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_a_database_from_before_the_generation_is_published_in_full(tmp_path: Path) -> None:
    """Migration 9 on a database written by an older aggregator: no record, no skip."""
    site = Site(tmp_path, [])
    site.items(4)
    settings = site.settings()
    run(settings, clock=lambda: NOW, run_date=NOW.date())
    conn = sqlite3.connect(settings.storage.database)
    with conn:
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_generation'"
        ).fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP INDEX entries_updated_key")
        conn.execute("CREATE INDEX entries_updated ON entries (updated)")
        conn.execute("DROP TABLE published_files")
        conn.execute("DROP TABLE output_generation")
        conn.execute("DELETE FROM schema_migrations WHERE version = 9")
    conn.close()
    feeds = settings.publish.output_dir / "feeds"
    (feeds / "alpha.atom").write_bytes(b"stale")
    with Store(settings.storage.database) as store:
        assert store.output_generation() == 0
    assert site.publish(settings) == (1, 3)
    assert_as_if_from_scratch(site, settings)


def test_a_digest_is_rendered_again_only_when_what_it_shows_may_have_changed(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aggregator._output import digest
    from aggregator.core import write_digests

    rendered: list[str] = []
    render_html = digest.render_html

    def counting(chosen: digest.Digest, **options: Any) -> Iterator[str]:
        rendered.append(chosen.day.isoformat())
        return render_html(chosen, **options)

    monkeypatch.setattr(digest, "render_html", counting)
    settings = site.settings()
    day = NOW.date()
    folder = settings.publish.output_dir / "digests" / day.isoformat()

    def write(settings: Settings) -> list[str]:
        rendered.clear()
        with Store(settings.storage.database) as store:
            assert day in write_digests(settings, store, {day})[1]
        return rendered

    assert write(settings) == []  # touched, nothing changed: not rendered
    before = (folder / "index.html").read_bytes()
    (folder / "digest.txt").unlink()
    assert write(settings) == [day.isoformat()]
    assert (folder / "digest.txt").is_file() and (folder / "index.html").read_bytes() == before
    renamed = replace(settings, digest=replace(settings.digest, title="Morning paper"))
    assert write(renamed) == [day.isoformat()]
    assert "Morning paper" in (folder / "index.html").read_text(encoding="utf-8")
    site.items(10)
    rendered.clear()
    run(renamed, clock=lambda: NOW, run_date=day)
    assert rendered == [day.isoformat()]
    assert "news 9" in (folder / "digest.txt").read_text(encoding="utf-8")
    assert write(renamed) == []


def test_every_module_and_template_is_part_of_the_code_digest() -> None:
    # A hand-kept list missed the templating and normalisation modules, so a change
    # there left stale outputs looking current.
    from aggregator._output import publish

    shapers = {path.name for path in publish._shapers()}
    assert {"templating.py", "normalize.py", "publish.py", "digest.py", "safety.py"} <= shapers
    assert {"digest.html", "digest.txt", "index.html", "email.html"} <= shapers
