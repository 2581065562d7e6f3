"""Migration 18: URL keys made again with the issue-21 rules, colliding rows merged.

The database is made by the previous rules for real: two feeds served on 127.0.0.1
deliver one article under two spellings of its address, and runs store them with the
canonical URL of before (copied below as it was), which made two rows of it. Then the
database is marked as of the previous schema, opened by this version, and checked:
one row per article, every filing, source, announcement and delivery kept.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import pytest
from pytest_httpserver import HTTPServer

from aggregator._common.urls import TRACKING_PARAMS
from aggregator._storage.sqlite import Store
from aggregator._update import normalize
from aggregator.config.settings import load_config
from aggregator.core import run

T0 = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)


def old_canonical_url(url: str) -> str:
    """canonical_url as it was before issue 21 (the rules that made the old keys)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url.strip()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
        ]
    )
    return urlunsplit(("https", netloc, parts.path or "/", query, ""))


def _rss(title: str, items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{guid}</guid>"
        f"<description>{t}: notes on the week, with figures and a reading list.</description>"
        "</item>"
        for t, link, guid in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


ALICE = "Alice on caching"
BOB = "Bob's field report"
SERVER = "Lab server notes"
FEED_A = _rss(
    "Blog A",
    [
        (ALICE, "https://example.org/%7Ealice/caching", "a-1"),
        (SERVER, "http://[2001:db8::1]:8080/notes", "a-2"),
        (BOB, "https://bücher.example/bob/report", "a-3"),
    ],
)
FEED_B = _rss(
    "Planet B",
    [
        (ALICE, "https://example.org/blog/../~alice/caching", "b-1"),
        (BOB, "https://xn--bcher-kva.example/bob/./report", "b-3"),
    ],
)


def _config(tmp_path: Path, server: HTTPServer) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(
        '[storage]\ndatabase = "agg.db"\n[fetch]\nmin_interval = {}\n'
        f'[[sources]]\nname = "blog-a"\nurl = "{server.url_for("/a.xml")}"\n'
        'categories = ["systems"]\n'
        f'[[sources]]\nname = "planet-b"\nurl = "{server.url_for("/b.xml")}"\n'
        'categories = ["planet"]\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def old_database(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database as the previous version left it, with colliding rows."""
    httpserver.expect_request("/a.xml").respond_with_data(FEED_A, content_type="application/xml")
    httpserver.expect_request("/b.xml").respond_with_data(FEED_B, content_type="application/xml")
    path = _config(tmp_path, httpserver)
    with monkeypatch.context() as patch:
        patch.setattr(normalize, "canonical_url", old_canonical_url)
        summary = run(load_config(path), clock=lambda: T0, run_date=T0.date())
    assert not summary.failed, summary.failed
    db = tmp_path / "agg.db"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = 18")
        conn.execute(
            "INSERT INTO deliveries (day, subscriber, state, attempts, entries, created_at,"
            " updated_at) VALUES ('2026-11-20', 'ann@example.org', 'sent', 1, 3, ?, ?)",
            [T0.isoformat(), T0.isoformat()],
        )
        conn.execute(
            "INSERT INTO arxiv_announcements"
            " VALUES (?, 'cs.DC', '2026-11-20', 'new', 1, 'planet-b')",
            ["url:https://example.org/~alice/caching"],
        )
    keys = {key for (key,) in conn.execute("SELECT key FROM entries")}
    # ... which near-duplicate matching had linked as the same text (now a self-link).
    linked = conn.execute("SELECT entry_key, kept_key FROM duplicates").fetchall()
    conn.close()
    # The old rules made two rows of each article (and one invalid URL).
    assert keys == {
        "url:https://example.org/%7Ealice/caching",
        "url:https://example.org/blog/../~alice/caching",
        "url:https://2001:db8::1:8080/notes",
        "url:https://bücher.example/bob/report",
        "url:https://xn--bcher-kva.example/bob/./report",
    }
    assert len(linked) == 2
    return db


def _rows(db: Path, sql: str) -> set[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute(sql).fetchall())
    finally:
        conn.close()


def test_the_migration_merges_rows_whose_keys_become_one(old_database: Path) -> None:
    before_atom_ids = dict(_rows(old_database, "SELECT key, atom_id FROM entries"))
    deliveries = _rows(old_database, "SELECT * FROM deliveries")
    with Store(old_database) as store:
        applied = store.db.execute("SELECT version FROM schema_migrations").fetchall()
        assert (18,) in applied
    alice = "url:https://example.org/~alice/caching"
    bob = "url:https://xn--bcher-kva.example/bob/report"
    server = "url:https://[2001:db8::1]:8080/notes"
    assert {key for (key,) in _rows(old_database, "SELECT key FROM entries")} == {
        alice,
        bob,
        server,
    }
    # Every filing and every source that delivered the article stays with its one row.
    assert _rows(old_database, "SELECT entry_key, category, source FROM entry_categories") == {
        (alice, "systems", "blog-a"),
        (alice, "planet", "planet-b"),
        (bob, "systems", "blog-a"),
        (bob, "planet", "planet-b"),
        (server, "systems", "blog-a"),
    }
    assert _rows(old_database, "SELECT entry_key, source FROM entry_sources") == {
        (alice, "blog-a"),
        (alice, "planet-b"),
        (bob, "blog-a"),
        (bob, "planet-b"),
        (server, "blog-a"),
    }
    assert _rows(old_database, "SELECT entry_key, category FROM arxiv_announcements") == {
        (alice, "cs.DC")
    }
    assert _rows(old_database, "SELECT * FROM deliveries") == deliveries
    # The row seen first stays, with its published Atom id.
    atom_ids = dict(_rows(old_database, "SELECT key, atom_id FROM entries"))
    assert atom_ids[alice] == before_atom_ids["url:https://example.org/%7Ealice/caching"]
    assert atom_ids[server] == before_atom_ids["url:https://2001:db8::1:8080/notes"]
    # No duplicate link of a row to itself or to a row that is gone.
    assert (
        _rows(
            old_database,
            "SELECT entry_key FROM duplicates WHERE entry_key = kept_key"
            " OR kept_key NOT IN (SELECT key FROM entries)",
        )
        == set()
    )
    conn = sqlite3.connect(old_database)
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def test_after_the_migration_a_run_publishes_each_article_once(
    old_database: Path, tmp_path: Path
) -> None:
    later = T0 + timedelta(days=1)
    summary = run(
        load_config(tmp_path / "aggregator.toml"), clock=lambda: later, run_date=later.date()
    )
    assert not summary.failed, summary.failed
    assert sum(result.counts.get("new", 0) for result in summary.sources) == 0
    feeds = tmp_path / "public" / "feeds"
    everything = feedparser.parse((feeds / "all.atom").read_bytes())
    assert sorted(entry.title for entry in everything.entries) == sorted([ALICE, BOB, SERVER])
    links = {entry.title: entry.link for entry in everything.entries}
    assert links[SERVER] == "http://[2001:db8::1]:8080/notes"
    for category in ("systems", "planet"):
        titles = {
            e.title for e in feedparser.parse((feeds / f"{category}.atom").read_bytes()).entries
        }
        assert {ALICE, BOB} <= titles
