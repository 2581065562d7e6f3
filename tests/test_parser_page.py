"""Tests for the article-page parser (kind "page"), on saved text and on HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator._sources import ParseOptions
from aggregator._sources.page import parse
from aggregator.errors import ParseError
from aggregator.types import ParsedEntry, ParsedFeed

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "003_366078ac11276017.txt"
DATA = ROOT / "tests" / "data" / "parsers"
SHANGHAI = ParseOptions(timezone="Asia/Shanghai")


def only(feed: ParsedFeed) -> ParsedEntry:
    assert len(feed.entries) == 1
    return feed.entries[0]


def parse_text(text: str, options: ParseOptions = SHANGHAI) -> ParsedFeed:
    return parse(text.encode(), source="inline", options=options)


def content_of(entry: ParsedEntry) -> str:
    assert entry.content is not None
    return entry.content


# --- seeds/003: a Chinese page saved as text -----------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> ParsedFeed:
    return parse(SEED.read_bytes(), source=SEED.name, options=SHANGHAI)


def test_003_title_time_and_author(seed: ParsedFeed) -> None:
    entry = only(seed)
    assert entry.title == "在 ICLR 2024,看见中国大模型的力量"
    assert entry.published == datetime(2025, 9, 8, 7, 44, 43, tzinfo=UTC)
    # The site's "作者:" on the meta line; the article's own byline stays in the body.
    assert entry.authors == ("热站",)
    assert entry.link is None
    assert entry.summary is None
    assert entry.language is None
    assert seed.warnings == ()


def test_003_naive_time_is_read_in_the_configured_zone() -> None:
    entry = only(parse(SEED.read_bytes(), source=SEED.name, options=ParseOptions()))
    assert entry.published == datetime(2025, 9, 8, 15, 44, 43, tzinfo=UTC)


def test_003_body_is_the_article_only(seed: ParsedFeed) -> None:
    content = content_of(only(seed))
    assert content.startswith(
        "<p>作者 | 赖文昕</p>\n<p>编辑 | 陈彩娴</p>\n"
        "<p>近日(5.7-5.11),中国第十二届国际学习表征会议(ICLR)在奥地利维也纳的大模展览会议中心召开。</p>"
    )
    assert content.endswith("<p>雷峰网原创文章,未经授权禁止转载。详情见转载须知。</p>")
    # 73 non-blank article lines, less the 8 lines repeating the title in place of images.
    assert content.count("<p>") == 71
    assert "<p>LLM 成为绝对主角</p>" in content
    assert "<p>论文地址:https://arxiv.org/pdf/2403.15796.pdf</p>" in content
    for clutter in (
        "设为首页",
        "首页",
        "热点",
        "时尚",
        "娱乐",
        "当前位置",
        "专报",
        "发布时间",
        "观察爆料社",
        "上一篇",
        "下一篇",
        "相关文章",
        "社保重大改革",
        "随便看看",
        "反诈指南",
        "Copyright",
        "在 ICLR 2024,看见中国大模型的力量",
    ):
        assert clutter not in content, clutter


# --- own text sample -----------------------------------------------------------------------------


def test_english_text_page() -> None:
    path = DATA / "page_text_en.txt"
    feed = parse(path.read_bytes(), source=path.name, options=ParseOptions("America/New_York"))
    entry = only(feed)
    assert entry.title == "Growing tomatoes on a balcony"
    assert entry.published == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    assert entry.authors == ("Jane Doe",)
    assert entry.content == (
        "<p>A balcony that gets six hours of sun is enough for two or three plants.</p>\n"
        "<p>Pick compact varieties and a pot of at least twenty litres:</p>\n"
        "<ul><li>cherry tomatoes</li><li>dwarf bush types</li></ul>\n"
        "<p>Water in the morning, never at night.</p>"
    )
    assert feed.warnings == ()


@pytest.mark.parametrize(
    ("meta", "published"),
    [
        ("发布时间:2024-05-07 10:00 +0800", datetime(2024, 5, 7, 2, 0, tzinfo=UTC)),
        ("日期：2024年5月7日 10时30分", datetime(2024, 5, 7, 2, 30, tzinfo=UTC)),
        ("Posted on May 5, 2024 at 10:00 PM", datetime(2024, 5, 5, 14, 0, tzinfo=UTC)),
        ("Date: 7 June 2024, 08:15", datetime(2024, 6, 7, 0, 15, tzinfo=UTC)),
        ("Published: 2024-05-07T10:00:00Z", datetime(2024, 5, 7, 10, 0, tzinfo=UTC)),
        ("Date: 2024-05-07 Zhang Wei", datetime(2024, 5, 7, tzinfo=UTC)),
        ("Date: 2024-02-30 10:00", None),
    ],
)
def test_meta_line_time_forms(meta: str, published: datetime | None) -> None:
    entry = only(parse_text(f"Title\n{meta}\n\nBody.\n"))
    assert entry.published == published


def test_text_is_escaped() -> None:
    entry = only(parse_text("标题\n发布时间：2024-01-02 03:04\n\nA <b> & B\n"))
    assert entry.content == "<p>A &lt;b&gt; &amp; B</p>"
    assert entry.published == datetime(2024, 1, 1, 19, 4, tzinfo=UTC)


def test_text_without_blank_lines_is_one_paragraph_per_line() -> None:
    entry = only(parse_text("标题\n日期：2024年1月2日\n第一段。\n第二段。\n"))
    assert entry.content == "<p>第一段。</p>\n<p>第二段。</p>"
    assert entry.published == datetime(2024, 1, 2, tzinfo=UTC)


def test_text_without_time_warns() -> None:
    feed = parse_text("设为首页\n  • 首页\n文章标题\n\n正文第一段。\n\n正文第二段。\n")
    entry = only(feed)
    assert entry.title == "文章标题"
    assert entry.published is None
    assert entry.content == "<p>正文第一段。</p>\n<p>正文第二段。</p>"
    assert feed.warnings == ("no publication time found below the title",)


def test_dated_first_sentence_is_not_the_meta_line() -> None:
    feed = parse_text(
        "标题\n\n2024年5月7日，会议在维也纳召开，来自各国的研究者参加了开幕式并发言。\n"
    )
    entry = only(feed)
    assert entry.published is None
    assert content_of(entry).startswith("<p>2024年5月7日，会议在维也纳召开")


def test_dated_first_sentence_with_a_time_is_not_the_meta_line() -> None:
    entry = only(parse_text("Title\n\n2024-05-07 10:00: the doors opened. People came in.\n"))
    assert entry.published is None
    assert entry.content == "<p>2024-05-07 10:00: the doors opened. People came in.</p>"


def test_unlabelled_date_time_below_the_title() -> None:
    entry = only(parse_text("Title\n2024-05-07 10:00 | Example News\n\nBody.\n"))
    assert entry.published == datetime(2024, 5, 7, 2, 0, tzinfo=UTC)
    assert entry.content == "<p>Body.</p>"


def test_byline_gives_authors_when_meta_line_has_none() -> None:
    entry = only(parse_text("标题\n时间：2024-05-07 10:00\n\n作者 | 张三、李四\n\n正文。\n"))
    assert entry.authors == ("张三", "李四")
    assert entry.content == "<p>作者 | 张三、李四</p>\n<p>正文。</p>"


def test_text_charset_from_content_type() -> None:
    data = "标题\n发布时间：2024-01-02 03:04\n\n正文。\n".encode("gbk")
    options = ParseOptions(timezone="UTC", content_type="text/plain; charset=GBK")
    entry = only(parse(data, source="gbk.txt", options=options))
    assert entry.title == "标题"
    assert entry.content == "<p>正文。</p>"


# --- own HTML samples ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blog() -> ParsedFeed:
    path = DATA / "page_blog.html"
    options = ParseOptions(timezone="UTC", location="https://yama-note.example.jp/posts/")
    return parse(path.read_bytes(), source=path.name, options=options)


def test_blog_metadata(blog: ParsedFeed) -> None:
    entry = only(blog)
    assert entry.title == "渓流釣りの記録：春の奥多摩"
    # The canonical link, resolved against where the page came from.
    assert entry.link == "https://yama-note.example.jp/posts/okutama-spring/"
    # article:published_time wins over <time> and JSON-LD (which says 2025-04-01).
    assert entry.published == datetime(2025, 4, 5, 22, 30, tzinfo=UTC)
    assert entry.authors == ("佐藤 みどり",)
    assert blog.warnings == ()


def test_blog_body(blog: ParsedFeed) -> None:
    content = content_of(only(blog))
    assert content.startswith(
        "<p>三月の解禁から二週間、ようやく奥多摩の支流へ出かけることができた。"
    )
    assert content.endswith(
        "<p>帰り道、茶屋で食べた草餅がいちばんの収穫だったかもしれない。"
        "次は五月の新緑の頃に来たい。</p>"
    )
    assert "<h2>当日の様子</h2>" in content
    assert '<a href="https://yama-note.example.jp/gear/rod-2024/">竿の話</a>' in content
    assert '<img src="https://yama-note.example.jp/img/okutama.jpg" alt="朝霧の渓谷">' in content
    assert "<li>水温：七度</li>" in content
    for clutter in (
        "<h1>",
        "ホーム",
        "タグ一覧",
        "山あるきノート",
        "投稿日",
        "この記事をシェア",
        "広告",
        "<!--",
        "関連記事",
        "秋の丹沢",
        "コメント",
        "タグ：",
        "人気の記事",
        "プロフィール",
        "Copyright",
        "analytics",
        "font-family",
    ):
        assert clutter not in content, clutter


def test_blog_without_location_uses_absolute_og_url() -> None:
    path = DATA / "page_blog.html"
    entry = only(parse(path.read_bytes(), source=path.name, options=ParseOptions()))
    assert entry.link == "https://yama-note.example.jp/posts/okutama-spring?utm_source=feed"


def test_div_page_in_gb2312() -> None:
    path = DATA / "page_divs.html"
    feed = parse(path.read_bytes(), source=path.name, options=SHANGHAI)
    entry = only(feed)
    assert entry.title == "城市夜跑指南"  # from <title>, " - 晨风生活网" removed
    assert entry.published == datetime(2024, 11, 3, 10, 5, tzinfo=UTC)
    assert entry.authors == ("林小舟",)
    assert entry.link is None
    content = content_of(entry)
    # The element holding the most paragraph text.
    assert content.startswith("<p>天气转凉之后，傍晚的河边步道成了跑步爱好者最喜欢的地方。</p>")
    assert content.endswith("<p>最后，别忘了穿带反光条的衣服，让骑车的人远远就能看见你。</p>")
    assert content.count("<p>") == 3
    for clutter in ("首页", "正文", "发布时间", "推荐阅读", "热门", "版权所有"):
        assert clutter not in content, clutter
    assert feed.warnings == ()


def html_page(head: str, body: str) -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>".encode()


def test_h1_time_element_and_title_suffix() -> None:
    data = html_page(
        "<title>Ignored | Site</title>",
        '<nav>Menu</nav><article class="post has-comments"><h1>Real headline</h1>'
        '<time datetime="2024-02-03T04:05:06">Feb 3</time><p>Text.</p></article>',
    )
    entry = only(parse(data, source="x.html", options=SHANGHAI))
    assert entry.title == "Real headline"
    assert entry.published == datetime(2024, 2, 2, 20, 5, 6, tzinfo=UTC)
    # trafilatura leaves the date stamp out of the article text: it is metadata.
    assert entry.content == "<p>Text.</p>"


def test_title_suffix_is_removed() -> None:
    data = html_page("<title>A story - Section | Site name</title>", "<main><p>Text.</p></main>")
    feed = parse(data, source="x.html", options=SHANGHAI)
    assert only(feed).title == "A story - Section"
    assert feed.warnings == ("no publication time found",)


def test_json_ld_graph_date_and_authors() -> None:
    ld = (
        '{"@graph": [{"@type": "WebSite", "name": "S"}, {"@type": "Article", '
        '"datePublished": "2024-07-08T09:10:00Z", "author": [{"name": "A One"}, "B Two"]}]}'
    )
    data = html_page(
        f'<script type="application/ld+json">{ld}</script><script type="application/ld+json">'
        "{not json</script>",
        "<div><p>Only paragraph.</p></div>",
    )
    feed = parse(data, source="x.html", options=SHANGHAI)
    entry = only(feed)
    assert entry.published == datetime(2024, 7, 8, 9, 10, tzinfo=UTC)
    assert entry.authors == ("A One", "B Two")
    assert entry.content == "<p>Only paragraph.</p>"
    assert entry.title == ""
    assert feed.warnings == ("no title found (no og:title, <h1> or <title>)",)


def test_largest_article_and_articlebody() -> None:
    data = html_page(
        "",
        "<article><p>Short teaser.</p></article>"
        '<article><div itemprop="articleBody"><p>The real body, which is longer.</p></div>'
        '<div class="related"><p>Other</p></div></article>',
    )
    entry = only(parse(data, source="x.html", options=SHANGHAI))
    assert entry.content == "<p>The real body, which is longer.</p>"


def test_wrapper_with_a_clutter_class_is_kept() -> None:
    data = html_page(
        "",
        '<article><div class="entry-content has-sidebar"><p>The whole article text is here.</p>'
        '<div class="share-box">Share on X</div></div></article>',
    )
    entry = only(parse(data, source="x.html", options=SHANGHAI))
    # The wrapper's text stays (trafilatura returns its paragraphs, without the bare <div>).
    assert entry.content == "<p>The whole article text is here.</p>"


def test_html_detected_from_content_type() -> None:
    data = b"<p>No doctype at all, but the server said HTML.</p>"
    options = ParseOptions(content_type="text/html; charset=utf-8")
    entry = only(parse(data, source="x", options=options))
    assert entry.content == "<p>No doctype at all, but the server said HTML.</p>"


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b" \n\n\t"])
def test_empty_input_is_an_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="empty") as info:
        parse(data, source="empty.txt", options=SHANGHAI)
    assert info.value.source == "empty.txt"


def test_menu_only_text_is_an_error() -> None:
    with pytest.raises(ParseError, match="only menu items"):
        parse_text("  • 首页\n  • 热点\n")


def test_title_without_text_is_an_error() -> None:
    with pytest.raises(ParseError, match="no article text found below the title '标题'"):
        parse_text("标题\n发布时间：2024-01-02 03:04\n\n上一篇：别的文章\n")


def test_html_without_article_text_is_an_error() -> None:
    with pytest.raises(ParseError, match="no article text") as info:
        parse(html_page("<title>T</title>", "<nav><p>Menu</p></nav>"), source="x", options=SHANGHAI)
    assert info.value.hint is not None


def test_invalid_bytes_are_an_error() -> None:
    with pytest.raises(ParseError, match="not valid utf-8 text at byte 3"):
        parse(b"abc\xff\n", source="bad.txt", options=SHANGHAI)
