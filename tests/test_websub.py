"""WebSub: with ``[publish] websub_hub`` every feed links the hub, and a publish that
changed feeds tells the hub about each changed feed URL. The hub here is a real HTTP
server on 127.0.0.1 that records what it is sent."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
import pytest
from lxml import etree
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator.config.settings import load_config
from aggregator.core import run
from aggregator.errors import ConfigError
from benchmarks import feeds as generator

BASE = "https://feeds.example.org/"


def _source(httpserver: HTTPServer, index: int, entries: int) -> str:
    httpserver.expect_request(f"/in/{index}.xml").respond_with_data(
        generator.feed_bytes(index, entries=entries), content_type="application/xml"
    )
    return (
        f'[[sources]]\nname = "in-{index}"\nkind = "{generator.feed_kind(index)}"\n'
        f'url = "{httpserver.url_for(f"/in/{index}.xml")}"\n'
        f'categories = ["{generator.feed_category(index)}"]\n'
    )


class Hub:
    """Records each publish ping the hub is sent: (hub.mode, hub.url)."""

    def __init__(self, httpserver: HTTPServer, status: int = 204) -> None:
        self.pings: list[tuple[str, str]] = []
        self.status = status
        httpserver.expect_request("/hub", method="POST").respond_with_handler(self.answer)
        self.url = httpserver.url_for("/hub")

    def answer(self, request: Request) -> Response:
        assert request.content_type.startswith("application/x-www-form-urlencoded")
        form = parse_qs(request.get_data(as_text=True))
        self.pings.append((form["hub.mode"][0], form["hub.url"][0]))
        return Response(status=self.status)

    def take(self) -> list[tuple[str, str]]:
        pings, self.pings = self.pings, []
        return pings


def _config(write_config: Callable[[str], Path], hub: str, sources: str, extra: str = "") -> Path:
    return write_config(f'[publish]\nbase_url = "{BASE}"\nwebsub_hub = "{hub}"\n{extra}\n{sources}')


def test_every_feed_links_the_hub_and_each_changed_feed_is_pinged_once(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    tmp_path: Path,
) -> None:
    hub = Hub(httpserver)
    feeds = tmp_path / "public" / "feeds"
    config = _config(
        write_config,
        hub.url,
        _source(httpserver, 0, 4) + _source(httpserver, 1, 4),
        extra='formats = ["atom", "json", "rss"]',
    )
    assert not run(load_config(config), clock=clock).failed
    files = sorted(p.name for p in feeds.iterdir() if p.is_file())
    assert len(files) == 9  # all + two categories, three formats each
    pings = hub.take()
    assert sorted(pings) == [("publish", f"{BASE}feeds/{name}") for name in files]

    # Every format links the hub (and itself).
    for name in files:
        data = (feeds / name).read_bytes()
        if name.endswith(".json"):
            document = json.loads(data)
            assert document["hubs"] == [{"type": "WebSub", "url": hub.url}]
            assert document["feed_url"] == f"{BASE}feeds/{name}"
        else:
            links = {link.rel: link.href for link in feedparser.parse(data).feed.links}
            assert links["hub"] == hub.url and links["self"] == f"{BASE}feeds/{name}"
        if name.endswith(".rss"):  # as atom:link in the channel
            channel = etree.fromstring(data).find("channel")
            assert channel is not None
            rels = {el.get("rel") for el in channel.iter("{http://www.w3.org/2005/Atom}link")}
            assert rels == {"self", "hub"}

    # Nothing changed: no ping.
    assert not run(load_config(config), clock=clock).failed
    assert hub.take() == []

    # One category changes: its feed and all.* are pinged, the other category is not.
    httpserver.clear_all_handlers()
    hub = Hub(httpserver)
    sources = _source(httpserver, 0, 6) + _source(httpserver, 1, 4)
    assert not run(load_config(_config(write_config, hub.url, sources)), clock=clock).failed
    changed = generator.feed_category(0)
    expected = [
        f"{BASE}feeds/{stem}.{kind}" for stem in ("all", changed) for kind in ("atom", "json")
    ]
    assert sorted(url for _, url in hub.take()) == sorted(expected)


def test_a_dead_hub_is_a_warning_not_a_failed_run(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hub"
    summary = run(load_config(_config(write_config, dead, _source(httpserver, 0, 3))), clock=clock)
    assert not summary.failed and summary.feeds_written == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    # Tried once, not once per feed file: the rest are reported unsent.
    (warning,) = [w for w in warnings if "WebSub" in w]
    assert warning.startswith(f"WebSub hub {dead} unreachable (ConnectError: ")
    assert warning.endswith(": 4 change notifications not sent")


def test_a_hub_refusing_a_ping_is_a_warning_naming_the_feed(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: Callable[[], datetime],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = Hub(httpserver, status=500)
    summary = run(
        load_config(_config(write_config, hub.url, _source(httpserver, 0, 3))), clock=clock
    )
    assert not summary.failed
    assert len(hub.take()) == 4  # each one still tried
    assert (
        f"WebSub hub {hub.url} answered 500 to the notification for {BASE}feeds/all.atom"
        in caplog.text
    )


def test_a_hub_that_is_not_a_url_is_a_config_error(write_config: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError, match=r"publish\.websub_hub"):
        load_config(write_config('[publish]\nwebsub_hub = "hub.example.org"\n'))
