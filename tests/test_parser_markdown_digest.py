"""Tests for the daily-list parser (kind "markdown-digest")."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator._sources import ParseOptions
from aggregator._sources.markdown_digest import parse, split_authors
from aggregator.errors import ParseError
from aggregator.types import ParsedFeed

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "002_d401467fe4d4ae84.txt"
DATA = ROOT / "tests" / "data" / "parsers"
OPTIONS = ParseOptions(timezone="Asia/Shanghai")


def parse_file(path: Path) -> ParsedFeed:
    return parse(path.read_bytes(), source=path.name, options=OPTIONS)


def parse_text(text: str) -> ParsedFeed:
    return parse(text.encode(), source="inline", options=OPTIONS)


@pytest.fixture(scope="module")
def seed() -> ParsedFeed:
    return parse_file(SEED)


def test_seed_has_39_papers_in_three_categories(seed: ParsedFeed) -> None:
    assert len(seed.entries) == 39
    assert Counter(e.categories for e in seed.entries) == {
        ("cs.AI",): 19,
        ("cs.CL",): 10,
        ("cs.LG",): 10,
    }
    assert seed.warnings == ()


def test_seed_entries_are_in_document_order(seed: ParsedFeed) -> None:
    ids = [e.arxiv_id for e in seed.entries]
    assert ids[:3] == ["2601.06098", "2601.06113", "2601.06108"]
    assert ids[19] == "2503.04346"  # paper 20, the first cs.CL one
    assert len(set(ids)) == 39


def test_seed_first_paper(seed: ParsedFeed) -> None:
    first = seed.entries[0]
    assert first.title == "利用因果图引导思考链自动生成启发式学习问题"
    assert first.categories == ("cs.AI",)
    assert first.link == "https://arxiv.org/abs/2601.06098"
    assert first.pdf_url == "https://arxiv.org/pdf/2601.06098"
    assert first.arxiv_id == "2601.06098"
    assert first.guid is None
    assert first.authors == (
        "Nicholas X. Wang",
        "Neel V. Parpia",
        "Aaryan D. Parikh",
        "Aggelos K. Katsaggelos",
    )
    assert first.sections == (
        (
            "Background",
            "直观学习对于培养深入概念理解至关重要，特别是在STEM教育领域，学生常难以理解和掌握"
            "抽象且相互关联的概念。自动问题生成已成为个性化和自适应学习的有效策略，但大语言模型"
            "（LLMs）的幻觉问题是其效果的瓶颈，可能会生成事实错误、含义模糊或教学不一致的问题。",
        ),
        (
            "Innovation",
            "提出了一种结合因果图引导的思考链（CoT）推理与多代理LLM架构的新型框架，以确保生成"
            "准确、相关且符合课程的问题。因果图提供领域知识的显式表示，而思考链推理则支持相关概念"
            "的结构化、逐步推理。每个专门的LLM代理负责特定任务，如图路径查找、推理、验证和输出，"
            "所有工作均在领域约束内。双阶段验证机制在概念层和输出层显著减少了幻觉问题。",
        ),
        (
            "Conclusion",
            "实验结果表明，该方法相比参考方法的质量提高了70%以上，并在主观评估中取得了非常有利的结果。",
        ),
    )
    assert first.announced == date(2026, 1, 14)
    assert first.published == datetime(2026, 1, 14, tzinfo=UTC)
    assert first.summary is None
    assert first.content is None
    assert first.language is None


def test_seed_last_paper(seed: ParsedFeed) -> None:
    last = seed.entries[-1]
    assert last.title == "EMP: 在数据修剪中增强记忆"
    assert last.categories == ("cs.LG",)
    assert last.link == "https://arxiv.org/abs/2408.16031"
    assert last.pdf_url == "https://arxiv.org/pdf/2408.16031"
    assert last.arxiv_id == "2408.16031"
    assert last.authors == (
        "Jinying Xiao",
        "Ping Li",
        "Jie Nie",
        "Bin Ji",
        "Shasha Li",
        "Xiaodong Liu",
        "Jun Ma",
        "Qingbo Wu",
        "Jie Yu",
    )
    assert [name for name, _ in last.sections] == ["Background", "Innovation", "Conclusion"]
    background, innovation, conclusion = (text for _, text in last.sections)
    assert background.startswith("近年来，大规模的语言和视觉模型显示出很强的表现能力")
    assert innovation.endswith("在70%的剪裁率下，EMP优于当前方法2.2%。")
    assert conclusion == (
        "在“极端剪裁率”下，增强记忆力修剪（EMP）能够通过改善模型对数据的记忆能力来提高模型性能。"
        "例如，在CIFAR100-ResNet50预训练任务中，使用70%的剪裁率，EMP比当前方法性能提高2.2%。"
    )
    assert last.published == datetime(2026, 1, 14, tzinfo=UTC)


def test_seed_title_keeps_inner_markup(seed: ParsedFeed) -> None:
    # Paper 33: a TeX fragment inside the title stays as written.
    assert seed.entries[32].title == "批量化$Q^*$学习中的数据驱动知识转移"


def test_seed_authors_with_affiliations_are_clean_names(seed: ParsedFeed) -> None:
    # Paper 36 uses arXiv's "Name(1), ... ((1) Univ, ...)" affiliation notation.
    paper = seed.entries[35]
    assert paper.arxiv_id == "2411.02740"
    assert paper.authors == (
        "Yonatan Kurniawan",
        "Tracianne B. Neilsen",
        "Benjamin L. Francis",
        "Alex M. Stankovic",
        "Mingjian Wen",
        "Ilia Nikiforov",
        "Ellad B. Tadmor",
        "Vasily V. Bulatov",
        "Vincenzo Lordi",
        "Mark K. Transtrum",
    )


def test_seed_author_with_apostrophe(seed: ParsedFeed) -> None:
    assert seed.entries[4].authors[-1] == "Sean O'Brien"


@pytest.fixture(scope="module")
def small() -> ParsedFeed:
    return parse_file(DATA / "digest_small.md")


def test_malformed_heading_is_skipped_with_its_line_number(small: ParsedFeed) -> None:
    assert [e.arxiv_id for e in small.entries] == ["2503.00017", "math/0611800", "2502.01234"]
    assert len(small.warnings) == 1
    assert small.warnings[0].startswith("line 16: skipped a paper heading")
    assert "A heading without the dash" in small.warnings[0]


def test_fullwidth_commas_extra_sections_and_paragraphs(small: ParsedFeed) -> None:
    paper = small.entries[0]
    assert paper.authors == ("李雷", "韩梅梅", "Ada Park", "Tomás Ruiz")
    assert paper.sections == (
        ("Background", "雪地的摩擦系数变化很大。\n\n以往的步态控制器假设地面是硬的。"),
        ("Innovation", "用触觉脚掌估计地面软硬程度。"),
        ("Limitations", "只在平地上测试过。"),
        ("Conclusion", "在三种雪况下摔倒次数减少一半。"),
    )
    assert paper.categories == ("cs.RO",)
    assert paper.announced == date(2025, 3, 2)


def test_old_style_id_with_only_a_pdf_link(small: ParsedFeed) -> None:
    paper = small.entries[1]
    assert paper.title == "Random walks on tall trees"
    assert paper.categories == ("math.PR",)
    assert paper.arxiv_id == "math/0611800"
    assert paper.pdf_url == "https://arxiv.org/pdf/math/0611800v2"
    assert paper.link == "https://arxiv.org/abs/math/0611800"


def test_link_has_no_version(small: ParsedFeed) -> None:
    paper = small.entries[2]
    assert paper.link == "https://arxiv.org/abs/2502.01234"
    assert paper.arxiv_id == "2502.01234"
    assert paper.sections == (("Conclusion", "The link keeps no version."),)


def test_missing_date_heading_is_an_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_file(DATA / "digest_no_date.md")
    assert "line 3" in info.value.message
    assert "# YYYYMMDD" in info.value.message
    assert info.value.source == "digest_no_date.md"
    assert info.value.hint is not None


def test_impossible_date_is_an_error() -> None:
    with pytest.raises(ParseError, match="not a real date"):
        parse_text("# 20251341\n## 1. `cs.AI` - T [PDF](https://arxiv.org/pdf/2503.00030)\n")


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
def test_empty_input_is_an_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="empty") as info:
        parse(data, source="empty.md", options=OPTIONS)
    assert info.value.source == "empty.md"


def test_text_without_any_structure_is_an_error() -> None:
    with pytest.raises(ParseError, match="no '# YYYYMMDD' date heading"):
        parse_text("Just some notes.\nNothing else.\n")


def test_date_without_papers_is_an_error() -> None:
    with pytest.raises(ParseError, match="no paper headings"):
        parse_text("# 20250302\n\nNo papers today.\n")


def test_only_unreadable_headings_is_an_error() -> None:
    with pytest.raises(ParseError, match="none of the 2 paper headings") as info:
        parse_text("# 20250302\n## Papers\n## More papers\n")
    assert info.value.hint is not None
    assert info.value.hint.startswith("line 2:")


def test_invalid_utf8_is_an_error() -> None:
    with pytest.raises(ParseError, match="byte 11"):
        parse(b"# 20250302\n\xff\xfe", source="bad.md", options=OPTIONS)


def test_later_date_heading_dates_the_papers_below_it() -> None:
    feed = parse_text(
        "# 20250302\n"
        "## 1. `cs.AI` - First [PDF](https://arxiv.org/pdf/2503.00001)\n"
        "# 2025-03-03\n"
        "## 1. `cs.AI` - Second [HTML](https://arxiv.org/abs/2503.00002)\n"
    )
    assert [e.announced for e in feed.entries] == [date(2025, 3, 2), date(2025, 3, 3)]
    assert feed.entries[1].pdf_url == "https://arxiv.org/pdf/2503.00002"
    assert feed.warnings == ()


def test_paper_numbers_out_of_order_are_reported() -> None:
    feed = parse_text(
        "# 20250302\n"
        "## 2. `cs.AI` - First [PDF](https://arxiv.org/pdf/2503.00001)\n"
        "## 2. `cs.AI` - Second [PDF](https://arxiv.org/pdf/2503.00002)\n"
    )
    assert [e.title for e in feed.entries] == ["First", "Second"]
    assert feed.warnings == ("line 3: paper number 2 does not follow 2",)


def test_text_outside_sections_is_reported() -> None:
    feed = parse_text(
        "# 20250302\n## 7. `cs.AI` - T [PDF](https://arxiv.org/pdf/2503.00001)\nstray\n"
    )
    assert feed.entries[0].title == "T"
    assert feed.warnings == ("line 3: ignored text of paper 7 outside any '###' section",)


def test_heading_without_arxiv_link_keeps_its_link_with_a_warning() -> None:
    feed = parse_text("# 20250302\n## 1. `cs.AI` - T [HTML](https://example.org/paper)\n")
    assert feed.entries[0].link == "https://example.org/paper"
    assert feed.entries[0].arxiv_id is None
    assert feed.warnings == ("line 2: paper 1 has no arXiv link",)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("A,B, C", ("A", "B", "C")),
        ("张三，李四、王五", ("张三", "李四", "王五")),
        ("A (1), B (1, 2), and C ((1) Univ X, Town, (2) Lab Y)", ("A", "B", "C")),
        ("  Jean-Luc Picard ,\n  Data ", ("Jean-Luc Picard", "Data")),
        ("", ()),
    ],
)
def test_split_authors(text: str, names: tuple[str, ...]) -> None:
    assert split_authors(text) == names


@given(
    st.lists(
        st.sampled_from(["Ada", "B. Lee", "and", "王小明", " ", "  ", ",", "，", "、", ";", "；"]),
        max_size=12,
    )
)
def test_authors_without_parentheses_split_at_every_separator(parts: list[str]) -> None:
    # Without parentheses nothing nests: the names are the text between separators,
    # stripped, without a leading "and ", the empty ones left out.
    text = "".join(parts)
    pieces = " ".join(text.split())
    for separator in ",，、;；":
        pieces = pieces.replace(separator, "\0")
    expected = [piece.strip() for piece in pieces.split("\0")]
    expected = [name[3:].lstrip() if name.startswith("and ") else name for name in expected]
    assert split_authors(text) == tuple(name for name in expected if name)
    # The same names with an affiliation mark after each, which takes the slow path.
    assert split_authors(",".join(f"{name} (1)" for name in split_authors(text))) == tuple(
        name for name in expected if name
    )
