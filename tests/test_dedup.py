from __future__ import annotations

from datetime import UTC, date, datetime

from aggregator._update.decide import Outcome, atom_id_for, decide
from aggregator._update.normalize import normalize
from aggregator.types import ParsedEntry

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
LATER = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
TODAY = date(2026, 11, 23)
LINK = "https://arxiv.org/abs/2601.00001"


def entry(source: str = "a", **fields: object) -> ParsedEntry:
    values: dict[str, object] = {"title": "A paper", "link": LINK}
    values.update(fields)
    return ParsedEntry(**values)  # type: ignore[arg-type]


def test_new_entry_gets_a_row_dated_by_its_own_times() -> None:
    published = datetime(2026, 1, 14, tzinfo=UTC)
    item = normalize(entry(published=published, announced=date(2026, 1, 14)), source="a")
    result = decide(
        item,
        existing=None,
        previous_hash=None,
        seen_in_this_document=False,
        categories=("cs.AI",),
        now=NOW,
        today=TODAY,
    )
    assert result.outcome is Outcome.NEW
    row = result.row
    assert row.key == "arxiv:2601.00001"
    assert row.atom_id == atom_id_for("arxiv:2601.00001")
    assert row.published == published and row.updated == published
    assert row.first_seen == NOW
    assert row.digest_day == date(2026, 1, 14)
    assert row.categories == ("cs.AI",)


def test_entry_without_dates_is_dated_when_first_seen_and_filed_under_today() -> None:
    item = normalize(entry(), source="a")
    row = decide(
        item,
        existing=None,
        previous_hash=None,
        seen_in_this_document=False,
        categories=("x",),
        now=NOW,
        today=TODAY,
    ).row
    assert row.updated == NOW and row.published is None
    assert row.digest_day == TODAY


def test_same_source_same_content_is_unchanged_and_not_rewritten() -> None:
    item = normalize(entry(), source="a")
    first = decide(
        item,
        existing=None,
        previous_hash=None,
        seen_in_this_document=False,
        categories=("x",),
        now=NOW,
        today=TODAY,
    )
    again = decide(
        item,
        existing=first.row,
        previous_hash=item.content_hash,
        seen_in_this_document=False,
        categories=("x",),
        now=LATER,
        today=TODAY,
    )
    assert again.outcome is Outcome.UNCHANGED
    assert not again.changed
    assert again.row == first.row


def test_same_source_new_content_updates_and_keeps_published() -> None:
    published = datetime(2026, 1, 14, tzinfo=UTC)
    old = normalize(entry(published=published, summary="v1"), source="a")
    first = decide(
        old,
        existing=None,
        previous_hash=None,
        seen_in_this_document=False,
        categories=("x",),
        now=NOW,
        today=TODAY,
    ).row
    new = normalize(entry(title="A better paper", published=published, summary="v2"), source="a")
    result = decide(
        new,
        existing=first,
        previous_hash=old.content_hash,
        seen_in_this_document=False,
        categories=("x",),
        now=LATER,
        today=TODAY,
    )
    assert result.outcome is Outcome.UPDATED and result.changed
    assert result.row.title == "A better paper" and result.row.summary == "v2"
    assert result.row.published == published
    assert result.row.updated == LATER
    assert result.row.atom_id == first.atom_id and result.row.first_seen == first.first_seen
    assert result.row.content_hash != first.content_hash


def test_other_source_is_a_duplicate_that_fills_gaps_and_adds_categories() -> None:
    original = normalize(entry(sections=(("Background", "b"),)), source="list")
    first = decide(
        original,
        existing=None,
        previous_hash=None,
        seen_in_this_document=False,
        categories=("cs.AI",),
        now=NOW,
        today=TODAY,
    ).row
    copy = normalize(
        entry(source="feed", title="Other title", summary="An abstract", authors=("Ada",)),
        source="feed",
    )
    result = decide(
        copy,
        existing=first,
        previous_hash=None,
        seen_in_this_document=False,
        categories=("cs.LG",),
        now=LATER,
        today=TODAY,
    )
    assert result.outcome is Outcome.DUPLICATE
    row = result.row
    assert row.title == "A paper"  # the first copy's values stay
    assert row.summary == "An abstract" and row.authors == ("Ada",)  # gaps are filled
    assert row.categories == ("cs.AI", "cs.LG")
    assert row.sources == ("list", "feed")
    assert row.updated == first.updated and row.digest_day == first.digest_day


def test_a_key_twice_in_one_document_is_a_duplicate() -> None:
    item = normalize(entry(), source="a")
    first = decide(
        item,
        existing=None,
        previous_hash=None,
        seen_in_this_document=False,
        categories=("x",),
        now=NOW,
        today=TODAY,
    )
    second = decide(
        item,
        existing=first.row,
        previous_hash=None,
        seen_in_this_document=True,
        categories=("x",),
        now=NOW,
        today=TODAY,
    )
    assert second.outcome is Outcome.DUPLICATE
    assert not second.changed
