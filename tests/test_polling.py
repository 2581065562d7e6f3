"""Per-source interval and adaptive rhythm: only due sources are asked; --all asks all.

Runs use a fixed clock against a server on 127.0.0.1 that counts requests.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator._app.cli import main
from aggregator._fetch import schedule
from aggregator.config.polling import parse_interval
from aggregator.config.settings import load_config
from aggregator.config.sources import Source
from aggregator.core import RunSummary, run
from aggregator.errors import ConfigError

T0 = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _feed(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://example.org/{abs(hash(t))}</link></item>"
        for t in titles
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()


class Counting:
    """Serves /<name>.xml, counting requests; ``items`` per name is what it lists."""

    def __init__(self, server: HTTPServer) -> None:
        self.hits: Counter[str] = Counter()
        self.items: dict[str, list[str]] = {}
        server.expect_request("/monthly.xml").respond_with_handler(self.handle)
        server.expect_request("/busy.xml").respond_with_handler(self.handle)
        self.server = server

    def handle(self, request: Request) -> Response:
        name = request.path.strip("/").removesuffix(".xml")
        self.hits[name] += 1
        return Response(_feed(*self.items.get(name, ["first"])), content_type="application/xml")


def _config(tmp_path: Path, server: HTTPServer, monthly: str) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(
        '[storage]\ndatabase = "agg.db"\n[fetch]\nmin_interval = {}\n'
        f'[[sources]]\nname = "monthly"\nurl = "{server.url_for("/monthly.xml")}"\n{monthly}\n'
        f'[[sources]]\nname = "busy"\nurl = "{server.url_for("/busy.xml")}"\n',
        encoding="utf-8",
    )
    return path


def _run(path: Path, when: datetime, *, every_source: bool = False) -> RunSummary:
    return run(
        load_config(path), clock=lambda: when, run_date=when.date(), every_source=every_source
    )


def test_a_source_is_asked_once_its_interval_has_passed(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    served = Counting(httpserver)
    path = _config(tmp_path, httpserver, 'interval = "6h"')
    _run(path, T0)
    assert served.hits == {"monthly": 1, "busy": 1}
    summary = _run(path, T0 + HOUR)
    assert served.hits == {"monthly": 1, "busy": 2}
    (waiting,) = [r for r in summary.sources if r.not_due]
    assert waiting.name == "monthly" and waiting.ok and not summary.failed
    assert "next planned fetch 2026-11-02 12:30 UTC (every 6h)" in (waiting.skipped or "")
    # A run a little early (within a tenth of the interval) asks it: cron drifts.
    _run(path, T0 + 6 * HOUR - timedelta(minutes=30))
    assert served.hits == {"monthly": 2, "busy": 3}
    _run(path, T0 + 7 * HOUR, every_source=True)
    assert served.hits == {"monthly": 3, "busy": 4}


def test_a_failed_source_is_retried_by_its_backoff_not_its_interval(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    answers = iter([Response(_feed("a"), content_type="application/xml"), Response(status=500)])
    hits: list[datetime] = []

    def handler(request: Request) -> Response:
        hits.append(datetime.now(UTC))
        return next(answers, Response(_feed("a", "b"), content_type="application/xml"))

    httpserver.expect_request("/monthly.xml").respond_with_handler(handler)
    httpserver.expect_request("/busy.xml").respond_with_data(_feed("x"), content_type="text/xml")
    path = _config(tmp_path, httpserver, 'interval = "1d"')
    _run(path, T0)
    assert len(_run(path, T0 + 25 * HOUR).failed) == 1  # due, failed: 30 min backoff
    assert _run(path, T0 + 26 * HOUR).sources[0].counts["new"] == 1  # asked again
    assert len(hits) == 3


def test_adaptive_follows_the_observed_rhythm(httpserver: HTTPServer, tmp_path: Path) -> None:
    served = Counting(httpserver)
    path = _config(tmp_path, httpserver, 'interval = "1d"\nadaptive = true')
    # One new post every 10 days: the usual gap is 10 days.
    for n in range(4):
        served.items["monthly"] = [f"post {k}" for k in range(n + 1)]
        summary = _run(path, T0 + timedelta(days=10 * n))
        assert summary.sources[0].counts["new"] == 1
    last = T0 + timedelta(days=30)
    # Half the gap (5 days), within a quarter and eight times the configured day.
    for day in (1, 2, 4):
        _run(path, last + timedelta(days=day))
    assert served.hits["monthly"] == 4
    _run(path, last + timedelta(days=5))
    assert served.hits["monthly"] == 5
    result = CliRunner().invoke(main, ["--config", str(path), "status", "--json"])
    line = {row["name"]: row for row in json.loads(result.output)}["monthly"]
    assert line["interval_seconds"] == 5 * 86400
    assert line["next_fetch"] == (last + timedelta(days=10)).isoformat()
    assert "(every 5d, adaptive from 1d)" in line["note"]
    assert line["flag"] not in ("failing", "gone")


def _source(interval: str | None, adaptive: bool = False) -> Source:
    seconds = parse_interval(interval, file="f", key="k") if interval else None
    return Source(
        name="s", kind="feed", url="https://example.org/f", interval=seconds, adaptive=adaptive
    )


def _days(gap: int, count: int = 6) -> list[date]:
    return [date(2026, 1, 1) + timedelta(days=gap * n) for n in range(count)]


@pytest.mark.parametrize(
    ("interval", "days", "expected"),
    [
        ("1d", _days(30), 8 * 86400.0),  # a monthly blog: at most 8 x the interval
        ("1d", _days(4), 2 * 86400.0),  # half its 4-day gap
        ("1d", _days(1), 43200.0),  # daily news: twice a day
        ("6h", _days(1), 43200.0),
        ("1d", _days(1, count=2), 86400.0),  # too little history: as configured
        ("1h", _days(1), 28800.0),  # at most 8 x 1h
    ],
)
def test_the_adaptive_interval_stays_within_bounds(
    interval: str, days: list[date], expected: float
) -> None:
    assert schedule.interval_of(_source(interval, adaptive=True), days) == expected


def test_without_an_interval_a_source_is_always_due() -> None:
    assert schedule.plan(_source(None), T0, []) is None
    assert schedule.waiting([_source(None)], {"s": T0.isoformat()}, {}, T0) == {}
    never = schedule.plan(_source("6h"), None, [])
    assert never is not None and never.at is None and schedule.not_due(never, T0) is None


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("6h", 21600), ("1d", 86400), ("1w", 604800), (3600, 3600)]
)
def test_intervals_are_read(text: str | int, seconds: float) -> None:
    assert parse_interval(text, file="f", key="k") == seconds


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('interval = "6 hours"', "is not an interval"),
        ('interval = "10s"', "out of range"),
        ('interval = "40d"', "out of range"),
        ('kind = "arxiv"\ninterval = "1d"', "arXiv's announcement calendar decides"),
    ],
)
def test_bad_intervals_are_config_errors(tmp_path: Path, keys: str, message: str) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(
        f'[[sources]]\nname = "s"\nurl = "https://rss.arxiv.org/rss/cs.AI"\n{keys}\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_the_cli_counts_sources_not_due_and_all_asks_them(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    served = Counting(httpserver)
    path = _config(tmp_path, httpserver, 'interval = "1d"')
    args = ["--config", str(path), "fetch"]
    assert CliRunner().invoke(main, args).exit_code == 0
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    assert (
        "Sources: 1 read, 1 ok, 0 failed, 1 not modified, 1 not due"
        in " ".join(second.output.split())
        or "1 not due" in second.output
    )
    assert "skipped: monthly" not in second.output
    assert served.hits["monthly"] == 1
    third = CliRunner().invoke(main, [*args, "--all"])
    assert third.exit_code == 0 and "not due" not in third.output
    assert served.hits["monthly"] == 2
    status = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert "next planned fetch" in " ".join(status.output.split())
    assert "--all" in CliRunner().invoke(main, ["run", "--help"]).output
