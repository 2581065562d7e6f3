"""Following arXiv end to end: feeds in arXiv's formats served over HTTP on 127.0.0.1.

Two categories (cs.AI, cs.LG) over two consecutive announcement days (Wed 14 and Thu 15
January 2026) with cross-lists and replacements, then a weekend, a holiday, an empty
feed on a weekday, and a missed day; plus bad input (a category that does not exist).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from atomcheck import validate_atom
from click.testing import CliRunner
from conftest import DATA
from pytest_httpserver import HTTPServer

from aggregator._app.cli import main
from aggregator._storage.sqlite import Store
from aggregator.config.settings import Settings, load_config
from aggregator.core import RunSummary, run

ARXIV = DATA / "arxiv"
RSS = "application/rss+xml; charset=utf-8"


def et(day: int, hour: int) -> datetime:
    """An instant of January 2026 in US Eastern time."""
    return datetime(2026, 1, day, hour, tzinfo=ZoneInfo("America/New_York"))


@dataclass
class Arxiv:
    """A local stand-in for rss.arxiv.org and a config reading it."""

    server: HTTPServer
    settings: Settings

    def serve(self, **feeds: str) -> None:
        """Serve ``/rss/<category>`` from files of tests/data/arxiv (cs_AI= for cs.AI)."""
        self.server.clear()
        for category, name in feeds.items():
            data = (ARXIV / name).read_bytes()
            self.server.expect_request(f"/rss/{category.replace('_', '.')}").respond_with_data(
                data, content_type=RSS
            )

    def run(self, now: datetime) -> RunSummary:
        return run(self.settings, clock=lambda: now.astimezone(UTC))

    def feed(self, name: str) -> feedparser.FeedParserDict:
        data = (self.settings.publish.output_dir / "feeds" / f"{name}.atom").read_bytes()
        validate_atom(data)
        return feedparser.parse(data)

    def digest(self, day: str) -> str:
        path = self.settings.publish.output_dir / "digests" / day / "digest.txt"
        return path.read_text(encoding="utf-8")

    def html(self, day: str) -> str:
        path = self.settings.publish.output_dir / "digests" / day / "index.html"
        return path.read_text(encoding="utf-8")


CONFIG = """
[storage]
database = "db.sqlite"

[publish]
output_dir = "public"

[arxiv]
base_url = "{base}"
api_url = "{base}api/query"
api_delay = 0
holidays = ["2026-01-19"]

[[sources]]
name = "arxiv-ai"
kind = "arxiv"
categories = ["cs.AI"]

[[sources]]
name = "arxiv-lg"
kind = "arxiv"
categories = ["cs.LG"]
{extra}
"""


@pytest.fixture
def make_arxiv(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> Callable[[str], Arxiv]:
    def make(extra: str = "") -> Arxiv:
        path = write_config(CONFIG.format(base=httpserver.url_for("/"), extra=extra))
        return Arxiv(httpserver, load_config(path))

    return make


@pytest.fixture
def arxiv(make_arxiv: Callable[[str], Arxiv]) -> Arxiv:
    return make_arxiv("")


def notes(summary: RunSummary) -> dict[str, str | None]:
    return {r.name: r.note for r in summary.sources}


def day_one(arxiv: Arxiv) -> RunSummary:
    arxiv.serve(cs_AI="rss-cs.AI-2026-01-14.xml", cs_LG="rss-cs.LG-2026-01-14.xml")
    return arxiv.run(et(14, 7))


def day_two(arxiv: Arxiv) -> RunSummary:
    arxiv.serve(cs_AI="rss-cs.AI-2026-01-15.xml", cs_LG="rss-cs.LG-2026-01-15.xml")
    return arxiv.run(et(15, 7))


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_first_day_one_row_per_paper_with_cross_lists(arxiv: Arxiv) -> None:
    summary = day_one(arxiv)
    assert summary.failed == []
    by_name = {r.name: r for r in summary.sources}
    assert by_name["arxiv-ai"].counts == {"new": 3, "updated": 0, "unchanged": 0, "duplicate": 0}
    assert by_name["arxiv-lg"].counts == {"new": 1, "updated": 0, "unchanged": 0, "duplicate": 2}
    assert notes(summary)["arxiv-ai"] == "announcement of 2026-01-14 (Wed): 3 papers"
    assert arxiv.server.log and all(r.path.startswith("/rss/cs.") for r, _ in arxiv.server.log)

    all_feed = arxiv.feed("all")
    assert len(all_feed.entries) == 4
    ai, lg = arxiv.feed("cs.AI"), arxiv.feed("cs.LG")
    assert sorted(e.link for e in ai.entries) == [
        "https://arxiv.org/abs/2601.10001",
        "https://arxiv.org/abs/2601.10003",
        "https://arxiv.org/abs/2601.10004",
    ]
    assert len(lg.entries) == 3
    # Only the followed categories are feeds: stat.ML is shown, not published.
    assert sorted(p.stem for p in (arxiv.settings.publish.output_dir / "feeds").glob("*.atom")) == [
        "all",
        "cs.AI",
        "cs.LG",
    ]
    titles = {e.link.rsplit("/", 1)[1]: e.title for e in all_feed.entries}
    assert titles["2601.10001"] == "α-Divergence Bounds for O(n log n) Planning"

    with Store(arxiv.settings.storage.database) as store:
        how = dict(
            ((key, category), how)
            for key, category, how in store.db.execute(
                "SELECT entry_key, category, how FROM entry_categories"
            )
        )
        row = store.get_entries(["arxiv:2601.10004"])["arxiv:2601.10004"]
    assert how[("arxiv:2601.10001", "cs.AI")] == "new"
    assert how[("arxiv:2601.10001", "cs.LG")] == "cross"
    assert how[("arxiv:2601.10004", "cs.AI")] == "cross"
    assert how[("arxiv:2601.10004", "cs.LG")] == "new"
    assert row.primary_category == "cs.LG" and row.subjects == ("cs.LG", "cs.AI", "stat.ML")
    assert row.digest_day == date(2026, 1, 14) and row.version == 1

    text = arxiv.digest("2026-01-14")
    assert "== cs.AI (2 new, 1 cross-list) ==" in text
    assert "== cs.LG (2 new, 1 cross-list) ==" in text
    ai_part = text[text.index("== cs.AI") : text.index("== cs.LG")]
    assert ai_part.index("-- New submissions (2) --") < ai_part.index("-- Cross-lists (1) --")
    assert ai_part.count("Gradient Noise as a Regulariser") == 1
    assert "[cross-list from cs.LG] Gradient Noise" in ai_part
    # Listed in both sections, shown in full once: under its primary category.
    assert "(in full under cs.LG)" in ai_part and "Noise in stochastic" not in ai_part
    lg_part = text[text.index("== cs.LG") :]
    assert lg_part.count("Gradient Noise as a Regulariser") == 1
    assert "Categories: cs.LG, cs.AI, stat.ML" in lg_part
    assert text.count("Noise in stochastic gradients regularises") == 1
    assert "4 entries" in text
    html = arxiv.html("2026-01-14")
    assert "New submissions (2)" in html and "Cross-lists (1)" in html


def test_reruns_say_not_refreshed_yet_or_no_new_announcement(arxiv: Arxiv) -> None:
    day_one(arxiv)
    files = {p: p.read_bytes() for p in arxiv.settings.publish.output_dir.rglob("*") if p.is_file()}
    same_morning = arxiv.run(et(14, 9))
    assert notes(same_morning)["arxiv-ai"] == (
        "no new announcement since 2026-01-14 (Wed); next listing 2026-01-15 (Thu)"
    )
    assert {r.name: r.counts["new"] for r in same_morning.sources} == {
        "arxiv-ai": 0,
        "arxiv-lg": 0,
    }
    # After 20:00 ET Thursday's listing is due; the feed still has Wednesday's.
    evening = arxiv.run(et(14, 21))
    assert notes(evening)["arxiv-lg"] == (
        "not refreshed yet: the feed still has the 2026-01-14 (Wed) announcement,"
        " 2026-01-15 (Thu)'s is due"
    )
    assert evening.failed == [] and all(not r.warnings for r in evening.sources)
    after = {p: p.read_bytes() for p in arxiv.settings.publish.output_dir.rglob("*") if p.is_file()}
    assert after == files


def test_an_unchanged_feed_is_judged_from_its_remembered_batch_without_parsing(
    arxiv: Arxiv, parses: list[str]
) -> None:
    day_one(arxiv)
    parses.clear()
    evening = arxiv.run(et(14, 21))
    assert parses == []
    assert str(notes(evening)["arxiv-ai"]).startswith("not refreshed yet")
    assert {r.name: r.counts["unchanged"] for r in evening.sources} == {
        "arxiv-ai": 3,
        "arxiv-lg": 3,
    }
    # A new batch is read as ever.
    day_two(arxiv)
    assert sorted(parses) == ["arxiv-ai", "arxiv-lg"]


def test_second_day_replacements_update_the_row_never_a_second_one(arxiv: Arxiv) -> None:
    day_one(arxiv)
    summary = day_two(arxiv)
    by_name = {r.name: r for r in summary.sources}
    assert by_name["arxiv-ai"].counts == {"new": 1, "updated": 2, "unchanged": 0, "duplicate": 0}
    # cs.LG's copy of the v2 the cs.AI feed already brought is a duplicate, not an update.
    assert by_name["arxiv-lg"].counts == {"new": 1, "updated": 0, "unchanged": 0, "duplicate": 1}

    with Store(arxiv.settings.storage.database) as store:
        assert store.count_entries() == 6
        rows = store.get_entries(["arxiv:2601.10003", "arxiv:2601.11005", "arxiv:cs/0112017"])
    replaced = rows["arxiv:2601.10003"]
    assert replaced.version == 2
    assert replaced.title == "Agents That Ask Before They Act, and When Not To"
    assert replaced.summary is not None and "when asking costs more" in replaced.summary
    assert replaced.published == datetime(2026, 1, 14, 5, tzinfo=UTC)  # first announcement
    assert replaced.updated == datetime(2026, 1, 15, 5, tzinfo=UTC)
    assert replaced.digest_day == date(2026, 1, 14)
    proof = rows["arxiv:2601.11005"]
    assert proof.doi == "10.1234/example.2026.11005"
    assert proof.journal_ref == "Journal of Proofs 12 (2026) 1-20"
    assert proof.summary is not None and "over ℕ and find 12% more" in proof.summary
    assert rows["arxiv:cs/0112017"].version == 3

    ai = arxiv.feed("cs.AI")
    entry = next(e for e in ai.entries if e.link.endswith("2601.10003"))
    assert entry.published.startswith("2026-01-14") and entry.updated.startswith("2026-01-15")
    assert len([e for e in ai.entries if e.link.endswith("2601.10003")]) == 1

    text = arxiv.digest("2026-01-15")
    assert "== cs.AI (1 new, 2 replacements) ==" in text
    assert "== cs.LG (2 replacements) ==" in text
    assert "[replaced v2] Agents That Ask Before They Act, and When Not To" in text
    assert "Journal ref: Journal of Proofs 12 (2026) 1-20" in text
    assert "cs.LO" not in [s.split(" ")[1] for s in text.splitlines() if s.startswith("== ")]
    # Wednesday's digest keeps Wednesday's papers only.
    assert "Proof Search" not in arxiv.digest("2026-01-14")


def test_weekend_holiday_empty_weekday_and_a_missed_day(arxiv: Arxiv) -> None:
    day_one(arxiv)
    day_two(arxiv)
    empty = "rss-cs.AI-empty-2026-01-17.xml"
    arxiv.serve(cs_AI=empty, cs_LG=empty)
    saturday = arxiv.run(et(17, 10))
    assert saturday.failed == []
    assert notes(saturday)["arxiv-ai"] == (
        "no announcement today (Saturday); next listing 2026-01-20 (Tue)"
    )
    arxiv.serve(cs_AI="rss-cs.AI-empty-2026-01-19.xml", cs_LG="rss-cs.AI-empty-2026-01-19.xml")
    holiday = arxiv.run(et(19, 10))
    assert holiday.failed == []
    assert notes(holiday)["arxiv-ai"] == (
        "no announcement today (Monday, an arXiv holiday); next listing 2026-01-20 (Tue)"
    )
    assert all(not r.warnings for r in holiday.sources)
    arxiv.serve(cs_AI="rss-cs.AI-empty-2026-01-20.xml", cs_LG="rss-cs.LG-2026-01-15.xml")
    tuesday = arxiv.run(et(20, 10))
    ai = {r.name: r for r in tuesday.sources}["arxiv-ai"]
    assert ai.ok and any("empty feed on an announcement day" in w for w in ai.warnings)
    assert notes(tuesday)["arxiv-lg"] is not None
    assert "not refreshed yet" in str(notes(tuesday)["arxiv-lg"])
    # Wednesday's feed read late on Wednesday evening (already Thursday in UTC): the
    # paper's digest day is its announcement day, and the missed days (Friday and
    # Tuesday; Monday was a holiday) are caught up from the export API.
    arxiv.serve(cs_AI="rss-cs.AI-2026-01-21.xml", cs_LG="rss-cs.LG-2026-01-15.xml")
    arxiv.server.expect_request("/api/query").respond_with_data(
        (ARXIV / "api-catch-up.xml").read_bytes(), content_type="application/atom+xml"
    )
    late = arxiv.run(et(21, 22))
    assert late.run_date == date(2026, 1, 22)
    assert notes(late)["arxiv-ai"] == (
        "announcement of 2026-01-21 (Wed): 1 paper; missed 2026-01-16, 2026-01-20,"
        " caught up from the export API (2 papers)"
    )
    api_calls = [r for r, _ in arxiv.server.log if r.path == "/api/query"]
    assert len(api_calls) == 1  # cs.LG has not refreshed: nothing of it was missed
    assert "cat:cs.AI" in api_calls[0].args["search_query"]
    assert {date(2026, 1, 16), date(2026, 1, 20), date(2026, 1, 21)} <= set(late.digest_days)
    assert "Counterfactual Curricula" in arxiv.digest("2026-01-21")
    assert "A Friday Paper Nobody Fetched" in arxiv.digest("2026-01-16")
    assert "[replaced v3] Agents That Ask Before They Act" in arxiv.digest("2026-01-20")
    assert not (arxiv.settings.publish.output_dir / "digests" / "2026-01-22").exists()


def test_a_gap_too_long_or_a_failing_api_names_the_backfill_command(
    make_arxiv: Callable[[str], Arxiv],
) -> None:
    arxiv = make_arxiv("")
    day_one(arxiv)
    arxiv.serve(cs_AI="rss-cs.AI-2026-01-21.xml", cs_LG="rss-cs.LG-2026-01-14.xml")
    arxiv.server.expect_request("/api/query").respond_with_data("down", status=503)
    summary = arxiv.run(et(21, 7))
    ai = {r.name: r for r in summary.sources}["arxiv-ai"]
    assert ai.ok and ai.counts["new"] == 1  # the feed's own batch is stored
    assert ai.note == (
        "announcement of 2026-01-21 (Wed): 1 paper; missed 2026-01-15, 2026-01-16, 2026-01-20"
        " (not caught up; run `aggregator arxiv backfill --from 2026-01-15 --to 2026-01-20`)"
    )
    assert any("HTTP 503" in w for w in ai.warnings)


def test_a_paper_in_an_arxiv_feed_and_a_daily_list_is_one_entry(
    make_arxiv: Callable[[str], Arxiv], tmp_path: Path
) -> None:
    (tmp_path / "list.md").write_text(
        "# 20260114\n"
        "## 1. `cs.AI` - α散度规划界 [PDF](https://arxiv.org/pdf/2601.10001),"
        " [HTML](https://arxiv.org/abs/2601.10001)\n"
        "### Authors\nAda Lovelace,Alan Turing\n"
        "### Background\n规划很难。\n### Innovation\n新的界。\n### Conclusion\n更快。\n"
        "## 2. `cs.LG` - 旧论文 [PDF](https://arxiv.org/pdf/2407.18676),"
        " [HTML](https://arxiv.org/abs/2407.18676)\n"
        "### Authors\nA. Person\n### Background\n旧。\n",
        encoding="utf-8",
    )
    arxiv = make_arxiv(
        '\n[[sources]]\nname = "daily-list"\nkind = "markdown-digest"\npath = "list.md"\n'
    )
    summary = day_one(arxiv)
    assert summary.failed == []
    with Store(arxiv.settings.storage.database) as store:
        assert store.count_entries() == 5
        row = store.get_entries(["arxiv:2601.10001"])["arxiv:2601.10001"]
        old_how = store.announcements_on(date(2026, 1, 14))["arxiv:2407.18676"]
    assert row.summary is not None and row.summary.startswith("We bound the")
    assert [h for h, _ in row.sections] == ["Background", "Innovation", "Conclusion"]
    assert row.version == 1 and set(row.sources) == {"arxiv-ai", "arxiv-lg", "daily-list"}
    assert old_how == {"cs.LG": "replace"}
    text = arxiv.digest("2026-01-14")
    # Listed in cs.AI (new) and cs.LG (cross), shown in full once, under cs.AI.
    assert text.count("Background: 规划很难。") == 1
    assert "(in full under cs.AI)" in text
    assert "== cs.LG (2 new, 1 cross-list, 1 replacement) ==" in text


def test_bad_input_is_reported_by_source_and_nothing_else_is_affected(
    make_arxiv: Callable[[str], Arxiv],
) -> None:
    arxiv = make_arxiv(
        '\n[[sources]]\nname = "arxiv-xx"\nkind = "arxiv"\ncategories = ["cs.XX"]\n'
        '\n[[sources]]\nname = "arxiv-undated"\nkind = "arxiv"\ncategories = ["cs.CV"]\n'
        '\n[[sources]]\nname = "arxiv-badid"\nkind = "arxiv"\ncategories = ["cs.RO"]\n'
    )
    arxiv.serve(
        cs_AI="rss-cs.AI-2026-01-14.xml",
        cs_LG="rss-cs.LG-2026-01-14.xml",
        cs_XX="rss-feed-error.xml",
        cs_CV="rss-cs.AI-no-date.xml",
        cs_RO="rss-cs.AI-bad-id.xml",
    )
    summary = arxiv.run(et(14, 7))
    failed = {r.name: r.error for r in summary.failed}
    assert set(failed) == {"arxiv-xx", "arxiv-undated"}
    assert "Feed error for query: cs.XX" in str(failed["arxiv-xx"])
    assert "check the category names" in str(failed["arxiv-xx"])
    assert "no date" in str(failed["arxiv-undated"])
    badid = {r.name: r for r in summary.sources}["arxiv-badid"]
    assert badid.ok and any("26O1.1OOO9" in w for w in badid.warnings)
    assert {r.name: r.counts["new"] for r in summary.sources}["arxiv-ai"] == 3
    assert len(arxiv.feed("all").entries) == 4

    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(arxiv.settings.origin), "run"])
    assert result.exit_code == 1
    assert "arxiv-ai: " in result.output
    assert "failed: arxiv-xx (http://" in result.stderr
    assert "Feed error for query: cs.XX" in result.stderr


def test_the_listing_page_is_a_second_way_in(
    make_arxiv: Callable[[str], Arxiv], httpserver: HTTPServer
) -> None:
    listing = httpserver.url_for("/list/cs.AI/new")
    arxiv = make_arxiv(
        f'\n[[sources]]\nname = "arxiv-ai-page"\nkind = "arxiv"\nurl = "{listing}"\n'
    )
    arxiv.serve(cs_AI="rss-cs.AI-2026-01-14.xml", cs_LG="rss-cs.LG-2026-01-14.xml")
    httpserver.expect_request("/list/cs.AI/new").respond_with_data(
        b"<!DOCTYPE html><html><body>Showing new listings for Wednesday, 14 January 2026"
        b"<p>Total of 0 entries</p></body></html>",
        content_type="text/html",
    )
    arxiv.run(et(14, 7))
    # Thursday: the RSS feed lags behind, the listing page already has Thursday's papers.
    arxiv.serve(cs_AI="rss-cs.AI-2026-01-14.xml", cs_LG="rss-cs.LG-2026-01-15.xml")
    httpserver.expect_request("/list/cs.AI/new").respond_with_data(
        (ARXIV / "list-cs.AI-new-2026-01-15.html").read_bytes(), content_type="text/html"
    )
    summary = arxiv.run(et(15, 7))
    by_name = {r.name: r for r in summary.sources}
    assert summary.failed == []
    assert str(by_name["arxiv-ai"].note).startswith("not refreshed yet")
    assert by_name["arxiv-ai-page"].counts["new"] == 1
    # 2601.10004 v2 came through cs.LG's feed first: here it is a duplicate.
    assert by_name["arxiv-ai-page"].counts["updated"] == 1
    assert by_name["arxiv-ai-page"].counts["duplicate"] == 1
    assert str(by_name["arxiv-ai-page"].note).startswith("announcement of 2026-01-15 (Thu)")
    text = arxiv.digest("2026-01-15")
    assert "== cs.AI (1 new, 2 replacements) ==" in text
    with Store(arxiv.settings.storage.database) as store:
        assert store.count_entries() == 6


def test_catch_up_can_be_switched_off(make_arxiv: Callable[[str], Arxiv]) -> None:
    arxiv = make_arxiv("")
    arxiv.settings = replace(arxiv.settings, arxiv=replace(arxiv.settings.arxiv, catch_up_days=0))
    day_one(arxiv)
    arxiv.serve(cs_AI="rss-cs.AI-2026-01-21.xml", cs_LG="rss-cs.LG-2026-01-14.xml")
    summary = arxiv.run(et(21, 7))
    assert str(notes(summary)["arxiv-ai"]).endswith(
        "(no longer in the feed; run `aggregator arxiv backfill --from 2026-01-15 --to 2026-01-20`)"
    )
    assert not [r for r, _ in arxiv.server.log if r.path == "/api/query"]


JOINED = "rss-cs.LG+cs.AI+cs.CL+stat.ML-2026-01-15.xml"
JOINED_CONFIG = """
[storage]
database = "db.sqlite"

[publish]
output_dir = "public"

[arxiv]
base_url = "{base}"
api_url = "{base}api/query"
api_delay = 0

[[sources]]
name = "joined-file"
kind = "arxiv"
path = "{path}"

[[sources]]
name = "lg-of-joined"
kind = "arxiv"
categories = ["cs.LG"]
url = "{base}rss/cs.LG+cs.AI+cs.CL+stat.ML"
"""


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_a_joined_feed_files_papers_only_under_followed_categories_they_are_in(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    """Items 2 and 3 of issue 15, through a whole run: a joined feed saved as a file
    takes its categories from its channel, and a source following cs.LG through the
    same joined feed leaves out the papers that are not in cs.LG, and says so."""
    config = JOINED_CONFIG.format(base=httpserver.url_for("/"), path=ARXIV / JOINED)
    arxiv = Arxiv(httpserver, load_config(write_config(config)))
    arxiv.server.expect_request("/rss/cs.LG+cs.AI+cs.CL+stat.ML").respond_with_data(
        (ARXIV / JOINED).read_bytes(), content_type=RSS
    )
    summary = arxiv.run(et(15, 7))
    assert summary.failed == []
    assert notes(summary) == {
        "joined-file": "announcement of 2026-01-15 (Thu): 5 papers",
        "lg-of-joined": "announcement of 2026-01-15 (Thu): 2 papers;"
        " 3 papers outside cs.LG left out",
    }
    feeds = sorted(p.stem for p in (arxiv.settings.publish.output_dir / "feeds").glob("*.atom"))
    assert feeds == ["all", "cs.AI", "cs.CL", "cs.LG", "stat.ML"]  # no stat.ME, no math.OC
    with Store(arxiv.settings.storage.database) as store:
        how = sorted(
            store.db.execute("SELECT source, entry_key, category, how FROM entry_categories")
        )
    assert how == [
        ("joined-file", "arxiv:2512.09876", "cs.LG", "replace-cross"),
        ("joined-file", "arxiv:2601.11101", "cs.AI", "new"),
        ("joined-file", "arxiv:2601.11101", "cs.LG", "cross"),
        ("joined-file", "arxiv:2601.11102", "cs.CL", "new"),
        ("joined-file", "arxiv:2601.11103", "stat.ML", "new"),
        ("joined-file", "arxiv:2601.11104", "stat.ML", "cross"),
        ("lg-of-joined", "arxiv:2512.09876", "cs.LG", "replace-cross"),
        ("lg-of-joined", "arxiv:2601.11101", "cs.LG", "cross"),
    ]
    text = arxiv.digest("2026-01-15")
    assert "== stat.ML (1 new, 1 cross-list) ==" in text and "== stat.ME" not in text
