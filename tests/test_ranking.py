"""Ranking over a real SQLite store: profiles, the score cache, determinism, tiers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW

from aggregator._common.matching import same_author
from aggregator._enrich.model import Classifier, fit_linear_svm
from aggregator._enrich.order import AUTHOR, KEYWORD, REST
from aggregator._enrich.ranker import Ranker
from aggregator._storage.sqlite import Store
from aggregator.config.settings import Settings, load_config
from aggregator.core import run
from benchmarks.papers import Paper, papers, rss

DAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


class CountingFit:
    """The fit seam, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, features: Any, labels: Sequence[int]) -> Classifier:
        self.calls += 1
        return fit_linear_svm(features, labels)


def stored(folder: Path, count: int = 64) -> list[Paper]:
    """A day of ``count`` papers stored by a run (no interests yet: nothing ranked)."""
    folder.mkdir(parents=True, exist_ok=True)
    day = papers(count, seed=3)
    (folder / "papers.rss").write_text(rss(day, day=DAY), encoding="utf-8")
    (folder / "aggregator.toml").write_text(
        '[storage]\ndatabase = "db.sqlite"\n[dedup]\nenabled = false\n'
        '[[sources]]\nname = "papers"\npath = "papers.rss"\nentry_categories = true\n',
        encoding="utf-8",
    )
    run(load_config(folder / "aggregator.toml"), clock=lambda: NOW, run_date=date(2026, 11, 23))
    return day


def with_interests(folder: Path, table: str) -> Settings:
    path = folder / "aggregator.toml"
    path.write_text(path.read_text(encoding="utf-8") + table, encoding="utf-8")
    return load_config(path)


def likes(day: list[Paper], topic: str, count: int = 3) -> str:
    return ", ".join([f'"{p.link}"' for p in day if p.topic == topic][:count])


def test_the_liked_topic_ranks_first_and_a_rerun_fits_nothing(tmp_path: Path) -> None:
    day = stored(tmp_path)
    settings = with_interests(tmp_path, f"[interests]\nlike = [{likes(day, 'speech')}]\n")
    topic = {p.title: p.topic for p in day}
    fit = CountingFit()
    with Store(settings.storage.database) as store:
        rows = store.entries_for_day(date(2026, 11, 23))
        ranker = Ranker(settings, store, fit=fit)
        ranker.enrich(rows, store)
        assert fit.calls == 1 and ranker.report.scored == 64
        table = ranker.ranks(rows, ranker.profile_for(None))
        order = sorted(rows, key=lambda e: table[e.key].sort_key(0))
        top = [topic[e.title] for e in order[:8]]
        assert top.count("speech") >= 7, top
        assert all(table[e.key].tier == REST for e in rows)
        assert table[order[5].key].reason.startswith("like: ")
        # A second ranker over the same store (the next run) reads the cache.
        again = Ranker(settings, store, fit=fit)
        again.enrich(rows, store)
        assert again.ranks(rows, again.profile_for(None)) == table
        assert fit.calls == 1 and again.report.fitted == 0 and again.report.scored == 0


def test_ranking_is_deterministic(tmp_path: Path) -> None:
    found = []
    for folder in (tmp_path / "a", tmp_path / "b"):
        day = stored(folder)
        settings = with_interests(folder, f"[interests]\nlike = [{likes(day, 'graphs')}]\n")
        with Store(settings.storage.database) as store:
            rows = store.entries_for_day(date(2026, 11, 23))
            ranker = Ranker(settings, store)
            table = ranker.ranks(rows, ranker.profile_for(None))
            found.append({e.title: table[e.key] for e in rows})
    assert found[0] == found[1]


def test_fewer_than_three_liked_papers_keep_listing_order(tmp_path: Path) -> None:
    day = stored(tmp_path)
    settings = with_interests(
        tmp_path, f'[interests]\nlike = [{likes(day, "rl", 2)}, "2401.00001"]\n'
    )
    fit = CountingFit()
    with Store(settings.storage.database) as store:
        rows = store.entries_for_day(date(2026, 11, 23))
        ranker = Ranker(settings, store, fit=fit)
        profile = ranker.profile_for(None)
        assert len(profile.liked) == 2 and not profile.learns
        assert ranker.report.missing == {"default": ["arXiv:2401.00001"]}
        assert ranker.ranks(rows, profile) == {}
        assert fit.calls == 0


def test_followed_authors_then_keywords_come_first_with_reasons(tmp_path: Path) -> None:
    day = stored(tmp_path)
    author = day[10].authors[0]
    settings = with_interests(
        tmp_path, f'[interests]\nauthors = ["{author}"]\nkeywords = ["spectrograms"]\n'
    )
    with Store(settings.storage.database) as store:
        rows = store.entries_for_day(date(2026, 11, 23))
        ranker = Ranker(settings, store)
        table = ranker.ranks(rows, ranker.profile_for(None))
    by_author = [e for e in rows if table[e.key].tier == AUTHOR]
    assert by_author and all(author in e.authors for e in by_author)
    assert table[by_author[0].key].reason == f"by a followed author: {author}"
    matching = [e for e in rows if table[e.key].tier == KEYWORD]
    assert matching and all(table[e.key].reason == "matches: spectrograms" for e in matching)
    assert all(table[e.key].score is None for e in rows)


@pytest.mark.parametrize(
    ("followed", "author", "same"),
    [
        ("Ada Lovelace", "Ada Lovelace", True),
        ("Lovelace, Ada", "ADA LOVELACE", True),
        ("A. Lovelace", "Ada Lovelace", True),
        ("Ada Lovelace", "A Lovelace", True),
        ("José Müller", "Jose Muller", True),
        ("Ada Lovelace", "Bea Lovelace", False),
        ("Ada Lovelace", "Ada Byron", False),
    ],
)
def test_author_names_match_as_people_write_them(followed: str, author: str, same: bool) -> None:
    assert same_author(followed, author) is same


def test_the_published_digest_follows_the_default_profile(tmp_path: Path) -> None:
    day = stored(tmp_path)
    settings = with_interests(tmp_path, f"[interests]\nlike = [{likes(day, 'proteins')}]\n")
    run(settings, clock=lambda: NOW, run_date=date(2026, 11, 23), do_ingest=False)
    text = (tmp_path / "public" / "digests" / "2026-11-23" / "digest.txt").read_text("utf-8")
    topic = {p.title: p.topic for p in day}
    titles = [line.split(". ", 1)[1] for line in text.splitlines() if re.match(r"\d+\. ", line)]
    assert [topic[t] for t in titles[:6]].count("proteins") >= 5, titles[:6]
    assert "(like: " in text and "(you liked it)" in text
