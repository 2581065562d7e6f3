"""The full-text index text made ahead, where documents are parsed (``reading.read``),
handed over with the plan, and indexed after ingest without being made again; made from
the stored row instead whenever the row written is not what the text was made from."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import DATA, NOW
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aggregator._common import fts
from aggregator._sources import ParseOptions
from aggregator._storage.sqlite import Store, search_index
from aggregator._update.plan import Document, plan_document
from aggregator._update.reading import Read, ReadRequest, read
from aggregator.config.settings import Settings, load_config
from aggregator.core import Aggregator

pytestmark = pytest.mark.sqlite_only(
    reason="index text staged ahead is SQLite's; PostgreSQL makes it from the row"
)

FEED = DATA / "search" / "lab.atom"


def _settings(folder: Path) -> Settings:
    shutil.copy(FEED, folder / "lab.atom")
    path = folder / "aggregator.toml"
    path.write_text(
        '[[sources]]\nname = "lab"\nkind = "feed"\npath = "lab.atom"\ncategories = ["reading"]\n',
        encoding="utf-8",
    )
    return load_config(path)


def _read(data: bytes, *, ahead: bool = True) -> Read:
    return read(
        ReadRequest(
            data=data,
            kind="feed",
            engine="auto",
            source="lab",
            options=ParseOptions(),
            now=NOW,
            search_text=ahead,
        )
    )


def _store_document(settings: Settings, store: Store, parsed: Read) -> None:
    """What ingest does with a document a worker read: plan it, apply the plan."""
    source = settings.sources[0]
    document = Document(
        source=source,
        entries=parsed.entries,
        now=NOW,
        listed=len(parsed.entries),
        search_text=parsed.search_text,
    )
    known = store.known(source.name, [entry.key for entry in parsed.entries])
    store.apply([plan_document(document, known, today=NOW.date(), dedup=settings.dedup)])


def _index_rows(store: Store) -> list[tuple[str, ...]]:
    return store.db.execute(
        "SELECT entry_key, title, abstract, authors, content FROM search_text ORDER BY entry_key"
    ).fetchall()


def _no_text_made_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every entry whose index text the store makes itself."""
    made: list[str] = []
    real = fts.index_columns

    def counted(**fields: str) -> fts.Columns:
        made.append(fields["title"])
        return real(**fields)  # type: ignore[arg-type]

    monkeypatch.setattr(search_index.fts, "index_columns", counted)
    return made


def test_text_made_ahead_is_the_text_made_from_the_stored_row(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    Aggregator(settings, clock=lambda: NOW).run()  # read here: made from the rows
    parsed = _read(FEED.read_bytes())
    ahead = sorted((key, *columns) for key, (_, columns) in parsed.search_text.items())
    assert len(ahead) == 5
    assert any(fts.SEPARATOR in column for row in ahead for column in row)  # CJK set apart
    with Store(settings.storage.database) as store:
        assert _index_rows(store) == ahead


def test_text_made_ahead_is_indexed_without_being_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    made = _no_text_made_here(monkeypatch)
    with Store(settings.storage.database) as store:
        _store_document(settings, store, _read(FEED.read_bytes()))
        assert store.search_backlog() == 5
        assert store.update_search_index() == 5
        assert made == []
        assert store.search_backlog() == 0
        found = [hit.entry.title for hit in store.search("诊断").hits]
        assert found == ["基于大语言模型的程序错误修复"]
        assert store.search("diagnostics").total == 1
        store.db.execute("INSERT INTO search_text_fts (search_text_fts) VALUES ('integrity-check')")
        # Nothing is left staged: a later fill makes what it finds noted from the rows.
        assert store.db.execute("SELECT count(*) FROM temp.search_ready").fetchone()[0] == 0


def test_a_row_written_again_without_text_is_indexed_from_the_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    made = _no_text_made_here(monkeypatch)
    data = FEED.read_bytes()
    changed = data.replace(b"compiler diagnostics", b"linker messages").replace(
        b"<updated>2026-11-22T09:00:00Z</updated>", b"<updated>2026-11-23T06:00:00Z</updated>"
    )
    assert changed != data
    with Store(settings.storage.database) as store:
        _store_document(settings, store, _read(data))  # staged
        # The same run stores the entry again, changed, read in this process (no text):
        # what was staged for it no longer describes the row.
        _store_document(settings, store, _read(changed, ahead=False))
        store.update_search_index()
        assert made == ["Retrieval-augmented agents for C++ code repair"]
        assert store.search("compiler").total == 0
        assert store.search("linker").total == 1
        assert len(_index_rows(store)) == 5
        store.db.execute("INSERT INTO search_text_fts (search_text_fts) VALUES ('integrity-check')")


def test_an_updated_entry_made_ahead_replaces_its_old_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    data = FEED.read_bytes()
    changed = data.replace(b"compiler diagnostics", b"linker messages").replace(
        b"<updated>2026-11-22T09:00:00Z</updated>", b"<updated>2026-11-23T06:00:00Z</updated>"
    )
    with Store(settings.storage.database) as store:
        _store_document(settings, store, _read(data))
        store.update_search_index()
        made = _no_text_made_here(monkeypatch)
        later = _read(changed)
        source = settings.sources[0]
        document = Document(
            source=source,
            entries=later.entries,
            now=NOW + timedelta(hours=1),
            listed=len(later.entries),
            search_text=later.search_text,
        )
        known = store.known(source.name, [entry.key for entry in later.entries])
        plan = plan_document(document, known, today=NOW.date(), dedup=settings.dedup)
        assert [row.title for row in plan.updates] == [
            "Retrieval-augmented agents for C++ code repair"
        ]
        assert [text[0] for text in plan.search_text] == [plan.updates[0].key]
        store.apply([plan])
        assert store.update_search_index() == 1
        assert made == []
        assert store.search("compiler").total == 0
        assert store.search("linker").total == 1
        assert len(_index_rows(store)) == 5
        store.db.execute("INSERT INTO search_text_fts (search_text_fts) VALUES ('integrity-check')")


def test_reading_here_makes_no_text_ahead() -> None:
    assert _read(FEED.read_bytes(), ahead=False).search_text == {}


def _index_text_by_definition(text: str) -> str:
    """Control characters made spaces, then each run of CJK characters set apart."""
    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", text)
    return fts._CJK_RUN_RE.sub(
        lambda m: fts.SEPARATOR + fts.SEPARATOR.join(m.group()) + fts.SEPARATOR, text
    )


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",))
        | st.sampled_from("ab .\t\n\r\x00\x01\x1f\x7f\x80中文の한국ｶ\U00020000"),
        max_size=30,
    )
)
@hypothesis_settings(max_examples=2000, deadline=None)
def test_indexed_text_is_its_definition(text: str) -> None:
    assert fts.index_text(text) == _index_text_by_definition(text)
