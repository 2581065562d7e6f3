"""Batched writes: a document's plan stored in one go, nothing rewritten needlessly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from storekit import counting_changes, sql

from aggregator._storage import open_store
from aggregator._storage.postgres import PostgresStore
from aggregator._storage.protocol import Storage
from aggregator._storage.sqlite import Store
from aggregator._update.normalize import normalize
from aggregator._update.plan import Plan, plan_entries
from aggregator.config.settings import DedupSettings, StorageSettings
from aggregator.config.sources import Source
from aggregator.types import Entry, ParsedEntry, StoredEntry

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
TODAY = date(2026, 11, 23)
SOURCE = Source(name="s", kind="feed", url="https://example.org/feed", categories=("cat",))


def entries(*items: ParsedEntry) -> list[Entry]:
    return [normalize(item, source="s", position=i) for i, item in enumerate(items, start=1)]


def store_document(store: Storage, document: list[Entry]) -> int:
    """Decide and store one document; return how many rows the database changed.

    Not counting the output generation, which a trigger moves once per changed row.
    """
    with counting_changes(store) as changed:
        known = store.known("s", [entry.key for entry in document])
        store.apply(
            [plan_entries(SOURCE, document, known, now=NOW, today=TODAY, dedup=DedupSettings())]
        )
    return changed[0]


def test_a_repeated_key_in_one_document_is_inserted_then_completed(
    storage: StorageSettings,
) -> None:
    bare = ParsedEntry(title="Paper", link="https://arxiv.org/abs/2601.00001")
    full = ParsedEntry(
        title="Paper", link="https://arxiv.org/abs/2601.00001v2", summary="<p>Abstract</p>"
    )
    many = [ParsedEntry(title=f"P{i}", link=f"https://example.org/{i}") for i in range(700)]
    with open_store(storage) as store:
        store_document(store, entries(bare, *many, full))
        rows = store.get_entries(["arxiv:2601.00001"])
        assert rows["arxiv:2601.00001"].summary == "<p>Abstract</p>"  # the later copy filled it
        assert store.count_entries() == 701
        assert store.categories() == [("cat", 701)]


def test_storing_the_same_document_again_changes_no_row(storage: StorageSettings) -> None:
    document = entries(
        *(ParsedEntry(title=f"P{i}", link=f"https://example.org/{i}") for i in range(50))
    )
    with open_store(storage) as store:
        assert store_document(store, document) > 0
        assert store_document(store, document) == 0


def test_an_update_rewrites_only_that_row(storage: StorageSettings) -> None:
    items = [ParsedEntry(title=f"P{i}", link=f"https://example.org/{i}") for i in range(20)]
    with open_store(storage) as store:
        store_document(store, entries(*items))
        items[7] = ParsedEntry(title="P7, revised", link="https://example.org/7")
        assert store_document(store, entries(*items)) == 2  # the row and its source hash
        assert store.get_entries(["url:https://example.org/7"])[
            "url:https://example.org/7"
        ].title == ("P7, revised")


def test_the_batch_statements_name_every_column_of_entries(storage: StorageSettings) -> None:
    """A column added to the table or to _entry_to_row must be in _COLUMNS too."""
    from aggregator._storage.sqlite import entries as entries_module
    from aggregator._update.decide import atom_id_for

    with open_store(storage) as store:
        if isinstance(store, PostgresStore):
            table = [
                name
                for (name,) in sql(
                    store,
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_name = 'entries'",
                )
            ]
        else:
            table = [row[1] for row in sql(store, "PRAGMA table_info(entries)")]
    row = entries_module._entry_to_row(
        StoredEntry(
            key="k", atom_id=atom_id_for("k"), title="t", link=None, published=None,
            updated=NOW, first_seen=NOW, digest_day=NOW.date(), authors=(), summary=None,
            content=None, sections=(), categories=(), pdf_url=None, arxiv_id=None, doi=None,
            language=None, content_hash="h", position=0,
        )
    )  # fmt: skip
    assert set(entries_module._COLUMNS) == set(table) == set(row)


def test_rows_written_in_one_statement_keep_their_order_types_and_text(
    storage: StorageSettings,
) -> None:
    """Filings and announcements go in as one JSON array (``_insert_all``): what comes
    out is what went in, in order, integers as integers and NULL as NULL."""
    from aggregator._update.plan import Announcement, Plan

    odd = 'quote " backslash \\ tab \t newline \n nul-free ünïcode 文字 \U0001f600'
    document = entries(
        *(ParsedEntry(title=f"P{i}", link=f"https://example.org/{i}") for i in range(3))
    )
    with open_store(storage) as store:
        store_document(store, document)
        keys = [entry.key for entry in document]
        store.apply(
            [
                Plan(
                    "s",
                    NOW,
                    announcements=(
                        Announcement(keys[2], odd, TODAY, "new", None),
                        Announcement(keys[0], "cs.AI", TODAY, "cross", 2**62),
                        Announcement(keys[1], "cs.AI", TODAY, "replace", 3),
                        Announcement(keys[1], "cs.AI", TODAY, "new", 4),  # ignored: known
                    ),
                )
            ]
        )
        postgres = isinstance(store, PostgresStore)
        rows = sql(
            store,
            "SELECT entry_key, category, day, how, version,"
            + (
                " CASE WHEN version IS NULL THEN 'null' ELSE 'integer' END, source"
                " FROM arxiv_announcements ORDER BY seq"
                if postgres
                else " typeof(version), source FROM arxiv_announcements ORDER BY rowid"
            ),
        )
    assert rows == [
        (keys[2], odd, TODAY.isoformat(), "new", None, "null", "s"),
        (keys[0], "cs.AI", TODAY.isoformat(), "cross", 2**62, "integer", "s"),
        (keys[1], "cs.AI", TODAY.isoformat(), "replace", 3, "integer", "s"),
    ]


def test_what_is_known_of_a_new_document_is_one_query(tmp_path: Path) -> None:
    """Storage's answer for a document's keys: one statement however many keys, and
    the stored rows read in full only when some are stored."""
    document = entries(
        *(ParsedEntry(title=f"P{i}", link=f"https://example.org/{i}") for i in range(1200))
    )
    keys = [entry.key for entry in document]
    with Store(tmp_path / "a.db") as store:
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        known = store.known("s", keys)
        store.db.conn.set_trace_callback(None)
        assert len(statements) == 1
        assert (known.rows, known.delivered, known.pruned) == ({}, {}, {})
        store_document(store, document[:3])
        known = store.known("s", keys)
        assert sorted(known.rows) == sorted(keys[:3])
        assert sorted(known.delivered) == sorted(keys[:3]) and known.pruned == {}


def test_keys_with_a_nul_character_are_stored_and_known_exactly(
    storage: StorageSettings,
) -> None:
    """SQLite's JSON functions end a string at NUL: such rows and keys are bound one
    by one instead of going through json_each. PostgreSQL's text cannot hold NUL at
    all: the store writes it escaped and reads it back as it was."""
    document = entries(
        ParsedEntry(title="Nul", guid="tag:a\x00b"),
        ParsedEntry(title="Plain", link="https://example.org/plain"),
    )
    keys = [entry.key for entry in document]
    assert "\x00" in keys[0]
    with open_store(storage) as store:
        assert store_document(store, document) > 0
        assert store.categories() == [("cat", 2)]
        assert sorted(store.known("s", keys).rows) == sorted(keys)
        assert store_document(store, document) == 0  # known again: nothing rewritten
        (nul,) = store.entries_in_category("cat", 1, since_day=TODAY)[-1:] or [None]
        stored = store.get_entries([keys[0]])[keys[0]]
        assert stored.key == keys[0] and stored.title == "Nul"
        assert nul is not None


def _full_entry(content_hash: str, title: str) -> StoredEntry:
    """An entry with every column set (times in another zone than UTC)."""
    paris = timezone(timedelta(hours=1))
    return StoredEntry(
        key="arxiv:2611.00001", atom_id="urn:uuid:1", title=title, link="https://e.org/1",
        published=datetime(2026, 11, 22, 9, 0, 0, 999, tzinfo=paris), updated=NOW,
        first_seen=NOW, digest_day=TODAY, authors=("Ann Éclair", "李雷"),
        summary="<p>S</p>", content="<p>C</p>", sections=(("Méthode", "texte"),),
        categories=("cat",), pdf_url="https://e.org/1.pdf", arxiv_id="2611.00001",
        doi="10.1/x", language="fr", content_hash=content_hash, position=3,
        sources=("s",), version=2, primary_category="cs.LG", subjects=("cs.LG", "stat.ML"),
        journal_ref="J 1", raw_title="R\\'e", raw_summary="$x$", raw_authors=("A \\'E",),
    )  # fmt: skip


def test_every_column_is_written_and_updated_where_it_belongs(storage: StorageSettings) -> None:
    """Rows are bound by position: each value lands in its own column, on insert and
    on update, and reads back as written (times in UTC, to the second)."""
    first, second = _full_entry("h1", "First"), _full_entry("h2", "Second")
    with open_store(storage) as store:
        store.apply([Plan(source="s", now=NOW, inserts=(first,))])
        store.apply([Plan(source="s", now=NOW, updates=(second,))])
        [stored] = store.get_entries([second.key]).values()
    published = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert stored == replace(second, published=published, categories=(), sources=())
