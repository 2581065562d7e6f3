"""fetch_in_order: config order, and only a bounded number of documents fetched ahead."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from aggregator._fetch.health import FetchState
from aggregator._fetch.http import Fetcher, fetch_in_order
from aggregator.config.settings import FetchSettings
from aggregator.config.sources import Source


class CountingPool(ThreadPoolExecutor):
    """A real thread pool that counts what was submitted to it."""

    submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_documents_are_fetched_a_bounded_window_ahead(tmp_path: Path) -> None:
    sources = []
    for number in range(10):
        (tmp_path / f"{number}.xml").write_bytes(b"<rss/>")
        sources.append(Source(f"s{number}", "feed", path=tmp_path / f"{number}.xml"))
    gone = FetchState("gone", "https://gone.example.org/", disabled_reason="gone: HTTP 410")
    sources.insert(3, Source("gone", "feed", url="https://gone.example.org/"))
    settings = FetchSettings(timeout=5, max_bytes=1000)
    with Fetcher(settings) as fetcher, CountingPool(2) as pool:
        attempts = fetch_in_order(
            sources,
            states={"gone": gone},
            failures={},
            fetcher=fetcher,
            pool=pool,
            now=datetime(2026, 11, 23, tzinfo=UTC),
            ahead=3,
        )
        seen = []
        started_when_consumed = []
        for attempt in attempts:
            seen.append(attempt.source.name)
            started_when_consumed.append(pool.submitted)
            if attempt.skipped is None:
                assert attempt.result().data == b"<rss/>"
    assert seen == [source.name for source in sources]
    assert "gone" in seen and started_when_consumed[0] == 4  # the first and 3 ahead
    assert max(started_when_consumed) == 10
    assert started_when_consumed[:6] == [4, 5, 6, 6, 7, 8]
