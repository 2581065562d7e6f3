"""Tests for the Markdown article parser (kind "markdown")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aggregator._sources import ParseOptions
from aggregator._sources.markdown import date_in_url, parse
from aggregator.errors import ParseError
from aggregator.types import ParsedEntry, ParsedFeed

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = ROOT / "tests" / "data" / "parsers"
OPTIONS = ParseOptions(timezone="Asia/Tokyo")


def parse_file(path: Path) -> ParsedFeed:
    return parse(path.read_bytes(), source=path.name, options=OPTIONS)


def parse_text(text: str, options: ParseOptions = OPTIONS) -> ParsedFeed:
    return parse(text.encode(), source="inline.md", options=options)


def only(feed: ParsedFeed) -> ParsedEntry:
    assert len(feed.entries) == 1
    return feed.entries[0]


# --- seeds/000: YAML front matter ----------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_000() -> ParsedFeed:
    return parse_file(SEEDS / "000_9f6f0ba65013c320.txt")


def test_000_front_matter_fields(seed_000: ParsedFeed) -> None:
    entry = only(seed_000)
    assert entry.title == "NTT在ICML 2025上提升AI准确性、安全性与成本"
    assert entry.published == datetime(2025, 7, 23, tzinfo=UTC)
    assert entry.authors == ("ByteAILab",)
    assert entry.link is None
    assert entry.summary is None
    assert entry.categories == ()
    assert entry.language is None
    assert seed_000.warnings == ()


def test_000_content_is_rendered_body_without_front_matter(seed_000: ParsedFeed) -> None:
    content = only(seed_000).content
    assert content is not None
    assert content.startswith(
        "<p>会议展示了人工智能和机器学习基础研究与开发中的全球最具创新性的突破成果。"
    )
    assert "title:" not in content
    assert "ByteAILab" not in content
    # The pandoc attribute after the image is gone, the image is kept.
    assert '<img src="https://ai-techpark.com/wp-content/uploads/NTT-Advan.jpg" alt="图片" />' in (
        content
    )
    assert "width=60%" not in content
    assert "<p>新闻亮点：</p>" in content
    assert "NTT R&amp;D" in content
    assert content.endswith(
        '<p>感谢阅读！如果您对AI的更多资讯感兴趣，可以查看更多AI文章：<a href="https://gptnb.com">GPTNB</a>。</p>'
    )


def test_000_rule_under_a_paragraph_is_not_a_heading(seed_000: ParsedFeed) -> None:
    # "text\ntext\n---" would be a setext <h2> in CommonMark; the author meant a rule.
    content = only(seed_000).content
    assert content is not None
    assert "<h2>" not in content
    assert content.count("<hr />") == 2
    assert "https://ntt-research.com/pai-group</p>\n<hr />" in content


# --- seeds/001: title heading and trailing origin link --------------------------------------------


@pytest.fixture(scope="module")
def seed_001() -> ParsedFeed:
    return parse_file(SEEDS / "001_42b39434066c0679.txt")


def test_001_title_link_and_date_from_link(seed_001: ParsedFeed) -> None:
    entry = only(seed_001)
    assert entry.title == "NTTの深層学習分野における国際会議ICLR2025採択論文に関するレポート"
    assert entry.link == "https://group.ntt/jp/topics/2025/04/22/iclr2025.html"
    assert entry.published == datetime(2025, 4, 22, tzinfo=UTC)
    assert entry.authors == ()
    assert entry.summary is None
    assert seed_001.warnings == ()


def test_001_content(seed_001: ParsedFeed) -> None:
    content = only(seed_001).content
    assert content is not None
    assert content.startswith("<h2>1. 序論</h2>")
    assert "<h1>" not in content
    assert "国際会議ICLR2025採択論文に関するレポート" not in content
    assert (
        "<h3>2.4. Wavelet-based Positional Representation for Long Context"
        "（ウェーブレット位置符号化）</h3>"
    ) in content
    assert "<li><strong>技術的意義:</strong> 回帰モデルは、" in content
    assert content.count("<ul>") == 4
    assert content.endswith(
        '<p><strong>元記事:</strong> <a href="https://group.ntt/jp/topics/2025/04/22/iclr2025.html">'
        "深層学習分野の難関国際会議ICLRにNTTから4件採択 トピックス NTT</a></p>"
    )


def test_001_truncated_table_stays_text(seed_001: ParsedFeed) -> None:
    # The seed's table is cut off after its header row (no "|---|" delimiter row), so
    # CommonMark has no table to render; its text is kept. Tables: see md_front_matter.md.
    content = only(seed_001).content
    assert content is not None
    assert "<table>" not in content
    assert "<p>| 論文のテーマ | 社会への影響</p>" in content


# --- own samples ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def front_matter() -> ParsedFeed:
    return parse_file(DATA / "md_front_matter.md")


def test_front_matter_with_list_authors_and_offset(front_matter: ParsedFeed) -> None:
    entry = only(front_matter)
    assert entry.title == "Notes from a small: workshop"
    assert entry.published == datetime(2024, 6, 1, 7, 15, tzinfo=UTC)
    assert entry.authors == ("Mira Okafor", "Lin Wei")
    assert entry.categories == ("events", "workshops", "notes")
    assert entry.summary == "<p>A <em>short</em> recap.</p>"
    assert entry.link == "https://notes.example.org/2024/workshop/"
    assert front_matter.warnings == ()


def test_front_matter_content(front_matter: ParsedFeed) -> None:
    content = only(front_matter).content
    assert content is not None
    # The heading repeating the front-matter title is not part of the body.
    assert content.startswith("<p>The morning session covered data cleaning.</p>")
    assert "<h1>" not in content
    assert '<img src="https://notes.example.org/img/room.jpg" alt="Room photo" />' in content
    assert "width=60%" not in content
    assert "<th>Session</th>" in content
    assert "<td>Plotting</td>\n<td>Wei</td>" in content
    assert "<pre><code># not a heading, inside code\n</code></pre>" in content


def test_no_heading_uses_first_line_and_link_date() -> None:
    feed = parse_file(DATA / "md_no_heading.md")
    entry = only(feed)
    assert entry.title == (
        "Weekly reading list: three papers on tokenizers, one on evaluation, and a long…"
    )
    assert feed.warnings == ("no title in front matter or heading; used the first line of text",)
    assert entry.link == "https://reading.example.net/lists/20231105/tokenizers"
    assert entry.published == datetime(2023, 11, 5, tzinfo=UTC)
    assert entry.content is not None
    assert entry.content.startswith("<p>Weekly reading list: three papers on tokenizers,")


def test_no_date_anywhere() -> None:
    feed = parse_file(DATA / "md_no_date.md")
    entry = only(feed)
    assert entry.title == "雨の日の図書館"
    assert entry.link == "https://library.example.jp/essays/rainy-day"
    assert entry.published is None
    assert entry.content == (
        "<p>静かな午後、窓の外は雨だった。</p>\n"
        '<p>Source: <a href="https://library.example.jp/essays/rainy-day">'
        "https://library.example.jp/essays/rainy-day</a></p>"
    )


def test_naive_front_matter_time_is_read_in_the_configured_zone() -> None:
    entry = only(parse_text("---\ntitle: T\ndate: 2024-06-01 09:15:00\n---\nBody\n"))
    assert entry.published == datetime(2024, 6, 1, 0, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'2024-06-01T09:15:00Z'", datetime(2024, 6, 1, 9, 15, tzinfo=UTC)),
        ("'2024-06-01 09:15'", datetime(2024, 6, 1, 0, 15, tzinfo=UTC)),
        ("'Sat, 01 Jun 2024 09:15:00 +0200'", datetime(2024, 6, 1, 7, 15, tzinfo=UTC)),
        ("2024/06/01", datetime(2024, 6, 1, tzinfo=UTC)),
        ("2024-06-01", datetime(2024, 6, 1, tzinfo=UTC)),
    ],
)
def test_front_matter_date_forms(value: str, expected: datetime) -> None:
    assert only(parse_text(f"---\ntitle: T\ndate: {value}\n---\n")).published == expected


def test_unreadable_front_matter_date_is_a_warning() -> None:
    feed = parse_text("---\ntitle: T\ndate: next tuesday\n---\nBody\n")
    assert only(feed).published is None
    assert feed.warnings == ("front matter date: 'next tuesday' is not a date; ignored",)


def test_front_matter_string_author_and_tags() -> None:
    entry = only(parse_text("---\ntitle: T\nauthor: Smith, Jane\ntags: a, b\nurl: /p/1\n---\n"))
    assert entry.authors == ("Smith, Jane",)
    assert entry.categories == ("a", "b")
    assert entry.link is None  # relative, and no location to resolve it against
    assert entry.content is None


def test_relative_front_matter_url_resolves_against_location() -> None:
    options = ParseOptions(location="https://blog.example.org/feed/index.md")
    entry = only(parse_text("---\ntitle: T\nurl: /2024/05/06/post/\n---\nBody\n", options))
    assert entry.link == "https://blog.example.org/2024/05/06/post/"
    assert entry.published == datetime(2024, 5, 6, tzinfo=UTC)


def test_front_matter_title_wins_over_a_different_heading() -> None:
    entry = only(parse_text("---\ntitle: Real title\n---\n# Section one\n\nText\n"))
    assert entry.title == "Real title"
    assert entry.content == "<h1>Section one</h1>\n<p>Text</p>"


def test_setext_title_and_inline_markup_in_title() -> None:
    entry = only(parse_text("A *bold* `move`\n===\n\nBody text\n"))
    assert entry.title == "A bold move"
    assert entry.content == "<p>Body text</p>"


def test_heading_inside_code_is_not_the_title() -> None:
    entry = only(parse_text("```\n# not me\n```\n\n# Me\n\nText\n"))
    assert entry.title == "Me"
    assert entry.content == "<pre><code># not me\n</code></pre>\n<p>Text</p>"


@pytest.mark.parametrize(
    ("last_line", "link"),
    [
        (
            "原文：https://news.example.cn/a/2024-01-02-post。",
            "https://news.example.cn/a/2024-01-02-post",
        ),
        ("> 来源: [新闻](https://news.example.cn/x)", "https://news.example.cn/x"),
        ("*Originally published at <https://a.example.org/p>*", "https://a.example.org/p"),
        ('- **Via** [b](https://b.example.org/q "title")', "https://b.example.org/q"),
        ("[just a link](https://c.example.org/r)", "https://c.example.org/r"),
        ("https://d.example.org/s", "https://d.example.org/s"),
        ("Some closing words about https://e.example.org/t here.", None),
    ],
)
def test_trailing_origin_link(last_line: str, link: str | None) -> None:
    entry = only(parse_text(f"# T\n\nBody.\n\n{last_line}\n"))
    assert entry.link == link


def test_bare_link_counts_only_as_the_last_line() -> None:
    entry = only(parse_text("# T\n\n[a link](https://x.example.org/)\n\nClosing words.\n"))
    assert entry.link is None


def test_origin_link_inside_code_is_ignored() -> None:
    entry = only(parse_text("# T\n\n```\nSource: https://x.example.org/\n```\n"))
    assert entry.link is None


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("https://group.ntt/jp/topics/2025/04/22/iclr2025.html", date(2025, 4, 22)),
        ("https://x.example/news/20250422/item", date(2025, 4, 22)),
        ("https://x.example/posts/2025-04-22-title", date(2025, 4, 22)),
        ("https://x.example/2025/4/2/", date(2025, 4, 2)),
        ("https://x.example/posts/12345678/", None),
        ("https://x.example/2025/13/40/", None),
        ("https://x.example/?d=2025-04-22", None),
    ],
)
def test_date_in_url(url: str, day: date | None) -> None:
    assert date_in_url(url) == day


@pytest.mark.parametrize("data", [b"", b"\n   \n"])
def test_empty_input_is_an_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="empty") as info:
        parse(data, source="empty.md", options=OPTIONS)
    assert info.value.source == "empty.md"


def test_html_page_is_an_error() -> None:
    with pytest.raises(ParseError, match="HTML page") as info:
        parse_text("<!DOCTYPE html>\n<html><body><p>x</p></body></html>")
    assert info.value.hint == 'use kind = "page" for web pages'


def test_bad_yaml_names_the_line() -> None:
    with pytest.raises(ParseError, match="not valid on line 3") as info:
        parse_text("---\ntitle: ok\ndate: [unclosed\n---\nBody\n")
    assert info.value.hint is not None


def test_unclosed_front_matter_is_an_error() -> None:
    with pytest.raises(ParseError, match="never closed"):
        parse_text("---\ntitle: T\n\nBody\n")


def test_front_matter_only_without_title_is_an_error() -> None:
    with pytest.raises(ParseError, match="no title and no text"):
        parse_text("---\nauthor: X\n---\n\n")


def test_rule_first_line_without_front_matter_is_body() -> None:
    feed = parse_text("---\nJust a paragraph between rules.\n---\n")
    assert feed.warnings == (
        "the block between the first two '---' lines is not front matter",
        "no title in front matter or heading; used the first line of text",
    )
    assert only(feed).title == "Just a paragraph between rules."


def test_invalid_utf8_is_an_error() -> None:
    with pytest.raises(ParseError, match="not valid utf-8"):
        parse(b"# T\n\x80", source="bad.md", options=OPTIONS)


def test_utf16_with_bom_is_read() -> None:
    data = "# 見出し\n\n本文\n".encode("utf-16")
    entry = only(parse(data, source="u16.md", options=OPTIONS))
    assert entry.title == "見出し"
    assert entry.content == "<p>本文</p>"
