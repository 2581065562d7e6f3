"""The LSH index in two tables: recent band keys merged into the big one in bulk.

Where a band key sits (merged or recent) must never change what is found: the same
sources give the same duplicate links whether the recent table is merged every few
entries or never, and deleting an entry drops its keys from both tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from aggregator._storage.sqlite import Store, dupes
from aggregator._storage.sqlite.schema import _m12_recent_bands
from aggregator._update.decide import Outcome
from aggregator.config.settings import load_config
from aggregator.core import run
from benchmarks import feeds as generator


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


def test_deleting_a_signature_drops_its_keys_from_both_tables(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        conn = store.db.conn
        conn.execute(
            "INSERT INTO entries (key, atom_id, title, updated, first_seen, digest_day,"
            " authors, sections, content_hash, position, subjects)"
            " VALUES ('k', 'urn:k', 't', '2026-01-01', '2026-01-01', '2026-01-01',"
            " '[]', '[]', 'h', 0, '[]')"
        )
        conn.execute(
            "INSERT INTO entry_signatures (id, entry_key, scheme, seen) VALUES (7, 'k', 's', 'x')"
        )
        conn.execute("INSERT INTO lsh_bands VALUES (1, 7)")
        conn.execute("INSERT INTO lsh_bands_recent VALUES (2, 7)")
        conn.execute("DELETE FROM entries WHERE key = 'k'")
        assert conn.execute("SELECT count(*) FROM lsh_bands").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM lsh_bands_recent").fetchone()[0] == 0


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
