"""A run that stored many entries publishes its feeds in a second process while it
writes the digests: the same files as publishing after them, the same errors, and a
process that dies leaves nothing unpublished."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import serve_generated
from pytest_httpserver import HTTPServer

import aggregator.core as core
from aggregator.config.settings import Settings, load_config
from aggregator.core import Published, RunSummary, run
from aggregator.errors import PublishError
from benchmarks.chatserver import Answer, chat_server, summarise

pytestmark = pytest.mark.slow  # real processes (spawned): `-m "not slow"` skips


def _run_in(
    folder: Path, sources: str, clock: Callable[[], datetime], *, extra: str = ""
) -> RunSummary:
    folder.mkdir()
    config = folder / "aggregator.toml"
    config.write_text(
        '[fetch]\nprocesses = 1\n[publish]\nformats = ["atom", "json"]\n' + extra + sources,
        encoding="utf-8",
    )
    return run(load_config(config), clock=clock)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_feeds_published_beside_the_digests_are_those_published_after_them(
    httpserver: HTTPServer,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = serve_generated(httpserver, 4, entries=30)
    monkeypatch.setattr(core, "PUBLISH_BESIDE_ENTRIES", 10**9)
    after = _run_in(tmp_path / "after", sources, clock)
    monkeypatch.setattr(core, "PUBLISH_BESIDE_ENTRIES", 100)
    beside = _run_in(tmp_path / "beside", sources, clock)

    assert (after.published_beside, beside.published_beside) == (False, True)
    assert beside.feeds_written == after.feeds_written > 0
    assert beside.index_written
    published = _files(tmp_path / "beside" / "public")
    assert any(name.endswith(".atom") for name in published)
    assert any(name.endswith(".json") for name in published)
    assert published == _files(tmp_path / "after" / "public")
    assert {"ingest", "digests", "feeds"} <= set(beside.stages)

    # A rerun finds every file current (the second process recorded what it wrote).
    again = run(load_config(tmp_path / "beside" / "aggregator.toml"), clock=clock)
    assert again.feeds_written == 0
    assert not again.published_beside  # nothing new stored: published here


def test_ranked_feeds_published_beside_are_those_published_after(
    httpserver: HTTPServer,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With interests, the second process starts only once the run has ranked the new
    # entries (the index page's highlights follow that order).
    sources = serve_generated(httpserver, 4, entries=30)
    interests = '[interests]\nkeywords = ["topic01", "entry 7"]\n'
    monkeypatch.setattr(core, "PUBLISH_BESIDE_ENTRIES", 10**9)
    after = _run_in(tmp_path / "after", sources, clock, extra=interests)
    monkeypatch.setattr(core, "PUBLISH_BESIDE_ENTRIES", 100)
    beside = _run_in(tmp_path / "beside", sources, clock, extra=interests)
    assert (after.published_beside, beside.published_beside) == (False, True)
    assert after.ranking is not None
    published = _files(tmp_path / "beside" / "public")
    assert published == _files(tmp_path / "after" / "public")


def test_feeds_carrying_server_summaries_wait_for_them(
    httpserver: HTTPServer,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A summariser writes what the feeds carry: the second process starts only after it.
    sources = serve_generated(httpserver, 2, entries=12)

    def slowly(body: dict[str, Any], number: int) -> Answer:
        # Slower than starting a process: a second process started before the
        # summaries were written would publish feeds without them.
        return replace(summarise(body), delay=0.25)

    with chat_server(slowly) as server:
        summaries = (
            f'[summaries]\nprovider = "openai-compatible"\nbase_url = "{server.url}"\n'
            'model = "llama3.1"\n'
        )
        monkeypatch.setattr(core, "PUBLISH_BESIDE_ENTRIES", 10**9)
        after = _run_in(tmp_path / "after", sources, clock, extra=summaries)
        monkeypatch.setattr(core, "PUBLISH_BESIDE_ENTRIES", 10)
        beside = _run_in(tmp_path / "beside", sources, clock, extra=summaries)
    assert (after.published_beside, beside.published_beside) == (False, True)
    published = _files(tmp_path / "beside" / "public")
    assert any(b"TLDR of " in data for name, data in published.items() if "feeds/" in name)
    assert published == _files(tmp_path / "after" / "public")


def test_a_run_below_the_threshold_publishes_in_its_own_process(
    httpserver: HTTPServer, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    sources = serve_generated(httpserver, 2, entries=10)
    summary = _run_in(tmp_path / "small", sources, clock)
    assert summary.feeds_written > 0
    assert not summary.published_beside


def die(settings: Settings, now: datetime) -> Published:
    """Stands in for the second process's work: the process is killed (OOM killer)."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_a_killed_publishing_process_leaves_nothing_unpublished(
    httpserver: HTTPServer,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sources = serve_generated(httpserver, 3, entries=20)
    monkeypatch.setattr(core, "PUBLISH_BESIDE_ENTRIES", 10)
    monkeypatch.setattr(core, "_publish_in_child", die)
    with caplog.at_level(logging.WARNING, logger="aggregator.core"):
        summary = _run_in(tmp_path / "killed", sources, clock)
    assert not summary.published_beside
    assert summary.feeds_written > 0
    assert (tmp_path / "killed" / "public" / "feeds" / "all.atom").is_file()
    assert "publishing here" in caplog.text


def test_an_error_in_the_publishing_process_stops_the_run_as_it_would_here(
    httpserver: HTTPServer,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = serve_generated(httpserver, 3, entries=20)
    monkeypatch.setattr(core, "PUBLISH_BESIDE_ENTRIES", 10)
    folder = tmp_path / "blocked"
    folder.mkdir()
    # The category feeds' folder is a file: the second process cannot write a feed.
    (folder / "public").mkdir()
    (folder / "public" / "feeds").write_text("not a folder", encoding="utf-8")
    config = folder / "aggregator.toml"
    config.write_text("[fetch]\nprocesses = 1\n" + sources, encoding="utf-8")
    with pytest.raises(PublishError) as raised:
        run(load_config(config), clock=clock)
    assert "feeds" in str(raised.value)
    # The digests were written meanwhile, in the run's own process.
    assert list((folder / "public" / "digests").glob("*/index.html"))
