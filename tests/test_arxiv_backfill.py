"""``aggregator arxiv backfill``: the export API served on 127.0.0.1, paged and paced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from conftest import DATA
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator import Aggregator
from aggregator._app.cli import main
from aggregator._sources.arxiv.api import query_url
from aggregator._sources.arxiv.api_page import parse_page
from aggregator._sources.arxiv.calendar import Calendar
from aggregator._storage.lock import database_lock
from aggregator._storage.sqlite import Store
from aggregator._update.backfill import backfill as store_listings
from aggregator.config.settings import Settings, load_config
from aggregator.core import run
from aggregator.errors import ParseError

ARXIV = DATA / "arxiv"
NOW = datetime(2026, 1, 22, 12, tzinfo=UTC)
CAL = Calendar(holidays=frozenset())


def api(request: Request) -> Response:
    """Pages of two results, like the real API with max_results=2."""
    start = int(request.args.get("start", "0"))
    name = "api-page1.xml" if start == 0 else "api-page2.xml"
    return Response((ARXIV / name).read_bytes(), content_type="application/atom+xml")


@pytest.fixture
def settings(httpserver: HTTPServer, write_config: Callable[[str], Path]) -> Settings:
    httpserver.expect_request("/api/query").respond_with_handler(api)
    path = write_config(
        f"""
[storage]
database = "db.sqlite"
[arxiv]
api_url = "{httpserver.url_for("/api/query")}"
holidays = []
[[sources]]
name = "arxiv-ai"
kind = "arxiv"
categories = ["cs.AI"]
"""
    )
    return load_config(path)


def test_api_page_is_parsed_into_dated_papers() -> None:
    page = parse_page(
        (ARXIV / "api-page1.xml").read_bytes(), source="s", followed=("cs.AI",), calendar=CAL
    )
    assert page.total == 4
    planning, kernels = page.entries
    assert planning.title == "Planning Under Uncertainty, Quickly"
    assert planning.version == 1 and planning.announce == (("cs.AI", "new"),)
    # Friday 13:00 ET is before Friday's 14:00 deadline: announced Sunday evening, listed Monday.
    assert planning.announced == date(2026, 1, 12)
    assert kernels.version == 2 and kernels.announce == (("cs.AI", "replace-cross"),)
    assert kernels.primary_category == "cs.LG" and kernels.subjects == ("cs.LG", "cs.AI")
    assert kernels.announced == date(2026, 1, 13)
    assert kernels.doi == "10.5555/jmlr.2026.1" and kernels.journal_ref == "JMLR 27 (2026) 1-14"
    assert kernels.link == "https://arxiv.org/abs/2512.01234"
    # Dated by announcement: first listed on Tuesday 2 December 2025 (midnight ET).
    assert kernels.published == datetime(2025, 12, 2, 5, tzinfo=UTC)


def test_api_error_entries_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="incorrect id format"):
        parse_page((ARXIV / "api-error.xml").read_bytes(), source="s", followed=(), calendar=CAL)


def test_query_covers_the_submission_windows() -> None:
    url = query_url(
        "https://export.arxiv.org/api/query",
        ("cs.AI", "math"),
        CAL.deadline(date(2026, 1, 9)),
        CAL.deadline(date(2026, 1, 13)),
    )
    query = parse_qs(urlsplit(url).query)
    assert query["search_query"] == [
        "(cat:cs.AI OR cat:math.*) AND lastUpdatedDate:[202601081900 TO 202601121900]"
    ]
    assert query["sortBy"] == ["lastUpdatedDate"]


def test_backfill_pages_politely_and_files_papers_by_listing_day(
    settings: Settings, httpserver: HTTPServer
) -> None:
    slept: list[float] = []
    summary = Aggregator(settings, clock=lambda: NOW).backfill(
        start=date(2026, 1, 12), end=date(2026, 1, 13), sleep=slept.append, page_size=2
    )
    assert summary.failed == []
    assert summary.requests == 2 and slept == [3.0]  # one request, then 3 s, then the next
    starts = [parse_qs(urlsplit(r.url).query)["start"] for r, _ in httpserver.log]
    assert starts == [["0"], ["2"]]
    report = summary.sources[0]
    assert report.counts["new"] == 3  # Wednesday's paper is outside the range
    assert summary.digest_days == [date(2026, 1, 12), date(2026, 1, 13)]
    with Store(settings.storage.database) as store:
        assert store.announcements_on(date(2026, 1, 13)) == {
            "arxiv:2512.01234": {"cs.AI": "replace-cross"},
            "arxiv:2601.09001": {"cs.AI": "new"},
        }
        assert store.get_entries(["arxiv:2601.09002"]) == {}
    text = (settings.publish.output_dir / "digests" / "2026-01-13" / "digest.txt").read_text()
    assert "== cs.AI (1 new, 1 replacement) ==" in text
    assert (settings.publish.output_dir / "feeds" / "cs.AI.atom").is_file()

    again = Aggregator(settings, clock=lambda: NOW).backfill(
        start=date(2026, 1, 12), end=date(2026, 1, 13), sleep=slept.append, page_size=2
    )
    assert again.sources[0].counts["new"] == 0  # re-running is safe


def test_backfill_command_validates_its_options(settings: Settings) -> None:
    runner = CliRunner()
    config = ["--config", settings.origin]
    result = runner.invoke(
        main, [*config, "arxiv", "backfill", "--from", "2026-01-14", "--to", "2026-01-13"]
    )
    assert result.exit_code == 2 and "--from is after --to" in result.stderr
    result = runner.invoke(
        main,
        [
            *config,
            "arxiv",
            "backfill",
            "--from",
            "2026-01-13",
            "--to",
            "2026-01-13",
            "--source",
            "x",
        ],
    )
    assert result.exit_code == 2 and "no arxiv source named x" in result.stderr
    assert "arxiv-ai" in result.stderr


def test_backfill_command_help() -> None:
    group = main.commands["arxiv"]  # type: ignore[attr-defined]
    command = group.commands["backfill"]
    for param in command.params:
        assert getattr(param, "help", None), f"backfill --{param.name} has no help"
    result = CliRunner().invoke(main, ["arxiv", "backfill", "--help"])
    assert result.exit_code == 0 and "export API" in result.output


JOURNAL = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Journal</title><link>https://jmlr.example/</link>
<description>New articles</description>
<item><title>Kernel Methods for Agents</title>
<link>https://doi.org/10.5555/jmlr.2026.1</link>
<description>Kernels, revisited for agents.</description>
<pubDate>Mon, 05 Jan 2026 09:00:00 +0000</pubDate></item>
</channel></rss>
"""


def test_a_backfilled_paper_is_linked_to_the_stored_article_it_duplicates(
    httpserver: HTTPServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    """Backfill stores through the same plans as a run: near-duplicate linking included.
    And it takes no lock of its own: the caller (the facade) holds the run lock."""
    httpserver.expect_request("/api/query").respond_with_handler(api)
    (tmp_path / "journal.rss").write_text(JOURNAL, encoding="utf-8")
    settings = load_config(
        write_config(
            f"""
[storage]
database = "db.sqlite"
[arxiv]
api_url = "{httpserver.url_for("/api/query")}"
holidays = []
[[sources]]
name = "journal"
kind = "feed"
path = "{tmp_path / "journal.rss"}"
[[sources]]
name = "arxiv-ai"
kind = "arxiv"
categories = ["cs.AI"]
enabled = false
"""
        )
    )
    run(settings, clock=lambda: NOW)  # stores the journal's article, asks no arXiv feed
    database = settings.storage.database
    with database_lock(database, timeout=0), Store(database) as store:
        report = store_listings(
            settings,
            store,
            start=date(2026, 1, 12),
            end=date(2026, 1, 13),
            clock=lambda: NOW,
            sleep=lambda _: None,
            page_size=2,
        )
        [link] = store.duplicate_links()
        assert (link.entry_key, link.kept_key, link.reason) == (
            "arxiv:2512.01234",
            "url:https://doi.org/10.5555/jmlr.2026.1",
            "doi",
        )
    [papers] = report.sources
    assert papers.counts == {"new": 2, "updated": 0, "unchanged": 0, "duplicate": 1}
    assert "arxiv:2512.01234" in papers.new_keys and len(papers.new_keys) == 3
    assert papers.note == "3 papers over 2 listing days, 2 new to the database"
    assert report.touched == {date(2026, 1, 12), date(2026, 1, 13)}
