"""Article pages read through trafilatura and htmldate, with our own rules around them.

Realistic pages written for these tests (tests/data/pages/): a news article with a
JSON-LD NewsArticle, a blog post with a byline and <time>, a Chinese news page in GBK
with a labelled meta line and a copyright footer, and a magazine page full of
boilerplate (a OneTrust cookie banner, menus, an ad slot between the article's halves,
"you may also like" cards, comments, a sidebar). Served from 127.0.0.1 as ``kind =
"page"`` sources, published, and read back with feedparser.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from atomcheck import validate_atom
from pytest_httpserver import HTTPServer

from aggregator._sources import ParseOptions
from aggregator._sources.page import parse
from aggregator.config.settings import load_config
from aggregator.core import run
from aggregator.types import ParsedEntry

PAGES = Path(__file__).resolve().parent / "data" / "pages"
NOW = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)


def read(
    name: str, *, location: str | None = None, zone: str = "UTC"
) -> tuple[ParsedEntry, tuple[str, ...]]:
    options = ParseOptions(timezone=zone, location=location, now=NOW)
    feed = parse((PAGES / name).read_bytes(), source=name, options=options)
    assert len(feed.entries) == 1
    return feed.entries[0], feed.warnings


def text_of(entry: ParsedEntry) -> str:
    assert entry.content is not None
    return entry.content


# --- each page, parsed -----------------------------------------------------------------------


def test_news_article_with_json_ld() -> None:
    entry, warnings = read("news_jsonld.html", location="https://ledger.example.com/x")
    assert entry.title == "Harbour city opens its first tidal power station"
    assert entry.link == "https://ledger.example.com/2026/03/14/tidal-power-station-opens"
    # datePublished, not dateModified nor the footer's "2009–2026".
    assert entry.published == datetime(2026, 3, 14, 6, 15, tzinfo=UTC)
    assert entry.authors == ("Priya Raman", "Tom Okafor")
    assert warnings == ()
    content = text_of(entry)
    assert content.startswith("<p")
    assert "<h2>A slow start</h2>" in content
    assert "said Marta Lind, who chairs the cooperative." in content
    assert '<img src="https://ledger.example.com/images/2026/03/turbine-hall.jpg"' in content
    assert content.rstrip().endswith("through the gates every quarter.</p>")
    for clutter in (
        "cookies",
        "Accept all",
        "Business",
        "Related stories",
        "Grid upgrade",
        "newsletter",
        "All rights reserved",
        "<h1",
    ):
        assert clutter not in content, clutter


def test_blog_post_with_byline_and_time() -> None:
    entry, warnings = read("blog_byline.html")
    assert entry.title == "Why our test suite got slower after the upgrade"
    assert entry.published == datetime(2025, 10, 2, 16, 40, tzinfo=UTC)
    assert entry.authors == ("Ines Carvalho",)
    assert warnings == ()
    content = text_of(entry)
    assert content.startswith("<p>Last month we moved our services")
    assert "<pre>MIGRATIONS_VERIFY = False  # only in the test settings</pre>" in content
    assert content.endswith("would have saved us a day.</p>")
    for clutter in (
        "Archive",
        "Hunting a flaky test",
        "3 comments",
        "template database",
        "Powered",
    ):
        assert clutter not in content, clutter


def test_chinese_news_page_in_gbk() -> None:
    entry, warnings = read(
        "cjk_news.html", location="http://jc.example.cn/ms/2.html", zone="Asia/Shanghai"
    )
    assert entry.title == "我市首批社区食堂正式开放"
    # Our labelled meta line ("发布时间：2025-12-01 09:32", Beijing time); the footer's
    # "Copyright © 2003-2025" is never a date.
    assert entry.published == datetime(2025, 12, 1, 1, 32, tzinfo=UTC)
    assert entry.authors == ("王晓燕",)
    assert warnings == ()
    content = text_of(entry)
    assert content.startswith("<p>12月1日上午，我市首批二十家社区食堂同时开门营业。")
    assert content.count("<p>") == 5
    assert '<img src="http://jc.example.cn/uploads/2025/12/shitang.jpg" alt="社区食堂">' in content
    for clutter in (
        "设为首页",
        "当前位置",
        "来源",
        "分享到",
        "上一篇",
        "相关新闻",
        "热点排行",
        "版权所有",
    ):
        assert clutter not in content, clutter


def test_boilerplate_page_keeps_both_halves_and_drops_the_banner() -> None:
    entry, warnings = read("boilerplate.html")
    assert entry.title == "The slow return of the river otter"
    assert entry.authors == ("Hannah Bell",)
    # No date anywhere but the footer's "© 2026": no date, and a warning, not 2026-01-01.
    assert entry.published is None
    assert warnings == ("no publication time found",)
    content = text_of(entry)
    assert content.startswith("<p>Forty years ago a survey")
    assert "moving up from the estuary one tributary at a time." in content  # the second half
    assert content.endswith("still too acid for many fish.</p>")
    assert content.count("<p>") == 5
    for clutter in (
        "privacy",
        "partners",
        "Agree",
        "Subscribe",
        "Advertisement",
        "binoculars",
        "You may also like",
        "Beavers",
        "logged in",
        "Most read",
        "Registered in England",
    ):
        assert clutter not in content, clutter


# --- dates: structured > our rules > htmldate ------------------------------------------------


def page(head: str = "", *, footer: str = "Copyright © 2019 Example Ltd.") -> bytes:
    body = "<p>" + "A paragraph of the article, long enough to count as one. " * 4 + "</p>"
    return (
        f"<!DOCTYPE html><html><head><title>Story</title>{head}</head><body>"
        f"<article>{body}{body}</article><footer><p>{footer}</p></footer></body></html>"
    ).encode()


def published(data: bytes, location: str | None = None) -> datetime | None:
    options = ParseOptions(location=location, now=NOW)
    return parse(data, source="x.html", options=options).entries[0].published


def test_a_copyright_footer_is_not_a_date() -> None:
    assert published(page()) is None


def test_htmldate_fills_in_what_our_rules_miss() -> None:
    # Dublin Core and a dated URL are htmldate's; a bare day is midnight UTC.
    assert published(page('<meta name="DC.date" content="2023-02-01">')) == datetime(
        2023, 2, 1, tzinfo=UTC
    )
    assert published(page(), "https://news.example/2024/05/07/story.html") == datetime(
        2024, 5, 7, tzinfo=UTC
    )


def test_htmldate_guess_after_the_run_clock_is_refused() -> None:
    assert published(page('<meta name="DC.date" content="2027-06-01">')) is None


def test_structured_dates_beat_htmldate() -> None:
    head = (
        '<meta name="DC.date" content="2023-02-01">'
        '<meta property="article:published_time" content="2022-08-09T10:11:12Z">'
    )
    assert published(page(head), "https://news.example/2024/05/07/x") == datetime(
        2022, 8, 9, 10, 11, 12, tzinfo=UTC
    )


def test_our_labelled_date_beats_htmldate() -> None:
    data = page('<meta name="DC.date" content="2023-02-01">').replace(
        b"<article>", "<article>\n<p>发布时间：2024-03-04 05:06</p>\n".encode()
    )
    assert published(data) == datetime(2024, 3, 4, 5, 6, tzinfo=UTC)


# --- served over HTTP, published -------------------------------------------------------------

SERVED = {
    "/2026/03/14/tidal": ("news_jsonld.html", "text/html; charset=utf-8"),
    "/blog/slow-tests": ("blog_byline.html", "text/html"),
    "/ms/2.html": ("cjk_news.html", "text/html"),  # charset from <meta http-equiv>
    "/otters": ("boilerplate.html", "text/html; charset=utf-8"),
}


def test_pages_served_over_http_are_published(httpserver: HTTPServer, tmp_path: Path) -> None:
    sources = ""
    for number, (path, (name, content_type)) in enumerate(SERVED.items()):
        body = (PAGES / name).read_bytes()
        httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
        sources += (
            f'[[sources]]\nname = "page{number}"\nkind = "page"\n'
            f'url = "{httpserver.url_for(path)}"\ntimezone = "Asia/Shanghai"\n'
        )
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[storage]\ndatabase = "agg.db"\n{sources}', encoding="utf-8")
    summary = run(load_config(config), clock=lambda: NOW, run_date=NOW.date())
    assert not summary.failed, summary.failed
    assert [report.counts["new"] for report in summary.sources] == [1, 1, 1, 1]
    found = {}
    for number in range(len(SERVED)):
        data = (tmp_path / "public" / "feeds" / f"page{number}.atom").read_bytes()
        validate_atom(data)
        (entry,) = feedparser.parse(data).entries
        found[entry.title] = entry
    news = found["Harbour city opens its first tidal power station"]
    assert news.published == "2026-03-14T06:15:00Z"
    assert [author["name"] for author in news.authors] == ["Priya Raman", "Tom Okafor"]
    assert "A slow start" in news.content[0].value
    assert "Accept all" not in news.content[0].value
    assert found["我市首批社区食堂正式开放"].published == "2025-12-01T01:32:00Z"
    assert "社区食堂由街道提供场地" in found["我市首批社区食堂正式开放"].content[0].value
    otters = found["The slow return of the river otter"].content[0].value
    assert "tributary at a time" in otters and "partners" not in otters
    blog = found["Why our test suite got slower after the upgrade"]
    assert blog.published == "2025-10-02T16:40:00Z"


# --- trafilatura stays out of ordinary runs -----------------------------------------------------

HEAVY = ("trafilatura", "htmldate", "justext", "dateparser", "courlan")


def _loaded_after(code: str, cwd: Path) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=cwd
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "module", ["aggregator._update.reading", "aggregator._sources", "aggregator._app.cli"]
)
def test_importing_the_readers_does_not_import_trafilatura(module: str, tmp_path: Path) -> None:
    loaded = _loaded_after(f"import {module}", tmp_path)
    assert module in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []


def test_a_run_of_ordinary_feeds_does_not_import_trafilatura(tmp_path: Path) -> None:
    feed = Path(__file__).resolve().parent.parent / "seeds" / "lab-reading-list.rss"
    (tmp_path / "aggregator.toml").write_text(
        f'[storage]\ndatabase = "agg.db"\n[[sources]]\nname = "lab"\npath = "{feed.as_posix()}"\n',
        encoding="utf-8",
    )
    loaded = _loaded_after(
        "from pathlib import Path\n"
        "from aggregator.config.settings import load_config\n"
        "from aggregator.core import run\n"
        "summary = run(load_config(Path('aggregator.toml')))\n"
        "assert not summary.failed and summary.sources[0].counts['new'] > 0, summary",
        tmp_path,
    )
    assert "aggregator._sources.page_extract" in loaded  # imported, but not what it imports
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []
