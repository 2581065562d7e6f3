from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from storekit import sql

from aggregator._storage import open_store
from aggregator._storage.postgres import MIGRATIONS as PG_MIGRATIONS
from aggregator._storage.protocol import Storage
from aggregator._storage.sqlite import MIGRATIONS, Store
from aggregator._update.normalize import normalize
from aggregator._update.plan import plan_entries
from aggregator.config.settings import DedupSettings, StorageSettings
from aggregator.config.sources import Source
from aggregator.errors import StorageError
from aggregator.types import ParsedEntry

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def store_one(store: Storage, title: str = "T", link: str = "https://e.org/1") -> None:
    item = normalize(ParsedEntry(title=title, link=link, authors=("Ada", "Bo")), source="s")
    source = Source(name="s", kind="feed", categories=("cat",))
    plan = plan_entries(
        source,
        [item],
        store.known("s", [item.key]),
        now=NOW,
        today=date(2026, 11, 23),
        dedup=DedupSettings(),
    )
    store.apply([plan])


def test_migrations_run_once_and_are_recorded(storage: StorageSettings) -> None:
    with open_store(storage) as store:
        assert store.created
        assert store.schema_version() == MIGRATIONS[-1][0]  # type: ignore[attr-defined]
        store_one(store)
    with open_store(storage) as store:  # reopening migrates nothing and keeps the data
        assert not store.created
        assert sql(store, "SELECT count(*) FROM schema_migrations") == [(len(MIGRATIONS),)]
        assert store.count_entries() == 1


def test_both_backends_have_the_same_migrations() -> None:
    assert [(v, n) for v, n, _ in PG_MIGRATIONS] == [(v, n) for v, n, _ in MIGRATIONS]


def test_rows_round_trip(storage: StorageSettings) -> None:
    with open_store(storage) as store:
        store_one(store)
        (row,) = store.entries_in_category("cat", 10)
        assert row.key == "url:https://e.org/1"
        assert row.authors == ("Ada", "Bo")
        assert row.categories == ("cat",) and row.sources == ("s",)
        assert row.first_seen == NOW and row.digest_day == date(2026, 11, 23)
        assert store.categories() == [("cat", 1)]
        assert store.entries_for_day(date(2026, 11, 23)) == [row]


def test_a_failed_transaction_leaves_nothing_behind(storage: StorageSettings) -> None:
    with open_store(storage) as store:
        store_one(store, link="https://e.org/kept")
        with pytest.raises(RuntimeError), store.transaction():
            sql(store, "DELETE FROM entries")
            raise RuntimeError("crash half-way")
        assert store.count_entries() == 1


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="is not an SQLite database"):
        Store(path)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'now')")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="newer aggregator"):
        Store(path)


def test_a_failed_unit_inside_a_batch_is_undone_alone(tmp_path: Path) -> None:
    """transaction() inside batch() is a savepoint: a failure undoes it, not the batch."""
    path = tmp_path / "batch.db"
    with Store(path) as store:
        with store.batch() as batch:
            with store.transaction():
                store.db.execute(
                    "INSERT INTO sources (name, kind, location) VALUES ('kept', 'feed', 'x')"
                )
            with pytest.raises(RuntimeError), store.transaction():
                store.db.execute(
                    "INSERT INTO sources (name, kind, location) VALUES ('undone', 'feed', 'x')"
                )
                raise RuntimeError("a source failed")
            batch.commit()
            with store.transaction():
                store.db.execute(
                    "INSERT INTO sources (name, kind, location) VALUES ('later', 'feed', 'x')"
                )
            # Another connection sees what was committed, not what is still open.
            with sqlite3.connect(path) as other:
                seen = [name for (name,) in other.execute("SELECT name FROM sources")]
            assert seen == ["kept"]
        names = [name for (name,) in store.db.execute("SELECT name FROM sources ORDER BY name")]
    assert names == ["kept", "later"]
