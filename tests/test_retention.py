"""Retention: [storage] keep_days prunes old entries and their digests, and they stay pruned."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from conftest import NOW, SEEDS

from aggregator._app.cli import main
from aggregator._storage.sqlite import Store
from aggregator.config.settings import load_config
from aggregator.core import run


def feed(items: list[tuple[str, str]]) -> str:
    """RSS with (guid, title) items, all dated 2026-09-01."""
    body = "".join(
        f"<item><title>{title}</title><link>https://example.org/{guid}</link>"
        f"<guid>https://example.org/{guid}</guid><category>news</category>"
        "<pubDate>Tue, 01 Sep 2026 08:00:00 GMT</pubDate></item>"
        for guid, title in items
    )
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


def setup(tmp_path: Path, keep_days: int) -> Path:
    (tmp_path / "news.rss").write_text(feed([("a", "Old A"), ("b", "Old B")]))
    config = tmp_path / "aggregator.toml"
    config.write_text(
        f"[storage]\nkeep_days = {keep_days}\n"
        '[[sources]]\nname = "news"\npath = "news.rss"\nentry_categories = true\n'
    )
    return config


def at(moment: datetime) -> dict[str, object]:
    return {"clock": lambda: moment, "run_date": moment.date()}


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_old_entries_and_their_digests_are_pruned_and_stay_pruned(tmp_path: Path) -> None:
    settings = load_config(setup(tmp_path, keep_days=30))
    old = NOW - timedelta(days=45)
    first = run(settings, **at(old))  # type: ignore[arg-type]
    assert first.as_dict()["new"] == 2
    digests = settings.publish.output_dir / "digests"
    assert (digests / old.date().isoformat() / "index.html").is_file()

    # A fresh item arrives; the old ones are still listed by the source.
    (tmp_path / "news.rss").write_text(feed([("a", "Old A"), ("b", "Old B"), ("c", "New C")]))
    summary = run(settings, **at(NOW))  # type: ignore[arg-type]
    assert summary.pruned == 2
    assert summary.pruned_digests == [old.date()]
    assert not (digests / old.date().isoformat()).exists()
    assert (digests / NOW.date().isoformat() / "index.html").is_file()
    entries = feedparser.parse(settings.publish.output_dir / "feeds" / "all.atom").entries
    assert [e.title for e in entries] == ["New C"]
    index = (settings.publish.output_dir / "index.html").read_text()
    assert old.date().isoformat() not in index

    # Next run: the source still lists A and B unchanged; they are not stored again.
    again = run(settings, **at(NOW + timedelta(hours=2)))  # type: ignore[arg-type]
    counts = again.as_dict()
    assert counts["new"] == 0 and counts["unchanged"] == 3
    with Store(settings.storage.database) as store:
        assert store.count_entries() == 1
        rows = store.db.execute("SELECT count(*) FROM entry_categories").fetchone()[0]
        sources = store.db.execute("SELECT count(*) FROM entry_sources").fetchone()[0]
    assert rows == 1 and sources == 1  # the pruned entries' rows went with them


def test_a_pruned_entry_that_changes_comes_back(tmp_path: Path) -> None:
    settings = load_config(setup(tmp_path, keep_days=30))
    run(settings, **at(NOW - timedelta(days=45)))  # type: ignore[arg-type]
    run(settings, **at(NOW))  # type: ignore[arg-type]
    (tmp_path / "news.rss").write_text(feed([("a", "Old A, version 2"), ("b", "Old B")]))
    summary = run(settings, **at(NOW + timedelta(hours=1)))  # type: ignore[arg-type]
    assert summary.as_dict()["new"] == 1
    titles = [
        e.title
        for e in feedparser.parse(settings.publish.output_dir / "feeds" / "all.atom").entries
    ]
    assert titles == ["Old A, version 2"]


def test_keep_days_0_keeps_everything(tmp_path: Path) -> None:
    settings = load_config(setup(tmp_path, keep_days=0))
    run(settings, **at(NOW - timedelta(days=4000)))  # type: ignore[arg-type]
    summary = run(settings, **at(NOW))  # type: ignore[arg-type]
    assert summary.pruned == 0
    with Store(settings.storage.database) as store:
        assert store.count_entries() == 2


def test_a_daily_list_fetched_late_keeps_its_old_digest(tmp_path: Path) -> None:
    # The sample daily list is for 2026-01-14, long before the cutoff, but was first
    # seen now: neither its entries nor its digest are pruned.
    config = tmp_path / "aggregator.toml"
    daily = next(SEEDS.glob("002_*.txt"))
    config.write_text(
        "[storage]\nkeep_days = 7\n"
        f'[[sources]]\nname = "daily"\nkind = "markdown-digest"\npath = "{daily}"\n'
    )
    settings = load_config(config)
    run(settings, **at(NOW))  # type: ignore[arg-type]
    summary = run(settings, **at(NOW + timedelta(hours=1)))  # type: ignore[arg-type]
    assert summary.pruned == 0
    assert (settings.publish.output_dir / "digests" / "2026-01-14" / "index.html").is_file()


def test_other_folders_in_digests_are_left_alone(tmp_path: Path) -> None:
    settings = load_config(setup(tmp_path, keep_days=1))
    extra = settings.publish.output_dir / "digests" / "README"
    extra.mkdir(parents=True)
    run(settings, **at(NOW))  # type: ignore[arg-type]
    assert extra.is_dir()


def test_run_reports_what_was_pruned(tmp_path: Path) -> None:
    config = setup(tmp_path, keep_days=30)
    settings = load_config(config)
    run(settings, **at(NOW - timedelta(days=60)))  # type: ignore[arg-type]
    result = CliRunner().invoke(main, ["--config", str(config), "run", "--date", "2030-01-01"])
    assert result.exit_code == 0, result.output
    assert "Pruned: 2 entries, 1 digest (older" in result.output
