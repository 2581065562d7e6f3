"""A run whose publishing fails (exit 3) leaves its unwritten outputs to the next run.

Issue 12, item 6: after a failed digest write, later runs updated the feeds but never
re-rendered that day's digest. Each case runs the real CLI in a subprocess: a first
run publishes; new items arrive and a second run cannot write one output (a directory
where a file must go, or a file where a folder must go: unlike chmod, this stops
root too) and exits 3 with one line; the obstacle is removed as an admin would fix
the folder, leaving the old files as a read-only folder would have; a third run, with
nothing new to read, must leave the output folder exactly as a publish into an empty
folder writes it from the same database.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
import pytest
from atomcheck import validate_atom
from conftest import NOW
from crashkit import run_to_end, tree

from aggregator._storage.sqlite import Store
from aggregator.config.settings import load_config
from aggregator.core import publish_feeds, write_digests

pytestmark = pytest.mark.sqlite_only(
    reason="runs the CLI in subprocesses, which read their config as written"
)

DAY = "2026-11-23"

CONFIG = """
[publish]
base_url = "https://feeds.example.org/"
[[sources]]
name = "news"
path = "news.rss"
entry_categories = true
"""


def write_items(folder: Path, count: int) -> None:
    items = []
    for n in range(count):
        when = format_datetime(NOW - timedelta(hours=n))
        items.append(
            f"<item><title>Story {n}</title><link>https://example.org/story/{n}</link>"
            f"<guid>https://example.org/story/{n}</guid><pubDate>{when}</pubDate>"
            f"<category>{('alpha', 'beta')[n % 2]}</category>"
            f"<description>What happened in story {n}.</description></item>"
        )
    (folder / "news.rss").write_text(
        f'<rss version="2.0"><channel><title>News</title>{"".join(items)}</channel></rss>'
    )


def titles(feed: bytes) -> list[str]:
    parsed = feedparser.parse(feed)
    assert not parsed.bozo
    return [entry.title for entry in parsed.entries]


def published(folder: Path) -> dict[str, bytes]:
    return tree(folder / "public")


def as_if_from_scratch(folder: Path) -> dict[str, bytes]:
    """What a publish of every feed, the index page and every digest into an empty
    folder writes from the same database and settings."""
    settings = load_config(folder / "aggregator.toml")
    scratch = replace(settings, publish=replace(settings.publish, output_dir=folder / "fresh"))
    with Store(settings.storage.database) as store:
        write_digests(scratch, store, set())
        publish_feeds(scratch, store, clock=lambda: NOW)
    return tree(folder / "fresh")


def run(folder: Path) -> tuple[int, str]:
    done = run_to_end(folder, "run", "--date", DAY)
    return done.returncode, done.stderr


def one_error_line(stderr: str, path: Path) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    (line,) = lines
    assert line.startswith(f"error: cannot write {path}"), line
    assert "Traceback" not in stderr
    return line


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "aggregator.toml").write_text(CONFIG)
    write_items(tmp_path, 4)
    assert run(tmp_path)[0] == 0
    write_items(tmp_path, 7)  # three new stories arrive, filed under the same day
    return tmp_path


def block_with_a_folder(target: Path) -> Callable[[], None]:
    """A directory where ``target`` must be written; returns the fix. The old file is
    put back afterwards, as a read-only or full folder would have kept it."""
    kept = target.with_name(target.name + ".kept")
    target.rename(kept)
    target.mkdir()

    def fix() -> None:
        target.rmdir()
        kept.rename(target)

    return fix


def test_a_failed_digest_write_is_redone_by_the_next_run(site: Path) -> None:
    day_page = site / "public" / "digests" / DAY / "index.html"
    fix = block_with_a_folder(day_page)
    code, stderr = run(site)
    assert code == 3
    line = one_error_line(stderr, day_page)
    assert "check the output folder is writable" in line
    fix()
    before = day_page.read_bytes()
    assert b"Story 6" not in before  # the old page, as the failed run left it

    code, stderr = run(site)  # nothing new to read: the source is unchanged
    assert code == 0, stderr
    files = published(site)
    assert b"Story 6" in files[f"digests/{DAY}/index.html"]
    assert b"Story 6" in files[f"digests/{DAY}/digest.txt"]
    assert files == as_if_from_scratch(site)
    for name, data in files.items():
        if name.endswith(".atom"):
            validate_atom(data)
    assert "Story 6" in titles(files["feeds/all.atom"])

    # And nothing is left due: a further run renders no digest again.
    assert run(site)[0] == 0
    assert published(site) == files


def test_a_file_where_the_days_folder_must_go(site: Path) -> None:
    folder = site / "public" / "digests" / "2026-11-24"
    folder.write_text("in the way")
    done = run_to_end(site, "run", "--date", "2026-11-24")
    assert done.returncode == 3
    one_error_line(done.stderr, folder / "index.html")
    folder.unlink()

    done = run_to_end(site, "run", "--date", "2026-11-24")
    assert done.returncode == 0, done.stderr
    files = published(site)
    assert b"Story 6" in files["digests/2026-11-24/index.html"]
    assert files == as_if_from_scratch(site)


def test_a_failed_feed_write_is_redone_by_the_next_run(site: Path) -> None:
    feed = site / "public" / "feeds" / "beta.atom"
    fix = block_with_a_folder(feed)
    code, stderr = run(site)
    assert code == 3
    one_error_line(stderr, feed)
    fix()

    code, stderr = run(site)
    assert code == 0, stderr
    files = published(site)
    assert "Story 5" in titles(files["feeds/beta.atom"])
    assert files == as_if_from_scratch(site)


def test_the_fresh_publish_helper_sees_a_stale_digest(site: Path) -> None:
    """The comparison the tests above rely on can fail: a stale page differs."""
    assert run(site)[0] == 0
    page = site / "public" / "digests" / DAY / "index.html"
    shutil.copy(page, site / "page")
    write_items(site, 9)
    assert run(site)[0] == 0
    shutil.copy(site / "page", page)
    assert published(site) != as_if_from_scratch(site)
