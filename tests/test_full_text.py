"""fetch_full_text: a summary-only feed's articles fetched once, extracted, published.

Against a server on 127.0.0.1 serving a teaser feed and its article pages (with the
site clutter real pages carry); the published feed is read back with feedparser.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
from atomcheck import validate_atom
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator.config.settings import load_config
from aggregator.core import RunSummary, run

T0 = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
BODY = (
    "The team measured how long the nightly build spends waiting on the network. Most of"
    " the time went to resolving the same dependencies again for every job, so we added a"
    " shared cache in front of the package index and pinned its size."
)
SECOND = (
    "After a week the median build took eleven minutes instead of nineteen, and the"
    " failures caused by timeouts against the index disappeared entirely."
)


def _article(title: str) -> bytes:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title} | Lab Blog</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/about'>About</a></nav></header>"
        f"<article><h1>{title}</h1><p>{BODY}</p><p>{SECOND}</p></article>"
        "<aside class='related-posts'><h2>Related posts</h2><ul><li>Other</li></ul></aside>"
        "<footer>Copyright 2026 Lab</footer></body></html>"
    ).encode()


def _feed(server: HTTPServer) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{server.url_for(path)}</link>"
        f"<guid>{path}</guid><description>{teaser}</description></item>"
        for title, path, teaser in (
            ("Faster nightly builds", "/posts/builds", "How we cut build times."),
            ("A missing post", "/posts/gone", "This one is not there."),
            ("A huge post", "/posts/huge", "This one is too big."),
        )
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Lab Blog</title><link>{server.url_for('/')}</link>{items}</channel></rss>"
    ).encode()


def _serve(server: HTTPServer) -> Counter[str]:
    hits: Counter[str] = Counter()

    def handler(request: Request) -> Response:
        hits[request.path] += 1
        if request.path == "/feed.xml":
            return Response(_feed(server), content_type="application/rss+xml")
        if request.path == "/posts/builds":
            return Response(_article("Faster nightly builds"), content_type="text/html")
        if request.path == "/posts/huge":
            return Response(b"<html><body><p>" + b"x " * 40_000 + b"</p></body></html>")
        return Response("not found", status=404)

    for path in ("/feed.xml", "/posts/builds", "/posts/gone", "/posts/huge"):
        server.expect_request(path).respond_with_handler(handler)
    return hits


def _run(path: Path, when: datetime) -> RunSummary:
    return run(load_config(path), clock=lambda: when, run_date=when.date())


def test_new_entries_get_their_article_once(httpserver: HTTPServer, tmp_path: Path) -> None:
    hits = _serve(httpserver)
    path = tmp_path / "aggregator.toml"
    path.write_text(
        '[storage]\ndatabase = "agg.db"\n[fetch]\nmin_interval = {}\nmax_bytes = 50000\n'
        f'[[sources]]\nname = "lab"\nurl = "{httpserver.url_for("/feed.xml")}"\n'
        "fetch_full_text = true\n",
        encoding="utf-8",
    )
    summary = _run(path, T0)
    assert not summary.failed, summary.failed
    (report,) = summary.sources
    assert report.counts["new"] == 3
    warnings = " ".join(report.warnings)
    assert "/posts/gone" in warnings and "404" in warnings
    assert "/posts/huge" in warnings and "50000" in warnings.replace(",", "")
    data = (tmp_path / "public" / "feeds" / "lab.atom").read_bytes()
    validate_atom(data)
    entries = {entry.title: entry for entry in feedparser.parse(data).entries}
    builds = entries["Faster nightly builds"]
    assert builds.summary == "How we cut build times."  # the feed's own summary stays
    content = builds.content[0].value
    assert BODY in content and SECOND in content
    assert "Related posts" not in content and "Copyright" not in content and "Home" not in content
    # An article that could not be had leaves its entry as the feed gave it.
    assert entries["A missing post"].summary == "This one is not there."
    assert "content" not in entries["A missing post"]
    # The next runs ask the feed again, never the articles had (they are stored) nor the
    # one not there (404); the one too big is tried again, three tries in all.
    for day in (1, 2, 3):
        again = _run(path, T0 + timedelta(days=day))
        assert not again.failed
        assert again.sources[0].counts["new"] == again.sources[0].counts["updated"] == 0
    assert hits["/feed.xml"] == 4
    assert hits["/posts/builds"] == 1 and hits["/posts/gone"] == 1 and hits["/posts/huge"] == 3
    data = (tmp_path / "public" / "feeds" / "lab.atom").read_bytes()
    builds = {e.title: e for e in feedparser.parse(data).entries}["Faster nightly builds"]
    assert BODY in builds.content[0].value
