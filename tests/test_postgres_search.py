"""PostgreSQL's search where it has parts SQLite has not: migration 20, which makes the
text search configuration and indexes an existing database again, and its fallback
when the ``unaccent`` extension may not be created. What is found is tested on both
backends in test_search_index.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pgserver
import psycopg
import pytest
from conftest import NOW
from storekit import sql
from test_search_index import _config, titles

from aggregator._storage import open_store
from aggregator._storage.postgres import PostgresStore
from aggregator._storage.postgres.search_index import stale_rows
from aggregator._storage.sqlite.schema import MIGRATIONS
from aggregator.config.settings import StorageSettings
from aggregator.core import Aggregator

RAG = "Retrieval-augmented agents for C++ code repair"


def test_migration_20_indexes_a_database_of_schema_19_again(tmp_path: Path, pg_url: str) -> None:
    settings = _config(tmp_path, StorageSettings(database=tmp_path / "unused.db", url=pg_url))
    Aggregator(settings, clock=lambda: NOW).run()
    with open_store(settings.storage) as store, store.transaction():
        # The database as schema 19 left it: the "simple" configuration's tsvectors.
        sql(
            store,
            "UPDATE search_text SET words = setweight(to_tsvector('simple', title), 'A')"
            " || setweight(to_tsvector('simple', authors), 'B')",
        )
        sql(store, "DROP TEXT SEARCH CONFIGURATION aggregator_search")
        sql(store, "DROP TEXT SEARCH DICTIONARY aggregator_english")
        sql(store, "DELETE FROM schema_migrations WHERE version = 20")
    with open_store(settings.storage) as store:
        assert isinstance(store, PostgresStore)
        assert store.schema_version() == MIGRATIONS[-1][0]
        assert stale_rows(store.conn) == 0
        assert store.search_backlog() == 0
        # Stems, accents and abstracts, none of which schema 19's vectors held.
        assert titles(store.search("diagnostic")) == [RAG]
        assert titles(store.search("author:Avila")) == [RAG]


@pytest.fixture
def plain_role_url(postgres_server: pgserver.PostgresServer, pg_url: str) -> Iterator[str]:
    """``pg_url`` for a role that may make tables but not extensions (no CREATE
    privilege on the database), as on a managed server."""
    database = urlsplit(pg_url).path.lstrip("/")
    role = f"plain_{database}"
    postgres_server.admin(f'CREATE ROLE "{role}" LOGIN')
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'GRANT CREATE ON SCHEMA public TO "{role}"')
    parts = urlsplit(pg_url)
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
    finally:
        postgres_server.drop_database(database)
        postgres_server.admin(f'DROP ROLE "{role}"')


def test_without_unaccent_search_works_and_the_log_says_accents_stay(
    tmp_path: Path, plain_role_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    storage = StorageSettings(database=tmp_path / "unused.db", url=plain_role_url)
    settings = _config(tmp_path, storage)
    with caplog.at_level(logging.WARNING):
        Aggregator(settings, clock=lambda: NOW).run()
    assert "unaccent extension could not be created" in caplog.text
    with open_store(settings.storage) as store:
        assert titles(store.search("author:Ávila")) == [RAG]
        assert store.search("author:Avila").total == 0  # the one thing lost
        assert titles(store.search("agents")) == [RAG, "A survey of program synthesis benchmarks"]
