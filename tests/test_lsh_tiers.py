"""The LSH index in two tables: recent band keys merged into the big one in bulk.

Where a band key sits (merged or recent) must never change what is found: the same
sources give the same duplicate links whether the recent table is merged every few
entries or never, and an entry's keys go from both tables when it is pruned, updated or
linked (made again from its signature: the tables keep no index by signature).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from storekit import sql

from aggregator._neardup.minhash import MinHasher, Scheme
from aggregator._neardup.rules import Features
from aggregator._storage import open_store
from aggregator._storage.bandkeys import stored_band_keys
from aggregator._storage.protocol import Storage
from aggregator._storage.sqlite import Store, dupes
from aggregator._storage.sqlite.schema import (
    MIGRATIONS,
    _m12_recent_bands,
    _m23_band_keys_by_signature,
)
from aggregator._update.decide import Outcome
from aggregator.config.settings import StorageSettings, load_config
from aggregator.core import run
from benchmarks import feeds as generator

WORDS = "the grid operator approved a battery project near the old coal plant on monday"
OTHER_WORDS = "a new telescope found water vapour in the atmosphere of a distant planet"


def _sources(httpserver: HTTPServer) -> str:
    # A blog, and a mirror republishing it under its own links and ids: near-duplicates.
    blog = generator.feed_bytes(1, entries=60)
    mirror = blog.replace(b"blog1.example.org", b"mirror.example").replace(
        b'href="/2026', b'href="https://mirror.example/2026'
    )
    httpserver.expect_request("/blog.xml").respond_with_data(blog, content_type="text/xml")
    httpserver.expect_request("/mirror.xml").respond_with_data(mirror, content_type="text/xml")
    return "".join(
        f'[[sources]]\nname = "{name}"\nurl = "{httpserver.url_for(f"/{name}.xml")}"\n'
        for name in ("blog", "mirror")
    )


def _links(database: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(
            "SELECT entry_key, kept_key, reason FROM duplicates ORDER BY entry_key"
        ).fetchall()


def _band_rows(database: Path) -> tuple[int, int]:
    with sqlite3.connect(database) as conn:
        merged = conn.execute("SELECT count(*) FROM lsh_bands").fetchone()[0]
        recent = conn.execute("SELECT count(*) FROM lsh_bands_recent").fetchone()[0]
    return int(merged), int(recent)


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_merging_recent_band_keys_changes_no_link(
    httpserver: HTTPServer,
    clock: Callable[[], datetime],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = _sources(httpserver)
    results = {}
    for name, limit in (("never", 10**9), ("often", 100)):
        monkeypatch.setattr(dupes, "RECENT_BANDS", limit)
        folder = tmp_path / name
        folder.mkdir()
        (folder / "aggregator.toml").write_text(
            f"[fetch]\nprocesses = 0\n{sources}", encoding="utf-8"
        )
        summary = run(load_config(folder / "aggregator.toml"), clock=clock)
        assert not summary.failed
        results[name] = (summary.count(Outcome.DUPLICATE), _links(folder / "aggregator.db"))
        merged, recent = _band_rows(folder / "aggregator.db")
        if limit == 100:
            assert merged > 0 and recent < limit + 32  # merged as it filled
        else:
            assert merged == 0 and recent > 0  # every key still recent
    duplicates, links = results["never"]
    assert duplicates >= 50 and len(links) == duplicates
    assert results["often"] == results["never"]


_ROW = (
    "INSERT INTO entries (key, atom_id, title, updated, first_seen, digest_day,"
    " authors, sections, content_hash, position, subjects)"
    " VALUES (?, ?, 't', ?, ?, '2026-01-01', '[]', '[]', 'h', 0, '[]')"
)


def _signed(store: Storage, key: str, seen: str, words: str, *, scheme: str = "") -> Features:
    """Store entry ``key`` (first seen and updated at ``seen``) with the signature of
    ``words`` and its band keys, the first half merged, the rest recent."""
    hasher = MinHasher(Scheme())
    signature = hasher.signature(words.split())
    assert signature is not None
    found = Features(key, datetime.fromisoformat(seen), signature, hasher.bands(signature), ())
    sql(store, _ROW, [key, f"urn:{key}", seen, seen])
    sql(
        store,
        "INSERT INTO entry_signatures (entry_key, scheme, signature, shingles, seen)"
        " VALUES (?, ?, ?, 8, ?)",
        [key, scheme or Scheme().name, MinHasher.to_bytes(signature), seen],
    )
    [(sig_id,)] = sql(store, "SELECT id FROM entry_signatures WHERE entry_key = ?", [key])
    for index, band in enumerate(found.bands):
        table = "lsh_bands" if index < len(found.bands) // 2 else "lsh_bands_recent"
        sql(store, f"INSERT INTO {table} VALUES (?, ?)", [band, sig_id])
    return found


def _keys(store: Storage) -> dict[str, set[int]]:
    """Each entry's band keys, from both tables."""
    found: dict[str, set[int]] = {}
    for key, band in sql(
        store,
        "SELECT s.entry_key, b.band FROM (SELECT * FROM lsh_bands UNION ALL"
        " SELECT * FROM lsh_bands_recent) AS b JOIN entry_signatures s ON s.id = b.sig_id",
    ):
        found.setdefault(key, set()).add(int(band))
    return found


def test_pruning_an_entry_drops_its_keys_from_both_tables(storage: StorageSettings) -> None:
    with open_store(storage) as store:
        with store.transaction():
            _signed(store, "old", "2025-01-01T00:00:00+00:00", WORDS)
            kept = _signed(store, "new", "2026-06-01T00:00:00+00:00", OTHER_WORDS)
        pruned = store.prune_entries(
            before=datetime(2026, 1, 1, tzinfo=UTC), now=datetime(2026, 7, 1, tzinfo=UTC)
        )
        assert pruned.entries == 1
        assert _keys(store) == {"new": set(kept.bands)}
        (count,) = sql(
            store, "SELECT count(*) FROM lsh_bands UNION ALL SELECT count(*) FROM lsh_bands_recent"
        )[0]
        assert count == len(kept.bands) // 2


def test_linking_and_updating_replace_keys_made_again_from_the_signature(
    storage: StorageSettings,
) -> None:
    when = datetime(2026, 6, 1, tzinfo=UTC)
    scheme = Scheme().name
    with open_store(storage) as store:
        with store.transaction():
            first = _signed(store, "a", "2026-06-01T00:00:00+00:00", WORDS)
            second = _signed(store, "b", "2026-06-01T00:00:00+00:00", OTHER_WORDS)
        changed = MinHasher(Scheme()).signature(f"{WORDS} and more words".split())
        assert changed is not None
        renewed = replace(first, signature=changed, bands=MinHasher(Scheme()).bands(changed))
        with store.transaction():
            store.save_features(renewed, scheme=scheme)
        assert _keys(store) == {"a": set(renewed.bands), "b": set(second.bands)}
        with store.transaction():
            store.link_duplicate("b", kept_key="a", reason="near", similarity=0.9, now=when)
        assert _keys(store) == {"a": set(renewed.bands)}


def test_keys_of_a_scheme_not_made_again_are_found_by_their_signature(
    storage: StorageSettings,
) -> None:
    """Keys no code of today can make again (none since migration 23) still go."""
    with open_store(storage) as store:
        with store.transaction():
            old = _signed(store, "a", "2026-06-01T00:00:00+00:00", WORDS, scheme="minhash3:k3")
            assert _keys(store) == {"a": set(old.bands)}
        hasher = MinHasher(Scheme())
        signature = hasher.signature(OTHER_WORDS.split())
        assert signature is not None
        renewed = replace(old, signature=signature, bands=hasher.bands(signature))
        with store.transaction():
            store.save_features(renewed, scheme=Scheme().name)
        assert _keys(store) == {"a": set(renewed.bands)}


def test_stored_band_keys_are_made_again_only_for_the_schemes_that_made_them() -> None:
    hasher = MinHasher(Scheme(num_perm=64, bands=16, seed=3))
    signature = hasher.signature(WORDS.split())
    assert signature is not None
    data = MinHasher.to_bytes(signature)
    assert stored_band_keys(hasher.scheme.name, data) == hasher.bands(signature)
    assert stored_band_keys(hasher.scheme.name, None) == ()
    assert stored_band_keys(hasher.scheme.name, data[:-4]) is None  # damaged
    assert stored_band_keys("minhash3:k3:64x16:s3", data) is None
    assert stored_band_keys("minhash4:k3:64x15:s3:r2", data) is None  # no such scheme
    assert stored_band_keys(hasher.scheme.name + "x", data) is None


@pytest.mark.sqlite_only(reason="SQLite's query plans and a file of an older schema")
def test_migration_23_drops_the_signature_indexes_and_what_cannot_be_made_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    with Store(path) as store, store.transaction():
        current = _signed(store, "a", "2026-06-01T00:00:00+00:00", WORDS)
        _signed(store, "b", "2026-06-01T00:00:00+00:00", OTHER_WORDS, scheme="minhash3:k3")
    conn = sqlite3.connect(path)
    with conn:  # as schema 22 left it: indexes by signature, and triggers using them
        for table, suffix in (("lsh_bands", ""), ("lsh_bands_recent", "_recent")):
            conn.execute(f"CREATE INDEX {table}_sig ON {table} (sig_id)")
            conn.execute(
                f"CREATE TRIGGER entry_signatures_delete{suffix} AFTER DELETE ON"
                f" entry_signatures BEGIN DELETE FROM {table} WHERE sig_id = OLD.id; END"
            )
        conn.execute("DELETE FROM schema_migrations WHERE version = 23")
    conn.close()
    with Store(path) as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
        assert _keys(store) == {"a": set(current.bands)}
        names = {name for (name,) in store.db.execute("SELECT name FROM sqlite_master")}
        assert not names & {
            "lsh_bands_sig",
            "lsh_bands_recent_sig",
            "entry_signatures_delete",
            "entry_signatures_delete_recent",
        }
        for table in dupes.BAND_TABLES:
            plan = store.db.execute(
                f"EXPLAIN QUERY PLAN DELETE FROM {table} WHERE band = ? AND sig_id = ?", [1, 2]
            ).fetchall()
            assert [row[-1] for row in plan] == [
                f"SEARCH {table} USING PRIMARY KEY (band=? AND sig_id=?)"
            ]


class _Recorder:
    def __init__(self) -> None:
        self.sql: list[str] = []

    def execute(self, sql: str, *args: object) -> None:
        self.sql.append(sql)


def test_migration_12_executes_what_it_shipped_with() -> None:
    recorder = _Recorder()
    _m12_recent_bands(recorder)  # type: ignore[arg-type]
    assert [" ".join(sql.split()) for sql in recorder.sql] == [
        "CREATE TABLE lsh_bands_recent ( band INTEGER NOT NULL, sig_id INTEGER NOT NULL,"
        " PRIMARY KEY (band, sig_id) ) WITHOUT ROWID",
        "CREATE INDEX lsh_bands_recent_sig ON lsh_bands_recent (sig_id)",
        "CREATE TRIGGER entry_signatures_delete_recent AFTER DELETE ON entry_signatures"
        " BEGIN DELETE FROM lsh_bands_recent WHERE sig_id = OLD.id; END",
    ]


def test_migration_23_executes_what_it_shipped_with() -> None:
    recorder = _Recorder()
    _m23_band_keys_by_signature(recorder)  # type: ignore[arg-type]
    assert recorder.sql == [
        "DELETE FROM lsh_bands WHERE sig_id IN"
        " (SELECT id FROM entry_signatures WHERE scheme NOT LIKE 'minhash4:%')",
        "DELETE FROM lsh_bands_recent WHERE sig_id IN"
        " (SELECT id FROM entry_signatures WHERE scheme NOT LIKE 'minhash4:%')",
        "DROP TRIGGER entry_signatures_delete",
        "DROP TRIGGER entry_signatures_delete_recent",
        "DROP INDEX lsh_bands_sig",
        "DROP INDEX lsh_bands_recent_sig",
    ]
