"""The full-text index over a real SQLite file and a real PostgreSQL database, filled by
real runs of a local Atom feed: what is found and in which order, CJK words, updates,
pruning, the migration's fill. Every search case runs on both backends with the same
expectations; the few that must differ are in ``test_what_differs_on_postgresql``."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import DATA, NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storekit import sql

from aggregator import SearchError
from aggregator._common import fts
from aggregator._storage import open_store
from aggregator._storage.postgres import PostgresStore
from aggregator._storage.postgres.search_index import stale_rows
from aggregator._storage.protocol import Storage
from aggregator._storage.sqlite import Store
from aggregator.config.settings import Settings, StorageSettings, load_config
from aggregator.core import Aggregator, ingest
from aggregator.types import SearchResults

FEED = DATA / "search" / "lab.atom"


def _config(folder: Path, storage: StorageSettings, *, keep_days: int = 0) -> Settings:
    """The lab feed's config in ``folder``, stored in ``storage``'s database."""
    shutil.copy(FEED, folder / "lab.atom")
    path = folder / "aggregator.toml"
    path.write_text(
        f"[storage]\nkeep_days = {keep_days}\n"
        '[[sources]]\nname = "lab"\nkind = "feed"\npath = "lab.atom"\ncategories = ["reading"]\n',
        encoding="utf-8",
    )
    settings = load_config(path)
    return replace(settings, storage=replace(settings.storage, url=storage.url))


@pytest.fixture
def settings_(tmp_path: Path, storage: StorageSettings) -> Settings:
    return _config(tmp_path, storage)


@pytest.fixture
def store(settings_: Settings) -> Iterator[Storage]:
    Aggregator(settings_, clock=lambda: NOW).run()
    with open_store(settings_.storage) as opened:
        yield opened


def titles(results: SearchResults) -> list[str]:
    return [hit.entry.title for hit in results.hits]


def check_index(store: Storage) -> None:
    """FTS5's own check that the index holds exactly search_text's rows; on PostgreSQL,
    that every row's tsvector is the one its text makes now."""
    if isinstance(store, Store):
        store.db.execute("INSERT INTO search_text_fts (search_text_fts) VALUES ('integrity-check')")
        return
    assert isinstance(store, PostgresStore)
    assert stale_rows(store.conn) == 0


def sqlite_only(store: Storage) -> None:
    if isinstance(store, PostgresStore):
        pytest.skip("SQLite's FTS5 query syntax: see test_what_differs_on_postgresql")


def test_a_word_of_an_abstract_finds_its_entry(store: Storage) -> None:
    found = store.search("diagnostics")
    assert titles(found) == ["Retrieval-augmented agents for C++ code repair"]
    assert found.total == 1
    snippet = found.hits[0].snippet
    assert ("diagnostics", True) in snippet
    assert fts.plain(snippet).startswith("We let a language agent look up compiler")


def test_a_title_match_ranks_before_a_content_match(store: Storage) -> None:
    # "agent" is in the first entry's title and abstract, in the survey's content only;
    # "agents" finds "agent" too (stemming).
    for query in ("agent", "agents"):
        assert titles(store.search(query)) == [
            "Retrieval-augmented agents for C++ code repair",
            "A survey of program synthesis benchmarks",
        ]
    survey = store.search("agent").hits[1]
    assert ("agent", True) in survey.snippet  # from the content, where the match is
    assert fts.plain(survey.title) == "A survey of program synthesis benchmarks"


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("修复", "基于大语言模型的程序错误修复"),  # two characters: trigrams cannot
        ("错", "基于大语言模型的程序错误修复"),
        ("诊断信息", "基于大语言模型的程序错误修复"),
        ("编译器 诊断", "基于大语言模型的程序错误修复"),
        ("ニューラル", "深層学習による画像認識の現状"),
        ("画像認識", "深層学習による画像認識の現状"),
        ("佐藤", "深層学習による画像認識の現状"),
    ],
)
def test_a_cjk_word_finds_its_entry(store: Storage, query: str, title: str) -> None:
    assert titles(store.search(query)) == [title]


def test_cjk_characters_must_be_adjacent(store: Storage) -> None:
    # 修 and 复 both occur, but "复修" does not.
    assert store.search("复修").total == 0


def test_cjk_matches_are_marked_as_one_run_without_separators(store: Storage) -> None:
    [hit] = store.search("错误修复").hits
    assert hit.title == (("基于大语言模型的程序", False), ("错误修复", True))
    assert fts.SEPARATOR not in fts.plain(hit.snippet)
    assert fts.plain(hit.snippet).startswith("我们提出一种检索增强的方法")


@pytest.mark.parametrize("query", ["C++", "don't", '"don\'t read"', "Avila", "author:Ávila"])
def test_punctuation_and_accents_are_searched_as_typed(store: Storage, query: str) -> None:
    assert titles(store.search(query)) == ["Retrieval-augmented agents for C++ code repair"]


def test_the_query_language(store: Storage) -> None:
    rag, survey = (
        "Retrieval-augmented agents for C++ code repair",
        "A survey of program synthesis benchmarks",
    )
    assert titles(store.search("agent -tools")) == [rag]
    assert titles(store.search("title:agent")) == [rag]
    assert titles(store.search("content:agent")) == [survey]
    assert set(titles(store.search("diagnostics OR saturated"))) == {rag, survey}
    assert titles(store.search("synth*")) == [survey]
    assert titles(store.search('"program synthesis"')) == [survey]
    assert store.search('"synthesis program"').total == 0
    # OR with nothing before it is the word (found by hypothesis: it was a syntax error).
    assert store.search("OR").total == 0
    assert store.search("OR diagnostics").total == 0


def test_category_since_limit_and_offset(store: Storage) -> None:
    assert store.search("agent", category="reading").total == 2
    assert store.search("agent", category="nothing").total == 0
    day = NOW.date()
    assert store.search("agent", since=day).total == 2
    assert store.search("agent", since=day + timedelta(days=1)).total == 0
    page = store.search("agent", limit=1, offset=1)
    assert (page.total, page.offset) == (2, 1)
    assert titles(page) == ["A survey of program synthesis benchmarks"]


def test_script_text_is_found_and_kept_as_text(store: Storage) -> None:
    [hit] = store.search("script").hits
    assert "<script>" in fts.plain(hit.title)
    assert '<script>alert("owned")</script>' in fts.plain(hit.snippet)


@pytest.mark.parametrize("query", ["", "   ", "++", "-agent", "— …", "title:+", '""'])
def test_a_query_with_nothing_to_find_is_a_search_error(store: Storage, query: str) -> None:
    with pytest.raises(SearchError) as caught:
        store.search(query)
    assert caught.value.hint


@pytest.mark.parametrize(
    "query", ["agent AND", "(agent", '"unclosed', "title:(", "nosuchcolumn: x", "*", "NOT a"]
)
def test_fts5_syntax_errors_are_search_errors_with_a_hint(store: Storage, query: str) -> None:
    sqlite_only(store)
    with pytest.raises(SearchError) as caught:
        store.search(query, syntax="fts5")
    assert "fts5" in caught.value.hint.lower() or "--fts5" in caught.value.hint


def test_fts5_syntax_is_passed_through(store: Storage) -> None:
    sqlite_only(store)
    assert store.search("agent NOT tools", syntax="fts5").total == 1
    assert store.search("修复 OR ニューラル", syntax="fts5").total == 2
    assert store.search('"错误修复"', syntax="fts5").total == 1


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_any_typed_query_runs_or_says_it_has_nothing_to_find(store: Storage, query: str) -> None:
    try:
        store.search(query)
    except SearchError as err:
        assert "nothing to search for" in err.message or "empty" in err.message


def test_entries_are_indexed_after_ingest_not_while_stored(settings_: Settings) -> None:
    with open_store(settings_.storage) as store:
        ingest(settings_, store, clock=lambda: NOW, run_date=NOW.date())
        assert store.search_backlog() == 5
        assert store.search("diagnostics").total == 0
        assert store.search("diagnostics").unindexed == 5
        assert store.update_search_index() == 5
        assert store.search_backlog() == 0
        assert store.search("diagnostics").total == 1
        assert store.update_search_index() == 0
        check_index(store)


def _rewrite(folder: Path, old: str, new: str, updated: str) -> None:
    path = folder / "lab.atom"
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new).replace(
        "<updated>2026-11-22T09:00:00Z</updated>", f"<updated>{updated}</updated>"
    )
    path.write_text(text, encoding="utf-8")


def test_an_updated_entry_is_indexed_again(tmp_path: Path, storage: StorageSettings) -> None:
    settings_ = _config(tmp_path, storage)
    Aggregator(settings_, clock=lambda: NOW).run()
    _rewrite(tmp_path, "compiler diagnostics", "linker messages", "2026-11-23T08:00:00Z")
    later = NOW + timedelta(hours=2)
    Aggregator(settings_, clock=lambda: later).run()
    with open_store(settings_.storage) as store:
        assert store.search("compiler").total == 0
        assert titles(store.search("linker")) == ["Retrieval-augmented agents for C++ code repair"]
        assert sql(store, "SELECT count(*) FROM search_text") == [(5,)]
        assert store.search_backlog() == 0
        check_index(store)


def test_pruned_entries_leave_the_index(tmp_path: Path, storage: StorageSettings) -> None:
    settings_ = _config(tmp_path, storage, keep_days=30)
    Aggregator(settings_, clock=lambda: NOW).run()
    later = NOW + timedelta(days=40)
    Aggregator(settings_, clock=lambda: later).run()
    with open_store(settings_.storage) as store:
        assert store.count_entries() == 0
        assert store.search("diagnostics").total == 0
        assert sql(store, "SELECT count(*) FROM search_text") == [(0,)]
        check_index(store)
        if isinstance(store, Store):
            rows = store.db.execute("SELECT count(*) FROM search_text_fts_docsize").fetchone()
            assert rows[0] == 0


@pytest.mark.sqlite_only(
    reason="SQLite's migration 15 on a SQLite file (PostgreSQL's 20: test_postgres_search.py)"
)
def test_the_migration_indexes_an_existing_database(tmp_path: Path) -> None:
    settings_ = _config(tmp_path, StorageSettings(database=tmp_path / "unused.db"))
    Aggregator(settings_, clock=lambda: NOW).run()
    path = settings_.storage.database
    conn = sqlite3.connect(path)
    with conn:  # the database as schema 13 left it
        for trigger in ("entries_insert_search", "entries_update_search"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE search_pending")
        conn.execute("DROP TABLE search_text_fts")
        conn.execute("DROP TABLE search_text")
        conn.execute("DELETE FROM schema_migrations WHERE version = 15")
    conn.close()
    with Store(path) as store:
        assert store.search_backlog() == 0
        assert titles(store.search("诊断")) == ["基于大语言模型的程序错误修复"]
        assert store.db.execute("SELECT count(*) FROM search_text").fetchone()[0] == 5
        check_index(store)


def test_the_index_matches_the_text_rules(tmp_path: Path) -> None:
    # The migration writes its columns and tokenizer out; fts.py's constants must agree.
    with Store(tmp_path / "a.db") as store:
        sql = store.db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'search_text_fts'"
        ).fetchone()[0]
    assert f"tokenize='{fts.TOKENIZER}'" in sql
    assert ", ".join(f'"{c}"' for c in fts.COLUMNS) in sql


def test_a_changed_row_written_outside_a_run_is_noted(store: Storage) -> None:
    # Whatever writes the text (here: SQL), the triggers note the entry.
    with store.transaction():
        sql(
            store,
            "UPDATE entries SET title = 'Renamed'"
            " WHERE key = 'url:https://lab.example.org/notes/synthesis-survey'",
        )
    assert store.search_backlog() == 1
    store.update_search_index()
    assert titles(store.search("renamed")) == ["Renamed"]
    with store.transaction():
        sql(store, "UPDATE entries SET position = 9")  # not the text: nothing noted
    assert store.search_backlog() == 0


SURVEY = "url:https://lab.example.org/notes/synthesis-survey"


def test_what_differs_on_postgresql(store: Storage) -> None:
    """The cases where the two backends must answer differently, each with its reason;
    every other case above runs on both with the same expectations."""
    postgres = isinstance(store, PostgresStore)
    # 1. SQLite's own FTS5 query syntax (``--fts5``) is SQLite's: PostgreSQL says so.
    if postgres:
        with pytest.raises(SearchError, match="SQLite's") as caught:
            store.search("agent NOT tools", syntax="fts5")
        assert "--fts5" in caught.value.hint
    else:
        assert store.search("agent NOT tools", syntax="fts5").total == 1
    # 2. Stemming: FTS5's porter tokenizer has Porter's 1980 stemmer, PostgreSQL the
    # Snowball English one (Porter's own revision of it): "skies" is "ski" to the
    # first and "sky" to the second. Most English inflections (agents, synthesis...)
    # stem alike; no PostgreSQL configuration has the 1980 stemmer.
    with store.transaction():
        sql(store, "UPDATE entries SET title = 'Clear skies' WHERE key = ?", [SURVEY])
    store.update_search_index()
    assert store.search("sky").total == (1 if postgres else 0)
    assert store.search("ski").total == (0 if postgres else 1)
    # 3. Phrases across columns: PostgreSQL's tsvectors of the four columns are
    # joined end to end (positions go on), so a phrase can run from the end of the
    # title into the abstract; FTS5 keeps columns apart.
    assert store.search('"clear skies"').total == 1
    assert store.search('"repair we"').total == (1 if postgres else 0)
    # 4. Marks: ts_headline marks every word of the query where it occurs, FTS5 only
    # the matched phrase; so a CJK word's characters are marked one by one elsewhere
    # in the text too ("修" of "修复" alone, in "修改"), not only where the word is.
    [hit] = store.search("修复").hits
    marked = {text for text, on in (*hit.title, *hit.snippet) if on}
    assert marked == ({"修复", "修"} if postgres else {"修复"})
