"""Broken sources are reported by name; the others are stored; nothing stored is lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import feedparser
from conftest import SEEDS

from aggregator._storage.sqlite import Store
from aggregator.config.settings import load_config
from aggregator.core import run

GOOD = f"""
[[sources]]
name = "daily"
kind = "markdown-digest"
path = "{SEEDS / "002_d401467fe4d4ae84.txt"}"
"""


def test_each_broken_source_is_named_with_its_reason(
    tmp_path: Path, write_config: Callable[[str], Path], clock: Callable[[], datetime]
) -> None:
    (tmp_path / "empty.xml").write_bytes(b"")
    (tmp_path / "latin1.md").write_bytes("# Caf\xe9 au lait\n\nbody".encode("latin-1"))
    good_feed = (SEEDS / "lab-reading-list.rss").read_bytes()
    (tmp_path / "truncated.rss").write_bytes(good_feed[: good_feed.index(b"<item>") + 40])
    path = write_config(
        GOOD
        + """
[[sources]]
name = "missing"
path = "nowhere.xml"

[[sources]]
name = "empty"
path = "empty.xml"

[[sources]]
name = "not-utf8"
kind = "markdown"
path = "latin1.md"

[[sources]]
name = "truncated"
path = "truncated.rss"
"""
    )
    summary = run(load_config(path), clock=clock, run_date=date(2026, 11, 23))
    errors = {r.name: r.error for r in summary.failed}
    assert set(errors) == {"missing", "empty", "not-utf8", "truncated"}
    assert "file not found" in str(errors["missing"]) and "nowhere.xml" in str(errors["missing"])
    assert "empty" in str(errors["empty"])
    assert "utf-8" in str(errors["not-utf8"]).lower()
    assert "not well-formed" in str(errors["truncated"]) or "truncated" in str(errors["truncated"])
    # The good source was stored and published all the same.
    feed = feedparser.parse((tmp_path / "public" / "feeds" / "all.atom").read_bytes())
    assert len(feed.entries) == 39
    with Store(tmp_path / "aggregator.db") as store:
        health = {h.name: h for h in store.source_health()}
    assert health["missing"].consecutive_failures == 1
    assert health["daily"].last_error is None


def test_a_source_that_breaks_later_loses_nothing(
    tmp_path: Path, write_config: Callable[[str], Path], clock: Callable[[], datetime]
) -> None:
    feed = tmp_path / "feed.rss"
    feed.write_bytes((SEEDS / "lab-reading-list.rss").read_bytes())
    path = write_config(
        GOOD + '\n[[sources]]\nname = "feed"\npath = "feed.rss"\ncategories = ["reading"]\n'
    )
    run(load_config(path), clock=clock, run_date=date(2026, 11, 23))
    before = (tmp_path / "public" / "feeds" / "reading.atom").read_bytes()
    feed.write_bytes(b"<rss><channel><item><title>cut off")
    summary = run(load_config(path), clock=clock, run_date=date(2026, 11, 24))
    assert [r.name for r in summary.failed] == ["feed"]
    assert (tmp_path / "public" / "feeds" / "reading.atom").read_bytes() == before
    with Store(tmp_path / "aggregator.db") as store:
        assert store.count_entries() == 39
        assert {h.name: h.consecutive_failures for h in store.source_health()} == {
            "daily": 0,
            "feed": 1,
        }
