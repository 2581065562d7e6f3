"""End to end: the default configuration on the samples, published feeds read back."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import feedparser
import pytest
from atomcheck import validate_atom
from conftest import SEEDS
from storekit import sql

from aggregator._storage import open_store
from aggregator._storage.sqlite import Store
from aggregator._update.decide import Outcome
from aggregator.config.settings import Settings, StorageSettings, load_config
from aggregator.core import RunSummary, run

RUN_DATE = date(2026, 11, 23)
LIST_DAY = "2026-01-14"


def run_default(
    tmp_path: Path, clock: Callable[[], datetime], storage: StorageSettings | None = None
) -> tuple[Settings, RunSummary]:
    """The embedded default config run in ``tmp_path``; on ``storage``'s database when given
    (a PostgreSQL url; a SQLite file keeps the default ./aggregator.db)."""
    settings = load_config(None, cwd=tmp_path)
    if storage is not None and storage.url is not None:
        settings = replace(settings, storage=replace(settings.storage, url=storage.url))
    return settings, run(settings, clock=clock, run_date=RUN_DATE)


def table_counts(settings: StorageSettings) -> dict[str, int]:
    with open_store(settings) as store:
        if isinstance(store, Store):
            query = "SELECT name FROM sqlite_master WHERE type='table'"
        else:
            query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        return {
            name: sql(store, f'SELECT count(*) FROM "{name}"')[0][0]
            for (name,) in sql(store, query)
            if name not in ("runs", "sqlite_sequence")
            # SQLite's FTS5 shadow tables: its own index's pages, no data of ours.
            and not name.startswith("search_text_fts")
        }


@pytest.fixture
def first_run(
    tmp_path: Path, clock: Callable[[], datetime], storage: StorageSettings
) -> tuple[Settings, RunSummary]:
    """The first run of the default config, on each backend."""
    return run_default(tmp_path, clock, storage)


def test_default_run_publishes_one_feed_per_category(
    first_run: tuple[Settings, RunSummary],
) -> None:
    settings, summary = first_run
    feeds = settings.publish.output_dir / "feeds"
    expected = {"cs.AI": 19, "cs.CL": 10, "cs.LG": 10, "articles": 3, "all": 42}
    assert sorted(p.stem for p in feeds.glob("*.atom")) == sorted(expected)
    for name, count in expected.items():
        data = (feeds / f"{name}.atom").read_bytes()
        validate_atom(data)
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (name, parsed.get("bozo_exception"))
        assert len(parsed.entries) == count, name
        ids = [e.id for e in parsed.entries]
        assert len(set(ids)) == count, f"{name} repeats an entry"
        self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
        assert self_links == [f"http://localhost:8000/feeds/{name}.atom"]
        if name != "all":
            assert all(name in [t.term for t in e.tags] for e in parsed.entries)
    assert summary.count(Outcome.NEW) == 42
    assert summary.failed == []


def test_papers_keep_their_links_authors_sections_and_day(
    first_run: tuple[Settings, RunSummary],
) -> None:
    settings, _ = first_run
    parsed = feedparser.parse((settings.publish.output_dir / "feeds" / "cs.AI.atom").read_bytes())
    by_link = {e.link: e for e in parsed.entries}
    paper = by_link["https://arxiv.org/abs/2601.06098"]
    assert paper.title == "利用因果图引导思考链自动生成启发式学习问题"
    assert [a.name for a in paper.authors] == [
        "Nicholas X. Wang",
        "Neel V. Parpia",
        "Aaryan D. Parikh",
        "Aggelos K. Katsaggelos",
    ]
    assert paper.published.startswith(LIST_DAY)
    pdf = [link.href for link in paper.links if link.get("type") == "application/pdf"]
    assert pdf == ["https://arxiv.org/pdf/2601.06098"]
    body = paper.content[0].value
    for heading in ("Background", "Innovation", "Conclusion"):
        assert f"<h3>{heading}</h3>" in body
    assert "实验结果表明" in body
    # Every paper of the sample list is in exactly one of the three category feeds.
    listed = set(
        re.findall(
            r"arxiv\.org/abs/(\d{4}\.\d{5})",
            (SEEDS / "002_d401467fe4d4ae84.txt").read_text(encoding="utf-8"),
        )
    )
    published: set[str] = set()
    for name in ("cs.AI", "cs.CL", "cs.LG"):
        feed = feedparser.parse(
            (settings.publish.output_dir / "feeds" / f"{name}.atom").read_bytes()
        )
        ids = {e.link.rsplit("/", 1)[1] for e in feed.entries}
        assert not ids & published
        published |= ids
    assert published == listed and len(listed) == 39


def test_feed_html_is_sanitised_and_escaped(first_run: tuple[Settings, RunSummary]) -> None:
    settings, _ = first_run
    for path in (settings.publish.output_dir / "feeds").glob("*.atom"):
        parsed = feedparser.parse(path.read_bytes(), sanitize_html=False)
        for entry in parsed.entries:
            html = " ".join(
                [entry.get("summary", "")] + [c.value for c in entry.get("content", [])]
            )
            assert "<script" not in html.lower(), entry.title
            assert not re.search(r"\son\w+\s*=", html), entry.title


def test_articles_are_published_with_their_own_dates(
    first_run: tuple[Settings, RunSummary],
) -> None:
    settings, _ = first_run
    parsed = feedparser.parse(
        (settings.publish.output_dir / "feeds" / "articles.atom").read_bytes()
    )
    by_title = {e.title: e for e in parsed.entries}
    assert by_title["NTT在ICML 2025上提升AI准确性、安全性与成本"].published.startswith("2025-07-23")
    report = by_title["NTTの深層学習分野における国際会議ICLR2025採択論文に関するレポート"]
    assert report.link == "https://group.ntt/jp/topics/2025/04/22/iclr2025.html"
    assert report.published.startswith("2025-04-22")
    page = by_title["在 ICLR 2024,看见中国大模型的力量"]
    assert page.published == "2025-09-08T07:44:43Z"  # 15:44:43 in Asia/Shanghai
    assert "上一篇" not in page.content[0].value
    # Feed updated = newest entry's updated, never the build time.
    newest = max(e.updated for e in parsed.entries)
    assert parsed.feed.updated == newest


def test_digest_of_the_daily_list(first_run: tuple[Settings, RunSummary]) -> None:
    settings, summary = first_run
    folder = settings.publish.output_dir / "digests" / LIST_DAY
    html = (folder / "index.html").read_text(encoding="utf-8")
    text = (folder / "digest.txt").read_text(encoding="utf-8")
    assert date(2026, 1, 14) in summary.digest_days
    # The email layout (tables, at most 680 px wide, no scripts) with its CSS in one
    # <style> element: a web page needs no inlined copy on every element.
    assert re.search(r'<table[^>]* role="presentation"', html)
    assert "max-width: 680px" in html
    assert html.count("<style>") == 1 and ".category h2 {" in html
    assert '<td class="pad category">' in html and "<h2 id=" in html
    assert not re.search(r'<(h2|h3|p)[^>]* style="', html)
    assert "<script" not in html
    for source in (html, text):
        assert len(set(re.findall(r"https://arxiv\.org/abs/\d{4}\.\d{5}", source))) == 39
        assert len(set(re.findall(r"https://arxiv\.org/pdf/\d{4}\.\d{5}", source))) == 39
        words = re.sub(r"<[^>]+>", " ", source)
        # cs.CL's and cs.LG's papers all date from before January 2026: in a January
        # list they are replacements of old papers, not new ones.
        for category, counts in (
            ("cs.AI", "19 new"),
            ("cs.CL", "10 replacements"),
            ("cs.LG", "10 replacements"),
        ):
            assert re.search(rf"{re.escape(category)}\W+{counts}\W", words), category
    assert "-- New submissions (19) --" in text and "-- Replacements (10) --" in text
    assert "Nicholas X. Wang, Neel V. Parpia" in text
    assert text.count("Background: ") == 39 and text.count("Conclusion: ") == 39
    assert len(re.findall(r"<strong[^>]*>Innovation:</strong>", html)) == 39
    first = text.index("利用因果图引导思考链自动生成启发式学习问题")
    assert first < text.index("== cs.CL")  # cs.AI comes first, papers in list order
    assert "NTT" not in text  # articles belong to the day they were first seen


def test_digest_of_the_articles_first_seen_day(first_run: tuple[Settings, RunSummary]) -> None:
    settings, _ = first_run
    text = (settings.publish.output_dir / "digests" / "2026-11-23" / "digest.txt").read_text(
        encoding="utf-8"
    )
    assert "== articles (3 new) ==" in text
    assert "在 ICLR 2024,看见中国大模型的力量" in text


def test_index_links_every_feed_and_digest(first_run: tuple[Settings, RunSummary]) -> None:
    settings, _ = first_run
    index = (settings.publish.output_dir / "index.html").read_text(encoding="utf-8")
    for name in ("all", "cs.AI", "cs.CL", "cs.LG", "articles"):
        assert f'href="feeds/{name}.atom"' in index
    for day in (LIST_DAY, "2026-11-23"):
        assert f'href="digests/{day}/index.html"' in index


def test_sample_feeds_are_counted_as_duplicates(first_run: tuple[Settings, RunSummary]) -> None:
    _, summary = first_run
    by_name = {r.name: r for r in summary.sources}
    assert by_name["lab-reading-list"].counts == {
        "new": 0,
        "updated": 0,
        "unchanged": 0,
        "duplicate": 5,
    }
    assert by_name["ntt-rd-news"].counts["duplicate"] == 2
    assert by_name["ntt-rd-news"].counts["new"] == 0


def test_rerun_adds_nothing_and_rewrites_identical_feeds(
    tmp_path: Path, clock: Callable[[], datetime], storage: StorageSettings
) -> None:
    settings, _ = run_default(tmp_path, clock, storage)
    out = settings.publish.output_dir
    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    counts = table_counts(settings.storage)
    _, again = run_default(tmp_path, clock, storage)
    assert again.count(Outcome.NEW) == 0 and again.count(Outcome.UPDATED) == 0
    assert again.count(Outcome.UNCHANGED) == 49
    assert again.feeds_written == 0
    assert table_counts(settings.storage) == counts
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert after == files  # same bytes, and not even rewritten


def test_a_later_run_keeps_the_articles_on_their_first_day(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = load_config(None, cwd=tmp_path)
    run(settings, clock=clock, run_date=RUN_DATE)
    later = run(settings, clock=clock, run_date=date(2026, 11, 24))
    assert later.count(Outcome.NEW) == 0
    assert not (settings.publish.output_dir / "digests" / "2026-11-24").exists()


def test_a_run_on_postgresql_publishes_the_same_bytes_as_on_sqlite(
    tmp_path: Path, clock: Callable[[], datetime], pg_url: str
) -> None:
    """The whole published tree (feeds, digests, index, OPML) byte for byte."""
    (tmp_path / "sqlite").mkdir()
    (tmp_path / "postgres").mkdir()
    on_sqlite, first = run_default(tmp_path / "sqlite", clock)
    postgres = StorageSettings(database=tmp_path / "unused.db", url=pg_url)
    on_postgres, second = run_default(tmp_path / "postgres", clock, postgres)
    assert not (tmp_path / "postgres" / "aggregator.db").exists()

    def tree(settings: Settings) -> dict[str, bytes]:
        out = settings.publish.output_dir
        return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    published = tree(on_sqlite)
    assert len(published) > 10 and "feeds/all.atom" in published
    assert tree(on_postgres) == published
    assert second.as_dict()["sources"] == first.as_dict()["sources"]
