"""The per-request deadline holds through the proxies the environment names, too."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest
from rawserver import serve, trickle

from aggregator._fetch.deadline import environment_proxies
from aggregator._fetch.http import Fetcher
from aggregator.config.settings import FetchSettings
from aggregator.errors import FetchError

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
SETTINGS = FetchSettings(timeout=1.5, max_bytes=1_000_000, connect_timeout=1, read_timeout=0.5)


@pytest.fixture(autouse=True)
def no_proxies_but_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_the_environment_names_proxies_as_httpx_reads_it() -> None:
    found = {
        "http": "proxy.example:3128",
        "https": "https://secure.example:3129",
        "no": "localhost, 10.0.0.1,::1,.example.org,https://direct.example",
    }
    assert environment_proxies(found) == {
        "http://": "http://proxy.example:3128",
        "https://": "https://secure.example:3129",
        "all://localhost": None,
        "all://10.0.0.1": None,
        "all://[::1]": None,
        "all://*.example.org": None,
        "https://direct.example": None,
    }
    assert environment_proxies({"all": "socks5://p:1080", "no": "*"}) == {}
    assert environment_proxies({}) == {}


def test_a_request_goes_through_the_environment_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def proxy(request: BaseHTTPRequestHandler) -> None:
        asked.append(request.path)
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(FEED)))
        request.end_headers()
        request.wfile.write(FEED)

    with serve(proxy) as url:
        monkeypatch.setenv("HTTP_PROXY", url)
        with Fetcher(SETTINGS) as fetcher:
            fetched = fetcher.get("s", "http://feeds.invalid/feed.xml")
    assert fetched.data == FEED
    assert asked == ["http://feeds.invalid/feed.xml"]


@pytest.mark.slow
@pytest.mark.timeout(20)
def test_a_trickling_proxy_is_cut_off_at_the_total_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(lambda request: trickle(request, FEED * 10, every=0.1)) as url:
        monkeypatch.setenv("HTTP_PROXY", url)
        started = time.monotonic()
        with Fetcher(SETTINGS) as fetcher, pytest.raises(FetchError) as failed:
            fetcher.get("s", "http://feeds.invalid/feed.xml")
    assert time.monotonic() - started < 3
    assert "took longer than 1.5 s in total" in failed.value.message
