"""Crash safety: a real ``aggregator run`` killed with SIGKILL, then a clean rerun.

The kill is made deterministic with the documented test hook ``AGGREGATOR_TEST_PAUSE_AT``
(aggregator/_common/faults.py): the process announces the point on stderr and sleeps there, the
test kills it with SIGKILL, checks the database and every published file, reruns, and
compares the output tree with that of a run that was never interrupted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
import pytest
from crashkit import assert_complete, database_state, kill_at, run_to_end, tree

pytestmark = pytest.mark.slow  # real processes, kills or timeouts: `-m "not slow"` skips


def sample_feed(name: str, categories: list[str], count: int) -> str:
    """An RSS 2.0 feed of ``count`` dated items spread over ``categories``."""
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    items = []
    for n in range(count):
        when = format_datetime(start + timedelta(minutes=37 * n))
        items.append(
            f"<item><title>{name} item {n}: on crash safety</title>"
            f"<link>https://example.org/{name}/{n}</link>"
            f"<guid>https://example.org/{name}/{n}</guid>"
            f"<pubDate>{when}</pubDate>"
            f"<category>{categories[n % len(categories)]}</category>"
            f"<description>&lt;p&gt;Body of {name} {n}. {'Text. ' * 30}&lt;/p&gt;</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>https://example.org/{name}/</link>"
        f"<description>{name}</description>{''.join(items)}</channel></rss>"
    )


def make_site(folder: Path) -> Path:
    """A config with two feed sources whose categories do not overlap."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "first.rss").write_text(sample_feed("first", ["alpha", "beta"], 40))
    (folder / "second.rss").write_text(sample_feed("second", ["gamma"], 30))
    (folder / "aggregator.toml").write_text(
        '[publish]\nbase_url = "https://feeds.example.org/"\n'
        "[storage]\nlock_timeout = 5\n"
        '[[sources]]\nname = "first"\npath = "first.rss"\nentry_categories = true\n'
        '[[sources]]\nname = "second"\npath = "second.rss"\nentry_categories = true\n'
    )
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The output tree of a run that was never interrupted."""
    folder = make_site(tmp_path_factory.mktemp("reference"))
    result = run_to_end(folder, "run", "--date", "2026-11-23")
    assert result.returncode == 0, result.stderr
    return tree(folder / "public")


@pytest.mark.parametrize(
    "point",
    [
        "ingest",  # the first source is stored, the second not yet
        "publish:digest.txt",  # the digest page is written, its text part not yet
        "publish:beta.atom",  # all.atom and alpha.atom rewritten, the others not yet
        "publish:index.html",  # every feed written, the index page not yet
    ],
)
def test_a_run_killed_at_any_point_is_finished_by_the_next_one(
    tmp_path: Path, reference: dict[str, bytes], point: str
) -> None:
    folder = make_site(tmp_path / "site")
    kill_at(folder, point)

    check, statuses = database_state(folder / "aggregator.db")
    assert check == "ok"
    assert statuses == ["running"]
    public = folder / "public"
    assert_complete(public)
    if point.startswith("publish:"):
        # The killed write left its temporary file, never a half file in place.
        assert list(public.rglob(f".{point.split(':')[1]}.*.tmp"))

    result = run_to_end(folder, "run", "--date", "2026-11-23")
    assert result.returncode == 0, result.stderr
    assert "Recovered: run #1 was interrupted" in result.stdout
    assert not list(public.rglob("*.tmp"))
    assert tree(public) == reference
    check, statuses = database_state(folder / "aggregator.db")
    assert check == "ok"
    assert statuses == ["interrupted", "ok"]


def test_a_kill_while_publishing_an_update_keeps_the_old_feed_whole(
    tmp_path: Path, reference: dict[str, bytes]
) -> None:
    folder = make_site(tmp_path / "site")
    assert run_to_end(folder, "run", "--date", "2026-11-23").returncode == 0
    before = (folder / "public" / "feeds" / "gamma.atom").read_bytes()
    (folder / "second.rss").write_text(sample_feed("second", ["gamma"], 31))
    kill_at(folder, "publish:gamma.atom")
    # Readers still get the previous complete feed.
    assert (folder / "public" / "feeds" / "gamma.atom").read_bytes() == before
    result = run_to_end(folder, "run", "--date", "2026-11-23")
    assert result.returncode == 0, result.stderr
    assert len(feedparser.parse(folder / "public" / "feeds" / "gamma.atom").entries) == 31


DAILY_LIST = """# 20260114

## 1. `cs.AI` - {title} one [PDF](https://arxiv.org/pdf/2601.{n}1), [HTML](https://arxiv.org/abs/2601.{n}1)
### Authors
A. Author,B. Author
### Background
Why it matters.
### Innovation
What is new.
### Conclusion
What it shows.
## 2. `cs.AI` - {title} two [PDF](https://arxiv.org/pdf/2601.{n}2), [HTML](https://arxiv.org/abs/2601.{n}2)
### Authors
C. Author
### Background
Why it matters.
### Innovation
What is new.
### Conclusion
What it shows.
"""


def test_a_digest_of_an_earlier_day_stored_before_the_kill_is_rewritten(tmp_path: Path) -> None:
    # Day 2026-01-14's digest exists; a later run stores more papers for that day and
    # is killed before writing digests. Nothing in the next run is new, yet the digest
    # must be rewritten: the recovery re-renders every digest.
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "a.md").write_text(DAILY_LIST.format(title="Alpha paper", n="9000"))
    (folder / "b.md").write_text(DAILY_LIST.format(title="Beta paper", n="9100"))
    source = 'kind = "markdown-digest"\n'
    config = folder / "aggregator.toml"
    config.write_text(f'[[sources]]\nname = "a"\npath = "a.md"\n{source}')
    assert run_to_end(folder, "run", "--date", "2026-11-23").returncode == 0
    digest = folder / "public" / "digests" / "2026-01-14" / "digest.txt"
    assert "Beta paper" not in digest.read_text()

    config.write_text(
        f'[[sources]]\nname = "b"\npath = "b.md"\n{source}'
        f'[[sources]]\nname = "a"\npath = "a.md"\n{source}'
    )
    kill_at(folder, "ingest")  # b is stored, then the run dies
    assert "Beta paper" not in digest.read_text()
    result = run_to_end(folder, "run", "--date", "2026-11-23")
    assert result.returncode == 0, result.stderr
    assert "Entries: 0 new" in result.stdout
    assert "Beta paper one" in digest.read_text()


def test_publish_alone_leaves_the_recovery_to_the_next_digest_writer(tmp_path: Path) -> None:
    folder = make_site(tmp_path / "site")
    kill_at(folder, "publish:index.html")
    published = run_to_end(folder, "publish")
    assert published.returncode == 0, published.stderr
    assert database_state(folder / "aggregator.db")[1] == ["running", "ok"]
    result = run_to_end(folder, "run", "--date", "2026-11-23")
    assert "Recovered: run #1 was interrupted" in result.stdout
    assert database_state(folder / "aggregator.db")[1] == ["interrupted", "ok", "ok"]
