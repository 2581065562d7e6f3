"""The arXiv feed parser, the LaTeX conversion and the announcement calendar (pure parts)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import DATA

from aggregator._sources import ParseOptions, get_parser
from aggregator._sources.arxiv.announce import announce_per_category
from aggregator._sources.arxiv.api_page import parse_page
from aggregator._sources.arxiv.calendar import Calendar, batch_state
from aggregator._sources.arxiv.feed import categories_in_url, parse
from aggregator._sources.markdown_digest import announce_type
from aggregator._update.latex import to_unicode
from aggregator._update.normalize import normalize
from aggregator.errors import ParseError
from aggregator.types import ParsedEntry, ParsedFeed

ARXIV = DATA / "arxiv"


def read(name: str, *, follow: tuple[str, ...] = (), url: str | None = None) -> ParsedFeed:
    return parse(
        (ARXIV / name).read_bytes(),
        source="arxiv-test",
        options=ParseOptions(location=url, categories=follow),
    )


def test_rss_items_carry_id_version_announce_type_and_listing_day() -> None:
    feed = read("rss-cs.AI-2026-01-14.xml", follow=("cs.AI",))
    assert feed.announced == date(2026, 1, 14)
    assert feed.warnings == ()
    first, second, cross = feed.entries
    assert first.arxiv_id == "2601.10001" and first.version == 1
    assert first.link == "https://arxiv.org/abs/2601.10001"
    assert first.pdf_url == "https://arxiv.org/pdf/2601.10001"
    assert first.authors == ("Ada Lovelace", "Alan Turing")
    assert first.announce == (("cs.AI", "new"),)
    assert first.primary_category == "cs.AI" and first.subjects == ("cs.AI", "cs.LG")
    assert first.categories == ("cs.AI",)  # listed only where the feed follows
    assert first.summary is not None and first.summary.startswith("We bound the")
    assert "Announce Type" not in first.summary
    assert first.announced == date(2026, 1, 14)
    assert first.published == datetime(2026, 1, 14, 5, tzinfo=UTC)
    assert second.authors == ("Grace Hopper",)
    # A cross-list: its primary is the first category the feed does not follow.
    assert cross.announce == (("cs.AI", "cross"),)
    assert cross.primary_category == "cs.LG"
    assert cross.subjects == ("cs.LG", "cs.AI", "stat.ML")
    assert cross.authors == ("Katherine Johnson", "Dorothy Vaughan", "Mary Jackson")


def test_atom_feed_reads_the_same_as_rss() -> None:
    rss = read("rss-cs.AI-2026-01-14.xml", follow=("cs.AI",))
    atom = read("atom-cs.AI-2026-01-14.xml", follow=("cs.AI",))
    assert atom.announced == rss.announced
    fields = ("arxiv_id", "version", "title", "link", "authors", "summary", "announce", "subjects")
    for a, r in zip(atom.entries, rss.entries, strict=True):
        assert {f: getattr(a, f) for f in fields} == {f: getattr(r, f) for f in fields}


def test_followed_categories_come_from_the_url_or_the_title() -> None:
    by_url = read("rss-cs.AI-2026-01-14.xml", url="https://rss.arxiv.org/rss/cs.AI+cs.LG")
    # In a feed following both, a paper is listed in both, new in its primary only.
    assert by_url.entries[0].announce == (("cs.AI", "new"), ("cs.LG", "cross"))
    by_title = read("rss-cs.AI-2026-01-14.xml")
    assert by_title.entries[0].announce == (("cs.AI", "new"),)


def test_replacements_and_old_style_ids() -> None:
    feed = read("rss-cs.LG-2026-01-15.xml", follow=("cs.LG",))
    replaced, old = feed.entries
    assert replaced.version == 2 and replaced.announce == (("cs.LG", "replace"),)
    # A replacement is dated by its announcement: that is its update time.
    assert replaced.updated == datetime(2026, 1, 15, 5, tzinfo=UTC)
    assert old.arxiv_id == "cs/0112017" and old.version == 3
    entry = normalize(old, source="s")
    assert entry.key == "arxiv:cs/0112017"
    ai = read("rss-cs.AI-2026-01-15.xml", follow=("cs.AI",))
    assert ai.entries[0].doi == "10.1234/example.2026.11005"
    assert ai.entries[0].journal_ref == "Journal of Proofs 12 (2026) 1-20"
    assert ai.entries[0].authors == ("Emmy Noether", "Kurt Gödel")
    assert ai.entries[2].announce == (("cs.AI", "replace-cross"),)


@pytest.mark.parametrize(
    ("kind", "listed", "primary", "expected"),
    [
        ("new", ("cs.AI", "cs.LG"), "cs.LG", (("cs.AI", "cross"), ("cs.LG", "new"))),
        (
            "replace",
            ("cs.AI", "cs.LG"),
            "cs.AI",
            (("cs.AI", "replace"), ("cs.LG", "replace-cross")),
        ),
        ("cross", ("cs.AI",), None, (("cs.AI", "cross"),)),
    ],
)
def test_announce_type_per_category(
    kind: str, listed: tuple[str, ...], primary: str | None, expected: tuple[tuple[str, str], ...]
) -> None:
    assert announce_per_category(kind, listed=listed, primary=primary) == expected


def test_latex_becomes_unicode_and_the_raw_text_is_kept() -> None:
    entry = normalize(read("rss-cs.AI-2026-01-14.xml").entries[0], source="s")
    assert entry.title == "α-Divergence Bounds for O(n log n) Planning"
    assert entry.raw_title == r"$\alpha$-Divergence Bounds for $O(n \log n)$ Planning"
    assert entry.summary is not None and "α-divergence" in entry.summary
    assert "ℓ₂-regularised" in entry.summary
    assert entry.raw_summary is not None and r"$\ell_2$" in entry.raw_summary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"$\alpha$-divergence", "α-divergence"),
        (r"$O(n \log n)$", "O(n log n)"),
        (r"$x_1^2 + \mathbb{R}^d$", "x₁² + ℝ^d"),
        ("costs $5 and saves 50%", "costs $5 and saves 50%"),  # not LaTeX: untouched
        (r"12% more proofs over $\mathbb{N}$", "12% more proofs over ℕ"),
        ("批量化$Q^*$学习", "批量化Q*学习"),
    ],
)
def test_latex_to_unicode(text: str, expected: str) -> None:
    assert to_unicode(text) == expected


def test_feed_error_for_query_is_a_parse_error_naming_the_reason() -> None:
    with pytest.raises(ParseError, match=r"Feed error for query: cs\.XX") as info:
        read("rss-feed-error.xml")
    assert info.value.source == "arxiv-test"
    assert info.value.hint is not None and "category" in info.value.hint


def test_a_feed_without_any_date_is_an_error() -> None:
    with pytest.raises(ParseError, match="no date"):
        read("rss-cs.AI-no-date.xml")


def test_a_malformed_id_skips_that_item_only() -> None:
    feed = read("rss-cs.AI-bad-id.xml", follow=("cs.AI",))
    assert [e.arxiv_id for e in feed.entries] == ["2601.10003"]
    assert len(feed.warnings) == 1 and "26O1.1OOO9" in feed.warnings[0]


def test_an_empty_weekend_feed_is_no_error() -> None:
    feed = read("rss-cs.AI-empty-2026-01-17.xml")
    assert feed.entries == () and feed.announced == date(2026, 1, 17)


def test_not_xml_and_not_arxiv_are_errors() -> None:
    with pytest.raises(ParseError, match="not well-formed"):
        parse(b"<rss><channel>", source="s", options=ParseOptions())
    with pytest.raises(ParseError, match="not an arXiv"):
        parse(b"<opml><body/></opml>", source="s", options=ParseOptions())


def test_kind_arxiv_uses_this_parser() -> None:
    # Through the reader that also takes export-API answers (aggregator._sources.arxiv.reader).
    data = (DATA / "arxiv" / "rss-cs.AI-2026-01-14.xml").read_bytes()
    options = ParseOptions()
    assert get_parser("arxiv")(data, source="s", options=options) == parse(
        data, source="s", options=options
    )


def test_daily_list_ids_older_than_the_list_month_are_replacements() -> None:
    assert announce_type("2601.06098", date(2026, 1, 14)) == "new"
    assert announce_type("2407.18676", date(2026, 1, 14)) == "replace"
    assert announce_type("2512.00001", date(2026, 1, 14)) == "replace"
    assert announce_type("math/0611800", date(2026, 1, 14)) == "replace"


# -- the calendar ---------------------------------------------------------------------------

CAL = Calendar(holidays=frozenset({date(2026, 1, 19)}))


def et(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of January 2026 in US Eastern time."""
    return datetime(2026, 1, day, hour, minute, tzinfo=ZoneInfo("America/New_York"))


def test_listing_days_are_weekdays_but_holidays() -> None:
    assert [CAL.has_listing(date(2026, 1, d)) for d in range(14, 21)] == [
        True,  # Wed
        True,  # Thu
        True,  # Fri
        False,  # Sat
        False,  # Sun
        False,  # Mon, a holiday here
        True,  # Tue
    ]
    assert CAL.why_none(date(2026, 1, 17)) == "Saturday"
    assert "holiday" in CAL.why_none(date(2026, 1, 19))


def test_a_listing_comes_out_at_20_eastern_the_evening_before() -> None:
    assert CAL.latest(et(13, 19, 59)) == date(2026, 1, 13)
    assert CAL.latest(et(13, 20, 0)) == date(2026, 1, 14)
    # Friday evening to Sunday evening: Friday's listing stays the latest.
    assert CAL.latest(et(17, 12)) == date(2026, 1, 16)
    # Sunday 20:00 would release Monday's, but Monday is a holiday: Tuesday's comes Monday.
    assert CAL.latest(et(18, 21)) == date(2026, 1, 16)
    assert CAL.next(et(18, 21)) == date(2026, 1, 20)
    assert CAL.listing_days(date(2026, 1, 15), date(2026, 1, 21)) == [
        date(2026, 1, 16),
        date(2026, 1, 20),
    ]


def test_batch_states() -> None:
    def state(batch: date | None, items: int, last: date | None, now: datetime) -> str:
        return batch_state(batch_day=batch, items=items, last_day=last, now=now, calendar=CAL).note

    jan = lambda d: date(2026, 1, d)  # noqa: E731
    assert state(jan(14), 3, None, et(14, 7)).startswith("announcement of 2026-01-14 (Wed)")
    assert state(jan(14), 3, jan(14), et(14, 9)).startswith("no new announcement since")
    assert state(jan(14), 3, jan(14), et(14, 21)).startswith("not refreshed yet")
    assert state(jan(17), 0, jan(16), et(17, 10)).startswith("no announcement today (Saturday)")
    assert "holiday" in state(jan(19), 0, jan(16), et(19, 10))
    missed = state(jan(21), 1, jan(15), et(21, 7))
    assert "missed 2026-01-16, 2026-01-20" in missed
    empty = batch_state(batch_day=jan(20), items=0, last_day=jan(16), now=et(20, 9), calendar=CAL)
    assert empty.warning is not None and "empty feed on an announcement day" in empty.warning


def test_submission_deadlines_decide_the_listing() -> None:
    assert CAL.listing_for(et(12, 13)) == date(2026, 1, 13)  # Monday before 14:00
    assert CAL.listing_for(et(12, 15)) == date(2026, 1, 14)  # Monday after 14:00
    assert CAL.listing_for(et(15, 15)) == date(2026, 1, 20)  # Thursday late: Monday is a holiday
    assert CAL.listing_for(et(16, 15)) == date(2026, 1, 20)  # Friday late: Tuesday
    assert CAL.listing_for(et(17, 10)) == date(2026, 1, 20)  # the weekend: Tuesday
    assert CAL.deadline(date(2026, 1, 12)) == et(9, 14)  # Monday's listing: Friday 14:00


def test_the_listing_page_reads_like_the_feed() -> None:
    page = read("list-cs.AI-new-2026-01-15.html", url="https://arxiv.org/list/cs.AI/new")
    feed = read("rss-cs.AI-2026-01-15.xml", follow=("cs.AI",))
    assert page.announced == feed.announced == date(2026, 1, 15)
    fields = (
        "arxiv_id",
        "version",
        "title",
        "link",
        "authors",
        "summary",
        "announce",
        "subjects",
        "primary_category",
        "journal_ref",
        "published",
        "updated",
    )
    for p, f in zip(page.entries, feed.entries, strict=True):
        assert {k: getattr(p, k) for k in fields} == {k: getattr(f, k) for k in fields}


def test_an_html_page_that_is_no_listing_is_an_error() -> None:
    with pytest.raises(ParseError, match="Showing new listings"):
        parse(
            b"<!DOCTYPE html><html><body>Maintenance</body></html>",
            source="s",
            options=ParseOptions(),
        )


JOINED = "rss-cs.LG+cs.AI+cs.CL+stat.ML-2026-01-15.xml"


def by_id(feed: ParsedFeed) -> dict[str, ParsedEntry]:
    return {e.arxiv_id or "": e for e in feed.entries}


def without(name: str, *elements: bytes) -> bytes:
    """The fixture ``name`` without the channel elements that start with ``elements``."""
    lines = (ARXIV / name).read_bytes().splitlines(keepends=True)
    return b"".join(line for line in lines if not line.strip().startswith(elements))


def test_a_joined_feed_read_as_a_file_takes_its_categories_from_its_channel() -> None:
    feed = read(JOINED)  # a path source: no categories, no URL
    assert feed.warnings == () and feed.left_out == 0
    papers = by_id(feed)
    # Filed under every category of the feed it is in, not only the first.
    assert papers["2601.11101"].announce == (("cs.AI", "new"), ("cs.LG", "cross"))
    assert papers["2601.11102"].announce == (("cs.CL", "new"),)
    # Never under a category only in its subject list (stat.ME is not in the feed).
    assert papers["2601.11103"].announce == (("stat.ML", "new"),)
    cross = papers["2601.11104"]
    assert cross.categories == ("stat.ML",) and cross.announce == (("stat.ML", "cross"),)
    assert cross.primary_category == "stat.ME" and cross.subjects == ("stat.ME", "stat.ML")
    replaced = papers["2512.09876"]
    assert replaced.announce == (("cs.LG", "replace-cross"),)
    assert replaced.primary_category == "math.OC"
    # Each of the channel's self link, its link and its title is enough on its own.
    self_only = without(JOINED, b"<link>", b"<title>cs.LG,")
    link_only = without(JOINED, b"<atom:link", b"<title>cs.LG,")
    title_only = without(JOINED, b"<atom:link", b"<link>")
    for data in (self_only, link_only, title_only):
        again = parse(data, source="s", options=ParseOptions(location="feeds/joined.xml"))
        assert [e.announce for e in again.entries] == [e.announce for e in feed.entries]


def test_without_any_category_a_paper_is_filed_under_its_primary_with_a_warning() -> None:
    data = without(JOINED, b"<atom:link", b"<link>", b"<title>cs.LG,")
    feed = parse(data, source="s", options=ParseOptions(location="feeds/joined.xml"))
    assert [e.categories for e in feed.entries][:4] == [
        ("cs.AI",),
        ("cs.CL",),
        ("stat.ML",),
        ("stat.ME",),
    ]
    assert len(feed.warnings) == 1 and "categories = [...]" in feed.warnings[0]
    # Nor is a paper without any category lost: it is kept, filed as any uncategorised entry.
    bare = parse(
        without(JOINED, b"<atom:link", b"<link>", b"<title>cs.LG,", b"<category>"),
        source="s",
        options=ParseOptions(location="feeds/joined.xml"),
    )
    assert len(bare.entries) == 5 and bare.left_out == 0
    assert {e.categories for e in bare.entries} == {()}


def test_papers_outside_the_followed_categories_are_left_out_of_a_feed() -> None:
    feed = read(JOINED, follow=("cs.LG",))
    assert feed.left_out == 3
    papers = by_id(feed)
    assert set(papers) == {"2601.11101", "2512.09876"}
    # In the cs.LG listing the cs.AI paper is a cross-list: the feed says "new" because
    # it is new in cs.AI, its primary category.
    assert papers["2601.11101"].announce == (("cs.LG", "cross"),)
    assert papers["2601.11101"].primary_category == "cs.AI"
    assert papers["2512.09876"].announce == (("cs.LG", "replace-cross"),)
    # The same when the categories come from the source's URL.
    by_url = read(JOINED, url="https://rss.arxiv.org/rss/cs.LG")
    assert by_url.left_out == 3 and set(by_id(by_url)) == set(papers)


def test_papers_outside_the_followed_categories_are_left_out_of_a_listing_page() -> None:
    page = read("list-cs.AI-new-2026-01-15.html", follow=("cs.LG",))
    assert [e.arxiv_id for e in page.entries] == ["2601.10004"]
    assert page.entries[0].announce == (("cs.LG", "replace"),)
    assert page.left_out == 2
    # A page saved without its URL is of the category its own links name.
    saved = read("list-cs.AI-new-2026-01-15.html")
    assert [e.categories for e in saved.entries] == [("cs.AI",)] * 3


def test_papers_outside_the_followed_categories_are_left_out_of_an_api_answer() -> None:
    data = (ARXIV / "api-cs.LG-mixed.xml").read_bytes()
    page = parse_page(data, source="s", followed=("cs.LG",), calendar=Calendar())
    assert [e.arxiv_id for e in page.entries] == ["2601.11201", "2601.11202"]
    assert [e.announce for e in page.entries] == [(("cs.LG", "new"),), (("cs.LG", "cross"),)]
    assert page.left_out == 1 and page.total == 3


def test_categories_in_an_export_api_url_are_its_query() -> None:
    url = "https://export.arxiv.org/api/query?search_query=cat:cs.LG+OR+cat:math.*&max_results=5"
    assert categories_in_url(url) == ("cs.LG", "math")
    assert categories_in_url("https://export.arxiv.org/api/query?id_list=2601.11201") == ()
    assert categories_in_url("https://rss.arxiv.org/atom/cs.LG+stat.ML") == ("cs.LG", "stat.ML")
    assert categories_in_url("http://arxiv.org/api/query") == ()
    assert categories_in_url("http://arxiv.org/api/ab") == ()  # an API answer's <id>
