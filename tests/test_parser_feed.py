"""aggregator._sources.feed: RSS and Atom documents in, exact ParsedFeed values out."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator._sources import ParseOptions
from aggregator._sources.feed import parse
from aggregator._update.normalize import arxiv_id, canonical_url, normalize
from aggregator.errors import ParseError
from aggregator.types import ParsedEntry, ParsedFeed

DATA = Path(__file__).parent / "data" / "feeds"
SEEDS = Path(__file__).parent.parent / "seeds"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def parse_bytes(data: bytes, **options: str) -> ParsedFeed:
    return parse(data, source="test", options=ParseOptions(**options))


def parse_file(path: Path, **options: str) -> ParsedFeed:
    return parse_bytes(path.read_bytes(), **options)


def rss(items: str, *, prolog: str = '<?xml version="1.0" encoding="utf-8"?>\n') -> bytes:
    return (
        f'{prolog}<rss version="2.0"><channel><title>T</title>'
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()


# --- the formats ----------------------------------------------------------------------------


def test_rss_091() -> None:
    feed = parse_file(DATA / "rss091.xml")
    assert (feed.title, feed.link, feed.warnings) == (
        "Old Lab Notes",
        "http://notes.example.org/",
        (),
    )
    assert feed.entries == (
        ParsedEntry(
            title="Backprop, revisited",
            link="http://notes.example.org/1999/backprop.html",
            # feedparser resolves &amp; but still calls the description HTML.
            summary="Why the chain rule still matters & what we forgot.",
            language="en-us",
        ),
        ParsedEntry(
            title="Naïve Bayes on café menus",  # ISO-8859-1 bytes, character references
            link="http://notes.example.org/1999/bayes.html",
            summary="A toy classifier.",
            language="en-us",
        ),
    )


def test_rss_10_rdf_with_dublin_core_and_prism() -> None:
    feed = parse_file(DATA / "rss10.rdf")
    assert (feed.title, feed.link) == (
        "Journal of Examples: latest articles",
        "https://journal.example.org/",
    )
    assert feed.entries == (
        ParsedEntry(
            title="Sparse attention for long documents",
            link="https://journal.example.org/articles/je-2026-001",
            guid="https://journal.example.org/articles/je-2026-001",  # rdf:about
            published=None,  # dc:date is filed as updated by feedparser
            updated=utc(2026, 1, 5, 7, 0),
            authors=("Ana Lima", "Bo Chen"),
            summary="We study sparse attention patterns.",
            categories=("Machine learning",),
            doi="10.5555/je.2026.001",  # prism:doi wins over dc:identifier
        ),
        ParsedEntry(
            title="Erratum: sparse attention",
            link="https://journal.example.org/articles/je-2026-002",
            guid="https://journal.example.org/articles/je-2026-002",
            updated=utc(2026, 1, 6),
            summary="Correction to Table 2.",
            doi="10.5555/je.2026.002",  # from a doi.org URL in dc:identifier
        ),
    )


def test_rss_20_with_content_encoded_and_enclosures() -> None:
    feed = parse_file(DATA / "rss20-content.xml")
    assert (feed.title, feed.link, feed.warnings) == (
        "Example Engineering Blog",
        "https://blog.example.com/",
        (),
    )
    assert feed.entries == (
        ParsedEntry(
            title="Shipping a tokenizer in 200 lines",
            link="https://blog.example.com/posts/tokenizer?utm_source=rss",
            guid="https://blog.example.com/posts/tokenizer",
            published=utc(2026, 1, 6, 14, 0),
            authors=("Jane Roe",),  # from "jane@example.com (Jane Roe)"
            summary="A short tour of <b>byte-pair encoding</b>.",
            content=(
                "<h2>Why</h2><p>Byte-pair encoding in <code>200</code> lines &amp; "
                "no dependencies.</p>"
            ),
            categories=("nlp", "tooling"),
            pdf_url="https://blog.example.com/files/tokenizer.pdf",
        ),
        ParsedEntry(
            title="Release notes 4.2",
            link="https://blog.example.com/posts/4-2",
            guid="https://blog.example.com/posts/4-2",
            published=utc(2026, 1, 5, 14, 15, 30),  # -0500
            authors=("Release Bot",),
            summary="<p>Same text in both.</p>",
            content=None,  # the same as the summary
        ),
        ParsedEntry(
            title="Content only",
            link="https://blog.example.com/posts/content-only",
            summary=None,  # not feedparser's copy of the content
            content="<p>No description here.</p>",
        ),
    )


def test_atom_03() -> None:
    feed = parse_file(DATA / "atom03.xml")
    assert (feed.title, feed.link, feed.warnings) == (
        "Legacy Atom Weblog",
        "https://legacy.example.net/",
        (),
    )
    assert feed.entries == (
        ParsedEntry(
            title="Hello from 2004",
            link="https://legacy.example.net/2026/01/hello",
            guid="tag:legacy.example.net,2004:entry-1",
            published=utc(2026, 1, 7, 7, 0),  # issued, +02:00
            updated=utc(2026, 1, 7, 11, 30),  # modified
            authors=("Sam Legacy",),
            summary="The old format still parses.",
            content="<p>The <i>old</i> format.</p>",  # mode="escaped"
            language="en",
        ),
    )


def test_atom_10_with_xhtml_content() -> None:
    feed = parse_file(DATA / "atom10-xhtml.xml")
    assert (feed.title, feed.link, feed.warnings) == (
        "Preprints & notes",  # type="html", as plain text
        "https://preprints.example.org/",
        (),
    )
    assert feed.entries == (
        ParsedEntry(
            title="Scaling laws for retrieval",  # type="xhtml"
            link="https://preprints.example.org/p/42",
            guid="tag:preprints.example.org,2026:p42",
            published=utc(2026, 1, 11, 7, 30),
            updated=utc(2026, 1, 11, 8, 0),
            authors=("Mei Tanaka", "Omar Haddad"),
            summary="Retrieval quality grows as a power law; 3 &lt; 4.",  # type="text"
            content="<p>We fit <strong>power laws</strong> to retrieval quality.</p>",
            categories=("cs.IR", "cs.LG"),
            pdf_url="https://preprints.example.org/p/42.pdf",
            doi="10.48550/arxiv.2601.00042",  # arxiv:doi
            language="en",
        ),
        ParsedEntry(
            title="Updated only, no summary",
            link="https://preprints.example.org/p/43",
            guid="tag:preprints.example.org,2026:p43",
            published=None,
            updated=utc(2026, 1, 12),
            authors=("Preprint Desk",),  # the feed's author applies (RFC 4287 4.2.1)
            summary=None,
            content="<p>Full text only.</p>",
            language="en",
        ),
    )


# --- encodings --------------------------------------------------------------------------------

GB18030_ENTRY = ParsedEntry(
    title="大语言模型的偏好学习综述",
    link="https://news.example.cn/a/1001.html",
    guid="news-1001",
    published=utc(2026, 1, 14, 0, 0),
    authors=("李雷",),
    summary="<p>本文梳理了从RLHF到直接对齐的方法。\U00020000</p>",  # a 4-byte GB18030 character
    categories=("自然语言处理",),
    language="zh-cn",
)


def test_gb18030_declared_in_the_prolog() -> None:
    feed = parse_file(DATA / "gb18030.xml")
    assert (feed.title, feed.warnings) == ("机器之心·每日论文", ())
    assert feed.entries == (GB18030_ENTRY,)


def test_text_xml_without_charset_is_no_warning_when_the_prolog_is_right() -> None:
    # RFC 3023 makes text/xml without charset US-ASCII; feedparser then overrides with the
    # prolog's encoding (CharacterEncodingOverride), which decodes the text correctly.
    feed = parse_file(DATA / "gb18030.xml", content_type="text/xml")
    assert feed.warnings == ()
    assert feed.entries == (GB18030_ENTRY,)


def test_http_charset_counts() -> None:
    data = (
        "<rss version='2.0'><channel><title>标题</title><item><title>条目</title>"
        "</item></channel></rss>".encode("gb18030")
    )
    feed = parse_bytes(data, content_type="application/rss+xml; charset=gb18030")
    assert (feed.title, feed.entries[0].title, feed.warnings) == ("标题", "条目", ())


def test_shift_jis_declared_in_the_prolog() -> None:
    feed = parse_file(DATA / "shift_jis.xml")
    assert (feed.title, feed.link, feed.warnings) == (
        "研究所ニュース",
        "https://lab.example.jp/news/",
        (),
    )
    assert feed.entries == (
        ParsedEntry(
            title="深層学習の国際会議で論文が採択されました",
            link="https://lab.example.jp/news/2026/0115.html",
            guid="tag:lab.example.jp,2026:news-0115",
            published=utc(2026, 1, 15, 0, 0),
            updated=utc(2026, 1, 15, 0, 0),
            authors=("広報室",),
            summary="当研究所の論文２件が採択されました。",
            categories=("お知らせ",),
            language="ja",
        ),
    )


def test_bytes_invalid_in_the_declared_encoding_warn() -> None:
    data = rss("<item><title>Müller</title></item>").decode().encode("latin-1")
    feed = parse_bytes(data)
    assert feed.entries[0].title == "Müller"
    assert feed.warnings == (
        "the text is not valid utf-8; read it as windows-1252, so some characters may be wrong",
    )


def test_a_feed_served_as_text_html_is_no_warning() -> None:
    feed = parse_bytes(
        rss("<item><title>a</title></item>"), content_type="text/html; charset=utf-8"
    )
    assert ([e.title for e in feed.entries], feed.warnings) == (["a"], ())


# --- broken documents ---------------------------------------------------------------------


def test_ill_formed_feed_keeps_entries_with_a_warning() -> None:
    feed = parse_file(DATA / "illformed.xml")
    # Bare "&" are escaped and the document read again; the unclosed <br> still needs
    # feedparser's lenient parser, which no longer turns "Q&A" into "Q&A;".
    assert feed.warnings == (
        "not well-formed XML: not well-formed (invalid token), line 4 "
        "(read again with 5 stray '&' fixed)",
    )
    assert feed.title == "Q&A Weekly"
    assert feed.entries == (
        ParsedEntry(
            title="Tips & tricks for attention",
            link="https://qa.example.org/posts/1?a=1&b=2",
            published=utc(2026, 1, 8, 10, 0),
            summary="Unescaped &amp; ampersands <br /> and an unclosed tag.",
        ),
        ParsedEntry(
            title="Second post",
            link="https://qa.example.org/posts/2",
            summary="Fine.",
        ),
    )


def test_stray_ampersands_and_html_entities_are_repaired() -> None:
    feed = parse_file(DATA / "entities.xml")
    # No XML prolog: feedparser adds one before parsing, and the line is still right.
    assert feed.warnings == (
        "not well-formed XML: not well-formed (invalid token), line 3 "
        "(read again with 5 stray '&' fixed)",
    )
    assert feed.title == "R&D notes"
    assert feed.entries == (
        ParsedEntry(
            title="Café talks & Q&A",  # &eacute; and &nbsp; (white space, collapsed)
            link="https://rd.example.org/talks?id=7&lang=en",
            summary="<p>CDATA keeps R&amp;D as it is.</p>",  # CDATA left alone
        ),
    )


def test_truncated_feed_drops_the_incomplete_entry() -> None:
    feed = parse_file(DATA / "truncated.xml")
    assert feed.warnings == (
        "not well-formed XML: no element found, line 28 (the document ends too early: "
        "was it cut off?); skipped its incomplete last entry",
    )
    assert [e.title for e in feed.entries] == ["Shipping a tokenizer in 200 lines"]
    assert feed.entries[0].content is not None


def test_truncated_inside_the_first_entry_is_an_error() -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(DATA / "truncated-early.xml")
    assert caught.value.message == (
        "not well-formed XML: unclosed token, line 14 (the document ends too early: "
        "was it cut off?); skipped its incomplete last entry"
    )
    assert caught.value.hint == "the download was probably cut short; try again later"
    assert caught.value.source == "test"


def test_ill_formed_without_entries_is_an_error() -> None:
    with pytest.raises(ParseError) as caught:
        parse_bytes(b"<?xml version='1.0'?>\n<rss version='2.0'>\n<channel><title>x</titel>")
    assert caught.value.message == "not well-formed XML: mismatched tag, line 3"
    assert caught.value.hint is not None


@pytest.mark.parametrize("data", [b"", b"  \n\t "])
def test_empty_document(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"^empty document$"):
        parse_bytes(data)


def test_html_page() -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(DATA / "page.html")
    assert caught.value.message == "this is an HTML page, not a feed"
    assert caught.value.hint == "point the source at the feed's URL; the page links to /feed.xml"


def test_html_page_names_its_feed_in_full_when_the_location_is_known() -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(
            DATA / "page.html",
            location="https://blog.example.com/posts/tokenizer",
            content_type="text/html; charset=utf-8",
        )
    assert caught.value.hint == (
        "point the source at the feed's URL; the page links to https://blog.example.com/feed.xml"
    )


def test_xhtml_page_without_doctype() -> None:
    page = b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>'
    with pytest.raises(ParseError, match=r"^this is an HTML page, not a feed$"):
        parse_bytes(page)


def test_json_goes_to_the_json_feed_reader() -> None:
    # feedparser does not read JSON Feed: a JSON document is handed to json_feed.
    parsed = parse_bytes(b'{"version": "https://jsonfeed.org/version/1.1", "items": []}')
    assert parsed.entries == ()
    assert parsed.reader == "json"
    with pytest.raises(ParseError, match=r"^this is JSON, but not a JSON Feed"):
        parse_bytes(b'{"data": []}')


def test_other_xml_is_not_a_feed() -> None:
    with pytest.raises(ParseError) as caught:
        parse_bytes(b"<?xml version='1.0'?><!-- hi --><opml version='2.0'><body/></opml>")
    assert caught.value.message == "not an RSS or Atom feed: the document starts with <opml>"


@pytest.mark.parametrize("data", [b"/etc/passwd", b"https://example.org/feed.xml"])
def test_bytes_are_never_opened_as_a_path_or_url(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"^not an RSS or Atom feed: the document is not XML$"):
        parse_bytes(data)


def test_a_feed_without_entries_is_fine() -> None:
    assert parse_bytes(rss("")) == ParsedFeed(entries=(), title="T", link="https://example.org/")


# --- fields -----------------------------------------------------------------------------------


def test_times_without_offset_are_read_in_the_configured_zone() -> None:
    items = (
        "<item><title>naive</title><pubDate>Fri, 16 Jan 2026 09:00:00</pubDate></item>"
        "<item><title>aware</title><pubDate>Fri, 16 Jan 2026 09:00:00 +0100</pubDate></item>"
    )
    tokyo = parse_bytes(rss(items), timezone="Asia/Tokyo")
    assert [e.published for e in tokyo.entries] == [utc(2026, 1, 16, 0, 0), utc(2026, 1, 16, 8)]
    default = parse_bytes(rss(items))
    assert [e.published for e in default.entries] == [utc(2026, 1, 16, 9), utc(2026, 1, 16, 8)]


def test_relative_links_resolve_against_an_http_location_only() -> None:
    items = "<item><title>a</title><link>/posts/a</link></item>"
    over_http = parse_bytes(rss(items), location="https://example.org/blog/feed.xml")
    assert over_http.entries[0].link == "https://example.org/posts/a"
    local = parse_bytes(rss(items), location="seeds/feed.xml")
    assert local.entries[0].link == "/posts/a"


def test_a_guid_is_a_link_only_when_it_is_an_http_url() -> None:
    items = (
        "<item><title>a</title><guid>https://example.org/a</guid></item>"
        "<item><title>b</title><guid>urn:uuid:1c2d</guid></item>"
        '<item><title>c</title><guid isPermaLink="false">https://example.org/c</guid></item>'
    )
    entries = parse_bytes(rss(items)).entries
    assert [(e.link, e.guid) for e in entries] == [
        ("https://example.org/a", "https://example.org/a"),
        (None, "urn:uuid:1c2d"),
        (None, "https://example.org/c"),
    ]


def test_authors_fall_back_to_the_author_string() -> None:
    items = "<item><title>a</title><author>jane@example.org</author></item>"
    assert parse_bytes(rss(items)).entries[0].authors == ("jane@example.org",)


def test_doi_from_a_prism_namespace_with_any_prefix() -> None:
    data = (
        b'<rss version="2.0" xmlns:P="http://prismstandard.org/namespaces/basic/3.0/">'
        b"<channel><title>T</title><item><title>a</title><P:doi>10.1000/ABC.1</P:doi>"
        b"</item></channel></rss>"
    )
    assert parse_bytes(data).entries[0].doi == "10.1000/abc.1"


# --- the seed feeds of the default run ----------------------------------------------------


def test_seed_lab_reading_list() -> None:
    feed = parse_file(SEEDS / "lab-reading-list.rss")
    assert (feed.title, feed.link, feed.warnings) == (
        "Kestrel Lab · Weekly Reading List",
        "https://kestrel-lab.example.org/reading/",
        (),
    )
    assert [(e.title, e.link, e.guid, e.published, e.categories) for e in feed.entries] == [
        (
            "Causal-graph-guided chain of thought for generating learning questions",
            "https://arxiv.org/abs/2601.06098v1",
            "kestrel-reading-2026-w03-1",
            utc(2026, 1, 16, 8, 0),
            ("cs.AI",),
        ),
        (
            "从RLHF到直接对齐：大型语言模型偏好学习的理论统一",
            "http://arxiv.org/abs/2601.06108v1",
            "kestrel-reading-2026-w03-2",
            utc(2026, 1, 16, 8, 5),
            ("cs.AI",),
        ),
        (
            "GRAPE: instruction-tuning responses that fit the target model",
            "https://export.arxiv.org/abs/2502.04194v1",
            "kestrel-reading-2026-w03-3",
            utc(2026, 1, 16, 8, 10),
            ("cs.CL",),
        ),
        (
            "LoRA-Null: initialising LoRA in the null space of input activations",
            "https://arxiv.org/abs/2503.02659v1",
            "kestrel-reading-2026-w03-4",
            utc(2026, 1, 16, 8, 20),
            ("cs.CL",),
        ),
        (
            "NS-DPO: direct preference optimisation when preferences drift",
            "https://arxiv.org/abs/2407.18676v1",
            "kestrel-reading-2026-w03-5",
            utc(2026, 1, 16, 8, 30),
            ("cs.LG",),
        ),
    ]
    first, second, _, lora, last = feed.entries
    assert first.authors == (
        "Nicholas X. Wang",
        "Neel V. Parpia",
        "Aaryan D. Parikh",
        "Aggelos K. Katsaggelos",
    )
    assert "<em>chain-of-thought</em>" in (first.summary or "")
    assert "concept &amp; output levels" in (first.summary or "")
    assert second.content == (
        "<p>Sorts RLHF, DPO, IPO, KTO and SimPO along three axes.</p>"
        "<p>组会讨论：偏好模型、正则化机制、数据分布三条轴线。</p>"
    )
    # The parser passes HTML through as given; normalize is the one sanitiser.
    assert lora.summary is not None
    assert "<script>alert(1)</script>" in lora.summary
    assert 'onclick="steal(document.cookie)"' in lora.summary
    clean = normalize(lora, source="lab-reading-list").summary or ""
    assert "script" not in clean
    assert "onclick" not in clean
    assert clean.startswith("<p>LoRA-Null starts LoRA in the null space")
    assert last.authors[-1] == "Ilija Bogunovic"
    assert {e.language for e in feed.entries} == {"en"}


def test_seed_ntt_rd_news() -> None:
    feed = parse_file(SEEDS / "ntt-rd-news.atom")
    assert (feed.title, feed.link, feed.warnings) == (
        "研究開発ニュース（サンプル）",
        "https://rd-news.example.jp/",
        (),
    )
    article, paper = feed.entries
    assert article == ParsedEntry(
        title="深層学習分野の難関国際会議ICLRにNTTから4件採択",
        link=(
            "http://group.ntt/jp/topics/2025/04/22/iclr2025.html"
            "?utm_source=feed&utm_medium=atom#main"
        ),
        guid="tag:rd-news.example.jp,2025-04-22:iclr2025",
        published=utc(2025, 4, 22, 2, 0),
        updated=utc(2025, 4, 22, 2, 0),
        authors=("広報担当",),
        summary=(
            "深層学習分野の国際会議ICLR 2025において、NTTの研究所から回帰モデルのテスト時適応、"
            "モデルマージ、拡散モデル、ウェーブレット位置符号化に関する4件の論文が採択されました。"
        ),
        content=(
            "<p>ICLR（International Conference on Learning Representations）2025に、"
            "NTTの論文4件が採択されました。</p><ul><li>部分空間の整合による回帰モデルのテスト時適応"
            "</li><li>重みマッチングによる線形モード接続性の解析</li><li>不適切な画像生成を抑制する"
            "拡散モデル学習</li><li>ウェーブレット位置符号化</li></ul>"
        ),
        categories=("articles",),
        language="ja",
    )
    assert paper == ParsedEntry(
        title="skwdro：Wasserstein分布ロバスト機械学習ライブラリ（改訂版）",
        # The only alternate link is a PDF; feedparser would have used the tag: id.
        link="https://arxiv.org/pdf/2410.21231v2",
        guid="tag:rd-news.example.jp,2026-01-15:arxiv-2410.21231",
        published=utc(2026, 1, 15, 1, 0),
        updated=utc(2026, 1, 15, 1, 0),
        authors=("Florian Vincent", "Waïss Azizian", "Franck Iutzeler", "Jérôme Malick"),
        summary=(
            "Wasserstein距離に基づく分布ロバスト最適化を、PyTorchのモデルやscikit-learn互換の"
            "推定器にわずかなコード変更で適用できるPythonライブラリ「skwdro」の論文が改訂されました。"
        ),
        categories=("cs.LG",),
        pdf_url="https://arxiv.org/pdf/2410.21231v2",
        language="ja",
    )


def _listed_in_002() -> dict[str, str]:
    """arXiv ID -> category, as the daily list 002 gives them."""
    text = next(SEEDS.glob("002_*.txt")).read_text(encoding="utf-8")
    found = re.findall(r"^## \d+\. `([^`]+)` - .*?\(https://arxiv\.org/pdf/([^)]+)\)", text, re.M)
    return {paper: category for category, paper in found}


def test_every_seed_feed_item_duplicates_another_sample() -> None:
    listed = _listed_in_002()
    reading = parse_file(SEEDS / "lab-reading-list.rss").entries
    article, paper = parse_file(SEEDS / "ntt-rd-news.atom").entries
    for entry in (*reading, paper):
        found = arxiv_id(entry.link)
        assert found is not None, entry.link
        assert listed[found[0]] == entry.categories[0], entry.title
    assert sorted(arxiv_id(e.link)[0] for e in (*reading, paper)) == [  # type: ignore[index]
        "2407.18676",
        "2410.21231",
        "2502.04194",
        "2503.02659",
        "2601.06098",
        "2601.06108",
    ]
    report = next(SEEDS.glob("001_*.txt")).read_text(encoding="utf-8")
    cited = re.findall(r"\]\((https?://[^)\s]+)\)\s*$", report.strip())
    assert article.link is not None
    assert cited and canonical_url(article.link) == canonical_url(cited[-1])
    assert canonical_url(article.link) == "https://group.ntt/jp/topics/2025/04/22/iclr2025.html"


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("latin-1"),
        lambda text: b"\xef\xbb\xbf" + text.replace("ISO-8859-1", "UTF-8").encode(),
        lambda text: text.replace("ISO-8859-1", "UTF-16").encode("utf-16"),
    ],
    ids=["latin-1", "utf-8-bom", "utf-16"],
)
def test_error_lines_count_the_doctype_and_prolog_feedparser_rewrites(encode: object) -> None:
    text = (DATA / "rss091.xml").read_text(encoding="latin-1")
    broken = text.replace("<title>Backprop, revisited</title>", "<title>Backprop</titl>")
    assert broken.splitlines()[10] == "      <title>Backprop</titl>"
    feed = parse_bytes(encode(broken))  # type: ignore[operator]
    assert feed.warnings == ("not well-formed XML: mismatched tag, line 11",)
    # feedparser's lenient parser loses the broken title, keeps the rest.
    assert [e.title for e in feed.entries] == ["", "Naïve Bayes on café menus"]
