"""HTTP sources against real servers on 127.0.0.1: politeness, state, and every bad case.

Each bad source must leave the run finished, the other sources stored, the failure
recorded with a reason a person can act on, and nothing stored earlier lost.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import brotli
import feedparser
import pytest
from atomcheck import validate_atom
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from rawserver import serve, silent_server, trickle
from werkzeug import Request, Response

from aggregator._app.cli import main
from aggregator._storage.sqlite import Store
from aggregator.config.settings import Settings, load_config
from aggregator.core import RunSummary, run

T0 = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
FAST = """
[storage]
database = "agg.db"
[fetch]
timeout = 1.5
connect_timeout = 1
read_timeout = 0.5
max_bytes = 1000000
backoff_base = 3600
min_interval = {}
"""


def rss(*titles: str, channel: str = "Test feed", encoding: str = "utf-8") -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://example.org/{i}-{abs(hash(t))}</link>"
        f"<guid>https://example.org/{i}-{abs(hash(t))}</guid></item>"
        for i, t in enumerate(titles)
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
        f"<title>{channel}</title><link>https://example.org/</link>{items}</channel></rss>"
    )
    return text.encode(encoding)


GOOD = rss("Alpha", "Beta")


def config(tmp_path: Path, sources: dict[str, str], extra: str = "") -> Path:
    text = FAST + extra
    for name, url in sources.items():
        text += f'\n[[sources]]\nname = "{name}"\nurl = "{url}"\ncategories = ["{name}"]\n'
    path = tmp_path / "aggregator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_at(path: Path, when: datetime = T0) -> RunSummary:
    settings: Settings = load_config(path)
    return run(settings, clock=lambda: when, run_date=when.date())


def errors(summary: RunSummary) -> dict[str, str]:
    return {r.name: str(r.error) for r in summary.failed}


@pytest.fixture
def good(httpserver: HTTPServer) -> str:
    httpserver.expect_request("/good.rss").respond_with_data(
        GOOD, content_type="application/rss+xml"
    )
    return httpserver.url_for("/good.rss")


# -- politeness and state -----------------------------------------------------------------


def test_conditional_get_answers_304_without_parsing(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(
            GOOD,
            content_type="application/rss+xml",
            headers={"ETag": '"v1"', "Last-Modified": "Sun, 22 Nov 2026 10:00:00 GMT"},
        )

    httpserver.expect_request("/feed").respond_with_handler(handler)
    path = config(tmp_path, {"feed": httpserver.url_for("/feed")})
    first = run_at(path)
    assert first.sources[0].counts["new"] == 2
    second = run_at(path, T0 + timedelta(days=1))
    report = second.sources[0]
    assert report.not_modified and report.ok and report.status == 304
    assert report.counts == {"new": 0, "updated": 0, "unchanged": 0, "duplicate": 0}
    assert seen[0].headers.get("If-None-Match") is None
    assert seen[1].headers["If-None-Match"] == '"v1"'
    assert seen[1].headers["If-Modified-Since"] == "Sun, 22 Nov 2026 10:00:00 GMT"
    agent = seen[0].headers["User-Agent"]
    assert agent.startswith("aggregator/") and "https://" in agent
    assert "br" in seen[0].headers["Accept-Encoding"]
    with Store(tmp_path / "agg.db") as store:
        assert store.count_entries() == 2
        assert store.source_health()[0].last_success == (T0 + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("br", brotli.compress), ("gzip", gzip.compress), ("deflate", zlib.compress)],
)
def test_compressed_responses_are_read(
    httpserver: HTTPServer, tmp_path: Path, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        compress(GOOD), content_type="application/rss+xml", headers={"Content-Encoding": encoding}
    )
    summary = run_at(config(tmp_path, {"feed": httpserver.url_for("/feed")}))
    assert summary.sources[0].counts["new"] == 2, summary.sources[0].error


def test_a_permanent_redirect_moves_the_source_and_says_so(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/old").respond_with_response(
        Response(status=301, headers={"Location": httpserver.url_for("/new")})
    )
    httpserver.expect_request("/new").respond_with_data(GOOD, content_type="application/rss+xml")
    path = config(tmp_path, {"feed": httpserver.url_for("/old")})
    first = run_at(path)
    assert first.sources[0].counts["new"] == 2
    assert any(
        "moved permanently to " + httpserver.url_for("/new") in w for w in first.sources[0].warnings
    )
    httpserver.clear_log()
    run_at(path, T0 + timedelta(days=1))
    assert [request.path for request, _ in httpserver.log] == ["/new"]
    status = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert "moved permanently to" in status.output
    assert "update its url" in status.output


def test_a_temporary_redirect_is_followed_but_not_remembered(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/here").respond_with_response(
        Response(status=302, headers={"Location": httpserver.url_for("/there")})
    )
    httpserver.expect_request("/there").respond_with_data(GOOD, content_type="application/rss+xml")
    path = config(tmp_path, {"feed": httpserver.url_for("/here")})
    first = run_at(path)
    assert first.sources[0].counts["new"] == 2 and not first.sources[0].warnings
    httpserver.clear_log()
    run_at(path, T0 + timedelta(days=1))
    assert [request.path for request, _ in httpserver.log] == ["/here", "/there"]


def test_410_disables_the_source_until_its_url_changes(
    httpserver: HTTPServer, tmp_path: Path, good: str
) -> None:
    httpserver.expect_request("/gone").respond_with_response(Response(status=410))
    path = config(tmp_path, {"gone": httpserver.url_for("/gone"), "good": good})
    first = run_at(path)
    assert "410 Gone" in errors(first)["gone"]
    assert "disabled until its url in the config changes" in errors(first)["gone"]
    httpserver.clear_log()
    second = run_at(path, T0 + timedelta(days=30))
    assert [request.path for request, _ in httpserver.log] == ["/good.rss"]
    assert "change its url in the config" in errors(second)["gone"]
    status = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert status.exit_code == 1
    assert "gone" in status.output and "change its url" in status.output
    # A new URL is a new start.
    path.write_text(path.read_text().replace("/gone", "/good.rss?new"), encoding="utf-8")
    third = run_at(path, T0 + timedelta(days=31))
    assert not third.failed


def test_429_retry_after_is_respected(httpserver: HTTPServer, tmp_path: Path, good: str) -> None:
    httpserver.expect_request("/busy").respond_with_response(
        Response(status=429, headers={"Retry-After": "7200"})
    )
    path = config(tmp_path, {"busy": httpserver.url_for("/busy"), "good": good})
    first = run_at(path)
    assert "429 Too Many Requests" in errors(first)["busy"]
    assert "not asked again before 2026-11-23 09:30" in errors(first)["busy"]
    httpserver.clear_log()
    second = run_at(path, T0 + timedelta(hours=1))
    assert [request.path for request, _ in httpserver.log] == ["/good.rss"]
    busy = second.sources[0]
    assert busy.ok and busy.skipped and "2026-11-23 09:30 UTC" in busy.skipped
    httpserver.clear_log()
    run_at(path, T0 + timedelta(hours=2, seconds=1))
    assert sorted(request.path for request, _ in httpserver.log) == ["/busy", "/good.rss"]


def test_the_cli_reports_a_rate_limited_source_as_skipped(
    httpserver: HTTPServer, tmp_path: Path, good: str
) -> None:
    httpserver.expect_request("/busy").respond_with_response(
        Response(status=429, headers={"Retry-After": "86400"})
    )
    path = config(tmp_path, {"busy": httpserver.url_for("/busy"), "good": good})
    first = CliRunner().invoke(main, ["--config", str(path), "fetch"])
    assert first.exit_code == 1 and "failed: busy" in first.output
    second = CliRunner().invoke(main, ["--config", str(path), "fetch"])
    assert second.exit_code == 0, second.output
    assert "Sources: 2 read, 1 ok, 0 failed, 1 skipped" in second.output
    assert "skipped: busy: rate-limited: the server asked not to be called before" in (
        second.output
    )


def test_503_retry_after_as_an_http_date(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/down").respond_with_response(
        Response(status=503, headers={"Retry-After": "Mon, 23 Nov 2026 12:00:00 GMT"})
    )
    path = config(tmp_path, {"down": httpserver.url_for("/down")})
    run_at(path)
    with Store(tmp_path / "agg.db") as store:
        state = store.fetch_states()["down"]
    assert state.next_attempt == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert state.next_reason == "retry-after" and state.last_status == 503


@pytest.mark.parametrize("status", [500, 502, 404])
def test_failing_sources_back_off_exponentially(
    httpserver: HTTPServer, tmp_path: Path, good: str, status: int
) -> None:
    httpserver.expect_request("/bad").respond_with_response(Response(status=status))
    path = config(tmp_path, {"bad": httpserver.url_for("/bad"), "good": good})
    first = run_at(path)
    assert f"HTTP {status}" in errors(first)["bad"]
    assert ("check it in a browser" if status == 404 else "retried later") in errors(first)["bad"]
    # backoff_base is an hour: not asked again within it, asked after it.
    httpserver.clear_log()
    second = run_at(path, T0 + timedelta(minutes=30))
    assert [request.path for request, _ in httpserver.log] == ["/good.rss"]
    assert (
        "not fetched: skipped until 2026-11-23 08:30 UTC after 1 failure" in errors(second)["bad"]
    )
    assert f"last error: HTTP {status}" in errors(second)["bad"]
    assert "`aggregator sources reset bad` retries it" in errors(second)["bad"]
    run_at(path, T0 + timedelta(hours=1))  # second failure: rests 2 hours
    with Store(tmp_path / "agg.db") as store:
        state = store.fetch_states()["bad"]
        failures = {h.name: h.consecutive_failures for h in store.source_health()}
    assert state.next_attempt == T0 + timedelta(hours=3)
    assert failures == {"bad": 2, "good": 0}
    # `sources reset` makes the next run ask at once.
    CliRunner().invoke(main, ["--config", str(path), "sources", "reset", "bad"])
    httpserver.clear_log()
    run_at(path, T0 + timedelta(hours=1, minutes=1))
    assert "/bad" in [request.path for request, _ in httpserver.log]


def test_a_source_that_fails_later_loses_nothing(httpserver: HTTPServer, tmp_path: Path) -> None:
    answers = iter([Response(GOOD, content_type="application/rss+xml"), Response(status=500)])
    httpserver.expect_request("/feed").respond_with_handler(lambda request: next(answers))
    path = config(tmp_path, {"feed": httpserver.url_for("/feed")})
    run_at(path)
    before = (tmp_path / "public" / "feeds" / "feed.atom").read_bytes()
    summary = run_at(path, T0 + timedelta(days=1))
    assert errors(summary)["feed"].startswith("HTTP 500")
    after = (tmp_path / "public" / "feeds" / "feed.atom").read_bytes()
    assert after == before
    validate_atom(after)
    assert len(feedparser.parse(after).entries) == 2


def test_a_parse_failure_keeps_the_old_validators(httpserver: HTTPServer, tmp_path: Path) -> None:
    bodies = iter([b"<rss><channel><item><title>cut", GOOD])

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match"):
            return Response(status=304)
        return Response(next(bodies), content_type="application/rss+xml", headers={"ETag": "x"})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    path = config(tmp_path, {"feed": httpserver.url_for("/feed")}, "backoff_base = 0\n")
    path.write_text(path.read_text().replace("backoff_base = 3600\n", ""), encoding="utf-8")
    assert run_at(path).failed
    second = run_at(path, T0 + timedelta(hours=1))
    assert second.sources[0].counts["new"] == 2, second.sources[0].error


# -- hostile and broken servers ------------------------------------------------------------


def test_a_redirect_loop_fails_clearly(httpserver: HTTPServer, tmp_path: Path, good: str) -> None:
    httpserver.expect_request("/a").respond_with_response(
        Response(status=302, headers={"Location": "/b"})
    )
    httpserver.expect_request("/b").respond_with_response(
        Response(status=302, headers={"Location": "/a"})
    )
    summary = run_at(config(tmp_path, {"loop": httpserver.url_for("/a"), "good": good}))
    assert "too many redirects" in errors(summary)["loop"]
    assert "round in circles" in errors(summary)["loop"]
    assert summary.sources[1].counts["new"] == 2


@pytest.mark.timeout(20)
def test_a_server_that_never_answers_times_out(tmp_path: Path, good: str) -> None:
    with silent_server(threading.Event()) as url:
        summary = run_at(config(tmp_path, {"silent": url + "/feed", "good": good}))
    assert "sent nothing for 0.5 s" in errors(summary)["silent"]
    assert summary.sources[1].counts["new"] == 2


@pytest.mark.slow
@pytest.mark.timeout(20)
def test_a_trickling_server_is_cut_off_at_the_total_budget(tmp_path: Path, good: str) -> None:
    body = GOOD * 10
    with serve(lambda request: trickle(request, body, every=0.1)) as url:
        summary = run_at(config(tmp_path, {"slow": url + "/feed", "good": good}))
    assert "took longer than 1.5 s in total" in errors(summary)["slow"]
    assert "bytes of the body received" in errors(summary)["slow"]
    assert summary.sources[1].counts["new"] == 2


def _trickle_headers(request: BaseHTTPRequestHandler) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" + b"X-Pad: " + b"x" * 200
    for byte in head:
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.timeout(20)
def test_a_server_trickling_its_headers_is_cut_off_too(tmp_path: Path, good: str) -> None:
    with serve(_trickle_headers) as url:
        summary = run_at(config(tmp_path, {"slow": url + "/feed", "good": good}))
    assert "took longer than 1.5 s in total" in errors(summary)["slow"]
    assert summary.sources[1].counts["new"] == 2


def _endless(request: BaseHTTPRequestHandler, declare: bool) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    if declare:
        request.send_header("Content-Length", str(200_000_000))
    request.end_headers()
    chunk = b"<!-- " + b"x" * 65_000 + b" -->"
    for _ in range(200_000_000 // len(chunk)):
        request.wfile.write(chunk)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("declare", [True, False])
def test_a_200_mb_response_is_refused(tmp_path: Path, good: str, declare: bool) -> None:
    with serve(lambda request: _endless(request, declare)) as url:
        summary = run_at(config(tmp_path, {"huge": url + "/feed", "good": good}))
    assert "over the 1000000 byte limit" in errors(summary)["huge"]
    assert "raise [fetch].max_bytes" in errors(summary)["huge"]
    assert summary.sources[1].counts["new"] == 2


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>&lol9;</title>'
    b"<item><title>&lol9;</title></item></channel></rss>"
)
EXTERNAL = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b'<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>'
)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (BILLION_LAUGHS, "application/rss+xml", "billion laughs"),
        (EXTERNAL, "application/rss+xml", "external entity"),
        (
            b"<!DOCTYPE html><html><head><title>Blog</title>"
            b'<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>'
            b"<body><p>Hello</p></body></html>",
            "text/html; charset=utf-8",
            "HTML page, not a feed",
        ),
        (b"", "application/rss+xml", "empty document"),
    ],
    ids=["billion-laughs", "external-entity", "html-page", "empty-body"],
)
def test_documents_that_are_not_feeds_are_named(
    httpserver: HTTPServer,
    tmp_path: Path,
    good: str,
    body: bytes,
    content_type: str,
    message: str,
) -> None:
    httpserver.expect_request("/bad").respond_with_data(body, content_type=content_type)
    summary = run_at(config(tmp_path, {"bad": httpserver.url_for("/bad"), "good": good}))
    assert message in errors(summary)["bad"]
    assert summary.sources[1].counts["new"] == 2
    status = CliRunner().invoke(main, ["--config", str(tmp_path / "aggregator.toml"), "status"])
    assert status.exit_code == 1
    assert message in " ".join(status.output.split())


TITLES = {
    "gbk": "大型语言模型的推理能力研究",
    "gb18030": "基于知识图谱的问答系统",
    "big5": "深度學習在醫學影像中的應用",
    "shift_jis": "大規模言語モデルの研究について",
    "euc_jp": "東京で新しい研究所が開かれました",
}


@pytest.mark.parametrize("encoding", sorted(TITLES))
@pytest.mark.parametrize("declared", ["iso-8859-1", "windows-1252"])
def test_wrong_charset_declarations_end_as_correct_text(
    httpserver: HTTPServer, tmp_path: Path, encoding: str, declared: str
) -> None:
    title = TITLES[encoding]
    body = rss(title, channel=title, encoding=encoding).replace(
        f'encoding="{encoding}"'.encode(), f'encoding="{declared}"'.encode()
    )
    httpserver.expect_request("/feed").respond_with_data(
        body, content_type=f"application/rss+xml; charset={declared}"
    )
    summary = run_at(config(tmp_path, {"feed": httpserver.url_for("/feed")}))
    assert not summary.failed, summary.failed
    parsed = feedparser.parse((tmp_path / "public" / "feeds" / "feed.atom").read_bytes())
    assert [entry.title for entry in parsed.entries] == [title]


def test_utf8_served_as_latin1_ends_as_correct_text(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        rss("Café naïve – “quoted”"), content_type="text/xml; charset=ISO-8859-1"
    )
    run_at(config(tmp_path, {"feed": httpserver.url_for("/feed")}))
    parsed = feedparser.parse((tmp_path / "public" / "feeds" / "feed.atom").read_bytes())
    assert [entry.title for entry in parsed.entries] == ["Café naïve – “quoted”"]


def test_real_latin1_stays_latin1(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        rss("Crème brûlée à Paris", encoding="iso-8859-1"),
        content_type="application/rss+xml; charset=iso-8859-1",
    )
    run_at(config(tmp_path, {"feed": httpserver.url_for("/feed")}))
    parsed = feedparser.parse((tmp_path / "public" / "feeds" / "feed.atom").read_bytes())
    assert [entry.title for entry in parsed.entries] == ["Crème brûlée à Paris"]


@pytest.mark.slow
@pytest.mark.timeout(30)
def test_every_bad_source_at_once_leaves_the_good_ones_stored(
    httpserver: HTTPServer, tmp_path: Path, good: str
) -> None:
    for status in (500, 502, 404, 410):
        httpserver.expect_request(f"/{status}").respond_with_response(Response(status=status))
    httpserver.expect_request("/429").respond_with_response(
        Response(status=429, headers={"Retry-After": "60"})
    )
    httpserver.expect_request("/laughs").respond_with_data(BILLION_LAUGHS)
    httpserver.expect_request("/empty").respond_with_data(b"")
    bad = {f"s{code}": httpserver.url_for(f"/{code}") for code in (500, 502, 404, 410, 429)}
    bad |= {"laughs": httpserver.url_for("/laughs"), "empty": httpserver.url_for("/empty")}
    stop = threading.Event()
    with silent_server(stop) as silent, serve(lambda r: trickle(r, GOOD, every=0.1)) as slow:
        path = config(tmp_path, {**bad, "silent": silent + "/", "slow": slow + "/", "good": good})
        started = time.monotonic()
        result = CliRunner().invoke(main, ["--config", str(path), "run"])
        took = time.monotonic() - started
    print(f"run with 9 bad sources took {took:.2f} s")
    assert result.exit_code == 1
    assert "Sources: 10 read, 1 ok, 9 failed" in result.output
    for name in (*bad, "silent", "slow"):
        assert f"failed: {name} (" in result.output
    feed = feedparser.parse((tmp_path / "public" / "feeds" / "good.atom").read_bytes())
    assert len(feed.entries) == 2
    status = CliRunner().invoke(main, ["--config", str(path), "status", "--json"])
    assert status.exit_code == 1
    lines = {line["name"]: line for line in json.loads(status.output)}
    assert lines["good"]["flag"] == "ok"
    assert lines["s410"]["flag"] == "gone"
    assert lines["s429"]["flag"] == "rate-limited"
    assert {lines[name]["flag"] for name in ("s500", "s502", "s404", "silent", "slow")} == {
        "failing"
    }
    assert lines["s404"]["http_status"] == 404
    assert all(lines[name]["note"] for name in lines if name != "good")


# -- concurrency and per-host politeness ---------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = self.peak = 0
        self.starts: list[float] = []

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.starts.append(time.monotonic())
        time.sleep(0.15)
        with self.lock:
            self.active -= 1
        body = rss(f"Item {request.path}")
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@pytest.fixture
def counter() -> Iterator[tuple[_Counter, str]]:
    counting = _Counter()
    with serve(counting.handle) as url:
        yield counting, url


def test_sources_are_fetched_concurrently_within_the_per_host_limit(
    tmp_path: Path, counter: tuple[_Counter, str]
) -> None:
    counting, url = counter
    sources = {f"f{i}": f"{url}/{i}" for i in range(8)}
    summary = run_at(config(tmp_path, sources, "per_host = 3\nworkers = 8\n"))
    assert not summary.failed
    assert counting.peak == 3
    # Reports come in config order whatever order the servers answered in.
    assert [r.name for r in summary.sources] == list(sources)


def test_a_minimum_interval_spaces_requests_to_a_host(
    tmp_path: Path, counter: tuple[_Counter, str]
) -> None:
    counting, url = counter
    sources = {f"f{i}": f"{url}/{i}" for i in range(3)}
    path = config(tmp_path, sources, "per_host = 3\n")
    text = path.read_text().replace("min_interval = {}", 'min_interval = { "127.0.0.1" = 0.3 }')
    path.write_text(text, encoding="utf-8")
    summary = run_at(path)
    assert not summary.failed
    gaps = [b - a for a, b in zip(counting.starts, counting.starts[1:], strict=False)]
    # The client starts requests 0.3 s apart; the server sees them arrive with the
    # jitter of a loaded machine (one was seen 0.286 s apart), while without the
    # interval they would arrive together.
    assert len(gaps) == 2 and min(gaps) >= 0.25


def test_status_without_problems_exits_0(tmp_path: Path, good: str) -> None:
    path = config(tmp_path, {"good": good})
    run_at(path, datetime.now(UTC))
    status = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert status.exit_code == 0, status.output
    assert "good" in status.output and "ok" in status.output


def test_the_run_date_is_the_digest_day(tmp_path: Path, good: str) -> None:
    summary = run_at(config(tmp_path, {"good": good}))
    assert summary.run_date == date(2026, 11, 23)


def test_an_ill_formed_feed_with_entries_is_kept_with_a_warning(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    body = GOOD.replace(b"<title>Beta</title>", b"<title>Beta & Gamma <b>bold</title>")
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    path = config(tmp_path, {"feed": httpserver.url_for("/feed")})
    result = CliRunner().invoke(main, ["--config", str(path), "fetch"])
    assert result.exit_code == 0, result.output
    assert "Entries: 2 new" in result.output
    assert "warning: feed: not well-formed XML" in result.output


def test_a_page_whose_meta_charset_is_wrong_ends_as_correct_text(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    title = "大型语言模型的推理能力研究"
    page = (
        '<!DOCTYPE html><html><head><meta charset="iso-8859-1">'
        f"<title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{'这是一个关于模型推理能力的研究报告。' * 20}</p></article></body></html>"
    ).encode("gbk")
    httpserver.expect_request("/page").respond_with_data(page, content_type="text/html")
    path = tmp_path / "aggregator.toml"
    path.write_text(
        FAST
        + f'[[sources]]\nname = "page"\nkind = "page"\nurl = "{httpserver.url_for("/page")}"\n',
        encoding="utf-8",
    )
    summary = run_at(path)
    assert not summary.failed, summary.failed
    parsed = feedparser.parse((tmp_path / "public" / "feeds" / "page.atom").read_bytes())
    assert [entry.title for entry in parsed.entries] == [title]


def test_status_flags_a_source_silent_beyond_its_rhythm_as_stale(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    # status judges against the real clock, so the history is set relative to it.
    today = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=offset) for offset in (20, 19, 18, 17)]
    bodies = iter([rss(f"Item {n}") for n in range(len(days))] + [rss("Item 3")])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/rss+xml")
    )
    path = config(tmp_path, {"feed": httpserver.url_for("/feed")})
    for day in days:
        assert run_at(path, day).sources[0].counts["new"] == 1
    run_at(path, today)  # fetched fine today, nothing new for 17 days
    result = CliRunner().invoke(main, ["--config", str(path), "status", "--json"])
    assert result.exit_code == 0, result.output
    (line,) = json.loads(result.output)
    assert line["flag"] == "stale" and line["usual_gap_days"] == 1
    assert "usual 1-day gap" in line["note"]
