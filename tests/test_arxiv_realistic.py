"""Two realistic days of cs.AI through the whole run, as RSS and as Atom.

The feeds are tests/data/arxiv/realistic-*.xml, written by make_realistic.py beside them:
several hundred papers a day in the shape rss.arxiv.org serves (new submissions,
cross-lists, replacements, cross-listed replacements; TeX accents in names, maths in
titles), the second day replacing some of the first day's papers. The CLI's
``aggregator run --no-send`` reads them from a server on 127.0.0.1 serving day 1, then
day 2; what the generator says the feeds hold is what the database, the published feed
and the digests must show. How names and maths read is tested elsewhere (the LaTeX
tests): here they only have to pass through.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType

import feedparser
import pytest
from atomcheck import validate_atom
from click.testing import CliRunner
from conftest import DATA
from pytest_httpserver import HTTPServer

from aggregator._app.cli import main
from aggregator._sources import ParseOptions
from aggregator._sources.arxiv.feed import parse

ARXIV = DATA / "arxiv"
CONTENT_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_realistic", ARXIV / "make_realistic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


GEN = _generator()
DAY_ONE, DAY_TWO = GEN.DAYS


@dataclass
class Run:
    """One two-day run's folder, and what the CLI printed each day."""

    folder: Path
    printed: list[str]

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.folder / "db.sqlite")

    def digest(self, day: date) -> str:
        return (self.folder / "public" / "digests" / day.isoformat() / "digest.txt").read_text(
            encoding="utf-8"
        )


CONFIG = """
[storage]
database = "{folder}/db.sqlite"

[publish]
output_dir = "{folder}/public"

[arxiv]
base_url = "{base}"
api_url = "{base}api/query"
api_delay = 0
feed_format = "{fmt}"

[[sources]]
name = "arxiv-ai"
kind = "arxiv"
categories = ["cs.AI"]
"""


def run_two_days(httpserver: HTTPServer, tmp_path: Path, fmt: str) -> Run:
    """``aggregator run --no-send`` on day 1, then on day 2, reading ``fmt`` feeds."""
    folder = tmp_path / fmt
    folder.mkdir()
    config = folder / "aggregator.toml"
    config.write_text(
        CONFIG.format(folder=folder, base=httpserver.url_for("/"), fmt=fmt), encoding="utf-8"
    )
    printed = []
    for day in GEN.DAYS:
        httpserver.clear()
        httpserver.expect_request(f"/{fmt}/cs.AI").respond_with_data(
            (ARXIV / GEN.file_name(fmt, day)).read_bytes(), content_type=CONTENT_TYPES[fmt]
        )
        result = CliRunner().invoke(
            main, ["--config", str(config), "run", "--no-send", "--date", day.isoformat()]
        )
        assert result.exit_code == 0, result.output
        assert [r.path for r, _ in httpserver.log] == [f"/{fmt}/cs.AI"]
        printed.append(result.output)
    return Run(folder, printed)


@pytest.fixture(scope="module")
def listings() -> tuple[list, list]:
    return GEN.listing(0), GEN.listing(1)


def test_the_generator_writes_the_committed_fixtures(tmp_path: Path) -> None:
    for written in GEN.write(tmp_path):
        assert written.read_bytes() == (ARXIV / written.name).read_bytes(), written.name
    first, second = GEN.listing(0), GEN.listing(1)
    assert len(first) >= 400 and len(second) >= 400
    assert len({i.arxiv_id for i in first}) == len(first)
    assert len({i.arxiv_id for i in second}) == len(second)


def _sections(items: list) -> str:
    counts = Counter(item.announce_type for item in items)
    replaced = counts["replace"] + counts["replace-cross"]
    return (
        f"== cs.AI ({counts['new']} new, {counts['cross']} cross-lists, {replaced} replacements) =="
    )


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_two_realistic_days_through_the_cli(
    httpserver: HTTPServer, tmp_path: Path, listings: tuple[list, list]
) -> None:
    first, second = listings
    run = run_two_days(httpserver, tmp_path, "rss")
    seen_first = {item.arxiv_id for item in first}
    again = [item for item in second if item.arxiv_id in seen_first]
    assert again and all(item.version == 2 for item in again)
    # The run's own lines: the batch of each day, and a replacement is an update.
    assert f"arxiv-ai: announcement of {DAY_ONE} (Mon): {len(first)} papers" in run.printed[0]
    assert f"Entries: {len(first)} new, 0 updated" in run.printed[0]
    assert f"arxiv-ai: announcement of {DAY_TWO} (Tue): {len(second)} papers" in run.printed[1]
    assert f"Entries: {len(second) - len(again)} new, {len(again)} updated" in run.printed[1]

    with run.db() as db:
        announced = set(
            db.execute("SELECT entry_key, category, day, how, version FROM arxiv_announcements")
        )
        rows = {
            key: (version, digest_day, primary, published)
            for key, version, digest_day, primary, published in db.execute(
                "SELECT key, version, digest_day, primary_category, published FROM entries"
            )
        }
    expected = {
        (f"arxiv:{item.arxiv_id}", "cs.AI", day.isoformat(), item.announce_type, item.version)
        for day, items in zip(GEN.DAYS, listings, strict=True)
        for item in items
    }
    assert announced == expected
    # One row per paper: the replaced ones keep their first day and first announcement.
    assert len(rows) == len(seen_first | {item.arxiv_id for item in second})
    for item in first:
        version, digest_day, primary, published = rows[f"arxiv:{item.arxiv_id}"]
        assert digest_day == DAY_ONE.isoformat() and primary == item.subjects[0]
        assert published.startswith(DAY_ONE.isoformat())
    for item in second:
        version, digest_day, primary, _ = rows[f"arxiv:{item.arxiv_id}"]
        assert version == item.version
        assert digest_day == (DAY_ONE if item in again else DAY_TWO).isoformat()

    # Each day's digest follows arXiv's listing, with that day's counts.
    for day, items, text in zip(
        GEN.DAYS, listings, (run.digest(DAY_ONE), run.digest(DAY_TWO)), strict=True
    ):
        assert _sections(items) in text, day
        counts = Counter(item.announce_type for item in items)
        new_at = text.index(f"-- New submissions ({counts['new']}) --")
        cross_at = text.index(f"-- Cross-lists ({counts['cross']}) --")
        replaced = counts["replace"] + counts["replace-cross"]
        assert new_at < cross_at < text.index(f"-- Replacements ({replaced}) --")

    data = (run.folder / "public" / "feeds" / "cs.AI.atom").read_bytes()
    validate_atom(data)
    links = [e.link for e in feedparser.parse(data).entries]
    assert links and len(links) == len(set(links))
    assert all(link.startswith("https://arxiv.org/abs/") for link in links)


def _dump(run: Run) -> dict[str, list[tuple[object, ...]]]:
    """What the database says of the papers, without the times of this very run."""
    with run.db() as db:
        columns = [
            name
            for _, name, *_ in db.execute("PRAGMA table_info(entries)")
            if name not in ("first_seen", "last_seen", "fetched_at", "id", "rowid")
        ]
        return {
            "entries": sorted(db.execute(f"SELECT {', '.join(columns)} FROM entries")),
            "categories": sorted(
                db.execute("SELECT entry_key, category, source, how FROM entry_categories")
            ),
            "announcements": sorted(db.execute("SELECT * FROM arxiv_announcements")),
        }


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_the_atom_feed_reads_like_the_rss_feed(httpserver: HTTPServer, tmp_path: Path) -> None:
    by_rss = run_two_days(httpserver, tmp_path, "rss")
    by_atom = run_two_days(httpserver, tmp_path, "atom")
    rss, atom = _dump(by_rss), _dump(by_atom)
    assert len(rss["entries"]) > 800
    for table in rss:
        assert atom[table] == rss[table], table
    for day in GEN.DAYS:
        assert by_atom.digest(day) == by_rss.digest(day)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_a_saved_feed_files_papers_only_under_followed_categories_they_are_in(
    fmt: str, listings: tuple[list, list]
) -> None:
    """A day of cs.AI read as a file: categories from the feed itself (its self link,
    as RSS or Atom), and a source following cs.LG keeps only the papers in cs.LG."""
    items = listings[0]
    data = (ARXIV / GEN.file_name(fmt, DAY_ONE)).read_bytes()
    as_file = parse(data, source="s", options=ParseOptions(location="saved/cs.AI.xml"))
    assert as_file.warnings == () and as_file.left_out == 0
    assert {e.categories for e in as_file.entries} == {("cs.AI",)}
    assert [e.announce[0][1] for e in as_file.entries] == [i.announce_type for i in items]
    in_lg = [i for i in items if "cs.LG" in i.subjects]
    lg = parse(data, source="s", options=ParseOptions(categories=("cs.LG",)))
    assert [e.arxiv_id for e in lg.entries] == [i.arxiv_id for i in in_lg]
    assert lg.left_out == len(items) - len(in_lg) > 0
    assert {e.categories for e in lg.entries} == {("cs.LG",)}
    # In the cs.LG listing a paper of cs.AI is a cross-list, unless cs.LG is its primary.
    for entry, item in zip(lg.entries, in_lg, strict=True):
        replaced = item.announce_type.startswith("replace")
        primary = item.subjects[0] == "cs.LG"
        expected = (
            ("replace" if primary else "replace-cross")
            if replaced
            else ("new" if primary else "cross")
        )
        assert entry.announce == (("cs.LG", expected),), item.arxiv_id
