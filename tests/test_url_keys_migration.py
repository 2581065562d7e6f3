"""Migration 18: URL keys made again with the issue-21 rules, colliding rows merged.

The database is made by the previous rules for real: two feeds served on 127.0.0.1
deliver one article under two spellings of its address, and runs store them with the
canonical URL of before (copied below as it was), which made two rows of it. Then the
database is marked as of the previous schema, opened by this version, and checked:
one row per article, every filing, source, announcement and delivery kept. On both
backends: the PostgreSQL database is taken back to schema 17 (the tables of 19 and
the search configuration of 20 dropped too), so that 18 to 20 run on it in turn.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import psycopg
import pytest
from pytest_httpserver import HTTPServer

from aggregator._common.urls import TRACKING_PARAMS
from aggregator._storage import open_store
from aggregator._storage.sqlite.schema import MIGRATIONS
from aggregator._update import normalize
from aggregator.config.settings import Settings, StorageSettings, load_config
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


def _settings(tmp_path: Path, storage: StorageSettings) -> Settings:
    """The test's config, stored where ``storage`` says (the SQLite file it names, or
    the PostgreSQL database)."""
    settings = load_config(tmp_path / "aggregator.toml")
    return replace(settings, storage=replace(settings.storage, url=storage.url))


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


#: Where a test's database is: the SQLite file, or the PostgreSQL database's URL.
Database = Path | str

#: Schema 17 on PostgreSQL: what migrations 18 and later add, taken away again.
_BACK_TO_17 = (
    "DELETE FROM schema_migrations WHERE version >= 18",
    "DROP TABLE summaries",
    "DROP TABLE queue_results",
    "DROP TABLE queue_hosts",
    "DROP TABLE article_fetches",
    "DROP TEXT SEARCH CONFIGURATION aggregator_search",
    "DROP TEXT SEARCH DICTIONARY aggregator_english",
    # Migration 23 dropped the band keys' indexes by signature and their triggers.
    *(
        statement
        for table, suffix in (("lsh_bands", ""), ("lsh_bands_recent", "_recent"))
        for statement in (
            f"CREATE INDEX {table}_sig ON {table} (sig_id)",
            f"CREATE FUNCTION entry_signatures_delete{suffix}() RETURNS trigger"
            f" LANGUAGE plpgsql AS $$ BEGIN DELETE FROM {table} WHERE sig_id = OLD.id;"
            " RETURN NULL; END $$",
            f"CREATE TRIGGER entry_signatures_delete{suffix} AFTER DELETE ON entry_signatures"
            f" FOR EACH ROW EXECUTE FUNCTION entry_signatures_delete{suffix}()",
        )
    ),
)


@pytest.fixture
def old_database(
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    storage: StorageSettings,
) -> Database:
    """A database as the previous version left it, with colliding rows."""
    httpserver.expect_request("/a.xml").respond_with_data(FEED_A, content_type="application/xml")
    httpserver.expect_request("/b.xml").respond_with_data(FEED_B, content_type="application/xml")
    _config(tmp_path, httpserver)
    with monkeypatch.context() as patch:
        patch.setattr(normalize, "canonical_url", old_canonical_url)
        summary = run(_settings(tmp_path, storage), clock=lambda: T0, run_date=T0.date())
    assert not summary.failed, summary.failed
    db: Database = storage.url if storage.url is not None else tmp_path / "agg.db"
    _execute(
        db,
        *(_BACK_TO_17 if isinstance(db, str) else ()),
        "DELETE FROM schema_migrations WHERE version = 18",
        "INSERT INTO deliveries (day, subscriber, state, attempts, entries, created_at,"
        f" updated_at) VALUES ('2026-11-20', 'ann@example.org', 'sent', 1, 3, '{T0.isoformat()}',"
        f" '{T0.isoformat()}')",
        "INSERT INTO arxiv_announcements (entry_key, category, day, how, version, source)"
        # on the row that is merged away (planet-b's), so that it has to move
        " VALUES ('url:https://example.org/blog/../~alice/caching', 'cs.DC', '2026-11-20',"
        " 'new', 1,"
        " 'planet-b')",
        "INSERT INTO entry_scores (entry_key, profile, model, score) VALUES"
        " ('url:https://example.org/blog/../~alice/caching', 'default', 'tfidf', 0.5)",
    )
    keys = {key for (key,) in _rows(db, "SELECT key FROM entries")}
    # ... which near-duplicate matching had linked as the same text (now a self-link).
    linked = _rows(db, "SELECT entry_key, kept_key FROM duplicates")
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


def _execute(db: Database, *statements: str) -> None:
    """Run ``statements`` in one transaction, on the database as it is (not migrated)."""
    if isinstance(db, str):
        with psycopg.connect(db) as pg:
            for statement in statements:
                pg.execute(statement)  # type: ignore[arg-type]
        return
    conn = sqlite3.connect(db)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


def _rows(db: Database, sql: str) -> set[tuple[object, ...]]:
    if isinstance(db, str):
        with psycopg.connect(db) as pg:
            return {tuple(row) for row in pg.execute(sql)}  # type: ignore[arg-type]
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute(sql).fetchall())
    finally:
        conn.close()


def _storage(db: Database) -> StorageSettings:
    if isinstance(db, str):
        return StorageSettings(database=Path("unused.db"), url=db)
    return StorageSettings(database=db)


def test_the_migration_merges_rows_whose_keys_become_one(old_database: Database) -> None:
    before_atom_ids = dict(_rows(old_database, "SELECT key, atom_id FROM entries"))
    deliveries = _rows(old_database, "SELECT * FROM deliveries")
    with open_store(_storage(old_database)) as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
    assert (18,) in _rows(old_database, "SELECT version FROM schema_migrations")
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
    assert _rows(old_database, "SELECT entry_key, score FROM entry_scores") == {(alice, 0.5)}
    # The merged rows' digest day is rendered again (its time as SQLite writes one).
    [(day, since)] = _rows(old_database, "SELECT day, since FROM digests_due")
    assert day == "2026-11-20"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", str(since))
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
    if isinstance(old_database, str):
        # The foreign keys were checked at the migration's end, and are as they were.
        assert (
            _rows(
                old_database,
                "SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable",
            )
            == set()
        )
        # The search index follows the rows: one row each, found by their words.
        assert _rows(old_database, "SELECT entry_key FROM search_text") == {
            (alice,),
            (bob,),
            (server,),
        }
        with open_store(_storage(old_database)) as store:
            assert [hit.entry.key for hit in store.search("caching").hits] == [alice]
        return
    conn = sqlite3.connect(old_database)
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def test_after_the_migration_a_run_publishes_each_article_once(
    old_database: Database, tmp_path: Path
) -> None:
    later = T0 + timedelta(days=1)
    summary = run(
        _settings(tmp_path, _storage(old_database)), clock=lambda: later, run_date=later.date()
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
