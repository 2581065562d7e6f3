"""Current feeds hold every entry of their latest days: a reader polling once a day
misses nothing, even on a day of 600 papers in one category."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import feedparser
import pytest
from atomcheck import validate_atom
from pytest_httpserver import HTTPServer

from aggregator.config.settings import load_config
from aggregator.core import run
from aggregator.errors import ConfigError
from benchmarks import feeds as generator

PAPERS = 600


def _day_of_papers(httpserver: HTTPServer) -> str:
    # One arXiv-style announcement day of 600 papers in one category.
    httpserver.expect_request("/rss/day.xml").respond_with_data(
        generator.feed_bytes(0, entries=PAPERS), content_type="application/rss+xml"
    )
    category = generator.feed_category(0)
    return (
        f'[[sources]]\nname = "papers"\nkind = "arxiv"\n'
        f'url = "{httpserver.url_for("/rss/day.xml")}"\ncategories = ["{category}"]\n'
    )


def _entries(path: Path) -> list[str]:
    data = path.read_bytes()
    validate_atom(data)
    return [entry.id for entry in feedparser.parse(data).entries]


def test_a_day_of_600_papers_is_whole_in_its_feed_and_in_all(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    summary = run(load_config(write_config(_day_of_papers(httpserver))), clock=clock)
    assert not summary.failed and summary.digest_days
    feeds = tmp_path / "public" / "feeds"
    category = generator.feed_category(0)
    ids = _entries(feeds / f"{category}.atom")
    assert len(ids) == len(set(ids)) == PAPERS
    assert len(_entries(feeds / "all.atom")) == PAPERS
    assert "feed_max_entries" not in caplog.text


def test_the_cap_cuts_a_day_and_says_so(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = "[publish]\nfeed_max_entries = 250\n" + _day_of_papers(httpserver)
    run(load_config(write_config(body)), clock=clock)
    category = generator.feed_category(0)
    assert len(_entries(tmp_path / "public" / "feeds" / f"{category}.atom")) == 250
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        f"feeds/{category}.atom holds only the newest 250 entries" in line
        and "raise [publish] feed_max_entries" in line
        for line in warned
    ), warned


def test_without_the_day_rule_a_feed_is_the_newest_few(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = "[publish]\nfeed_days = 0\nfeed_min_entries = 40\n" + _day_of_papers(httpserver)
    run(load_config(write_config(body)), clock=clock)
    category = generator.feed_category(0)
    assert len(_entries(tmp_path / "public" / "feeds" / f"{category}.atom")) == 40
    assert "feed_max_entries" not in caplog.text  # nothing was promised, nothing cut


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("feed_days = -1", "publish.feed_days"),
        ("feed_min_entries = 0", "publish.feed_min_entries"),
        ("feed_max_entries = 0", "publish.feed_max_entries"),
    ],
)
def test_feed_sizes_are_checked(write_config: Callable[[str], Path], table: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(f"[publish]\n{table}\n"))
    assert key in str(info.value.describe())
